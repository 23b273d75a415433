#include "net/interface.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <bit>
#include <cerrno>
#include <cstring>

namespace dante {

InterfaceState read_interface_state(const std::string& name) {
    InterfaceState state;
    const unsigned index = if_nametoindex(name.c_str());
    if (index == 0 || name.size() >= IFNAMSIZ) return state;
    state.present = true;
    state.ifindex = index;
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        ifreq request{};
        std::memcpy(request.ifr_name, name.c_str(), name.size());
        if (::ioctl(fd, SIOCGIFFLAGS, &request) == 0) {
            state.up = (request.ifr_flags & IFF_UP) != 0;
            state.carrier = state.up && (request.ifr_flags & IFF_RUNNING) != 0;
        }
        ::close(fd);
    }
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return state;
    for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_name == nullptr || entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET ||
            name != entry->ifa_name)
            continue;
        if (state.addresses.size() >= InterfaceTracker::kMaxAddresses) break;
        sockaddr_in address{}, netmask{};
        std::memcpy(&address, entry->ifa_addr, sizeof address);
        state.addresses.push_back(ntohl(address.sin_addr.s_addr));
        if (state.addresses.size() == 1 && entry->ifa_netmask != nullptr) {
            std::memcpy(&netmask, entry->ifa_netmask, sizeof netmask);
            state.prefix_length = static_cast<uint8_t>(std::popcount(ntohl(netmask.sin_addr.s_addr)));
        }
    }
    freeifaddrs(list);
    return state;
}

std::optional<InterfaceInfo> lookup_interface(std::string_view name, std::string& error) {
    if (name.empty()) {
        error = "no network interface named (set dante.interface)";
        return std::nullopt;
    }
    if (name.size() >= IFNAMSIZ) {
        error = "interface name \"" + std::string(name) + "\" is longer than " + std::to_string(IFNAMSIZ - 1) + " characters";
        return std::nullopt;
    }
    const InterfaceState state = read_interface_state(std::string(name));
    if (state.addresses.empty()) {
        error = state.present ? "interface \"" + std::string(name) + "\" has no IPv4 address"
                              : "no network interface \"" + std::string(name) + "\"";
        return std::nullopt;
    }
    InterfaceInfo info;
    info.name = std::string(name);
    info.subnet.address = state.address();
    // No prefix known (or /0): the narrowest subnet, never "everything" (the flow-control
    // server sends only within it).
    info.subnet.netmask = state.prefix_length == 0 ? ~uint32_t{0} : ~uint32_t{0} << (32 - state.prefix_length);
    return info;
}

uint32_t default_gateway_from_route_table(std::string_view route_table, std::string_view name) {
    std::istringstream lines{std::string(route_table)};
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string iface, destination, gateway, flags;
        if (!(fields >> iface >> destination >> gateway >> flags)) continue;
        if (iface != name) continue;
        unsigned long dest = 0, gw = 0, fl = 0;
        try {
            dest = std::stoul(destination, nullptr, 16);
            gw = std::stoul(gateway, nullptr, 16);
            fl = std::stoul(flags, nullptr, 16);
        } catch (...) {
            continue;
        }
        if (dest != 0 || (fl & RTF_GATEWAY) == 0 || (fl & RTF_UP) == 0) continue;
        // The file holds the address as the kernel's network-order u32 printed in host order.
        return ntohl(static_cast<uint32_t>(gw));
    }
    return 0;
}

std::optional<std::array<uint8_t, 6>> hardware_address(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    ifreq request{};
    std::memcpy(request.ifr_name, name.data(), name.size());
    const int rc = ::ioctl(fd, SIOCGIFHWADDR, &request);
    ::close(fd);
    if (rc != 0) return std::nullopt;
    std::array<uint8_t, 6> mac{};
    std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
    if (mac == std::array<uint8_t, 6>{}) return std::nullopt;  // loopback and the like
    return mac;
}

namespace {

uint32_t link_speed(const std::string& name) {
    std::ifstream in("/sys/class/net/" + name + "/speed");
    long speed = 0;
    if (!(in >> speed) || speed <= 0 || speed > 10'000'000) return 0;
    return static_cast<uint32_t>(speed);
}

// True when the address has no IFA_F_PERMANENT flag: a DHCP client gave it a lifetime.
bool address_is_dynamic(int ifindex, uint32_t address) {
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return false;
    struct {
        nlmsghdr header;
        ifaddrmsg body;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = RTM_GETADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = 1;
    request.body.ifa_family = AF_INET;
    bool dynamic = false;
    if (::send(fd, &request, sizeof request, 0) == static_cast<ssize_t>(sizeof request)) {
        alignas(nlmsghdr) char buffer[16384];
        bool done = false;
        while (!done) {
            const ssize_t size = ::recv(fd, buffer, sizeof buffer, 0);
            if (size <= 0) break;
            auto remaining = static_cast<unsigned>(size);
            for (auto* message = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(message, remaining);
                 message = NLMSG_NEXT(message, remaining)) {
                if (message->nlmsg_type == NLMSG_DONE || message->nlmsg_type == NLMSG_ERROR) {
                    done = true;
                    break;
                }
                if (message->nlmsg_type != RTM_NEWADDR) continue;
                const auto* info = static_cast<const ifaddrmsg*>(NLMSG_DATA(message));
                if (static_cast<int>(info->ifa_index) != ifindex) continue;
                uint32_t flags = info->ifa_flags;
                std::optional<uint32_t> local;
                int length = static_cast<int>(IFA_PAYLOAD(message));
                for (auto* attribute = IFA_RTA(info); RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
                    if (attribute->rta_type == IFA_FLAGS && RTA_PAYLOAD(attribute) >= sizeof(uint32_t))
                        std::memcpy(&flags, RTA_DATA(attribute), sizeof flags);
                    if ((attribute->rta_type == IFA_LOCAL || (attribute->rta_type == IFA_ADDRESS && !local)) &&
                        RTA_PAYLOAD(attribute) >= sizeof(uint32_t)) {
                        uint32_t value = 0;
                        std::memcpy(&value, RTA_DATA(attribute), sizeof value);
                        local = ntohl(value);
                    }
                }
                if (local == address) dynamic = (flags & IFA_F_PERMANENT) == 0;
            }
        }
    }
    ::close(fd);
    return dynamic;
}

}  // namespace

InterfaceDetails lookup_interface_details(const std::string& name, uint32_t address) {
    InterfaceDetails details;
    details.mac = hardware_address(name);
    details.link_speed_mbps = link_speed(name);
    std::ifstream routes("/proc/net/route");
    std::stringstream text;
    text << routes.rdbuf();
    details.gateway = default_gateway_from_route_table(text.str(), name);
    const unsigned index = if_nametoindex(name.c_str());
    if (index != 0) details.dynamic = address_is_dynamic(static_cast<int>(index), address);
    return details;
}

}  // namespace dante
