#pragma once
// Types shared by both PTP versions and by the engine above the codecs.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace dante::ptp {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;

enum class PtpVersion : uint8_t { unknown, v1, v2 };

// Which of the two UDP ports a message travels on: event (319) messages are timestamped,
// general (320) ones are not.
enum class Channel : uint8_t { event, general };

// IEEE 1588-2008 clockIdentity (EUI-64). v1 has a 6-byte UUID (the MAC) instead; we map it
// to an identity by right-padding with zeros, as statime does, so it maps back losslessly.
using ClockIdentity = std::array<uint8_t, 8>;
using V1Uuid = std::array<uint8_t, 6>;

ClockIdentity identity_from_uuid(const V1Uuid& uuid);
V1Uuid uuid_from_identity(const ClockIdentity& identity);
std::string to_string(const ClockIdentity& identity);  // "00:1d:c1:ff:fe:12:34:56"

struct PortIdentity {
    ClockIdentity clock{};
    uint16_t port = 0;
    auto operator<=>(const PortIdentity&) const = default;
};

struct ClockQuality {
    uint8_t clock_class = 248;           // 248: default, not traceable
    uint8_t clock_accuracy = 0xFE;       // 0xFE: unknown
    uint16_t offset_scaled_log_variance = 0xFFFF;
    bool operator==(const ClockQuality&) const = default;
};

// A point in the leader's timescale, split the way both versions carry it. v1 seconds are
// 32 bits, v2 seconds 48 bits; nanoseconds are always < 1e9 once parsed.
struct WireTimestamp {
    uint64_t seconds = 0;
    uint32_t nanoseconds = 0;
    bool operator==(const WireTimestamp&) const = default;
};

// Nanoseconds since the timescale's epoch, or nothing when the value does not fit an
// int64 (48-bit seconds can exceed 292 years).
std::optional<int64_t> to_ns(const WireTimestamp& ts);
// For ns >= 0; negative instants are clamped to zero (a PTP timescale has no negative time).
WireTimestamp from_ns(int64_t ns);

// log2 seconds (PTP's logMessageInterval) to nanoseconds; clamped to [2^-7 s, 2^6 s]
// so a hostile or broken value cannot make a timer spin or sleep for ages.
int64_t log_interval_to_ns(int8_t log_seconds);

}  // namespace dante::ptp
