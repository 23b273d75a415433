#pragma once
// Kernel software timestamps are CLOCK_REALTIME; the leader's timescale runs on
// CLOCK_MONOTONIC. The offset between the two is sampled as tightly as we can: the
// realtime read bracketed by two monotonic reads, keeping the narrowest bracket.

#include <cstdint>

#include "util/clock_now.hpp"

namespace dante::ptp_test {

inline int64_t realtime_minus_monotonic_ns() {
    int64_t best_width = INT64_MAX;
    int64_t best = 0;
    for (int i = 0; i < 7; ++i) {
        const int64_t m1 = clock_now_ns(CLOCK_MONOTONIC);
        const int64_t r = clock_now_ns(CLOCK_REALTIME);
        const int64_t m2 = clock_now_ns(CLOCK_MONOTONIC);
        if (m2 - m1 < best_width) {
            best_width = m2 - m1;
            best = r - (m1 + (m2 - m1) / 2);
        }
    }
    return best;
}

}  // namespace dante::ptp_test
