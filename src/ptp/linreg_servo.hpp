#pragma once
// A linear-regression servo, for software timestamps: the PI loop passes each exchange's
// noise (a few µs per packet with kernel software stamps) through its proportional term;
// a least-squares line through the last few seconds of measurements averages it out.
// Same idea as linuxptp's linreg servo, our own code and choices.
//
// Each sample gives one point of the leader's timescale over our monotonic clock:
// leader(t) − t = overlay(t) − t − offset. The servo knows the overlay it commanded (it
// integrates its own rate outputs and steps), so the points do not depend on its own past
// corrections, and a step of the overlay leaves them valid. The fit's slope is the
// frequency (held in holdover); the overlay is steered to meet the fitted line at the next
// expected sample, so it stays continuous and never needs a step once locked.

#include <array>
#include <cstddef>
#include <cstdint>

#include "ptp/middle_mean.hpp"
#include "ptp/servo.hpp"

namespace dante::ptp {

struct LinregServoConfig {
    // Points in the fit. 128 Syncs = 16 s at 8/s: the endpoint of the line carries about
    // 2σ/√128 ≈ σ/6 of the per-packet noise. A crystal does not wander measurably in 16 s.
    size_t max_points = 128;
    // And none older than this (slow sync rates: 1/s would otherwise span a minute).
    double max_span_s = 16.0;
    // Before locking, the points must span this long (the first frequency estimate).
    double min_lock_span_s = 1.0;
    // Step at lock time when our clock is further than this from the fitted line.
    int64_t first_step_threshold_ns = 20'000;
    // Once locked, offsets beyond this for kOutlierRun samples in a row are a jump of the
    // leader's timescale: the points are dropped and the servo re-acquires (and steps).
    int64_t step_threshold_ns = 1'000'000;
    // A point further from the line than spike_factor × the median residual (and the
    // floor) is a delayed timestamp; kSpikeRunLimit of them in a row are news.
    double spike_factor = 4.0;
    int64_t spike_floor_ns = 10'000;
    double max_frequency_ppm = 500.0;
};

class LinregServo final : public Servo {
public:
    static constexpr size_t kCapacity = 128;
    static constexpr int kOutlierRun = 3;
    static constexpr int kSpikeRunLimit = 4;

    explicit LinregServo(LinregServoConfig config = {}, double interval_seconds = 1.0);

    ServoOutput sample(int64_t offset_ns, int64_t local_ns) override;
    void reset() override;
    void set_interval(double seconds) override;
    [[nodiscard]] double rate() const override { return 1.0 + slope_; }

    [[nodiscard]] size_t points() const { return count_; }

private:
    struct Point {
        int64_t local_ns;
        int64_t leader_minus_local_ns;  // leader(t) − t, relative to an arbitrary origin
    };
    // leader − t ≈ y0 + at(t): relative to the window's oldest point (x0, y0), so the
    // doubles carry only a window's worth of nanoseconds.
    struct Line {
        int64_t x0;
        int64_t y0;
        double mean_x;
        double mean_y;
        double slope;
        [[nodiscard]] double at(int64_t local_ns) const {
            return mean_y + slope * (static_cast<double>(local_ns - x0) - mean_x);
        }
    };

    void advance_overlay_to(int64_t local_ns);
    void clear_points();
    void push(const Point& point);
    void drop_older_than(int64_t local_ns);
    [[nodiscard]] const Point& at(size_t i) const { return ring_[(first_ + i) % kCapacity]; }
    [[nodiscard]] Line fit() const;
    [[nodiscard]] Line least_squares(const std::array<bool, kCapacity>& use) const;
    [[nodiscard]] static double residual(const Line& line, const Point& point);
    [[nodiscard]] bool is_spike(const Line& line, const Point& point) const;
    [[nodiscard]] double span_s() const;
    [[nodiscard]] double clamp_rate_offset(double offset) const;

    LinregServoConfig config_;
    double interval_s_ = 1.0;

    // The overlay as we commanded it, relative to monotonic: overlay(t) − t at overlay_local_.
    // Kept as whole ns plus a fraction, as the overlay sits anywhere in 64-bit media time.
    int64_t overlay_local_ = 0;
    int64_t overlay_dev_ns_ = 0;
    double overlay_dev_frac_ = 0.0;
    double commanded_rate_offset_ = 0.0;  // the rate we last returned, minus one
    bool overlay_known_ = false;

    std::array<Point, kCapacity> ring_{};
    size_t first_ = 0;
    size_t count_ = 0;

    double slope_ = 0.0;  // leader's frequency against monotonic, minus one
    bool locked_ = false;
    int outliers_ = 0;
    int spikes_in_row_ = 0;
};

}  // namespace dante::ptp
