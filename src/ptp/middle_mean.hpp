#pragma once
// The mean of the middle half of some values (an interquartile mean). Software timestamps
// are late in bursts and often in two or three modes a µs or two apart; a median jumps
// from one mode to the next as one value arrives, a mean follows every late outlier. The
// middle half's mean moves by a fraction of a mode's spacing per new value and ignores the
// quarter of outliers on either side.

#include <algorithm>
#include <cstddef>
#include <iterator>

namespace dante::ptp {

// Sorts [first, last) in place; empty range: 0.
template <typename It>
double middle_half_mean(It first, It last) {
    const auto n = static_cast<size_t>(std::distance(first, last));
    if (n == 0) return 0.0;
    std::sort(first, last);
    const size_t skip = n / 4;
    double sum = 0.0;
    for (It it = first + static_cast<std::ptrdiff_t>(skip); it != last - static_cast<std::ptrdiff_t>(skip); ++it) {
        sum += static_cast<double>(*it);
    }
    return sum / static_cast<double>(n - 2 * skip);
}

}  // namespace dante::ptp
