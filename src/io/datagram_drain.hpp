#pragma once
// Reading a non-blocking datagram socket the way every network service here does: up to a
// bounded batch per wake-up (so one flooded socket cannot starve the others' timers), the
// real size of each datagram (MSG_TRUNC: an oversized one is refused whole, never parsed
// from its truncated head), and errors sorted into "nothing left" (EAGAIN) and "a queued
// error was consumed, go on" (ECONNREFUSED and the other ICMP reports a UDP socket
// returns once each).

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace dante::io {

constexpr int kDrainBatch = 64;  // datagrams per socket per wake-up

struct ReceivedDatagram {
    std::span<const uint8_t> bytes;  // the part that fit in the buffer
    size_t size = 0;                 // the datagram's real size
    bool truncated = false;          // size > bytes.size(): refuse it
    uint32_t source_address = 0;     // IPv4, host order
    uint16_t source_port = 0;
    msghdr* message = nullptr;  // control messages (timestamps, IP_PKTINFO, ...)
};

struct DrainBuffers {
    std::span<uint8_t> payload;
    std::span<uint8_t> control;  // may be empty; align it for cmsghdr
    int flags = 0;               // e.g. MSG_ERRQUEUE
};

enum class ReceiveStatus { datagram, empty, consumed_error, failed };

// One recvmsg(). `empty`: nothing queued (or EINTR); `consumed_error`: a pending socket
// error was returned instead of a datagram; `failed`: the socket itself is unusable.
ReceiveStatus receive_datagram(int fd, const DrainBuffers& buffers, ReceivedDatagram& out, msghdr& message,
                               sockaddr_in& from);

// Calls on_datagram(const ReceivedDatagram&) for each datagram, at most `batch` receive
// attempts; returns the number of datagrams delivered.
template <typename OnDatagram>
int drain_datagrams(int fd, const DrainBuffers& buffers, OnDatagram&& on_datagram, int batch = kDrainBatch) {
    int delivered = 0;
    for (int n = 0; n < batch; ++n) {
        msghdr message{};
        sockaddr_in from{};
        ReceivedDatagram datagram;
        const ReceiveStatus status = receive_datagram(fd, buffers, datagram, message, from);
        if (status == ReceiveStatus::empty || status == ReceiveStatus::failed) break;
        if (status == ReceiveStatus::consumed_error) continue;
        ++delivered;
        on_datagram(static_cast<const ReceivedDatagram&>(datagram));
    }
    return delivered;
}

}  // namespace dante::io
