#pragma once
// A known signal in TX rings, for tests of what goes on the wire and comes back:
// probe(c, pos) is distinct per channel and position, uses every byte and both signs.

#include <cstdint>
#include <vector>

#include "tx/tx_rings.hpp"

namespace dante::test {

inline int32_t probe(uint32_t c, uint64_t pos) {
    return static_cast<int32_t>(0x01234567u * static_cast<uint32_t>(pos + 1) + 0x10203u * (c + 1)) ^
           (pos % 2 ? int32_t(0x80000000u) : 0);
}

// Rings of `channels` channels holding probe() at [pos, pos + n).
inline TxRings rings_with_probe(uint32_t channels, uint64_t pos, uint32_t n, uint32_t capacity = 1u << 16) {
    TxRings rings(channels, capacity);
    std::vector<std::vector<int32_t>> planes(channels, std::vector<int32_t>(n));
    std::vector<const int32_t*> ptrs;
    for (uint32_t c = 0; c < channels; ++c) {
        for (uint32_t i = 0; i < n; ++i) planes[c][i] = probe(c, pos + i);
        ptrs.push_back(planes[c].data());
    }
    rings.write(pos, ptrs, n);
    return rings;
}

}  // namespace dante::test
