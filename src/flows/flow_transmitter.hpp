#pragma once
// The real-time sender thread around TransmitterCore.
//
// It sleeps (clock_nanosleep, TIMER_ABSTIME, CLOCK_MONOTONIC) until the earliest flow's
// next packet is due, or at most TransmitterSettings::max_wait_ns so it notices new flow
// tables and stop(); then reads the current flow table and clock snapshot and lets the
// core send. The sockets are the flows' own connected, non-blocking UDP sockets.
//
// It asks for real-time scheduling at `rt_priority` through `make_realtime` (PipeWire's
// thread utilities inside PipeWire, SCHED_FIFO directly otherwise: util/realtime.hpp);
// without the right it runs as a normal thread, and realtime() says which it runs with. The loop allocates nothing, takes no locks
// and logs nothing; the only blocking call is the deliberate sleep.

#include <atomic>
#include <optional>
#include <thread>

#include "clock/media_clock.hpp"
#include "flows/flow_table.hpp"
#include "flows/transmitter_core.hpp"
#include "util/realtime.hpp"

namespace dante {

class FlowTransmitter {
public:
    FlowTransmitter(const TxRings& rings, const MediaClock& clock, FlowTablePublisher& table,
                    const TransmitterSettings& settings, int rt_priority, RealtimeRequest make_realtime = {});
    ~FlowTransmitter();
    FlowTransmitter(const FlowTransmitter&) = delete;
    FlowTransmitter& operator=(const FlowTransmitter&) = delete;

    void start();
    void stop();  // joins; at most one max_wait later

    [[nodiscard]] bool running() const { return thread_.joinable(); }
    // Whether the thread runs SCHED_FIFO/RR now, as the kernel says (main loop; a syscall).
    [[nodiscard]] bool realtime() const { return thread_is_realtime(tid_.load(std::memory_order_acquire)); }
    [[nodiscard]] const TransmitterCounters& counters() const { return counters_; }

    // Control thread: flows the transmitter found silent, to remove from the registry.
    std::optional<flowctl::FlowHandle> pop_expired() { return expired_.try_pop(); }

private:
    void loop();

    const MediaClock& clock_;
    FlowTablePublisher& table_;
    int rt_priority_;
    RealtimeRequest make_realtime_;
    TransmitterCounters counters_;
    ExpiredQueue expired_;
    TransmitterCore core_;
    std::atomic<bool> stop_{false};
    std::atomic<pid_t> tid_{0};
    std::thread thread_;
};

}  // namespace dante
