#include "driver/driver_timeline.hpp"

#include <cstdlib>

#include "clock/media_time.hpp"

namespace dante {

uint64_t DriverTimeline::lead_samples(uint32_t duration) const {
    return duration + static_cast<uint64_t>(ns_to_samples_ceil(margin_ns_, rate_hz_));
}

int64_t DriverTimeline::lead_ns(uint32_t duration) const {
    return samples_to_ns(static_cast<int64_t>(lead_samples(duration)), rate_hz_);
}

CyclePlan DriverTimeline::plan(const ClockSnapshot& clock, int64_t now_ns, uint32_t duration) {
    const uint64_t lead = lead_samples(duration);
    // The position a cycle starting right now should render.
    const uint64_t ideal = media_sample_at(clock.media_ns_at(now_ns), rate_hz_) + lead;

    CyclePlan plan;
    uint64_t position = next_position_;
    if (!anchored_) {
        position = ideal;
        if (has_history_ && clock.generation == generation_ && next_position_ > ideal &&
            next_position_ - ideal <= lead + kMaxCatchUpQuanta * duration)
            position = next_position_;  // see reset(): never back over written audio
        plan.discontinuity = true;
    } else {
        const int64_t behind = static_cast<int64_t>(ideal - position);
        const bool stalled = behind > static_cast<int64_t>(kMaxCatchUpQuanta * duration);
        const bool jumped_back = -behind > static_cast<int64_t>(lead + kMaxCatchUpQuanta * duration);
        const bool stepped = clock.generation != generation_ &&
                             std::llabs(samples_to_ns(behind, rate_hz_)) > kStepToleranceNs + samples_to_ns(duration, rate_hz_);
        if (stalled || jumped_back || stepped) {
            position = ideal;
            plan.discontinuity = true;
        }
    }
    if (plan.discontinuity && anchored_) ++discontinuities_;
    anchored_ = true;
    has_history_ = true;
    generation_ = clock.generation;

    plan.position = position;
    last_position_ = position;
    plan.lead_ns = samples_to_ns(static_cast<int64_t>(lead), rate_hz_);
    plan.nsec = clock.monotonic_ns_at(media_ns_of_sample(position - lead, rate_hz_));
    next_position_ = position + duration;
    plan.next_nsec = clock.monotonic_ns_at(media_ns_of_sample(next_position_ - lead, rate_hz_));
    plan.rate_diff = clock.rate;
    return plan;
}

}  // namespace dante
