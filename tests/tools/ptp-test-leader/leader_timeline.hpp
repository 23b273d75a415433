#pragma once
// The leader's PTP timescale as a piecewise-linear function of CLOCK_MONOTONIC:
//   T(m) = ptp_a + (m - mono_a) * (1 + ppm * 1e-6)
// Every change (step, rate) re-anchors at the current instant, and the anchor is printed,
// so a test recomputes the true PTP time at any monotonic instant with the same formula.

#include <cmath>
#include <cstdint>

namespace dante::ptp_test {

struct LeaderTimeline {
    int64_t mono_a = 0;
    int64_t ptp_a = 0;
    double ppm = 0.0;

    [[nodiscard]] int64_t ptp_at(int64_t mono_ns) const {
        const int64_t dm = mono_ns - mono_a;
        return ptp_a + dm + std::llround(static_cast<double>(dm) * ppm * 1e-6);
    }
    void step(int64_t now_mono, int64_t delta_ns) {
        ptp_a = ptp_at(now_mono) + delta_ns;
        mono_a = now_mono;
    }
    // Continuous: T keeps its value at now, only the slope changes from here on.
    void set_rate(int64_t now_mono, double new_ppm) {
        ptp_a = ptp_at(now_mono);
        mono_a = now_mono;
        ppm = new_ppm;
    }
};

}  // namespace dante::ptp_test
