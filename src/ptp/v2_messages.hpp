#pragma once
// PTPv2 (IEEE 1588-2008) messages the engine uses, and their wire codec.
//
// A 34-byte common header, then a fixed body per type. messageLength in the header is
// authoritative: a datagram shorter than it is truncated; one longer (Ethernet padding)
// is fine and the tail ignored; TLVs between the fixed body and messageLength are skipped.
// Peer-delay, signaling and management messages are recognised and refused as
// unsupported_message: this engine runs end-to-end delay only.

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "ptp/parse_result.hpp"
#include "ptp/ptp_types.hpp"

namespace dante::ptp::v2 {

inline constexpr size_t kHeaderSize = 34;
inline constexpr size_t kSyncSize = 44;  // also Delay_Req and Follow_Up
inline constexpr size_t kDelayRespSize = 54;
inline constexpr size_t kAnnounceSize = 64;
inline constexpr size_t kMaxMessageSize = kAnnounceSize;

enum class MessageType : uint8_t { sync = 0x0, delay_req = 0x1, follow_up = 0x8, delay_resp = 0x9, announce = 0xB };

// flagField bits, as the u16 at offset 6 (byte 6 is the high byte).
namespace flag {
inline constexpr uint16_t alternate_master = 0x0100;
inline constexpr uint16_t two_step = 0x0200;
inline constexpr uint16_t unicast = 0x0400;
inline constexpr uint16_t leap61 = 0x0001;
inline constexpr uint16_t leap59 = 0x0002;
inline constexpr uint16_t utc_offset_valid = 0x0004;
inline constexpr uint16_t ptp_timescale = 0x0008;
inline constexpr uint16_t time_traceable = 0x0010;
inline constexpr uint16_t frequency_traceable = 0x0020;
}  // namespace flag

struct Header {
    uint8_t transport_specific = 0;  // high nibble of byte 0 (majorSdoId in 1588-2019)
    MessageType type = MessageType::sync;
    uint8_t minor_version = 0;  // high nibble of byte 1 (reserved in 2008, minorVersionPTP in 2019)
    uint8_t domain = 0;
    uint16_t flags = 0;
    int64_t correction = 0;  // ns * 2^16
    PortIdentity source{};
    uint16_t sequence_id = 0;
    int8_t log_message_interval = 0x7F;
    bool operator==(const Header&) const = default;
};

// controlField (byte 32) is derived from the type: 1588-2008 keeps it only for v1 hardware.
constexpr uint8_t control_field_of(MessageType type) {
    switch (type) {
        case MessageType::sync: return 0;
        case MessageType::delay_req: return 1;
        case MessageType::follow_up: return 2;
        case MessageType::delay_resp: return 3;
        case MessageType::announce: return 5;
    }
    return 5;
}

constexpr Channel channel_of(MessageType type) {
    return (type == MessageType::sync || type == MessageType::delay_req) ? Channel::event : Channel::general;
}

// Sync and Delay_Req: originTimestamp. Follow_Up: preciseOriginTimestamp.
struct TimestampBody {
    WireTimestamp timestamp{};
    bool operator==(const TimestampBody&) const = default;
};

struct DelayRespBody {
    WireTimestamp receive_timestamp{};
    PortIdentity requesting{};
    bool operator==(const DelayRespBody&) const = default;
};

struct AnnounceBody {
    WireTimestamp origin{};
    int16_t current_utc_offset = 0;
    uint8_t priority1 = 128;
    ClockQuality quality{};
    uint8_t priority2 = 128;
    ClockIdentity grandmaster{};
    uint16_t steps_removed = 0;
    uint8_t time_source = 0xA0;  // internal oscillator
    bool operator==(const AnnounceBody&) const = default;
};

struct Message {
    Header header{};
    std::variant<TimestampBody, DelayRespBody, AnnounceBody> body;
    bool operator==(const Message&) const = default;
};

// Parses one datagram; `domain` is ours, any other domainNumber is wrong_domain.
ParseResult<Message> parse(std::span<const uint8_t> datagram, uint8_t domain);

// Encodes into `out` (messageLength and controlField computed here); returns the bytes
// written, or 0 when `out` is too small or the body does not fit the header's type.
size_t encode(const Message& message, std::span<uint8_t> out);

// The correction field in whole nanoseconds (rounded toward zero).
constexpr int64_t correction_ns(const Header& header) { return header.correction / 65536; }

}  // namespace dante::ptp::v2
