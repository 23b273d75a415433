#pragma once
// When each graph cycle runs and which media-clock position it renders.
//
// The timing contract: a cycle's position is the Dante timestamp of its first sample, and
// the cycle runs `lead` ahead of the media clock, so its audio is in the TX rings before
// the transmitter sends it:
//
//     cycle start (monotonic nsec)  <=>  media now = position - lead
//     lead = duration + margin      (the whole quantum, plus time to compute it)
//
// Positions are contiguous (each cycle starts where the last ended) and every deadline is
// computed afresh from the clock snapshot, so timer jitter never accumulates and the
// graph runs at exactly the media clock's rate: no DLL, no drift. The position jumps only
// at a discontinuity: the first cycle, a clock step, or a stall longer than a few quanta.

#include <cstdint>

#include "clock/clock_snapshot.hpp"

namespace dante {

struct CyclePlan {
    uint64_t position = 0;     // media sample index of the cycle's first frame
    int64_t nsec = 0;          // CLOCK_MONOTONIC instant the cycle nominally starts
    int64_t next_nsec = 0;     // nominal start of the following cycle
    double rate_diff = 1.0;    // media clock rate against CLOCK_MONOTONIC
    int64_t lead_ns = 0;       // how far ahead of media now this cycle renders
    bool discontinuity = false;
    uint64_t skipped = 0;      // samples skipped because the cycle ran too late (a stall)
};

class DriverTimeline {
public:
    // A stall this many quanta long makes the next cycle re-anchor to media now instead
    // of running the missed cycles back to back.
    static constexpr uint64_t kMaxCatchUpQuanta = 4;
    // A clock step smaller than this keeps positions contiguous; deadlines absorb it.
    static constexpr int64_t kStepToleranceNs = 1'000'000;

    DriverTimeline(uint32_t rate_hz, int64_t margin_ns) : rate_hz_(rate_hz), margin_ns_(margin_ns) {}

    // Start a fresh timeline at the next plan() (node (re)started). What the previous run
    // wrote stays off-limits: a restart sooner than the lead after a stop would otherwise
    // anchor before the end of the last cycle and overwrite its audio in the rings, so the
    // restart continues at that end instead (same clock generation, not too far ahead).
    // A restart later than that anchors afresh at media now + lead: a gap of silence, never
    // audio written behind the lead (the transmitter may have sent those positions).
    void reset() { anchored_ = false; }

    // Plan the cycle that the timer woke up for. `now_ns` is CLOCK_MONOTONIC now, `duration`
    // the cycle's length in frames. Call once per cycle; it advances the timeline.
    CyclePlan plan(const ClockSnapshot& clock, int64_t now_ns, uint32_t duration);

    // How long the cycle the timer woke up for must still wait before plan(), if it lasts
    // `duration` frames; 0: run it now. A cycle continues at the end of the last one, and
    // its start is `lead` before that: when the quantum shrinks, the lead shrinks with it,
    // so the cycle starts up to the difference later than the timer armed for the old
    // quantum; after a quick restart it starts when the last run's audio has been sent.
    // Planned early, it would break the timing contract or, re-anchored at media now,
    // overwrite audio already in the rings (a 2048 -> 256 change did that on PipeWire 1.4).
    [[nodiscard]] int64_t wait_ns(const ClockSnapshot& clock, int64_t now_ns, uint32_t duration) const;

    // The last planned cycle really lasted `frames` (PipeWire 0.3.65 applies a new quantum
    // itself at the start of the cycle, after the driver planned it with the old one): the
    // next cycle starts where that one really ended, so no write overlaps or skips.
    void correct_last_duration(uint32_t frames) {
        if (!has_history_) return;
        next_position_ = last_position_ + frames;
        last_duration_ = frames;
    }

    [[nodiscard]] int64_t lead_ns(uint32_t duration) const;
    [[nodiscard]] uint64_t discontinuities() const { return discontinuities_; }

private:
    [[nodiscard]] uint64_t lead_samples(uint32_t duration) const;
    [[nodiscard]] uint64_t rendered_ahead(uint32_t duration) const;

    uint32_t rate_hz_;
    int64_t margin_ns_;
    bool anchored_ = false;
    bool has_history_ = false;  // next_position_ is the end of what a previous cycle wrote
    uint64_t next_position_ = 0;
    uint64_t last_position_ = 0;
    uint32_t last_duration_ = 0;
    uint64_t generation_ = 0;
    uint64_t discontinuities_ = 0;
};

}  // namespace dante
