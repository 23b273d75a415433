#include "clock/rate_tracker.hpp"

#include <cmath>

namespace dante {
namespace {

// Rate uncertainty allowed when judging a step: before two samples we know nothing about the
// rate (a disciplined PHC may be off by a few hundred ppm); after, the fit is good to far
// better than this, and a servo retuning the clock stays well inside it.
constexpr double kUnknownRateTolerance = 1e-3;
constexpr double kFittedRateTolerance = 50e-6;

}  // namespace

double RateTracker::predict(int64_t monotonic_ns) const {
    return intercept_ + static_cast<double>(monotonic_ns - base_mono_) * rate_;
}

void RateTracker::fit() {
    base_mono_ = at(0).monotonic_ns;
    base_ref_ = at(0).reference_ns;
    if (count_ == 1) {
        intercept_ = 0.0;  // keep rate_: the last known rate, 1 at the very start
        max_residual_ = 0.0;
        return;
    }
    // Least squares of y = reference - base_ref on x = monotonic - base_mono, centred on
    // the means for numerical stability.
    double mean_x = 0.0, mean_y = 0.0;
    for (size_t i = 0; i < count_; ++i) {
        mean_x += static_cast<double>(at(i).monotonic_ns - base_mono_);
        mean_y += static_cast<double>(at(i).reference_ns - base_ref_);
    }
    mean_x /= static_cast<double>(count_);
    mean_y /= static_cast<double>(count_);
    double sxx = 0.0, sxy = 0.0;
    for (size_t i = 0; i < count_; ++i) {
        const double dx = static_cast<double>(at(i).monotonic_ns - base_mono_) - mean_x;
        const double dy = static_cast<double>(at(i).reference_ns - base_ref_) - mean_y;
        sxx += dx * dx;
        sxy += dx * dy;
    }
    if (sxx > 0.0) rate_ = sxy / sxx;  // all samples at one instant: keep the old rate
    intercept_ = mean_y - rate_ * mean_x;
    max_residual_ = 0.0;
    for (size_t i = 0; i < count_; ++i) {
        const double residual = static_cast<double>(at(i).reference_ns - base_ref_) - predict(at(i).monotonic_ns);
        max_residual_ = std::fmax(max_residual_, std::fabs(residual));
    }
}

RateTracker::Estimate RateTracker::add(int64_t monotonic_ns, int64_t reference_ns) {
    Estimate estimate;
    if (count_ > 0) {
        const Sample& newest = at(count_ - 1);
        const double predicted = predict(monotonic_ns);
        const double actual = static_cast<double>(reference_ns - base_ref_);
        estimate.offset_ns = static_cast<int64_t>(std::llround(actual - predicted));
        const double gap = static_cast<double>(monotonic_ns - newest.monotonic_ns);
        const double tolerance = static_cast<double>(kStepThresholdNs) +
                                 gap * (count_ < 2 ? kUnknownRateTolerance : kFittedRateTolerance);
        if (std::fabs(actual - predicted) > tolerance) {
            estimate.stepped = true;
            count_ = 0;
        }
    }
    // Append, dropping the oldest when full or out of the time window.
    if (count_ == kMaxSamples) {
        first_ = (first_ + 1) % kMaxSamples;
        --count_;
    }
    samples_[(first_ + count_) % kMaxSamples] = {monotonic_ns, reference_ns};
    ++count_;
    while (count_ > 2 && monotonic_ns - at(0).monotonic_ns > kWindowNs) {
        first_ = (first_ + 1) % kMaxSamples;
        --count_;
    }
    fit();
    estimate.monotonic_ns = monotonic_ns;
    estimate.reference_ns = base_ref_ + static_cast<int64_t>(std::llround(predict(monotonic_ns)));
    estimate.rate = rate_;
    estimate.stable = count_ >= kLockSamples && max_residual_ <= static_cast<double>(kLockResidualNs);
    return estimate;
}

}  // namespace dante
