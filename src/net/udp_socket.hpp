#pragma once
// A UDP/IPv4 socket that owns its file descriptor, and the few ways this project opens one.
//
// Every socket is bound to the device's interface: to its IPv4 address always, and to
// the device itself with SO_BINDTODEVICE when we may (it needs CAP_NET_RAW; without it
// the address binding alone keeps traffic on that interface's subnet). Errors come back
// as one sentence naming what failed and why.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net/interface.hpp"
#include "net/ipv4.hpp"

namespace dante {

class UdpSocket {
public:
    UdpSocket() = default;
    explicit UdpSocket(int fd) : fd_(fd) {}
    UdpSocket(UdpSocket&& other) noexcept : fd_(other.release()) {}
    UdpSocket& operator=(UdpSocket&& other) noexcept;
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    ~UdpSocket() { close(); }

    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] bool is_open() const { return fd_ >= 0; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void close();

    // The address the kernel bound us to (port filled in for ephemeral binds).
    [[nodiscard]] std::optional<Ipv4Endpoint> local_endpoint() const;

    // Non-blocking I/O. Return bytes moved, or -1 with errno set (EAGAIN when nothing to do).
    ssize_t send(std::span<const uint8_t> data) const;
    ssize_t send_to(std::span<const uint8_t> data, const Ipv4Endpoint& to) const;
    ssize_t recv_from(std::span<uint8_t> buffer, Ipv4Endpoint* from) const;
    // Several datagrams on a connected socket, in order, with as few sendmmsg() calls as
    // possible (one when all go out; a failed datagram is skipped and the rest sent).
    // sent[i] = whether packets[i] went out whole. Returns how many did. No allocation:
    // at most kMaxBatch datagrams (more are not sent, sent[i] = false).
    static constexpr size_t kMaxBatch = 64;
    size_t send_batch(std::span<const std::span<const uint8_t>> packets, std::span<bool> sent) const;

    // Wait up to timeout_ms for something to read. False on timeout (or EINTR).
    [[nodiscard]] bool wait_readable(int timeout_ms) const;

private:
    int fd_ = -1;
};

struct BindOptions {
    uint16_t port = 0;              // 0: ephemeral
    bool bind_to_device = true;     // SO_BINDTODEVICE (skipped silently without CAP_NET_RAW)
    bool reuse_address = false;     // SO_REUSEADDR, for a well-known server port
};

// A non-blocking UDP socket bound to the interface's IPv4 address (and device).
std::optional<UdpSocket> open_udp_on_interface(const InterfaceInfo& iface, const BindOptions& options,
                                               std::string& error);

// A non-blocking UDP socket bound to `local` (address may be 0 = any), no device binding.
std::optional<UdpSocket> open_udp(const Ipv4Endpoint& local, std::string& error);

// A socket that sends multicast out of `iface` only: bound to the interface (as above),
// IP_MULTICAST_IF set to it (index and address), IP_MULTICAST_TTL = ttl, IP_MULTICAST_LOOP
// off (our own host must not hear it back), then connect()ed to `group`. Refused (nullopt
// and a sentence) if `group` is not multicast, or the interface is down or has no
// IFF_MULTICAST (e.g. `lo`), so nothing ever leaves by some other route.
std::optional<UdpSocket> open_multicast_sender(const InterfaceInfo& iface, const Ipv4Endpoint& group, int ttl,
                                               std::string& error);

// A socket that receives the multicast `group` (address and port) on `iface` only: bound to
// the group's address and port (so it gets that group's datagrams and nothing sent to the
// port otherwise), SO_REUSEADDR (other receivers of the group on this host may share it),
// SO_BINDTODEVICE when allowed, and a membership (IP_ADD_MEMBERSHIP) on the interface by
// index and address: the join's IGMP report leaves through that interface only.
std::optional<UdpSocket> open_multicast_receiver(const InterfaceInfo& iface, const Ipv4Endpoint& group,
                                                 std::string& error);
// connect() a UDP socket: fixes its peer, so send() needs no address and the kernel
// drops datagrams from anybody else.
bool connect_udp(const UdpSocket& socket, const Ipv4Endpoint& peer, std::string& error);

// For sockets set up by hand (PTP and mDNS bind a well-known port on any address):
// a membership of `group` on `iface` (IP_ADD_MEMBERSHIP by index and address: the IGMP
// report leaves through it only) ...
bool join_multicast_group(int fd, uint32_t group, const InterfaceInfo& iface, std::string& error);
// ... and multicasts from `fd` leaving through `iface` only (IP_MULTICAST_IF), with IP
// TTL `ttl`, heard back on this host or not (IP_MULTICAST_LOOP).
bool set_multicast_output(int fd, const InterfaceInfo& iface, int ttl, bool loop, std::string& error);

}  // namespace dante
