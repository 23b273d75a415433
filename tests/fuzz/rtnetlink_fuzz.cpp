// libFuzzer target: rtnetlink datagrams into the parser and the interface tracker.
//
// Input: the datagram as a NETLINK_ROUTE socket would deliver it. Properties: no
// out-of-bounds or unaligned read for any input (ASan/UBSan); at most
// kMaxEventsPerDatagram events; the tracker, fed every event (and fed the datagram twice,
// as a replay), keeps its invariants: no address without the interface, at most
// kMaxAddresses distinct addresses, carrier only when up, a prefix of at most 32.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "net/interface_tracker.hpp"
#include "net/rtnetlink_events.hpp"

using namespace dante;

namespace {
void check(const InterfaceState& s) {
    if (!s.present && (!s.addresses.empty() || s.up || s.carrier || s.ifindex != 0)) std::abort();
    if (s.addresses.size() > InterfaceTracker::kMaxAddresses) std::abort();
    if (s.carrier && !s.up) std::abort();
    if (s.prefix_length > 32) std::abort();
    std::vector<uint32_t> sorted = s.addresses;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const NetEvents parsed = parse_rtnetlink(std::span<const uint8_t>(data, size));
    if (parsed.events.size() > kMaxEventsPerDatagram) std::abort();
    InterfaceTracker tracker("dante0");
    for (int pass = 0; pass < 2; ++pass) {
        for (const NetEvent& event : parsed.events) {
            tracker.apply(event);
            check(tracker.state());
        }
    }
    return 0;
}
