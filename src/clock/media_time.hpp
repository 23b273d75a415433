#pragma once
// Conversions between media-clock nanoseconds and media-clock sample indices.
//
// A Dante timestamp is the sample index since the media clock's epoch at the device rate:
// floor(media_ns * rate / 1e9). The products overflow 64 bits (1.7e18 ns * 192000), so the
// math stays exact: split at whole seconds (or whole rate periods) so every product fits
// 64 bits, and a division by the constant 1e9 compiles to a multiply; 128-bit integers
// only where a value may be negative. (A 128-bit division is a libgcc call of some 50
// cycles, and the graph cycle and the transmitter do a few of these per cycle.)

#include <cstdint>

namespace dante {

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

// Sample index of the sample period containing media_ns (floor), for media_ns >= 0.
constexpr uint64_t media_sample_at(int64_t media_ns, uint32_t rate_hz) {
    if (media_ns <= 0) return 0;
    return static_cast<uint64_t>((static_cast<u128>(media_ns) * rate_hz) / 1'000'000'000u);
}

// Media time (ns) at which sample `index` starts: the smallest ns whose floor maps to it.
constexpr int64_t media_ns_of_sample(uint64_t index, uint32_t rate_hz) {
    const u128 scaled = static_cast<u128>(index) * 1'000'000'000u;
    return static_cast<int64_t>((scaled + rate_hz - 1) / rate_hz);
}

constexpr int64_t samples_to_ns(int64_t samples, uint32_t rate_hz) {
    return static_cast<int64_t>((static_cast<i128>(samples) * 1'000'000'000) / rate_hz);
}

constexpr int64_t ns_to_samples_ceil(int64_t ns, uint32_t rate_hz) {
    if (ns >= 0) {
        const auto u = static_cast<uint64_t>(ns);
        return static_cast<int64_t>(u / 1'000'000'000u * rate_hz + (u % 1'000'000'000u * rate_hz + 999'999'999u) / 1'000'000'000u);
    }
    return static_cast<int64_t>((static_cast<i128>(ns) * rate_hz + 999'999'999) / 1'000'000'000);
}

}  // namespace dante
