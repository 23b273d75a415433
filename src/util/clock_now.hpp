#pragma once
// Reading a kernel clock as nanoseconds: the one helper every thread shell uses.

#include <time.h>

#include <cstdint>

namespace dante {

inline int64_t clock_now_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t monotonic_now_ns() { return clock_now_ns(CLOCK_MONOTONIC); }

}  // namespace dante
