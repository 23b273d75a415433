#pragma once
// What the device's interface is doing, and whether the services follow it: written on the
// event loop by the LinkWatcher's callback (changed()) and on the main thread by the device
// as it moves its services (moved()), read by the main thread that publishes the
// properties (a mutex: neither side is a real-time thread).
//
//   dante.net.link     up | no-carrier | down | absent
//   dante.net.address  the IPv4 address of the interface now, "a.b.c.d/len" ("" when none)
//   dante.net.in-use   the address the control plane and flows are bound to ("" when none)
//   dante.net.changes  changes seen since load
//   dante.net.moves    times the services were rebound to a new address (or stopped for
//                      lack of one)
//   dante.net.problem  why the device is not reachable on the interface ("" when it is)

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "config/device_config.hpp"
#include "net/interface_tracker.hpp"

namespace dante {

std::string describe_link(const InterfaceState& state);          // "up", "no-carrier", "down", "absent"
std::string describe_address(const InterfaceState& state);       // "10.77.1.2/24" or ""
// One log line for a change, naming the interface: "dante0: link down (was up)".
std::string describe_change(const std::string& name, const InterfaceState& before, const InterfaceState& now);

class NetworkStatus {
public:
    explicit NetworkStatus(std::string interface = {}) : interface_(std::move(interface)) {}

    // `in_use`: the state the services were started with (no address: not started).
    void start(const InterfaceState& in_use);
    void changed(const InterfaceState& now);

    // The state the services should move to, if the interface's address is no longer the
    // one they use: a new address (rebind there) or none (stop until one comes).
    [[nodiscard]] std::optional<InterfaceState> pending_move() const;
    // The device tried to move to `to`: done (error empty) or not (kept as the problem;
    // pending_move() keeps asking, so the next attempt retries). Returns whether this is
    // news: a success, or a failure other than the last one (the device logs only those,
    // not one line per retry).
    bool moved(const InterfaceState& to, const std::string& error);

    [[nodiscard]] ConfigItems properties() const;

private:
    [[nodiscard]] std::string problem_locked() const;

    std::string interface_;
    mutable std::mutex mutex_;
    InterfaceState in_use_;
    InterfaceState now_;
    uint64_t changes_ = 0;
    uint64_t moves_ = 0;
    std::string move_error_;  // the last failed attempt, cleared by a successful one
};

}  // namespace dante
