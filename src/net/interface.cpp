#include "net/interface.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace dante {

std::optional<InterfaceInfo> lookup_interface(std::string_view name, std::string& error) {
    if (name.empty()) {
        error = "no network interface named (set dante.interface)";
        return std::nullopt;
    }
    if (name.size() >= IFNAMSIZ) {
        error = "interface name \"" + std::string(name) + "\" is longer than " + std::to_string(IFNAMSIZ - 1) + " characters";
        return std::nullopt;
    }
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) {
        error = std::string("getifaddrs failed: ") + std::strerror(errno);
        return std::nullopt;
    }
    bool seen = false;
    std::optional<InterfaceInfo> found;
    for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_name == nullptr || name != it->ifa_name) continue;
        seen = true;
        if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
        InterfaceInfo info;
        info.name = std::string(name);
        sockaddr_in addr{};
        std::memcpy(&addr, it->ifa_addr, sizeof addr);
        info.subnet.address = ntohl(addr.sin_addr.s_addr);
        if (it->ifa_netmask != nullptr) {
            sockaddr_in mask{};
            std::memcpy(&mask, it->ifa_netmask, sizeof mask);
            info.subnet.netmask = ntohl(mask.sin_addr.s_addr);
        } else {
            info.subnet.netmask = 0xFFFFFFFFu;
        }
        found = std::move(info);
        break;
    }
    freeifaddrs(list);
    if (!found) {
        error = seen ? "interface \"" + std::string(name) + "\" has no IPv4 address"
                     : "no network interface \"" + std::string(name) + "\"";
    }
    return found;
}

}  // namespace dante
