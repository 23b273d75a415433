#include "net/interface_tracker.hpp"

#include <algorithm>

namespace dante {

bool InterfaceTracker::apply(const NetEvent& event) {
    if (const auto* link = std::get_if<LinkEvent>(&event)) return apply_link(*link);
    if (const auto* address = std::get_if<AddressEvent>(&event)) return apply_address(*address);
    return false;
}

bool InterfaceTracker::apply_link(const LinkEvent& link) {
    const InterfaceState before = state_;
    const bool ours_by_index = state_.present && link.ifindex == state_.ifindex;
    if (link.removed) {
        if (ours_by_index) state_ = InterfaceState{};
        return state_ != before;
    }
    if (!link.name.empty() && link.name != name_) {
        // Ours renamed away: for us it is gone. Another interface: not ours.
        if (ours_by_index) state_ = InterfaceState{};
        return state_ != before;
    }
    if (link.name.empty() && !ours_by_index) return false;  // cannot tell whose it is
    if (!ours_by_index) {
        state_ = InterfaceState{};  // ours (again), maybe under a new index: addresses follow
        state_.present = true;
        state_.ifindex = link.ifindex;
    }
    state_.up = link.up;
    state_.carrier = link.carrier;
    return state_ != before;
}

bool InterfaceTracker::apply_address(const AddressEvent& address) {
    if (!state_.present || address.ifindex != state_.ifindex) return false;
    auto& list = state_.addresses;
    const auto found = std::find(list.begin(), list.end(), address.address);
    if (address.removed) {
        if (found == list.end()) return false;
        list.erase(found);
        // The prefix we know is the first address's; a promoted secondary shares its subnet
        // (the kernel promotes only within the subnet), so it stays right.
        if (list.empty()) state_.prefix_length = 0;
        return true;
    }
    if (found != list.end()) {
        if (found != list.begin() || state_.prefix_length == address.prefix_length) return false;
        state_.prefix_length = address.prefix_length;
        return true;
    }
    if (list.size() >= kMaxAddresses) return false;
    list.push_back(address.address);
    if (list.size() == 1) state_.prefix_length = address.prefix_length;
    return true;
}

}  // namespace dante
