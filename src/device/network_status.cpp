#include "device/network_status.hpp"

#include "net/ipv4.hpp"

namespace dante {

std::string describe_link(const InterfaceState& state) {
    if (!state.present) return "absent";
    if (!state.up) return "down";
    return state.carrier ? "up" : "no-carrier";
}

std::string describe_address(const InterfaceState& state) {
    if (state.addresses.empty()) return "";
    return ipv4_to_string(state.address()) + "/" + std::to_string(state.prefix_length);
}

std::string describe_change(const std::string& name, const InterfaceState& before, const InterfaceState& now) {
    std::string line = name + ":";
    if (describe_link(before) != describe_link(now))
        line += " link " + describe_link(now) + " (was " + describe_link(before) + ")";
    if (before.address() != now.address()) {
        const std::string was = before.addresses.empty() ? "none" : describe_address(before);
        line += " address " + (now.addresses.empty() ? std::string("none") : describe_address(now)) + " (was " + was + ")";
    }
    if (line.size() == name.size() + 1) line += " addresses " + std::to_string(now.addresses.size());
    return line;
}

void NetworkStatus::start(const InterfaceState& started_with) {
    std::lock_guard lock(mutex_);
    started_with_ = started_with;
    now_ = started_with;
}

void NetworkStatus::changed(const InterfaceState& now) {
    std::lock_guard lock(mutex_);
    now_ = now;
    ++changes_;
}

ConfigItems NetworkStatus::properties() const {
    std::lock_guard lock(mutex_);
    std::string problem;
    if (now_.address() != started_with_.address()) {
        // The sockets stay bound to the address they started with: until the services
        // follow a new address (issue #14), a reload of the module is what moves them.
        problem = "the interface's address is " + (now_.addresses.empty() ? std::string("gone") : ipv4_to_string(now_.address())) +
                  ", the device still uses " + ipv4_to_string(started_with_.address()) + ": reload the module to move it";
    }
    return {
        {"dante.net.link", describe_link(now_)},
        {"dante.net.address", describe_address(now_)},
        {"dante.net.changes", std::to_string(changes_)},
        {"dante.net.problem", problem},
    };
}

}  // namespace dante
