#include "driver/follower_tracker.hpp"

#include <algorithm>
#include <cmath>

#include "clock/media_time.hpp"

namespace dante {
namespace {
constexpr double kWideBandwidth = 0.128;    // fast pull-in right after anchoring
constexpr double kNarrowBandwidth = 0.016;  // then quiet tracking
constexpr uint64_t kPullInCycles = 256;
}  // namespace

void FollowerTracker::configure_loop(uint32_t duration, double bandwidth) {
    // Loop gains for a critically damped second-order loop updated once per period.
    const double w = 2.0 * M_PI * bandwidth * duration / rate_hz_;
    w0_ = 1.0 - std::exp(-20.0 * w);
    w1_ = w * 1.5 / duration;
    w2_ = w / 1.5;
}

FollowerTracker::Result FollowerTracker::track(const ClockSnapshot& clock, int64_t cycle_nsec, uint32_t duration,
                                               uint32_t frames) {
    const uint64_t lead = duration + static_cast<uint64_t>(ns_to_samples_ceil(margin_ns_, rate_hz_));
    const uint64_t ideal = media_sample_at(clock.media_ns_at(cycle_nsec), rate_hz_) + lead;
    double error = static_cast<double>(static_cast<int64_t>(position_ - ideal));
    const double max_error = 2.0 * duration + static_cast<double>(lead - duration);

    Result result{};
    if (!anchored_ || std::abs(error) > max_error) {
        if (anchored_) ++discontinuities_;
        anchored_ = true;
        position_ = ideal;
        error = 0;
        cycles_since_anchor_ = 0;
        z1_ = z2_ = z3_ = 0;
        configure_loop(duration, kWideBandwidth);
        result.discontinuity = true;
    } else if (++cycles_since_anchor_ == kPullInCycles) {
        configure_loop(duration, kNarrowBandwidth);
    }

    // Keep corrections gentle: a resampler asked for more than +-0.5% would be audible.
    const double clamped = std::clamp(error, -static_cast<double>(duration) / 2, static_cast<double>(duration) / 2);
    z1_ += w0_ * (w1_ * clamped - z1_);
    z2_ += w0_ * (z1_ - z2_);
    z3_ += w2_ * z2_;
    result.rate = std::clamp(1.0 - (z2_ + z3_), 0.995, 1.005);
    result.error = error;
    result.position = position_;
    position_ += frames;
    return result;
}

}  // namespace dante
