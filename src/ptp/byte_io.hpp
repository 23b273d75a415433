#pragma once
// Bounds-checked big-endian reads and writes over byte spans.
//
// PTP packets come from the network: every read is checked against the span, so a short
// or hostile datagram can only make a parser fail, never read past the buffer. Values are
// assembled byte by byte (no reinterpret_cast, no alignment or aliasing assumptions).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dante::ptp {

// Reads at absolute offsets. The caller checks size() once against the message's fixed
// layout; the accessors still refuse out-of-range offsets (returning 0 and latching
// `overrun`) so a layout mistake shows up as a failed parse, not as UB.
class ByteReader {
public:
    explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    [[nodiscard]] size_t size() const { return bytes_.size(); }
    [[nodiscard]] bool overrun() const { return overrun_; }

    [[nodiscard]] uint8_t u8(size_t at) {
        if (!fits(at, 1)) return 0;
        return bytes_[at];
    }
    [[nodiscard]] int8_t i8(size_t at) { return static_cast<int8_t>(u8(at)); }
    [[nodiscard]] uint16_t u16(size_t at) { return static_cast<uint16_t>(unsigned_be(at, 2)); }
    [[nodiscard]] int16_t i16(size_t at) { return static_cast<int16_t>(u16(at)); }
    [[nodiscard]] uint32_t u32(size_t at) { return static_cast<uint32_t>(unsigned_be(at, 4)); }
    [[nodiscard]] int32_t i32(size_t at) { return static_cast<int32_t>(u32(at)); }
    [[nodiscard]] uint64_t u48(size_t at) { return unsigned_be(at, 6); }
    [[nodiscard]] int64_t i64(size_t at) { return static_cast<int64_t>(unsigned_be(at, 8)); }

    template <size_t N>
    [[nodiscard]] std::array<uint8_t, N> bytes(size_t at) {
        std::array<uint8_t, N> out{};
        if (!fits(at, N)) return out;
        for (size_t i = 0; i < N; ++i) out[i] = bytes_[at + i];
        return out;
    }

private:
    bool fits(size_t at, size_t n) {
        if (at > bytes_.size() || n > bytes_.size() - at) {
            overrun_ = true;
            return false;
        }
        return true;
    }
    uint64_t unsigned_be(size_t at, size_t n) {
        if (!fits(at, n)) return 0;
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v = (v << 8) | bytes_[at + i];
        return v;
    }

    std::span<const uint8_t> bytes_;
    bool overrun_ = false;
};

// Writes at absolute offsets into a caller-provided buffer; the same latching rule as the
// reader: an out-of-range write is dropped and remembered, and the encoder reports failure.
class ByteWriter {
public:
    explicit ByteWriter(std::span<uint8_t> bytes) : bytes_(bytes) {}

    [[nodiscard]] bool overrun() const { return overrun_; }

    void zero(size_t at, size_t n) {
        if (!fits(at, n)) return;
        for (size_t i = 0; i < n; ++i) bytes_[at + i] = 0;
    }
    void u8(size_t at, uint8_t v) {
        if (!fits(at, 1)) return;
        bytes_[at] = v;
    }
    void i8(size_t at, int8_t v) { u8(at, static_cast<uint8_t>(v)); }
    void u16(size_t at, uint16_t v) { unsigned_be(at, 2, v); }
    void i16(size_t at, int16_t v) { u16(at, static_cast<uint16_t>(v)); }
    void u32(size_t at, uint32_t v) { unsigned_be(at, 4, v); }
    void i32(size_t at, int32_t v) { u32(at, static_cast<uint32_t>(v)); }
    void u48(size_t at, uint64_t v) { unsigned_be(at, 6, v); }
    void i64(size_t at, int64_t v) { unsigned_be(at, 8, static_cast<uint64_t>(v)); }

    template <size_t N>
    void bytes(size_t at, const std::array<uint8_t, N>& v) {
        if (!fits(at, N)) return;
        for (size_t i = 0; i < N; ++i) bytes_[at + i] = v[i];
    }

private:
    bool fits(size_t at, size_t n) {
        if (at > bytes_.size() || n > bytes_.size() - at) {
            overrun_ = true;
            return false;
        }
        return true;
    }
    void unsigned_be(size_t at, size_t n, uint64_t v) {
        if (!fits(at, n)) return;
        for (size_t i = 0; i < n; ++i) bytes_[at + n - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
    }

    std::span<uint8_t> bytes_;
    bool overrun_ = false;
};

}  // namespace dante::ptp
