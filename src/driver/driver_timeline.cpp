#include "driver/driver_timeline.hpp"

#include <algorithm>
#include <cstdlib>

#include "clock/media_time.hpp"

namespace dante {

uint64_t DriverTimeline::lead_samples(uint32_t duration) const {
    return duration + static_cast<uint64_t>(ns_to_samples_ceil(margin_ns_, rate_hz_));
}

uint64_t DriverTimeline::rendered_ahead(uint32_t duration) const {
    // A cycle starts `lead` before its position and ends `duration` after it.
    return lead_samples(duration) + duration;
}

int64_t DriverTimeline::lead_ns(uint32_t duration) const {
    return samples_to_ns(static_cast<int64_t>(lead_samples(duration)), rate_hz_);
}

CyclePlan DriverTimeline::plan(const ClockSnapshot& clock, int64_t now_ns, uint32_t duration) {
    const uint64_t lead = lead_samples(duration);
    // The position a cycle starting right now should render.
    const uint64_t ideal = media_sample_at(clock.media_ns_at(now_ns), rate_hz_) + lead;

    // How far ahead of `ideal` the contiguous position may be: the lead, or what the last
    // cycle rendered ahead when the quantum shrank or the node restarted right after that
    // cycle began (see wait_ns()), plus a few quanta.
    const uint64_t ahead_allowed = std::max(lead, rendered_ahead(last_duration_)) + kMaxCatchUpQuanta * duration;

    CyclePlan plan;
    uint64_t position = next_position_;
    if (!anchored_) {
        position = ideal;
        // See reset(): never back over written audio. A restart later than that anchors
        // afresh: continuing behind media now + lead would write audio the transmitter may
        // already have sent.
        if (has_history_ && clock.generation == generation_ && next_position_ >= ideal &&
            next_position_ - ideal <= ahead_allowed)
            position = next_position_;
        plan.discontinuity = true;
    } else {
        const int64_t behind = static_cast<int64_t>(ideal - position);
        const bool stalled = behind > static_cast<int64_t>(kMaxCatchUpQuanta * duration);
        // Further ahead than that: the media clock went back.
        const bool jumped_back = -behind > static_cast<int64_t>(ahead_allowed);
        const bool stepped = clock.generation != generation_ &&
                             std::llabs(samples_to_ns(behind, rate_hz_)) > kStepToleranceNs + samples_to_ns(duration, rate_hz_);
        if (stalled || jumped_back || stepped) {
            if (stalled && !stepped) plan.skipped = static_cast<uint64_t>(behind);
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
    last_duration_ = duration;
    plan.lead_ns = samples_to_ns(static_cast<int64_t>(lead), rate_hz_);
    plan.nsec = clock.monotonic_ns_at(media_ns_of_sample(position - lead, rate_hz_));
    next_position_ = position + duration;
    plan.next_nsec = clock.monotonic_ns_at(media_ns_of_sample(next_position_ - lead, rate_hz_));
    plan.rate_diff = clock.rate;
    return plan;
}

int64_t DriverTimeline::wait_ns(const ClockSnapshot& clock, int64_t now_ns, uint32_t duration) const {
    if (!has_history_ || clock.generation != generation_) return 0;
    const int64_t start = clock.monotonic_ns_at(media_ns_of_sample(next_position_ - lead_samples(duration), rate_hz_));
    const int64_t wait = start - now_ns;
    // Waits shorter than this are timer noise and clock-estimate updates: the cycle runs
    // that little early, as any driver's does. Longer than the last cycle rendered ahead
    // is not a shrunk lead or a quick restart (the clock went back): plan() decides.
    constexpr int64_t kMinWaitNs = 100'000;
    const int64_t longest = samples_to_ns(static_cast<int64_t>(rendered_ahead(std::max(duration, last_duration_))), rate_hz_);
    return wait > kMinWaitNs && wait <= longest ? wait : 0;
}

}  // namespace dante
