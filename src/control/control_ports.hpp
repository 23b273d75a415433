#pragma once
// The control-plane UDP ports. Dante's standard set, or Inferno's alternate-port scheme
// (INFERNO_ALT_PORT=P in device_server.rs: ARC=P, CMC=P+1, flow control=P+2, info=P+3) so
// that several devices can share one IPv4 address. Each service's port is advertised over
// mDNS, except the info port, which a controller learns from the CMC registration reply.

#include <cstdint>
#include <optional>

namespace dante::control {

struct ControlPorts {
    uint16_t arc = 4440;
    uint16_t cmc = 8800;
    uint16_t flow_control = 4455;
    uint16_t info_request = 8700;
};

// port_base 0: the standard ports. Otherwise base..base+3; nullopt if that would pass 65535.
constexpr std::optional<ControlPorts> control_ports_for(uint16_t port_base) {
    if (port_base == 0) return ControlPorts{};
    if (port_base > 65535 - 3) return std::nullopt;
    return ControlPorts{port_base, static_cast<uint16_t>(port_base + 1), static_cast<uint16_t>(port_base + 2),
                        static_cast<uint16_t>(port_base + 3)};
}

}  // namespace dante::control
