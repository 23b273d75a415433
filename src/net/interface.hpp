#pragma once
// Looking up a network interface's IPv4 address and netmask by name.
//
// Everything this project sends goes out of one interface the user names
// (dante.interface); its subnet is also what the flow-control server accepts as
// destinations.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/interface_tracker.hpp"
#include "net/ipv4.hpp"

namespace dante {

struct InterfaceInfo {
    std::string name;
    Ipv4Subnet subnet;  // subnet.address is the interface's own IPv4
};

// The interface as the kernel has it now (if_nametoindex, SIOCGIFFLAGS, getifaddrs): what
// the interface watcher starts from and re-reads after lost notifications.
InterfaceState read_interface_state(const std::string& name);

// Its first IPv4 address (the one read_interface_state() puts first: the services bind
// where the watcher says the device is). On failure returns nullopt and sets `error` to a
// message naming the interface and, when it exists without IPv4, saying so.
std::optional<InterfaceInfo> lookup_interface(std::string_view name, std::string& error);

// What controllers are told about the interface (conmon interface status), read from the
// kernel. Every field has a "not known" value; nothing here fails.
struct InterfaceDetails {
    std::optional<std::array<uint8_t, 6>> mac;  // SIOCGIFHWADDR; none for a device without one
    uint32_t gateway = 0;                        // host order: the default route's via this interface
    uint32_t link_speed_mbps = 0;                // /sys/class/net/<if>/speed; 0 = unknown
    // The address has a lifetime (set by a DHCP client), i.e. not IFA_F_PERMANENT (netlink).
    bool dynamic = false;
};

// `address` (host order) picks the address whose flags are read.
InterfaceDetails lookup_interface_details(const std::string& name, uint32_t address);

// The interface's MAC (SIOCGIFHWADDR); none when it has none (all zero: loopback, tunnels)
// or cannot be read.
std::optional<std::array<uint8_t, 6>> hardware_address(const std::string& name);

// The default gateway of `name` from the text of /proc/net/route (pure, for tests): the
// first line whose interface is `name`, destination 0 and flag RTF_GATEWAY. 0 if none.
uint32_t default_gateway_from_route_table(std::string_view route_table, std::string_view name);

}  // namespace dante
