#include "ptp_multicast_socket.hpp"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/timestamps.hpp"

namespace dante::ptp_test {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::optional<PtpInterface> lookup_ptp_interface(const std::string& name, std::string& error) {
    auto info = lookup_interface(name, error);
    if (!info) return std::nullopt;
    PtpInterface iface;
    iface.info = *info;
    iface.index = static_cast<int>(if_nametoindex(name.c_str()));
    if (iface.index == 0) {
        error = "no interface index for " + name + ": " + errno_text();
        return std::nullopt;
    }
    const auto mac = hardware_address(name);
    if (!mac) {
        error = "cannot read the MAC address of " + name + " (or it has none)";
        return std::nullopt;
    }
    std::copy(mac->begin(), mac->end(), iface.mac.begin());
    return iface;
}

std::optional<UdpSocket> open_ptp_socket(const PtpInterface& iface, uint16_t port, bool timestamps, std::string& error) {
    UdpSocket socket(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket.is_open()) {
        error = "cannot create a UDP socket: " + errno_text();
        return std::nullopt;
    }
    const int fd = socket.fd();
    const int one = 1;
    const unsigned char ttl = 1;
    const unsigned char loop = 1;  // a follower in our own namespace hears us too
    ip_mreqn group{};
    group.imr_multiaddr.s_addr = htonl(kPtpPrimaryGroup);
    group.imr_address.s_addr = htonl(iface.info.subnet.address);
    group.imr_ifindex = iface.index;
    ip_mreqn out_if{};
    out_if.imr_ifindex = iface.index;
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    const char* step = nullptr;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        step = "SO_REUSEADDR";
    } else if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.info.name.c_str(),
                            static_cast<socklen_t>(iface.info.name.size())) != 0) {
        step = "SO_BINDTODEVICE";
    } else if (::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
        step = "bind";
    } else if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out_if, sizeof out_if) != 0) {
        step = "IP_MULTICAST_IF";
    } else if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
        step = "IP_MULTICAST_TTL";
    } else if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) {
        step = "IP_MULTICAST_LOOP";
    } else if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
        step = "IP_ADD_MEMBERSHIP";
    } else if (timestamps) {
        const int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                          SOF_TIMESTAMPING_OPT_TSONLY;
        if (::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0) step = "SO_TIMESTAMPING";
    }
    if (step != nullptr) {
        error = std::string("PTP socket on ") + iface.info.name + " port " + std::to_string(port) + ": " + step +
                " failed: " + errno_text();
        return std::nullopt;
    }
    return socket;
}

ssize_t receive_timestamped(const UdpSocket& socket, std::span<uint8_t> buffer, int64_t& rx_realtime_ns) {
    alignas(cmsghdr) char control[256];
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket.fd(), &msg, MSG_DONTWAIT);
    rx_realtime_ns = n >= 0 ? software_timestamp_ns(msg).value_or(0) : 0;
    return n;
}

void drain_error_queue(const UdpSocket& socket) {
    alignas(cmsghdr) char control[256];
    char data[256];
    for (;;) {
        iovec iov{data, sizeof data};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(socket.fd(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    }
}

std::optional<int64_t> wait_tx_timestamp(const UdpSocket& socket, int timeout_ms) {
    alignas(cmsghdr) char control[256];
    char data[256];
    for (int waited = 0; waited <= timeout_ms; ++waited) {
        iovec iov{data, sizeof data};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(socket.fd(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0) {
            const int64_t ts = software_timestamp_ns(msg).value_or(0);
            if (ts != 0) return ts;
            continue;
        }
        // The error queue signals POLLERR, which poll reports whatever events we ask for.
        pollfd pfd{socket.fd(), 0, 0};
        ::poll(&pfd, 1, 1);
    }
    return std::nullopt;
}

}  // namespace dante::ptp_test
