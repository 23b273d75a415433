#include "rx/capture_timeline.hpp"

#include "clock/media_time.hpp"

namespace dante {

CaptureTimeline::CaptureTimeline(uint32_t rate_hz, int64_t margin_ns, int64_t latency_ns)
    : rate_hz_(rate_hz),
      margin_ns_(margin_ns),
      fixed_frames_(static_cast<uint64_t>(ns_to_samples_ceil(margin_ns + latency_ns, rate_hz))) {}

CaptureCycle CaptureTimeline::finish(uint64_t graph_position, uint32_t duration) {
    CaptureCycle cycle;
    cycle.discontinuity = !have_last_ || graph_position != next_position_;
    if (cycle.discontinuity && have_last_) ++discontinuities_;
    have_last_ = true;
    next_position_ = graph_position + duration;
    cycle.offset = offset(duration);
    cycle.read_position = graph_position > cycle.offset ? graph_position - cycle.offset : 0;
    return cycle;
}

CaptureCycle CaptureTimeline::driven(uint64_t graph_position, uint32_t duration) {
    return finish(graph_position, duration);
}

CaptureCycle CaptureTimeline::following(const ClockSnapshot& clock, int64_t cycle_nsec, uint32_t duration) {
    if (!clock.valid()) {
        have_last_ = false;
        return CaptureCycle{};
    }
    const int64_t media = clock.media_ns_at(cycle_nsec) + margin_ns_;
    uint64_t position = media_sample_at(media, rate_hz_) + duration;
    if (have_last_) {
        const uint64_t expected = next_position_;
        const uint64_t apart = position > expected ? position - expected : expected - position;
        if (apart <= duration / 2) position = expected;
    }
    return finish(position, duration);
}

}  // namespace dante
