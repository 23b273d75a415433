#include "net/udp_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace dante {
namespace {

sockaddr_in to_sockaddr(const Ipv4Endpoint& endpoint) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(endpoint.port);
    addr.sin_addr.s_addr = htonl(endpoint.address);
    return addr;
}

Ipv4Endpoint from_sockaddr(const sockaddr_in& addr) {
    return Ipv4Endpoint{ntohl(addr.sin_addr.s_addr), ntohs(addr.sin_port)};
}

std::string errno_text(int err) { return std::strerror(err); }

std::optional<UdpSocket> new_socket(std::string& error) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = "cannot create a UDP socket: " + errno_text(errno);
        return std::nullopt;
    }
    return UdpSocket(fd);
}

bool bind_to(const UdpSocket& socket, const Ipv4Endpoint& local, std::string& error) {
    const sockaddr_in addr = to_sockaddr(local);
    if (::bind(socket.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        error = "cannot bind a UDP socket to " + to_string(local) + ": " + errno_text(errno);
        return false;
    }
    return true;
}

}  // namespace

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.release();
    }
    return *this;
}

void UdpSocket::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::optional<Ipv4Endpoint> UdpSocket::local_endpoint() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return std::nullopt;
    return from_sockaddr(addr);
}

ssize_t UdpSocket::send(std::span<const uint8_t> data) const {
    return ::send(fd_, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

size_t UdpSocket::send_batch(std::span<const std::span<const uint8_t>> packets, std::span<bool> sent) const {
    const size_t n = std::min(packets.size(), kMaxBatch);
    std::fill(sent.begin(), sent.end(), false);
    std::array<mmsghdr, kMaxBatch> msgs{};
    std::array<iovec, kMaxBatch> iov{};
    for (size_t i = 0; i < n; ++i) {
        iov[i].iov_base = const_cast<uint8_t*>(packets[i].data());
        iov[i].iov_len = packets[i].size();
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    size_t done = 0;
    size_t ok = 0;
    while (done < n) {
        const size_t asked = n - done;
        const int r = ::sendmmsg(fd_, msgs.data() + done, static_cast<unsigned>(asked), MSG_DONTWAIT | MSG_NOSIGNAL);
        // sendmmsg stops at the first datagram that fails: r < 0 if it was the first one,
        // else the count sent before it. Either way that one is dropped and the rest go on.
        const size_t went = r > 0 ? static_cast<size_t>(r) : 0;
        for (size_t i = done; i < done + went; ++i) {
            sent[i] = msgs[i].msg_len == packets[i].size();
            ok += sent[i] ? 1 : 0;
        }
        done += went < asked ? went + 1 : went;
    }
    return ok;
}

ssize_t UdpSocket::send_to(std::span<const uint8_t> data, const Ipv4Endpoint& to) const {
    const sockaddr_in addr = to_sockaddr(to);
    return ::sendto(fd_, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                    sizeof addr);
}

ssize_t UdpSocket::recv_from(std::span<uint8_t> buffer, Ipv4Endpoint* from) const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    // MSG_TRUNC: report the datagram's real size, so callers can refuse oversized input.
    const ssize_t n =
        ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&addr), &len);
    if (n >= 0 && from != nullptr) *from = from_sockaddr(addr);
    return n;
}

bool UdpSocket::wait_readable(int timeout_ms) const {
    pollfd pfd{fd_, POLLIN, 0};
    return ::poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN) != 0;
}

