#pragma once
// One coherent reading of the media clock against CLOCK_MONOTONIC.
//
// The media clock is the network's PTP time (or whatever source stands in for it). Its
// epoch is arbitrary: a Dante leader often counts from its own boot. So we never use it
// as wall time; we keep it as an overlay on CLOCK_MONOTONIC: at monotonic instant
// `monotonic_ns` the media clock read `media_ns`, and it advances `rate` media ns per
// monotonic ns. Every consumer (graph driver, transmitter, clients) maps instants through
// this one snapshot, so they all agree on what "media now" is.

#include <cmath>
#include <cstdint>
#include <string_view>

namespace dante {

enum class ClockState : uint8_t {
    unsynchronized,  // no usable time yet
    free_running,    // running on our own oscillator, not disciplined by anyone
    locked,          // following a leader (or a disciplined system clock)
    holdover,        // the leader went away; keeping its last rate
    master,          // we are the leader others follow
};

std::string_view to_string(ClockState state);

struct ClockSnapshot {
    int64_t media_ns = 0;      // media-clock time at monotonic_ns
    int64_t monotonic_ns = 0;  // CLOCK_MONOTONIC instant of the reading
    double rate = 1.0;         // media ns per monotonic ns
    uint64_t generation = 0;   // bumped at every discontinuity: clients re-anchor on change
    int64_t offset_ns = 0;     // last measured offset from the reference (0 if not applicable)
    ClockState state = ClockState::unsynchronized;

    [[nodiscard]] bool valid() const { return state != ClockState::unsynchronized; }

    // Media time at a monotonic instant. The span between the two is at most seconds in
    // practice, so double precision keeps well under a nanosecond of error.
    [[nodiscard]] int64_t media_ns_at(int64_t mono_ns) const {
        return media_ns + static_cast<int64_t>(std::llround(static_cast<double>(mono_ns - monotonic_ns) * rate));
    }
    // The monotonic instant at which the media clock reaches `media`.
    [[nodiscard]] int64_t monotonic_ns_at(int64_t media) const {
        return monotonic_ns + static_cast<int64_t>(std::llround(static_cast<double>(media - media_ns) / rate));
    }
};

}  // namespace dante
