#pragma once
// The path delay every offset subtracts: the mean of the middle half of the last 31
// measurements (see middle_mean.hpp). One Delay_Req delayed by a busy switch or a late
// wakeup must not shift the following offsets, and since every offset subtracts this
// value, its wander is the clock's error one to one: with software timestamps, the median
// of 7 that linuxptp-like filters use moved by ±1.5 µs from one second to the next, and a
// median of 31 still flipped between the delay's modes (bench/RESULTS.md §6c). Half a
// minute at one Delay_Req per second: a path does not change length that often, and a new
// leader starts the filter afresh.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "ptp/middle_mean.hpp"

namespace dante::ptp {

class DelayFilter {
public:
    static constexpr size_t kLength = 31;

    void push(int64_t delay_ns) {
        samples_[next_] = delay_ns;
        next_ = (next_ + 1) % kLength;
        if (count_ < kLength) ++count_;
    }
    void clear() { count_ = next_ = 0; }

    // Clamped at zero (a negative path is noise); nothing before any sample.
    [[nodiscard]] std::optional<int64_t> value() const {
        if (count_ == 0) return std::nullopt;
        std::array<int64_t, kLength> sorted = samples_;
        const double mean = middle_half_mean(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(count_));
        return std::max<int64_t>(0, std::llround(mean));
    }

private:
    std::array<int64_t, kLength> samples_{};
    size_t count_ = 0;
    size_t next_ = 0;
};

}  // namespace dante::ptp
