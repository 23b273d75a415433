#pragma once
// Looking up a network interface's IPv4 address and netmask by name.
//
// Everything this project sends goes out of one interface the user names
// (dante.interface); its subnet is also what the flow-control server accepts as
// destinations.

#include <optional>
#include <string>
#include <string_view>

#include "net/ipv4.hpp"

namespace dante {

struct InterfaceInfo {
    std::string name;
    Ipv4Subnet subnet;  // subnet.address is the interface's own IPv4
};

// The first IPv4 address of `name` (getifaddrs). On failure returns nullopt and sets
// `error` to a message naming the interface and, when it exists without IPv4, saying so.
std::optional<InterfaceInfo> lookup_interface(std::string_view name, std::string& error);

}  // namespace dante
