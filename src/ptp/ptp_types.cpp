#include "ptp/ptp_types.hpp"

#include <algorithm>
#include <cstdio>

#include "ptp/parse_result.hpp"

namespace dante::ptp {

std::string_view to_string(ParseError error) {
    switch (error) {
        case ParseError::truncated: return "truncated";
        case ParseError::wrong_version: return "wrong-version";
        case ParseError::bad_length: return "bad-length";
        case ParseError::wrong_domain: return "wrong-domain";
        case ParseError::unsupported_message: return "unsupported-message";
        case ParseError::bad_field: return "bad-field";
        case ParseError::bad_timestamp: return "bad-timestamp";
    }
    return "unknown";
}

ClockIdentity identity_from_uuid(const V1Uuid& uuid) {
    ClockIdentity id{};
    std::copy(uuid.begin(), uuid.end(), id.begin());
    return id;
}

V1Uuid uuid_from_identity(const ClockIdentity& identity) {
    V1Uuid uuid{};
    std::copy_n(identity.begin(), uuid.size(), uuid.begin());
    return uuid;
}

std::string to_string(const ClockIdentity& identity) {
    char text[3 * 8] = {};
    for (size_t i = 0; i < identity.size(); ++i) {
        std::snprintf(text + 3 * i, 4, i + 1 < identity.size() ? "%02x:" : "%02x", identity[i]);
    }
    return text;
}

std::optional<int64_t> to_ns(const WireTimestamp& ts) {
    constexpr uint64_t kMaxSeconds = static_cast<uint64_t>(INT64_MAX / kNsPerSecond) - 1;
    if (ts.seconds > kMaxSeconds || ts.nanoseconds >= kNsPerSecond) return std::nullopt;
    return static_cast<int64_t>(ts.seconds) * kNsPerSecond + ts.nanoseconds;
}

WireTimestamp from_ns(int64_t ns) {
    if (ns < 0) return {};
    return {static_cast<uint64_t>(ns / kNsPerSecond), static_cast<uint32_t>(ns % kNsPerSecond)};
}

int64_t log_interval_to_ns(int8_t log_seconds) {
    const int clamped = std::clamp<int>(log_seconds, -7, 6);
    return clamped >= 0 ? kNsPerSecond << clamped : kNsPerSecond >> -clamped;
}

}  // namespace dante::ptp
