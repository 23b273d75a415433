#pragma once
// The kernel's software timestamps on a UDP socket: asking for them, and reading one from
// a message's control data. The one place that knows SO_TIMESTAMPING and SO_TIMESTAMPNS:
// the PTP engine (receive and transmit stamps), the receiver's audio sockets and dante-rx
// (receive stamps: a packet's arrival as it came off the link, not when a busy thread
// got to it) all use these.

#include <sys/socket.h>

#include <cstdint>
#include <optional>

namespace dante {

// Software receive stamps, and with `transmit` software transmit stamps on the error
// queue (keyed by SOF_TIMESTAMPING_OPT_ID, stamp only), through SO_TIMESTAMPING. Where the
// kernel refuses that, SO_TIMESTAMPNS stands in for receive stamps and this returns false.
bool enable_software_timestamps(int fd, bool transmit);

// Receive stamps only (SO_TIMESTAMPNS). False when the kernel refused.
bool enable_receive_timestamps(int fd);

// The software timestamp in `msg`'s control data, CLOCK_REALTIME in ns: SCM_TIMESTAMPING's
// software stamp, or SCM_TIMESTAMPNS. Nothing when the message carries neither (or a zero
// stamp).
std::optional<int64_t> software_timestamp_ns(const msghdr& msg);

}  // namespace dante
