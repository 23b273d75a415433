#pragma once
// Big-endian (network order) reads and writes for the flow, ARC/conmon and DNS codecs (the
// PTP codec's ByteReader/ByteWriter in src/ptp/byte_io.hpp latch overruns of their own).
// Callers check bounds first; these only assemble bytes, so they can stay tiny and inline
// in the send loop.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dante {

inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void store_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// Appended to a growing message.
inline void append_be16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
inline void append_be32(std::vector<uint8_t>& out, uint32_t v) {
    append_be16(out, static_cast<uint16_t>(v >> 16));
    append_be16(out, static_cast<uint16_t>(v));
}

}  // namespace dante
