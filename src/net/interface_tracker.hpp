#pragma once
// The state of the one interface a device uses (dante.interface), kept current from
// rtnetlink events: is it there, is its link up, which IPv4 address does it have.
//
// Sans-I/O: net/link_watcher.hpp feeds it the events of a NETLINK_ROUTE socket and an
// initial snapshot; tests feed it events directly. The interface is followed by name, so
// one that disappears and comes back (a USB NIC, a VLAN re-created) is found again even
// under a new index.

#include <cstdint>
#include <string>
#include <vector>

#include "net/rtnetlink_events.hpp"

namespace dante {

struct InterfaceState {
    bool present = false;
    uint32_t ifindex = 0;
    bool up = false;       // administratively up
    bool carrier = false;  // up with carrier: packets can flow
    // Every IPv4 address the interface has, oldest first; the first is the one we use (as
    // lookup_interface() picks the first). At most kMaxAddresses.
    std::vector<uint32_t> addresses;
    uint8_t prefix_length = 0;  // of addresses.front()

    [[nodiscard]] uint32_t address() const { return addresses.empty() ? 0 : addresses.front(); }
    bool operator==(const InterfaceState&) const = default;
};

class InterfaceTracker {
public:
    static constexpr size_t kMaxAddresses = 16;  // more is not a Dante interface; kept bounded

    explicit InterfaceTracker(std::string name) : name_(std::move(name)) {}

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const InterfaceState& state() const { return state_; }

    // A snapshot read from the kernel (at start, and after a Resync).
    void reset(InterfaceState state) { state_ = std::move(state); }

    // Applies one event; true if the state changed. A Resync changes nothing here: the
    // caller reads a fresh snapshot and calls reset().
    bool apply(const NetEvent& event);

private:
    bool apply_link(const LinkEvent& link);
    bool apply_address(const AddressEvent& address);

    std::string name_;
    InterfaceState state_;
};

}  // namespace dante
