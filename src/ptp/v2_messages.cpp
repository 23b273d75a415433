#include "ptp/v2_messages.hpp"

#include <type_traits>

#include "ptp/byte_io.hpp"

namespace dante::ptp::v2 {
namespace {

bool read_timestamp(ByteReader& in, size_t at, WireTimestamp& out) {
    const uint64_t seconds = in.u48(at);
    const uint32_t nanoseconds = in.u32(at + 6);
    if (nanoseconds >= kNsPerSecond) return false;
    out = {seconds, nanoseconds};
    return true;
}

bool write_timestamp(ByteWriter& out, size_t at, const WireTimestamp& ts) {
    if (ts.seconds >= (uint64_t{1} << 48) || ts.nanoseconds >= kNsPerSecond) return false;
    out.u48(at, ts.seconds);
    out.u32(at + 6, ts.nanoseconds);
    return true;
}

PortIdentity read_port_identity(ByteReader& in, size_t at) { return {in.bytes<8>(at), in.u16(at + 8)}; }

void write_port_identity(ByteWriter& out, size_t at, const PortIdentity& id) {
    out.bytes(at, id.clock);
    out.u16(at + 8, id.port);
}

size_t size_of(MessageType type) {
    switch (type) {
        case MessageType::sync:
        case MessageType::delay_req:
        case MessageType::follow_up: return kSyncSize;
        case MessageType::delay_resp: return kDelayRespSize;
        case MessageType::announce: return kAnnounceSize;
    }
    return 0;
}

// The remaining 1588-2008 types: valid PTP, just not ours to handle.
bool is_known_unsupported(uint8_t type) {
    return type == 0x2 || type == 0x3 || type == 0xA || type == 0xC || type == 0xD;
}

}  // namespace

ParseResult<Message> parse(std::span<const uint8_t> datagram, uint8_t domain) {
    ByteReader in(datagram);
    if (in.size() < 2) return ParseError::truncated;
    if ((in.u8(1) & 0x0F) != 2) return ParseError::wrong_version;
    if (in.size() < kHeaderSize) return ParseError::truncated;

    const uint16_t message_length = in.u16(2);
    if (message_length > in.size()) return ParseError::truncated;
    if (message_length < kHeaderSize) return ParseError::bad_length;

    Header h;
    const uint8_t type = in.u8(0) & 0x0F;
    h.transport_specific = in.u8(0) >> 4;
    h.minor_version = in.u8(1) >> 4;
    h.domain = in.u8(4);
    h.flags = in.u16(6);
    h.correction = in.i64(8);
    h.source = read_port_identity(in, 20);
    h.sequence_id = in.u16(30);
    h.log_message_interval = in.i8(33);

    if (is_known_unsupported(type)) return ParseError::unsupported_message;
    switch (type) {
        case 0x0: h.type = MessageType::sync; break;
        case 0x1: h.type = MessageType::delay_req; break;
        case 0x8: h.type = MessageType::follow_up; break;
        case 0x9: h.type = MessageType::delay_resp; break;
        case 0xB: h.type = MessageType::announce; break;
        default: return ParseError::bad_field;  // reserved message types
    }
    if (message_length < size_of(h.type)) return ParseError::bad_length;
    if (h.domain != domain) return ParseError::wrong_domain;

    Message m{h, TimestampBody{}};
    switch (h.type) {
        case MessageType::sync:
        case MessageType::delay_req:
        case MessageType::follow_up: {
            TimestampBody b;
            if (!read_timestamp(in, 34, b.timestamp)) return ParseError::bad_timestamp;
            m.body = b;
            break;
        }
        case MessageType::delay_resp: {
            DelayRespBody b;
            if (!read_timestamp(in, 34, b.receive_timestamp)) return ParseError::bad_timestamp;
            b.requesting = read_port_identity(in, 44);
            m.body = b;
            break;
        }
        case MessageType::announce: {
            AnnounceBody b;
            if (!read_timestamp(in, 34, b.origin)) return ParseError::bad_timestamp;
            b.current_utc_offset = in.i16(44);
            b.priority1 = in.u8(47);
            b.quality.clock_class = in.u8(48);
            b.quality.clock_accuracy = in.u8(49);
            b.quality.offset_scaled_log_variance = in.u16(50);
            b.priority2 = in.u8(52);
            b.grandmaster = in.bytes<8>(53);
            b.steps_removed = in.u16(61);
            b.time_source = in.u8(63);
            m.body = b;
            break;
        }
    }
    if (in.overrun()) return ParseError::truncated;  // a layout bug; never on a size-checked input
    return m;
}

size_t encode(const Message& message, std::span<uint8_t> out_bytes) {
    const Header& h = message.header;
    const size_t size = size_of(h.type);
    if (size == 0 || out_bytes.size() < size) return 0;
    const bool body_matches = std::visit(
        [&](const auto& body) {
            using Body = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<Body, TimestampBody>) {
                return h.type == MessageType::sync || h.type == MessageType::delay_req ||
                       h.type == MessageType::follow_up;
            } else if constexpr (std::is_same_v<Body, DelayRespBody>) {
                return h.type == MessageType::delay_resp;
            } else {
                return h.type == MessageType::announce;
            }
        },
        message.body);
    if (!body_matches || h.transport_specific > 0x0F || h.minor_version > 0x0F) return 0;

    ByteWriter out(out_bytes);
    out.zero(0, size);
    out.u8(0, static_cast<uint8_t>((h.transport_specific << 4) | static_cast<uint8_t>(h.type)));
    out.u8(1, static_cast<uint8_t>((h.minor_version << 4) | 2));
    out.u16(2, static_cast<uint16_t>(size));
    out.u8(4, h.domain);
    out.u16(6, h.flags);
    out.i64(8, h.correction);
    write_port_identity(out, 20, h.source);
    out.u16(30, h.sequence_id);
    out.u8(32, control_field_of(h.type));
    out.i8(33, h.log_message_interval);

    bool ok = true;
    if (const auto* t = std::get_if<TimestampBody>(&message.body)) {
        ok = write_timestamp(out, 34, t->timestamp);
    } else if (const auto* d = std::get_if<DelayRespBody>(&message.body)) {
        ok = write_timestamp(out, 34, d->receive_timestamp);
        write_port_identity(out, 44, d->requesting);
    } else if (const auto* a = std::get_if<AnnounceBody>(&message.body)) {
        ok = write_timestamp(out, 34, a->origin);
        out.i16(44, a->current_utc_offset);
        out.u8(47, a->priority1);
        out.u8(48, a->quality.clock_class);
        out.u8(49, a->quality.clock_accuracy);
        out.u16(50, a->quality.offset_scaled_log_variance);
        out.u8(52, a->priority2);
        out.bytes(53, a->grandmaster);
        out.u16(61, a->steps_removed);
        out.u8(63, a->time_source);
    }
    if (!ok || out.overrun()) return 0;
    return size;
}

}  // namespace dante::ptp::v2
