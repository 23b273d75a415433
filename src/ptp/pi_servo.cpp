#include "ptp/pi_servo.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace dante::ptp {

std::string_view to_string(ServoState state) {
    switch (state) {
        case ServoState::unlocked: return "unlocked";
        case ServoState::jump: return "jump";
        case ServoState::locked: return "locked";
    }
    return "unlocked";
}

PiServo::PiServo(PiServoConfig config, double interval_seconds) : config_(config) { set_interval(interval_seconds); }

void PiServo::set_interval(double seconds) {
    if (!(seconds > 0.0)) seconds = 1.0;
    kp_ = std::min(config_.kp_scale * std::pow(seconds, config_.kp_exponent), config_.kp_norm_max / seconds);
    ki_ = std::min(config_.ki_scale * std::pow(seconds, config_.ki_exponent), config_.ki_norm_max / seconds);
}

void PiServo::reset() {
    count_ = 0;
    outliers_ = 0;
    recent_count_ = 0;
    recent_next_ = 0;
    spikes_in_row_ = 0;
    last_ppb_ = drift_ppb_;
}

bool PiServo::is_spike(int64_t offset_ns) const {
    if (recent_count_ < kSpikeWindow / 2) return false;  // no baseline yet
    std::array<int64_t, kSpikeWindow> sorted = recent_;
    const auto end = sorted.begin() + static_cast<std::ptrdiff_t>(recent_count_);
    const auto mid = sorted.begin() + static_cast<std::ptrdiff_t>(recent_count_ / 2);
    std::nth_element(sorted.begin(), mid, end);
    const double limit = std::max(config_.spike_factor * static_cast<double>(*mid),
                                  static_cast<double>(config_.spike_floor_ns));
    return static_cast<double>(std::llabs(offset_ns)) > limit;
}

void PiServo::remember(int64_t offset_ns) {
    recent_[recent_next_] = std::llabs(offset_ns);
    recent_next_ = (recent_next_ + 1) % kSpikeWindow;
    recent_count_ = std::min(recent_count_ + 1, kSpikeWindow);
}

double PiServo::clamp_ppb(double ppb) const {
    return std::clamp(ppb, -config_.max_frequency_ppb, config_.max_frequency_ppb);
}

ServoOutput PiServo::sample(int64_t offset_ns, int64_t local_ns) {
    ServoOutput out;
    switch (count_) {
        case 0:
            first_offset_ns_ = offset_ns;
            first_local_ns_ = local_ns;
            count_ = 1;
            out.rate = rate_from(last_ppb_);
            out.state = ServoState::unlocked;
            return out;
        case 1: {
            if (local_ns <= first_local_ns_) {  // out of order or duplicate: start over
                first_offset_ns_ = offset_ns;
                first_local_ns_ = local_ns;
                out.rate = rate_from(last_ppb_);
                return out;
            }
            if (static_cast<double>(local_ns - first_local_ns_) < config_.min_estimate_span_s * 1e9) {
                out.rate = rate_from(last_ppb_);  // keep the first sample: the baseline is too short yet
                out.state = ServoState::unlocked;
                return out;
            }
            // How fast the offset grew at the rate we ran is how far our rate is off.
            const double growth = static_cast<double>(offset_ns - first_offset_ns_) /
                                  static_cast<double>(local_ns - first_local_ns_);
            drift_ppb_ = clamp_ppb(last_ppb_ + growth * 1e9);
            last_ppb_ = drift_ppb_;
            count_ = 2;
            out.rate = rate_from(drift_ppb_);
            if (config_.first_step_threshold_ns > 0 && std::llabs(offset_ns) > config_.first_step_threshold_ns) {
                out.step_ns = offset_ns;
                out.state = ServoState::jump;
            } else {
                out.state = ServoState::locked;
            }
            return out;
        }
        default: break;
    }

    if (config_.step_threshold_ns > 0 && std::llabs(offset_ns) > config_.step_threshold_ns) {
        if (++outliers_ >= kOutlierRun) {
            // A real jump of the master's timescale, not noise: re-acquire.
            reset();
            return sample(offset_ns, local_ns);
        }
        out.rate = rate_from(last_ppb_);
        out.state = ServoState::locked;
        return out;
    }
    outliers_ = 0;
    if (is_spike(offset_ns) && ++spikes_in_row_ < kSpikeRunLimit) {
        out.rate = rate_from(last_ppb_);
        out.state = ServoState::locked;
        return out;
    }
    spikes_in_row_ = 0;
    remember(offset_ns);
    const double offset = static_cast<double>(offset_ns);
    const double ki_term = ki_ * offset;
    const double ppb = kp_ * offset + drift_ppb_ + ki_term;
    const double clamped = clamp_ppb(ppb);
    if (clamped == ppb) drift_ppb_ += ki_term;  // no integral wind-up while saturated
    last_ppb_ = clamped;
    out.rate = rate_from(clamped);
    out.state = ServoState::locked;
    return out;
}

}  // namespace dante::ptp
