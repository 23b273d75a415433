#pragma once
// Which Dante timestamps a receiving node outputs in each graph cycle.
//
// The contract, next to the sink's (src/driver/driver_timeline.hpp): a cycle at graph
// position P outputs the samples a transmitter stamped P - offset, where
//
//     offset = 2 x duration + margin + latency      (frames; duration = the quantum)
//
// because when our sink drives, the cycle at P starts at media now = P - (duration +
// margin), and the last sample it outputs (stamped P - offset + duration - 1) must have
// arrived by then with `latency` to spare for the transmitter and the network, as a Dante
// receiver's latency is that budget. So a loopback through our own sink and source is a
// known number of frames, and a sample stamped t reaches the graph at position t + offset.
//
// When our sink drives, P is the graph's position (spa_io_clock.position), exact. When
// another driver runs the graph, P is taken from the media clock at the cycle's start,
// P = media sample at clock.nsec + duration + margin, and kept contiguous with the last
// cycle while the two agree within half a quantum (the other driver's clock drifts against
// the media clock: when the difference grows past that, the position re-anchors, a
// discontinuity, counted). Pure: no clock reads, no I/O.

#include <cstdint>

#include "clock/clock_snapshot.hpp"

namespace dante {

struct CaptureCycle {
    uint64_t read_position = 0;  // Dante timestamp of the cycle's first output frame
    uint64_t offset = 0;         // frames between the graph position and read_position
    bool discontinuity = false;  // not contiguous with the last cycle
};

class CaptureTimeline {
public:
    CaptureTimeline(uint32_t rate_hz, int64_t margin_ns, int64_t latency_ns);

    [[nodiscard]] uint64_t offset(uint32_t duration) const { return 2ull * duration + fixed_frames_; }

    // Our sink drives: the graph position is the media position.
    CaptureCycle driven(uint64_t graph_position, uint32_t duration);
    // Another driver: the position from the media clock at the cycle's start. An unusable
    // clock gives nothing to read (read_position 0: silence), and the next usable cycle
    // anchors afresh.
    CaptureCycle following(const ClockSnapshot& clock, int64_t cycle_nsec, uint32_t duration);

    void reset() { have_last_ = false; }
    [[nodiscard]] uint64_t discontinuities() const { return discontinuities_; }

private:
    CaptureCycle finish(uint64_t graph_position, uint32_t duration);

    uint32_t rate_hz_;
    int64_t margin_ns_;
    uint64_t fixed_frames_;  // margin + latency, in frames (rounded up)
    bool have_last_ = false;
    uint64_t next_position_ = 0;  // graph position right after the last cycle
    uint64_t discontinuities_ = 0;
};

}  // namespace dante
