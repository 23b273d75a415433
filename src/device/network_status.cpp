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

void NetworkStatus::start(const InterfaceState& in_use) {
    std::lock_guard lock(mutex_);
    in_use_ = in_use;
    now_ = in_use;
}

void NetworkStatus::changed(const InterfaceState& now) {
    std::lock_guard lock(mutex_);
    now_ = now;
    ++changes_;
}

std::optional<InterfaceState> NetworkStatus::pending_move() const {
    std::lock_guard lock(mutex_);
    if (now_.address() == in_use_.address()) return std::nullopt;
    return now_;
}

bool NetworkStatus::moved(const InterfaceState& to, const std::string& error) {
    std::lock_guard lock(mutex_);
    const bool news = error.empty() || error != move_error_;
    move_error_ = error;
    if (!error.empty()) {
        in_use_ = InterfaceState{};  // the services were stopped for the move: nothing is bound
        return news;
    }
    in_use_ = to;
    ++moves_;
    return true;
}

std::string NetworkStatus::problem_locked() const {
    const std::string wanted = now_.addresses.empty() ? std::string() : ipv4_to_string(now_.address());
    if (!move_error_.empty()) return "cannot move the device to " + (wanted.empty() ? "no address" : wanted) + ": " + move_error_;
    if (now_.addresses.empty())
        return "no IPv4 address on " + interface_ + " (" + describe_link(now_) +
               "): the control plane and flows wait for one";
    if (now_.address() != in_use_.address())
        return "moving the device to " + wanted + " (the interface's new address)";
    return "";
}

ConfigItems NetworkStatus::properties() const {
    std::lock_guard lock(mutex_);
    return {
        {"dante.net.link", describe_link(now_)},
        {"dante.net.address", describe_address(now_)},
        {"dante.net.in-use", describe_address(in_use_)},
        {"dante.net.changes", std::to_string(changes_)},
        {"dante.net.moves", std::to_string(moves_)},
        {"dante.net.problem", problem_locked()},
    };
}

}  // namespace dante
