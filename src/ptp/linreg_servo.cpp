#include "ptp/linreg_servo.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace dante::ptp {

namespace {

// The overlay is steered to meet the line within this long when no sample spacing is known.
constexpr double kMinHorizonS = 0.001;
constexpr double kMaxHorizonS = 2.0;

}  // namespace

LinregServo::LinregServo(LinregServoConfig config, double interval_seconds) : config_(config) {
    config_.max_points = std::clamp<size_t>(config_.max_points, 2, kCapacity);
    set_interval(interval_seconds);
}

void LinregServo::set_interval(double seconds) { interval_s_ = seconds > 0.0 ? seconds : 1.0; }

void LinregServo::reset() {
    // Forget the points, keep the frequency: a re-lock starts from the held rate, which is
    // also the rate the media clock runs at meanwhile.
    clear_points();
    locked_ = false;
    outliers_ = 0;
    spikes_in_row_ = 0;
    commanded_rate_offset_ = slope_;
}

void LinregServo::advance_overlay_to(int64_t local_ns) {
    if (!overlay_known_) {
        // Any origin will do: only differences between points reach the fit.
        overlay_known_ = true;
        overlay_local_ = local_ns;
        return;
    }
    const double advanced = overlay_dev_frac_ + commanded_rate_offset_ * static_cast<double>(local_ns - overlay_local_);
    const double whole = std::trunc(advanced);
    overlay_dev_ns_ += static_cast<int64_t>(whole);
    overlay_dev_frac_ = advanced - whole;
    overlay_local_ = local_ns;
}

void LinregServo::clear_points() {
    first_ = 0;
    count_ = 0;
}

void LinregServo::push(const Point& point) {
    if (count_ == config_.max_points) {
        first_ = (first_ + 1) % kCapacity;
        --count_;
    }
    ring_[(first_ + count_) % kCapacity] = point;
    ++count_;
}

void LinregServo::drop_older_than(int64_t local_ns) {
    while (count_ > 0 && at(0).local_ns < local_ns) {
        first_ = (first_ + 1) % kCapacity;
        --count_;
    }
}

double LinregServo::span_s() const {
    return count_ < 2 ? 0.0 : static_cast<double>(at(count_ - 1).local_ns - at(0).local_ns) * 1e-9;
}

LinregServo::Line LinregServo::least_squares(const std::array<bool, kCapacity>& use) const {
    // Least squares of (leader − t) over t, both relative to the oldest point so that the
    // doubles carry only a window's worth of nanoseconds.
    Line line{at(0).local_ns, at(0).leader_minus_local_ns, 0.0, 0.0, slope_};
    double sum_x = 0.0;
    double sum_y = 0.0;
    double n = 0.0;
    for (size_t i = 0; i < count_; ++i) {
        if (!use[i]) continue;
        sum_x += static_cast<double>(at(i).local_ns - line.x0);
        sum_y += static_cast<double>(at(i).leader_minus_local_ns - line.y0);
        n += 1.0;
    }
    if (n == 0.0) return line;
    line.mean_x = sum_x / n;
    line.mean_y = sum_y / n;
    double sxx = 0.0;
    double sxy = 0.0;
    for (size_t i = 0; i < count_; ++i) {
        if (!use[i]) continue;
        const double dx = static_cast<double>(at(i).local_ns - line.x0) - line.mean_x;
        const double dy = static_cast<double>(at(i).leader_minus_local_ns - line.y0) - line.mean_y;
        sxx += dx * dx;
        sxy += dx * dy;
    }
    // A short window (just after a restart) has too little baseline for a slope: keep ours.
    if (span_s() >= config_.min_lock_span_s && sxx > 0.0) line.slope = sxy / sxx;
    return line;
}

