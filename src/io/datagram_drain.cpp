#include "io/datagram_drain.hpp"

#include <algorithm>
#include <cerrno>

namespace dante::io {

ReceiveStatus receive_datagram(int fd, const DrainBuffers& buffers, ReceivedDatagram& out, msghdr& message,
                               sockaddr_in& from) {
    iovec iov{buffers.payload.data(), buffers.payload.size()};
    message = msghdr{};
    message.msg_name = &from;
    message.msg_namelen = sizeof from;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = buffers.control.empty() ? nullptr : buffers.control.data();
    message.msg_controllen = buffers.control.size();
    const ssize_t size = ::recvmsg(fd, &message, buffers.flags | MSG_DONTWAIT | MSG_TRUNC);
    if (size < 0) {
        switch (errno) {
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
            case EINTR: return ReceiveStatus::empty;
            // Errors an earlier send left on the socket (ICMP): reported once, consumed.
            case ECONNREFUSED:
            case EHOSTUNREACH:
            case ENETUNREACH:
            case EHOSTDOWN:
            case ENETDOWN:
            case EPROTO:
            case EMSGSIZE:
            case ENOBUFS:
            case ENOMEM: return ReceiveStatus::consumed_error;
            default: return ReceiveStatus::failed;
        }
    }
    message.msg_iov = nullptr;  // iov is about to go out of scope; callers read bytes instead
    message.msg_iovlen = 0;
    out.size = static_cast<size_t>(size);
    out.truncated = (message.msg_flags & MSG_TRUNC) != 0 || out.size > buffers.payload.size();
    out.bytes = std::span<const uint8_t>(buffers.payload.data(), std::min(out.size, buffers.payload.size()));
    if (message.msg_namelen >= sizeof(sockaddr_in) && from.sin_family == AF_INET) {
        out.source_address = ntohl(from.sin_addr.s_addr);
        out.source_port = ntohs(from.sin_port);
    }
    out.message = &message;
    return ReceiveStatus::datagram;
}

}  // namespace dante::io
