#pragma once
// A proportional-integral servo in the manner of linuxptp's pi.c: the first two samples
// estimate the frequency error directly (and step if far off), after that a PI loop with
// gains normalised to the sample interval. Our own code; the constants and the shape of
// the state machine follow linuxptp's documented defaults.

#include <array>
#include <cstddef>

#include "ptp/servo.hpp"

namespace dante::ptp {

struct PiServoConfig {
    // Gains in linuxptp's form, per sample at sync interval T (seconds):
    //   kp = min(kp_scale * T^kp_exponent, kp_norm_max / T), ki likewise.
    // Default: linuxptp's hardware-timestamp gains, kp = min(0.7, 1/T), ki = min(0.3, 2/T),
    // although this engine only gets software timestamps. linuxptp's software-timestamp
    // gains (software_timestamps()) were measured against them (bench/RESULTS.md §6d): the
    // held frequency was steadier, but with our first frequency estimate spanning only
    // min_estimate_span_s, an estimate a few ppm off took minutes to integrate out at
    // their ki (~4e-4): p99 28-66 µs in 3 runs of 8, against 7-9 µs in every run with
    // these gains. linuxptp pairs its software gains with a first estimate of 0.016/ki
    // (37 s here); until this servo does the same, the default stays. The default servo
    // is linreg, which averages software-timestamp noise by construction.
    double kp_scale = 0.7;
    double kp_exponent = 0.0;
    double kp_norm_max = 1.0;
    double ki_scale = 0.3;
    double ki_exponent = 0.0;
    double ki_norm_max = 2.0;

    // linuxptp's gains for software timestamps (scales 0.1 / 0.001, exponents -0.3 / 0.4,
    // norm max 0.7 / 0.3): kp ~0.19, ki ~4e-4 at T = 0.125 s. See above for why they are
    // not the default.
    [[nodiscard]] static PiServoConfig software_timestamps() {
        PiServoConfig c;
        c.kp_scale = 0.1;
        c.kp_exponent = -0.3;
        c.kp_norm_max = 0.7;
        c.ki_scale = 0.001;
        c.ki_exponent = 0.4;
        c.ki_norm_max = 0.3;
        return c;
    }

    // The first frequency estimate spans at least this long: two Syncs 125 ms apart with a
    // few µs of software-timestamp noise would misjudge the rate by tens of ppm (linuxptp's
    // two-sample estimate assumes its default 1 s sync interval).
    double min_estimate_span_s = 1.0;
    // Step at lock time when the offset exceeds this (linuxptp first_step_threshold).
    int64_t first_step_threshold_ns = 20'000;
    // Once locked, offsets beyond this for kOutlierRun samples in a row unlock the servo,
    // which then re-estimates and steps. Single outliers (a late wakeup under software
    // timestamping) are ignored instead of fed to the loop. 0: never step once locked.
    int64_t step_threshold_ns = 1'000'000;
    // Bound on the overlay's frequency correction: a Dante oscillator is within ±100 ppm;
    // anything beyond is a broken measurement and must not run away.
    double max_frequency_ppb = 500'000.0;
    // Once locked, an offset this many times the recent median |offset| (and above the
    // floor) is a delayed timestamp, not news: it is left out of the loop. With software
    // timestamps a Sync held up in a softirq shows up whole in one offset; fed to the loop
    // it kicks the rate by kp x offset. kSpikeRunLimit such samples in a row are news.
    double spike_factor = 4.0;
    int64_t spike_floor_ns = 10'000;
};

class PiServo final : public Servo {
public:
    static constexpr int kOutlierRun = 3;
    static constexpr int kSpikeRunLimit = 4;
    static constexpr size_t kSpikeWindow = 16;

    explicit PiServo(PiServoConfig config = {}, double interval_seconds = 1.0);

    ServoOutput sample(int64_t offset_ns, int64_t local_ns) override;
    void reset() override;
    void set_interval(double seconds) override;
    [[nodiscard]] double rate() const override { return rate_from(drift_ppb_); }

    [[nodiscard]] double kp() const { return kp_; }
    [[nodiscard]] double ki() const { return ki_; }

private:
    [[nodiscard]] static double rate_from(double ppb) { return 1.0 - ppb * 1e-9; }
    [[nodiscard]] double clamp_ppb(double ppb) const;

    PiServoConfig config_;
    double kp_ = 0.0;
    double ki_ = 0.0;
    // Frequency to take away from the monotonic rate, in ppb: the integral state. Our
    // overlay runs at 1 - drift*1e-9 when the offset is zero.
    double drift_ppb_ = 0.0;
    int count_ = 0;
    int64_t first_offset_ns_ = 0;
    int64_t first_local_ns_ = 0;
    int outliers_ = 0;
    double last_ppb_ = 0.0;
    // Recent |offset| of accepted samples (a ring), for the spike test.
    [[nodiscard]] bool is_spike(int64_t offset_ns) const;
    void remember(int64_t offset_ns);
    std::array<int64_t, kSpikeWindow> recent_{};
    size_t recent_count_ = 0;
    size_t recent_next_ = 0;
    int spikes_in_row_ = 0;
};

}  // namespace dante::ptp