LinregServo::Line LinregServo::fit() const {
    // Two passes: one late point at the window's edge tilts a least-squares slope by
    // (its lateness × its lever arm), which shows at the line's end, where we steer. So the
    // slope is refitted without the points far from the first line (beyond 3× the middle
    // half's spread, and 1 µs).
    std::array<bool, kCapacity> use{};
    std::fill(use.begin(), use.begin() + static_cast<std::ptrdiff_t>(count_), true);
    Line line = least_squares(use);
    std::array<double, kCapacity> residuals{};
    for (size_t i = 0; i < count_; ++i) residuals[i] = residual(line, at(i));
    std::array<double, kCapacity> scratch = residuals;
    const auto scratch_end = scratch.begin() + static_cast<std::ptrdiff_t>(count_);
    const double centre = middle_half_mean(scratch.begin(), scratch_end);
    for (size_t i = 0; i < count_; ++i) scratch[i] = std::fabs(residuals[i] - centre);
    const double limit = std::max(3.0 * middle_half_mean(scratch.begin(), scratch_end), 1'000.0);
    for (size_t i = 0; i < count_; ++i) use[i] = std::fabs(residuals[i] - centre) <= limit;
    line = least_squares(use);
    // Through the middle half of the points, not all of them: software timestamps are late
    // more often than early (a wakeup, a softirq), so the plain mean sits above the typical
    // point by a few µs, and often in modes a µs apart, between which a median would jump
    // (middle_mean.hpp). The path delay it is compared with is filtered the same way
    // (DelayFilter).
    for (size_t i = 0; i < count_; ++i) residuals[i] = residual(line, at(i));
    line.mean_y += middle_half_mean(residuals.begin(), residuals.begin() + static_cast<std::ptrdiff_t>(count_));
    return line;
}

double LinregServo::residual(const Line& line, const Point& point) {
    return static_cast<double>(point.leader_minus_local_ns - line.y0) - line.at(point.local_ns);
}

bool LinregServo::is_spike(const Line& line, const Point& point) const {
    if (count_ < 8) return false;  // no baseline of residuals yet
    std::array<double, kCapacity> residuals{};
    for (size_t i = 0; i < count_; ++i) residuals[i] = std::fabs(residual(line, at(i)));
    const auto mid = residuals.begin() + static_cast<std::ptrdiff_t>(count_ / 2);
    std::nth_element(residuals.begin(), mid, residuals.begin() + static_cast<std::ptrdiff_t>(count_));
    const double limit = std::max(config_.spike_factor * *mid, static_cast<double>(config_.spike_floor_ns));
    return std::fabs(residual(line, point)) > limit;
}

double LinregServo::clamp_rate_offset(double offset) const {
    const double limit = config_.max_frequency_ppm * 1e-6;
    return std::clamp(offset, -limit, limit);
}

ServoOutput LinregServo::sample(int64_t offset_ns, int64_t local_ns) {
    ServoOutput hold;  // no news: run on at the frequency estimate
    hold.state = locked_ ? ServoState::locked : ServoState::unlocked;
    if (count_ > 0 && local_ns <= at(count_ - 1).local_ns) {  // out of order or duplicate
        hold.rate = 1.0 + commanded_rate_offset_;
        return hold;
    }
    advance_overlay_to(local_ns);
    commanded_rate_offset_ = slope_;
    hold.rate = 1.0 + slope_;

    const Point point{local_ns, overlay_dev_ns_ - offset_ns};
    if (locked_) {
        if (config_.step_threshold_ns > 0 && std::llabs(offset_ns) > config_.step_threshold_ns) {
            if (++outliers_ < kOutlierRun) return hold;
            reset();  // the leader's timescale jumped: the old points describe another line
        } else {
            outliers_ = 0;
            if (is_spike(fit(), point)) {
                if (++spikes_in_row_ < kSpikeRunLimit) return hold;
                // A run of them is a change (of path, of the leader's timestamps), not
                // noise: the old points describe the old line. Start the window afresh,
                // keeping the slope and staying locked.
                clear_points();
            }
            spikes_in_row_ = 0;
        }
    }
    push(point);
    drop_older_than(local_ns - static_cast<int64_t>(config_.max_span_s * 1e9));
    if (!locked_ && (count_ < 2 || span_s() < config_.min_lock_span_s)) {
        hold.state = ServoState::unlocked;
        return hold;
    }

    if (count_ < 2) {  // (locked) a window just restarted: run on the slope until a second point
        hold.state = ServoState::locked;
        return hold;
    }
    const Line line = fit();
    slope_ = clamp_rate_offset(line.slope);
    // Our overlay minus the fitted leader time, now.
    double error_ns = static_cast<double>(overlay_dev_ns_ - line.y0) + overlay_dev_frac_ - line.at(local_ns);
    ServoOutput out;
    out.state = ServoState::locked;
    if (!locked_) {
        locked_ = true;
        if (config_.first_step_threshold_ns > 0 && std::fabs(error_ns) > static_cast<double>(config_.first_step_threshold_ns)) {
            const auto step = static_cast<int64_t>(std::llround(error_ns));
            overlay_dev_ns_ -= step;
            error_ns -= static_cast<double>(step);
            out.step_ns = step;
            out.state = ServoState::jump;
        }
    }
    // Meet the line at the next sample: after that the overlay runs on the line's slope.
    // "Next" is one sample spacing away as the leader sends them, whatever we would send.
    const double gap_s = static_cast<double>(local_ns - at(count_ - 2).local_ns) * 1e-9;
    const double horizon_s = std::clamp(gap_s > 0.0 ? gap_s : interval_s_, kMinHorizonS, kMaxHorizonS);
    commanded_rate_offset_ = clamp_rate_offset(slope_ - error_ns / (horizon_s * 1e9));
    out.rate = 1.0 + commanded_rate_offset_;
    return out;
}

}  // namespace dante::ptp
