#pragma once
// How our real-time threads (the transmitter) get their scheduling class.
//
// Inside PipeWire the plugin hands in PipeWire's own thread utilities, so the transmitter is
// promoted exactly as PipeWire's data threads are: through rtkit on a desktop (an
// unprivileged user has no right to SCHED_FIFO of its own), or SCHED_FIFO under
// RLIMIT_RTPRIO. Anywhere else (tools, tests) request_sched_fifo() asks the kernel directly.
// The request is made once, by the thread itself, before its loop; whether it worked is read
// back from the kernel (thread_is_realtime), so dante.tx.realtime reports what the thread
// actually runs with, whoever granted it.

#include <sys/types.h>

#include <functional>

namespace dante {

// Makes the calling thread real-time at `priority` (1-99); true if the request succeeded.
using RealtimeRequest = std::function<bool(int priority)>;

bool request_sched_fifo(int priority);

// The kernel thread id of the caller.
pid_t current_thread_id();

// Whether thread `tid` of this process runs SCHED_FIFO or SCHED_RR right now.
bool thread_is_realtime(pid_t tid);

}  // namespace dante
