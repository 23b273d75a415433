#pragma once
// PTPv1 (IEEE 1588-2002) messages as Dante devices use them, and their wire codec.
//
// Layout (all big-endian; see docs/protocol.md#ptpv1): a 40-byte header, then a body
// selected by the header's control field. v1 has no Announce: the grandmaster and
// best-master data ride in every Sync. v1 has no length field either, so a datagram
// longer than its type's fixed size is accepted and the tail ignored (as statime does:
// padding); a shorter one is refused.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "ptp/parse_result.hpp"
#include "ptp/ptp_types.hpp"

namespace dante::ptp::v1 {

inline constexpr size_t kHeaderSize = 40;
inline constexpr size_t kSyncSize = 124;  // also Delay_Req
inline constexpr size_t kFollowUpSize = 52;
inline constexpr size_t kDelayRespSize = 60;
inline constexpr size_t kMaxMessageSize = kSyncSize;

using Subdomain = std::array<uint8_t, 16>;
// The default subdomain every Dante device uses: "_DFLT", NUL-padded.
inline constexpr Subdomain kDefaultSubdomain = {'_', 'D', 'F', 'L', 'T', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
using FourChars = std::array<uint8_t, 4>;  // clock identifiers: "DFLT", "ATOM", "GPS\0"
inline constexpr FourChars kDefaultClockIdentifier = {'D', 'F', 'L', 'T'};

enum class Control : uint8_t { sync = 0, delay_req = 1, follow_up = 2, delay_resp = 3 };

// messageType in the header: which port the message belongs on.
enum class PortType : uint8_t { event = 1, general = 2 };

// Header flag bits (flags field, a u16 at offset 34; all defined bits are in byte 35).
namespace flag {
inline constexpr uint16_t leap61 = 1u << 0;
inline constexpr uint16_t leap59 = 1u << 1;
inline constexpr uint16_t boundary_clock = 1u << 2;
inline constexpr uint16_t assist = 1u << 3;  // two-step: a Follow_Up carries the precise time
inline constexpr uint16_t ext_sync = 1u << 4;
inline constexpr uint16_t parent_stats = 1u << 5;
inline constexpr uint16_t sync_burst = 1u << 6;
}  // namespace flag

struct Header {
    Subdomain subdomain = kDefaultSubdomain;
    uint8_t source_comm_tech = 1;  // 1 = Ethernet
    V1Uuid source_uuid{};
    uint16_t source_port_id = 1;
    uint16_t sequence_id = 0;
    Control control = Control::sync;
    uint16_t flags = 0;
    bool operator==(const Header&) const = default;
};

struct Grandmaster {
    uint8_t comm_tech = 1;
    V1Uuid clock_uuid{};
    uint16_t port_id = 1;
    uint16_t sequence_id = 0;
    uint8_t stratum = 4;  // 1588-2002 default for an ordinary free-running clock
    FourChars identifier = kDefaultClockIdentifier;
    int16_t variance = -4000;
    bool preferred = false;
    bool is_boundary_clock = false;
    bool operator==(const Grandmaster&) const = default;
};

// The body of Sync and of Delay_Req (identical layout; the control field tells them apart).
struct SyncBody {
    WireTimestamp origin{};  // v1: u32 seconds, i32 nanoseconds (must be 0..999999999)
    uint16_t epoch_number = 0;
    int16_t current_utc_offset = 0;
    Grandmaster grandmaster{};
    int8_t sync_interval = 0;  // log2 seconds
    int16_t local_clock_variance = -4000;
    uint16_t local_steps_removed = 0;
    uint8_t local_clock_stratum = 4;
    FourChars local_clock_identifier = kDefaultClockIdentifier;
    uint8_t parent_comm_tech = 1;
    V1Uuid parent_uuid{};
    uint16_t parent_port_field = 0;
    int16_t estimated_master_variance = 0;
    int32_t estimated_master_drift = 0;
    bool utc_reasonable = false;
    bool operator==(const SyncBody&) const = default;
};

struct FollowUpBody {
    uint16_t associated_sequence_id = 0;
    WireTimestamp precise_origin{};
    bool operator==(const FollowUpBody&) const = default;
};

struct DelayRespBody {
    WireTimestamp delay_receipt{};
    uint8_t requesting_comm_tech = 1;
    V1Uuid requesting_uuid{};
    uint16_t requesting_port_id = 0;
    uint16_t requesting_sequence_id = 0;
    bool operator==(const DelayRespBody&) const = default;
};

struct Message {
    Header header{};
    std::variant<SyncBody, FollowUpBody, DelayRespBody> body;
    bool operator==(const Message&) const = default;
};

// Parses one datagram. `subdomain` is the one we belong to; anything else is wrong_domain.
ParseResult<Message> parse(std::span<const uint8_t> datagram, const Subdomain& subdomain = kDefaultSubdomain);

// Encodes into `out`; returns the bytes written, or 0 when `out` is too small or the
// message is inconsistent (body kind vs control field, timestamp out of range).
size_t encode(const Message& message, std::span<uint8_t> out);

// The channel a message of this control travels on.
constexpr Channel channel_of(Control control) {
    return (control == Control::sync || control == Control::delay_req) ? Channel::event : Channel::general;
}

}  // namespace dante::ptp::v1
