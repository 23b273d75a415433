#include "ptp/v1_messages.hpp"

#include <type_traits>

#include "ptp/byte_io.hpp"

namespace dante::ptp::v1 {
namespace {

// Body offsets, counted from the start of the datagram (IEEE 1588-2002 tables 18-27).
namespace sync_at {
constexpr size_t origin = 40, epoch = 48, utc_offset = 50, gm_comm_tech = 53, gm_uuid = 54, gm_port = 60,
                 gm_sequence = 62, gm_stratum = 67, gm_identifier = 68, gm_variance = 74, gm_preferred = 77,
                 gm_boundary = 79, sync_interval = 83, local_variance = 86, local_steps = 90, local_stratum = 95,
                 local_identifier = 96, parent_comm_tech = 101, parent_uuid = 102, parent_port = 110,
                 master_variance = 114, master_drift = 116, utc_reasonable = 123;
}
namespace follow_up_at {
constexpr size_t associated_sequence = 42, precise_origin = 44;
}
namespace delay_resp_at {
constexpr size_t receipt = 40, comm_tech = 49, uuid = 50, port = 56, sequence = 58;
}

// v1 TimeRepresentation: u32 seconds, i32 nanoseconds whose sign would mark negative
// time. No PTP timescale Dante uses is negative, so a negative or >= 1e9 value is refused.
bool read_timestamp(ByteReader& in, size_t at, WireTimestamp& out) {
    const uint32_t seconds = in.u32(at);
    const int32_t nanoseconds = in.i32(at + 4);
    if (nanoseconds < 0 || nanoseconds >= kNsPerSecond) return false;
    out = {seconds, static_cast<uint32_t>(nanoseconds)};
    return true;
}

bool write_timestamp(ByteWriter& out, size_t at, const WireTimestamp& ts) {
    if (ts.seconds > UINT32_MAX || ts.nanoseconds >= kNsPerSecond) return false;
    out.u32(at, static_cast<uint32_t>(ts.seconds));
    out.u32(at + 4, ts.nanoseconds);
    return true;
}

size_t size_of(Control control) {
    switch (control) {
        case Control::sync:
        case Control::delay_req: return kSyncSize;
        case Control::follow_up: return kFollowUpSize;
        case Control::delay_resp: return kDelayRespSize;
    }
    return 0;
}

ParseResult<Message> parse_sync_body(ByteReader& in, const Header& header) {
    SyncBody b;
    if (!read_timestamp(in, sync_at::origin, b.origin)) return ParseError::bad_timestamp;
    b.epoch_number = in.u16(sync_at::epoch);
    b.current_utc_offset = in.i16(sync_at::utc_offset);
    b.grandmaster.comm_tech = in.u8(sync_at::gm_comm_tech);
    b.grandmaster.clock_uuid = in.bytes<6>(sync_at::gm_uuid);
    b.grandmaster.port_id = in.u16(sync_at::gm_port);
    b.grandmaster.sequence_id = in.u16(sync_at::gm_sequence);
    b.grandmaster.stratum = in.u8(sync_at::gm_stratum);
    b.grandmaster.identifier = in.bytes<4>(sync_at::gm_identifier);
    b.grandmaster.variance = in.i16(sync_at::gm_variance);
    b.grandmaster.preferred = in.u8(sync_at::gm_preferred) != 0;
    b.grandmaster.is_boundary_clock = in.u8(sync_at::gm_boundary) != 0;
    b.sync_interval = in.i8(sync_at::sync_interval);
    b.local_clock_variance = in.i16(sync_at::local_variance);
    b.local_steps_removed = in.u16(sync_at::local_steps);
    b.local_clock_stratum = in.u8(sync_at::local_stratum);
    b.local_clock_identifier = in.bytes<4>(sync_at::local_identifier);
    b.parent_comm_tech = in.u8(sync_at::parent_comm_tech);
    b.parent_uuid = in.bytes<6>(sync_at::parent_uuid);
    b.parent_port_field = in.u16(sync_at::parent_port);
    b.estimated_master_variance = in.i16(sync_at::master_variance);
    b.estimated_master_drift = in.i32(sync_at::master_drift);
    b.utc_reasonable = in.u8(sync_at::utc_reasonable) != 0;
    return Message{header, b};
}

ParseResult<Message> parse_follow_up_body(ByteReader& in, const Header& header) {
    FollowUpBody b;
    b.associated_sequence_id = in.u16(follow_up_at::associated_sequence);
    if (!read_timestamp(in, follow_up_at::precise_origin, b.precise_origin)) return ParseError::bad_timestamp;
    return Message{header, b};
}

ParseResult<Message> parse_delay_resp_body(ByteReader& in, const Header& header) {
    DelayRespBody b;
    if (!read_timestamp(in, delay_resp_at::receipt, b.delay_receipt)) return ParseError::bad_timestamp;
    b.requesting_comm_tech = in.u8(delay_resp_at::comm_tech);
    b.requesting_uuid = in.bytes<6>(delay_resp_at::uuid);
    b.requesting_port_id = in.u16(delay_resp_at::port);
    b.requesting_sequence_id = in.u16(delay_resp_at::sequence);
    return Message{header, b};
}

}  // namespace

ParseResult<Message> parse(std::span<const uint8_t> datagram, const Subdomain& subdomain) {
    ByteReader in(datagram);
    if (in.size() < 4) return ParseError::truncated;
    // versionPTP and versionNetwork are both 1 in every 1588-2002 message.
    if (in.u16(0) != 1 || in.u16(2) != 1) return ParseError::wrong_version;
    if (in.size() < kHeaderSize) return ParseError::truncated;

    Header h;
    h.subdomain = in.bytes<16>(4);
    const uint8_t port_type = in.u8(20);
    h.source_comm_tech = in.u8(21);
    h.source_uuid = in.bytes<6>(22);
    h.source_port_id = in.u16(28);
    h.sequence_id = in.u16(30);
    const uint8_t control = in.u8(32);
    h.flags = in.u16(34);

    if (control == 4) return ParseError::unsupported_message;  // management
    if (control > 4) return ParseError::bad_field;
    h.control = static_cast<Control>(control);
    const PortType expected_port = channel_of(h.control) == Channel::event ? PortType::event : PortType::general;
    if (port_type != static_cast<uint8_t>(expected_port)) return ParseError::bad_field;
    if (in.size() < size_of(h.control)) return ParseError::truncated;
    // Checked after the length, so a truncated datagram reports as such whatever its domain.
    if (h.subdomain != subdomain) return ParseError::wrong_domain;

    ParseResult<Message> result = ParseError::bad_field;
    switch (h.control) {
        case Control::sync:
        case Control::delay_req: result = parse_sync_body(in, h); break;
        case Control::follow_up: result = parse_follow_up_body(in, h); break;
        case Control::delay_resp: result = parse_delay_resp_body(in, h); break;
    }
    if (in.overrun()) return ParseError::truncated;  // a layout bug; never on a size-checked input
    return result;
}

size_t encode(const Message& message, std::span<uint8_t> out_bytes) {
    const Header& h = message.header;
    const size_t size = size_of(h.control);
    if (size == 0 || out_bytes.size() < size) return 0;
    const bool body_matches = std::visit(
        [&](const auto& body) {
            using Body = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<Body, SyncBody>) {
                return h.control == Control::sync || h.control == Control::delay_req;
            } else if constexpr (std::is_same_v<Body, FollowUpBody>) {
                return h.control == Control::follow_up;
            } else {
                return h.control == Control::delay_resp;
            }
        },
        message.body);
    if (!body_matches) return 0;

