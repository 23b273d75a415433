#include <doctest/doctest.h>

#include "net/interface_tracker.hpp"

using dante::AddressEvent;
using dante::InterfaceState;
using dante::InterfaceTracker;
using dante::LinkEvent;

namespace {
constexpr uint32_t kFirst = 0x0a4d0102;   // 10.77.1.2
constexpr uint32_t kSecond = 0x0a4d0203;  // 10.77.2.3

LinkEvent link(uint32_t index, const char* name, bool up, bool carrier, bool removed = false) {
    return LinkEvent{index, name, up, carrier, removed};
}
AddressEvent address(uint32_t index, uint32_t value, uint8_t prefix, bool removed = false) {
    return AddressEvent{index, value, prefix, removed};
}

InterfaceTracker present_up(uint32_t address_value) {
    InterfaceTracker t("dante0");
    InterfaceState s;
    s.present = true;
    s.ifindex = 7;
    s.up = s.carrier = true;
    s.addresses = {address_value};
    s.prefix_length = 24;
    t.reset(s);
    return t;
}
}  // namespace

TEST_CASE("tracker: carrier lost and back, as a pulled cable does") {
    InterfaceTracker t = present_up(kFirst);
    CHECK(t.apply(link(7, "dante0", true, false)));
    CHECK_FALSE(t.state().carrier);
    CHECK(t.state().address() == kFirst);  // the address stays while the cable is out
    CHECK_FALSE(t.apply(link(7, "dante0", true, false)));  // nothing new
    CHECK(t.apply(link(7, "dante0", true, true)));
    CHECK(t.state().carrier);
}

TEST_CASE("tracker: an address changed (DHCP renumbering): the new one is used") {
    InterfaceTracker t = present_up(kFirst);
    CHECK(t.apply(address(7, kSecond, 24)));
    CHECK(t.state().address() == kFirst);  // a second address: the first stays in use
    CHECK(t.apply(address(7, kFirst, 24, true)));
    CHECK(t.state().address() == kSecond);
    CHECK(t.apply(address(7, kSecond, 24, true)));
    CHECK(t.state().addresses.empty());
    CHECK(t.state().address() == 0);
    CHECK_FALSE(t.apply(address(7, kSecond, 24, true)));  // already gone
}

TEST_CASE("tracker: other interfaces' events change nothing") {
    InterfaceTracker t = present_up(kFirst);
    const InterfaceState before = t.state();
    CHECK_FALSE(t.apply(link(8, "eth1", false, false)));
    CHECK_FALSE(t.apply(address(8, kSecond, 24)));
    CHECK_FALSE(t.apply(link(8, "eth1", true, true, true)));
    CHECK_FALSE(t.apply(link(8, "", true, true)));
    CHECK(t.state() == before);
}

TEST_CASE("tracker: the interface removed and re-created under a new index (a USB NIC)") {
    InterfaceTracker t = present_up(kFirst);
    CHECK(t.apply(link(7, "dante0", false, false, true)));
    CHECK_FALSE(t.state().present);
    CHECK(t.state().addresses.empty());
    CHECK_FALSE(t.apply(address(7, kFirst, 24)));  // the old index is not ours any more
    CHECK(t.apply(link(12, "dante0", false, false)));
    CHECK(t.state().present);
    CHECK(t.state().ifindex == 12);
    CHECK(t.apply(link(12, "dante0", true, true)));
    CHECK(t.apply(address(12, kSecond, 16)));
    CHECK(t.state().address() == kSecond);
    CHECK(t.state().prefix_length == 16);
}

TEST_CASE("tracker: renamed away is gone; an interface renamed to our name is ours") {
    InterfaceTracker t = present_up(kFirst);
    CHECK(t.apply(link(7, "old0", true, true)));
    CHECK_FALSE(t.state().present);
    CHECK(t.apply(link(9, "dante0", true, true)));
    CHECK(t.state().ifindex == 9);
}

TEST_CASE("tracker: at most kMaxAddresses addresses are kept") {
    InterfaceTracker t = present_up(kFirst);
    for (uint32_t i = 1; i < 100; ++i) t.apply(address(7, kFirst + i, 24));
    CHECK(t.state().addresses.size() == InterfaceTracker::kMaxAddresses);
    CHECK(t.state().address() == kFirst);
}
