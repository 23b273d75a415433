#include "net/timestamps.hpp"

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <cstring>
#include <ctime>

namespace dante {
namespace {

bool set_int(int fd, int level, int name, int value) { return ::setsockopt(fd, level, name, &value, sizeof value) == 0; }

int64_t to_ns(const timespec& ts) { return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec; }

}  // namespace

bool enable_software_timestamps(int fd, bool transmit) {
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    if (transmit) flags |= SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
    if (set_int(fd, SOL_SOCKET, SO_TIMESTAMPING, flags)) return true;
    enable_receive_timestamps(fd);
    return false;
}

bool enable_receive_timestamps(int fd) { return set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1); }

std::optional<int64_t> software_timestamp_ns(const msghdr& message) {
    // The CMSG macros take a non-const header but only read it.
    auto& msg = const_cast<msghdr&>(message);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SO_TIMESTAMPING && c->cmsg_len >= CMSG_LEN(sizeof(scm_timestamping))) {
            scm_timestamping ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            if (ts.ts[0].tv_sec != 0 || ts.ts[0].tv_nsec != 0) return to_ns(ts.ts[0]);
        } else if (c->cmsg_type == SO_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return to_ns(ts);
        }
    }
    return std::nullopt;
}

}  // namespace dante
