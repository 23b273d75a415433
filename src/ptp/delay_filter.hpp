#pragma once
// Median of the last few path-delay measurements (linuxptp's default delay filter is a
// moving median too): one Delay_Req delayed by a busy switch or a late wakeup must not
// shift every following offset.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace dante::ptp {

class DelayFilter {
public:
    static constexpr size_t kLength = 7;

    void push(int64_t delay_ns) {
        samples_[next_] = delay_ns;
        next_ = (next_ + 1) % kLength;
        if (count_ < kLength) ++count_;
    }
    void clear() { count_ = next_ = 0; }

    // The median, clamped at zero (a negative path is noise), or nothing before any sample.
    [[nodiscard]] std::optional<int64_t> value() const {
        if (count_ == 0) return std::nullopt;
        std::array<int64_t, kLength> sorted = samples_;
        const auto end = sorted.begin() + static_cast<std::ptrdiff_t>(count_);
        const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>(count_ / 2);
        std::nth_element(sorted.begin(), middle, end);
        return std::max<int64_t>(0, *middle);
    }

private:
    std::array<int64_t, kLength> samples_{};
    size_t count_ = 0;
    size_t next_ = 0;
};

}  // namespace dante::ptp
