#pragma once
// Placing audio when another node drives the graph.
//
// The other driver's cycles come at its own clock's pace, not the media clock's. We keep
// our own contiguous write position and hold it `lead` ahead of media now by steering
// the adapter's resampler (spa_io_rate_match.rate, as alsa-pcm does when it follows):
// error = write position - (media now + lead), in samples; positive means we are too far
// ahead, so the returned rate goes below 1 and the converter hands us fewer frames per
// cycle. A second-order loop (the structure of SPA's DLL) removes both the offset and the
// frequency difference. If the error ever exceeds a few quanta (a stall, a clock step)
// we re-anchor: a counted discontinuity instead of a long slew.

#include <cstdint>

#include "clock/clock_snapshot.hpp"

namespace dante {

class FollowerTracker {
public:
    struct Result {
        uint64_t position;  // where this cycle's frames go
        double rate;        // for spa_io_rate_match.rate (1.0 = no correction)
        double error;       // samples, before this cycle's correction
        bool discontinuity;
    };

    FollowerTracker(uint32_t rate_hz, int64_t margin_ns) : rate_hz_(rate_hz), margin_ns_(margin_ns) {}

    void reset() { anchored_ = false; }

    // `cycle_nsec`: CLOCK_MONOTONIC start of the driver's cycle; `duration`: the graph's
    // quantum; `frames`: what the converter actually handed us this cycle.
    Result track(const ClockSnapshot& clock, int64_t cycle_nsec, uint32_t duration, uint32_t frames);

    [[nodiscard]] uint64_t discontinuities() const { return discontinuities_; }

private:
    void configure_loop(uint32_t duration, double bandwidth);

    uint32_t rate_hz_;
    int64_t margin_ns_;
    bool anchored_ = false;
    uint64_t position_ = 0;
    uint64_t discontinuities_ = 0;
    uint64_t cycles_since_anchor_ = 0;
    // Loop state (w0, w1, w2 as in a second-order DLL) and its integrator.
    double w0_ = 0, w1_ = 0, w2_ = 0;
    double z1_ = 0, z2_ = 0, z3_ = 0;
};

}  // namespace dante
