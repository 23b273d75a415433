#pragma once
// Offset and rate of a reference clock against CLOCK_MONOTONIC, from (monotonic, reference)
// samples.
//
// A PHC that ptp4l disciplines runs at the network's rate while CLOCK_MONOTONIC runs at the
// kernel's own, so unlike TAI their ratio is not 1 and must be measured. We fit a straight
// line (least squares) through the recent samples: the slope is the rate, the line at the
// newest sample is the filtered reference time. Sandwich jitter (a microsecond or two) then
// averages out instead of showing up as phase noise in every snapshot.
//
// A sample far off the line is a step (someone set the clock, ptp4l stepped it): the window
// restarts from that sample, keeping the rate (a phase step says nothing about frequency).
// Pure arithmetic, no clock reads: the tests drive it with scripted samples.

#include <array>
#include <cstddef>
#include <cstdint>

namespace dante {

class RateTracker {
public:
    static constexpr size_t kMaxSamples = 32;
    static constexpr int64_t kWindowNs = 16'000'000'000;  // fit over the last 16 s at most
    // Off the line by more than this (plus the rate uncertainty over the gap): a step.
    static constexpr int64_t kStepThresholdNs = 100'000;
    // Locked: enough samples, and all of them this close to the line.
    static constexpr size_t kLockSamples = 4;
    static constexpr int64_t kLockResidualNs = 20'000;

    struct Estimate {
        int64_t monotonic_ns = 0;  // newest sample's instant
        int64_t reference_ns = 0;  // the fitted line there
        double rate = 1.0;         // reference ns per monotonic ns
        int64_t offset_ns = 0;     // newest sample minus where the previous line predicted it
        bool stepped = false;      // this sample restarted the window
        bool stable = false;       // see kLock*
    };

    // Feed one sample (monotonic instants must not go backwards); returns the new estimate.
    Estimate add(int64_t monotonic_ns, int64_t reference_ns);

    [[nodiscard]] bool empty() const { return count_ == 0; }
    void reset() { count_ = 0; }

private:
    struct Sample {
        int64_t monotonic_ns;
        int64_t reference_ns;
    };
    [[nodiscard]] const Sample& at(size_t i) const { return samples_[(first_ + i) % kMaxSamples]; }
    void fit();
    [[nodiscard]] double predict(int64_t monotonic_ns) const;  // reference - base, as double

    std::array<Sample, kMaxSamples> samples_{};
    size_t first_ = 0;
    size_t count_ = 0;
    // The line: reference = base_ref + (m - base_mono) * rate + intercept_, relative to the
    // newest window's first sample so the doubles stay small and exact enough.
    int64_t base_mono_ = 0;
    int64_t base_ref_ = 0;
    double intercept_ = 0.0;
    double rate_ = 1.0;
    double max_residual_ = 0.0;
};

}  // namespace dante
