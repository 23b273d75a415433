#include "clock/usrvclock_protocol.hpp"

#include <cmath>
#include <cstring>

namespace dante::usrvclock {
namespace {

// Native byte order on both ends (see the header): memcpy is exactly that.
template <typename T>
T read_at(std::span<const uint8_t> bytes, size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

template <typename T>
void write_at(std::span<uint8_t, kOverlaySize> bytes, size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

ParseResult fail(ParseError error) { return {std::nullopt, error}; }

}  // namespace

int64_t Overlay::overlay_ns_at(int64_t underlying_ns) const {
    const auto elapsed = static_cast<int64_t>(static_cast<uint64_t>(underlying_ns) - static_cast<uint64_t>(last_sync));
    const double correction = std::round(static_cast<double>(elapsed) * freq_scale);
    // freq_scale is bounded by the parser, so the correction fits; wrap the sums like upstream.
    const uint64_t sum = static_cast<uint64_t>(underlying_ns) + static_cast<uint64_t>(shift) +
                         static_cast<uint64_t>(static_cast<int64_t>(correction));
    return static_cast<int64_t>(sum);
}

std::string_view to_string(ParseError error) {
    switch (error) {
        case ParseError::truncated: return "truncated";
        case ParseError::oversized: return "oversized";
        case ParseError::bad_magic: return "bad magic";
        case ParseError::bad_version: return "unsupported major version";
        case ParseError::bad_flags: return "valid flag clear";
        case ParseError::bad_clock: return "unusable clock id";
        case ParseError::bad_rate: return "unusable freq_scale";
    }
    return "truncated";
}

ParseResult parse(std::span<const uint8_t> datagram) {
    if (datagram.size() < kOverlaySize) return fail(ParseError::truncated);
    if (datagram.size() > kMaxDatagramSize) return fail(ParseError::oversized);
    if (datagram[0] != 'V' || datagram[1] != 'C') return fail(ParseError::bad_magic);
    if (read_at<uint16_t>(datagram, 2) != kMajorVersion) return fail(ParseError::bad_version);
    if ((read_at<uint16_t>(datagram, 6) & kFlagValid) == 0) return fail(ParseError::bad_flags);
    Overlay overlay;
    overlay.clock_id = read_at<int64_t>(datagram, 8);
    overlay.last_sync = read_at<int64_t>(datagram, 16);
    overlay.shift = read_at<int64_t>(datagram, 24);
    overlay.freq_scale = read_at<double>(datagram, 32);
    if (overlay.clock_id < 0 || overlay.clock_id > kMaxStaticClockId) return fail(ParseError::bad_clock);
    if (!std::isfinite(overlay.freq_scale) || std::fabs(overlay.freq_scale) > kMaxFreqScale)
        return fail(ParseError::bad_rate);
    return {overlay, ParseError::truncated};
}

void encode(const Overlay& overlay, std::span<uint8_t, kOverlaySize> out) {
    out[0] = 'V';
    out[1] = 'C';
    write_at<uint16_t>(out, 2, kMajorVersion);
    write_at<uint16_t>(out, 4, kMinorVersion);
    write_at<uint16_t>(out, 6, kFlagValid);
    write_at<int64_t>(out, 8, overlay.clock_id);
    write_at<int64_t>(out, 16, overlay.last_sync);
    write_at<int64_t>(out, 24, overlay.shift);
    write_at<double>(out, 32, overlay.freq_scale);
}

}  // namespace dante::usrvclock
