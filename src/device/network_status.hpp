#pragma once
// What the device's interface is doing, as node properties and log lines: written on the
// event loop by the LinkWatcher's callback, read by the main thread that publishes the
// properties (a mutex: neither side is a real-time thread).
//
//   dante.net.link     up | no-carrier | down | absent
//   dante.net.address  the IPv4 address in use now, "a.b.c.d/len" ("" when none)
//   dante.net.changes  changes seen since load
//   dante.net.problem  what does not match what the services were started with ("" if all does)

#include <cstdint>
#include <mutex>
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
    // `started_with`: the state when the services bound their sockets.
    void start(const InterfaceState& started_with);
    void changed(const InterfaceState& now);
    [[nodiscard]] ConfigItems properties() const;

private:
    mutable std::mutex mutex_;
    InterfaceState started_with_;
    InterfaceState now_;
    uint64_t changes_ = 0;
};

}  // namespace dante