std::optional<UdpSocket> open_udp_on_interface(const InterfaceInfo& iface, const BindOptions& options,
                                               std::string& error) {
    auto socket = new_socket(error);
    if (!socket) return std::nullopt;
    if (options.reuse_address) {
        const int one = 1;
        ::setsockopt(socket->fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (options.bind_to_device) {
        // Without CAP_NET_RAW the kernel refuses (EPERM); the address binding below still
        // pins the source address, so carry on rather than fail for an unprivileged user.
        if (::setsockopt(socket->fd(), SOL_SOCKET, SO_BINDTODEVICE, iface.name.c_str(),
                         static_cast<socklen_t>(iface.name.size())) != 0 &&
            errno != EPERM) {
            error = "cannot bind a UDP socket to interface " + iface.name + ": " + errno_text(errno);
            return std::nullopt;
        }
    }
    if (!bind_to(*socket, Ipv4Endpoint{iface.subnet.address, options.port}, error)) return std::nullopt;
    return socket;
}

std::optional<UdpSocket> open_udp(const Ipv4Endpoint& local, std::string& error) {
    auto socket = new_socket(error);
    if (!socket) return std::nullopt;
    if (!bind_to(*socket, local, error)) return std::nullopt;
    return socket;
}

std::optional<UdpSocket> open_multicast_receiver(const InterfaceInfo& iface, const Ipv4Endpoint& group,
                                                 std::string& error) {
    if (!is_multicast(group.address) || group.port == 0) {
        error = to_string(group) + " is not a multicast group and port";
        return std::nullopt;
    }
    auto socket = new_socket(error);
    if (!socket) return std::nullopt;
    const int one = 1;
    ::setsockopt(socket->fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // As open_udp_on_interface: without CAP_NET_RAW the membership below still picks the link.
    if (::setsockopt(socket->fd(), SOL_SOCKET, SO_BINDTODEVICE, iface.name.c_str(),
                     static_cast<socklen_t>(iface.name.size())) != 0 &&
        errno != EPERM) {
        error = "cannot bind a UDP socket to interface " + iface.name + ": " + errno_text(errno);
        return std::nullopt;
    }
    if (!bind_to(*socket, group, error) || !join_multicast_group(socket->fd(), group.address, iface, error))
        return std::nullopt;
    return socket;
}

bool join_multicast_group(int fd, uint32_t group, const InterfaceInfo& iface, std::string& error) {
    ip_mreqn mreq{};
    mreq.imr_multiaddr.s_addr = htonl(group);
    mreq.imr_address.s_addr = htonl(iface.subnet.address);
    mreq.imr_ifindex = static_cast<int>(if_nametoindex(iface.name.c_str()));
    if (mreq.imr_ifindex == 0 || ::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
        error = "cannot join " + ipv4_to_string(group) + " on " + iface.name + ": " + errno_text(errno);
        return false;
    }
    return true;
}

bool set_multicast_output(int fd, const InterfaceInfo& iface, int ttl, bool loop, std::string& error) {
    ip_mreqn mreq{};
    mreq.imr_address.s_addr = htonl(iface.subnet.address);
    mreq.imr_ifindex = static_cast<int>(if_nametoindex(iface.name.c_str()));
    const int loop_value = loop ? 1 : 0;
    if (mreq.imr_ifindex == 0 || ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0 ||
        ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
        ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop_value, sizeof loop_value) != 0) {
        error = "cannot set the multicast interface/TTL/loop on " + iface.name + ": " + errno_text(errno);
        return false;
    }
    return true;
}

bool connect_udp(const UdpSocket& socket, const Ipv4Endpoint& peer, std::string& error) {
    const sockaddr_in addr = to_sockaddr(peer);
    if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        error = "cannot connect a UDP socket to " + to_string(peer) + ": " + errno_text(errno);
        return false;
    }
    return true;
}

std::optional<UdpSocket> open_multicast_sender(const InterfaceInfo& iface, const Ipv4Endpoint& group, int ttl,
                                               std::string& error) {
    if (!is_multicast(group.address) || group.port == 0) {
        error = to_string(group) + " is not a multicast destination";
        return std::nullopt;
    }
    auto socket = open_udp_on_interface(iface, BindOptions{}, error);
    if (!socket) return std::nullopt;

    ifreq request{};
    if (iface.name.size() >= sizeof request.ifr_name) {
        error = "interface name " + iface.name + " is too long";
        return std::nullopt;
    }
    std::memcpy(request.ifr_name, iface.name.c_str(), iface.name.size());
    if (::ioctl(socket->fd(), SIOCGIFFLAGS, &request) != 0) {
        error = "cannot read the flags of interface " + iface.name + ": " + errno_text(errno);
        return std::nullopt;
    }
    if (!(request.ifr_flags & IFF_UP) || !(request.ifr_flags & IFF_MULTICAST) || (request.ifr_flags & IFF_LOOPBACK)) {
        error = "interface " + iface.name + " cannot send multicast (down, loopback or no MULTICAST flag)";
        return std::nullopt;
    }

    if (!set_multicast_output(socket->fd(), iface, ttl, false, error) || !connect_udp(*socket, group, error))
        return std::nullopt;
    return socket;
}

}  // namespace dante
