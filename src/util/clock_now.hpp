#pragma once
// Reading a kernel clock as nanoseconds: the one helper every thread shell uses.

#include <time.h>

#include <climits>
#include <cstdint>

namespace dante {

inline int64_t clock_now_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t monotonic_now_ns() { return clock_now_ns(CLOCK_MONOTONIC); }

// Another clock read between two CLOCK_MONOTONIC reads, the tightest of `tries`: a
// preemption between the reads would otherwise show up as offset error. monotonic_ns is
// the midpoint of the tightest pair.
struct MonotonicPair {
    int64_t monotonic_ns = 0;
    int64_t other_ns = 0;
};

inline MonotonicPair read_against_monotonic(clockid_t other, int tries) {
    MonotonicPair best{};
    int64_t best_window = INT64_MAX;
    for (int attempt = 0; attempt < tries; ++attempt) {
        const int64_t before = clock_now_ns(CLOCK_MONOTONIC);
        const int64_t value = clock_now_ns(other);
        const int64_t after = clock_now_ns(CLOCK_MONOTONIC);
        if (after - before < best_window) {
            best_window = after - before;
            best = {before + (after - before) / 2, value};
        }
    }
    return best;
}

}  // namespace dante