    ByteWriter out(out_bytes);
    out.zero(0, size);  // reserved bytes go out as zero
    out.u16(0, 1);
    out.u16(2, 1);
    out.bytes(4, h.subdomain);
    out.u8(20, static_cast<uint8_t>(channel_of(h.control) == Channel::event ? PortType::event : PortType::general));
    out.u8(21, h.source_comm_tech);
    out.bytes(22, h.source_uuid);
    out.u16(28, h.source_port_id);
    out.u16(30, h.sequence_id);
    out.u8(32, static_cast<uint8_t>(h.control));
    out.u16(34, h.flags);

    bool ok = true;
    if (const auto* b = std::get_if<SyncBody>(&message.body)) {
        ok = write_timestamp(out, sync_at::origin, b->origin);
        out.u16(sync_at::epoch, b->epoch_number);
        out.i16(sync_at::utc_offset, b->current_utc_offset);
        out.u8(sync_at::gm_comm_tech, b->grandmaster.comm_tech);
        out.bytes(sync_at::gm_uuid, b->grandmaster.clock_uuid);
        out.u16(sync_at::gm_port, b->grandmaster.port_id);
        out.u16(sync_at::gm_sequence, b->grandmaster.sequence_id);
        out.u8(sync_at::gm_stratum, b->grandmaster.stratum);
        out.bytes(sync_at::gm_identifier, b->grandmaster.identifier);
        out.i16(sync_at::gm_variance, b->grandmaster.variance);
        out.u8(sync_at::gm_preferred, b->grandmaster.preferred ? 1 : 0);
        out.u8(sync_at::gm_boundary, b->grandmaster.is_boundary_clock ? 1 : 0);
        out.i8(sync_at::sync_interval, b->sync_interval);
        out.i16(sync_at::local_variance, b->local_clock_variance);
        out.u16(sync_at::local_steps, b->local_steps_removed);
        out.u8(sync_at::local_stratum, b->local_clock_stratum);
        out.bytes(sync_at::local_identifier, b->local_clock_identifier);
        out.u8(sync_at::parent_comm_tech, b->parent_comm_tech);
        out.bytes(sync_at::parent_uuid, b->parent_uuid);
        out.u16(sync_at::parent_port, b->parent_port_field);
        out.i16(sync_at::master_variance, b->estimated_master_variance);
        out.i32(sync_at::master_drift, b->estimated_master_drift);
        out.u8(sync_at::utc_reasonable, b->utc_reasonable ? 1 : 0);
    } else if (const auto* f = std::get_if<FollowUpBody>(&message.body)) {
        out.u16(follow_up_at::associated_sequence, f->associated_sequence_id);
        ok = write_timestamp(out, follow_up_at::precise_origin, f->precise_origin);
    } else if (const auto* d = std::get_if<DelayRespBody>(&message.body)) {
        ok = write_timestamp(out, delay_resp_at::receipt, d->delay_receipt);
        out.u8(delay_resp_at::comm_tech, d->requesting_comm_tech);
        out.bytes(delay_resp_at::uuid, d->requesting_uuid);
        out.u16(delay_resp_at::port, d->requesting_port_id);
        out.u16(delay_resp_at::sequence, d->requesting_sequence_id);
    }
    if (!ok || out.overrun()) return 0;
    return size;
}

}  // namespace dante::ptp::v1
