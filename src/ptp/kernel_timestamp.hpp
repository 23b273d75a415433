#pragma once
// Kernel socket timestamps are CLOCK_REALTIME; the engine works in CLOCK_MONOTONIC.
//
// The two differ by an offset that only changes when something steps or slews the
// system clock, so a timestamp converts by the offset sampled right when it is processed
// (microseconds after it was taken). The offset is sampled as monotonic, realtime,
// monotonic back to back and taken against the midpoint of the two monotonic reads, so a
// preemption between the reads shows as a wide bracket instead of a silent error; the
// caller retries a few times and keeps the tightest bracket.
//
// Pure: the readings come in as numbers, so this unit-tests without clocks.

#include <cstdint>

namespace dante::ptp {

struct ClockBracket {
    int64_t mono_before_ns = 0;
    int64_t realtime_ns = 0;
    int64_t mono_after_ns = 0;

    [[nodiscard]] constexpr int64_t width_ns() const { return mono_after_ns - mono_before_ns; }
    // REALTIME - MONOTONIC at the moment of the realtime read (best estimate: midpoint).
    [[nodiscard]] constexpr int64_t realtime_minus_monotonic_ns() const {
        return realtime_ns - (mono_before_ns + (mono_after_ns - mono_before_ns) / 2);
    }
};

// The tighter of two brackets (the one less disturbed by preemption).
constexpr const ClockBracket& tighter(const ClockBracket& a, const ClockBracket& b) {
    return b.width_ns() < a.width_ns() ? b : a;
}

constexpr int64_t monotonic_from_realtime(int64_t realtime_ns, const ClockBracket& bracket) {
    return realtime_ns - bracket.realtime_minus_monotonic_ns();
}

}  // namespace dante::ptp
