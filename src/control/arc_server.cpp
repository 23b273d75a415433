#include "control/arc_server.hpp"

#include <algorithm>
#include <array>

#include "config/device_config.hpp"
#include "control/names.hpp"

namespace dante::control {

namespace {

using Response = std::optional<std::vector<uint8_t>>;

Response reply(const ControlHeader& request, uint16_t status) {
    return PacketWriter::response_to(request, status).finish();
}

Response zeros_reply(const ControlHeader& request, size_t body_size) {
    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.zeros(body_size);
    return std::move(out).finish();
}

// The 16-byte audio format descriptor that TX (and RX) channel records point at:
//   u32 sample rate, then 01 01 00 BB 04 00 00 BB 00 BB 00 PCM
// copied from a real 24-bit device by Inferno (arc_server.rs), where BB = 0x18. That 0x18
// means "24 bits" is a guess (UNCONFIRMED); we write the device's encoding there, which is
// byte-for-byte Inferno's descriptor for the usual 24-bit device. netaudio reads only the
// rate (the u32 at the descriptor offset of record 0).
void format_descriptor(PacketWriter& out, const DeviceState& state) {
    out.u32(state.rate);
    const uint8_t bits = state.encoding_bits;
    const std::array<uint8_t, 12> rest{0x01, 0x01, 0x00, bits, 0x04, 0x00, 0x00, bits, 0x00, bits, 0x00, state.pcm_type};
    out.bytes(rest);
}
inline constexpr size_t kDescriptorSize = 16;

// 0x1000 channel counts, 32-byte body (Inferno's values; a real device sends 34 bytes with
// other numbers whose meaning is unknown):
//   0 u16 0 | 2 u16 TX channels | 4 u16 RX channels | 6..14 zeros | 14 u16 8 (max RX flows)
//   16..20 zeros | 20 u16 1 ("if 0, DC doesn't recognise RX channels") | 22..32 zeros
// netaudio reads the low bytes of the counts and body 24..26 as the lock flag (0: unlocked).
Response channel_counts(const ControlHeader& request, const DeviceState& state) {
    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.u16(0);
    out.u16(static_cast<uint16_t>(std::min<size_t>(state.tx_channels.size(), 0xffff)));
    out.u16(static_cast<uint16_t>(std::min<size_t>(state.rx_channels.size(), 0xffff)));
    out.zeros(8);
    out.u16(8);
    out.zeros(4);
    out.u16(1);
    out.zeros(10);
    return std::move(out).finish();
}

// 0x1002: body = device name + NUL. netaudio takes response[10:-1].
Response device_name(const ControlHeader& request, const DeviceState& state) {
    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.c_string(state.device_name);
    return std::move(out).finish();
}

// Writes `text` into a fixed field of `field_size` bytes, cut to leave room for a NUL.
void fixed_string(PacketWriter& out, std::string_view text, size_t field_size) {
    const size_t used = std::min(text.size(), field_size - 1);
    out.bytes(Bytes(reinterpret_cast<const uint8_t*>(text.data()), used));
    out.zeros(field_size - used);
}

// 0x1003 names, 131-byte body (packet offsets in brackets), after Inferno:
//   0..6 zeros | 6 u16 0x0070 board name offset | 8 u16 0x0090 "revision" offset (Inferno
//   writes ":705" at 0x88 while pointing at 0x90; we copy it as is) | 10 u16 0
//   12 u16 0x0030 friendly name | 14 u16 0x0050 factory name | 16 u16 0x0030 friendly again
//   18..30 zeros | 30 u16 0x2729 | 32 u16 0 | 34 u16 0x1102 | 36 u16 0
//   [0x30] friendly name, 32 bytes | [0x50] factory name, 32 | [0x70] board name, 24 | [0x88] ":705\0"
Response device_names(const ControlHeader& request, const DeviceState& state) {
    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.zeros(6);
    out.u16(0x0070);
    out.u16(0x0090);
    out.u16(0);
    out.u16(0x0030);
    out.u16(0x0050);
    out.u16(0x0030);
    out.zeros(12);
    out.u16(0x2729);
    out.u16(0);
    out.u16(0x1102);
    out.u16(0);
    fixed_string(out, state.device_name, 32);
    fixed_string(out, state.factory_host_name, 32);
    fixed_string(out, state.board_name, 24);
    out.c_string(":705");
    return std::move(out).finish();
}

// Paged list requests (0x2000, 0x2010, 0x3000): body `00 01 SS SS 00 00`, SSSS = first
// channel wanted, 1-based (netaudio: struct ">HBBHH" after the header's opcode). We need
// bytes 2..4 only.
std::optional<uint16_t> requested_first_channel(Bytes request) {
    const auto first = read_u16(body_of(request), 2);
    if (!first || *first == 0) return std::nullopt;
    return first;
}

struct Page {
    size_t first_index = 0;  // 0-based
    size_t count = 0;
    bool more_follow = false;
};

// How many records fit: at most page_size, at most what remains, and no more than fit in
// kMaxArcResponseSize given each record's size.
template <typename RecordSize>
Page plan_page(size_t total, uint16_t first_channel, size_t page_size, size_t fixed_size, RecordSize record_size) {
    Page page;
    page.first_index = first_channel - 1u;
    if (page.first_index >= total) return page;
    // The record count is a u8 on the wire.
    const size_t wanted = std::min({total - page.first_index, std::clamp<size_t>(page_size, 1, 255)});
    size_t size = fixed_size;
    while (page.count < wanted) {
        const size_t next = record_size(page.first_index + page.count);
        if (size + next > kMaxArcResponseSize) break;
        size += next;
        ++page.count;
    }
    page.more_follow = page.first_index + page.count < total;
    return page;
}

// 0x2000 TX channels, body:
//   0 u8 n | 1 u8 n | 2 + 8i: u16 channel number, u16 0x0007, u16 descriptor offset,
//   u16 name offset | descriptor (16) | factory names, NUL-terminated
// Status 0x8112 while channels remain after this page, else 0x0001.
Response tx_channels(const ControlHeader& request, Bytes raw, const DeviceState& state, const ArcOptions& options) {
    const auto first = requested_first_channel(raw);
    if (!first) return reply(request, kStatusError);
    const auto& channels = state.tx_channels;
    const Page page = plan_page(channels.size(), *first, options.tx_page_size, kHeaderSize + 2 + kDescriptorSize,
                                [&](size_t i) { return 8 + channels[i].factory_name.size() + 1; });

    PacketWriter out = PacketWriter::response_to(request, page.more_follow ? kStatusOkMorePages : kStatusOk);
    out.u8(static_cast<uint8_t>(page.count));
    out.u8(static_cast<uint8_t>(page.count));
    const size_t descriptor_offset = kHeaderSize + 2 + 8 * page.count;
    size_t name_offset = descriptor_offset + kDescriptorSize;
    for (size_t i = page.first_index; i < page.first_index + page.count; ++i) {
        out.u16(static_cast<uint16_t>(i + 1));
        out.u16(0x0007);
        out.u16(static_cast<uint16_t>(descriptor_offset));
        out.u16(static_cast<uint16_t>(name_offset));
        name_offset += channels[i].factory_name.size() + 1;
    }
    format_descriptor(out, state);
    for (size_t i = page.first_index; i < page.first_index + page.count; ++i) out.c_string(channels[i].factory_name);
    return std::move(out).finish();
}

// 0x2010 TX user names, body:
//   0 u8 n | 1 u8 n | 2 + 6i: u16 channel number, u16 channel number, u16 name offset
//   4 zero bytes | user names, NUL-terminated
Response tx_channel_names(const ControlHeader& request, Bytes raw, const DeviceState& state,
                          const ArcOptions& options) {
    const auto first = requested_first_channel(raw);
    if (!first) return reply(request, kStatusError);
    const auto& channels = state.tx_channels;
    const Page page = plan_page(channels.size(), *first, options.tx_page_size, kHeaderSize + 2 + 4,
                                [&](size_t i) { return 6 + channels[i].user_name.size() + 1; });

    PacketWriter out = PacketWriter::response_to(request, page.more_follow ? kStatusOkMorePages : kStatusOk);
    out.u8(static_cast<uint8_t>(page.count));
    out.u8(static_cast<uint8_t>(page.count));
    size_t name_offset = kHeaderSize + 2 + 6 * page.count + 4;
    for (size_t i = page.first_index; i < page.first_index + page.count; ++i) {
        out.u16(static_cast<uint16_t>(i + 1));
        out.u16(static_cast<uint16_t>(i + 1));
        out.u16(static_cast<uint16_t>(name_offset));
        name_offset += channels[i].user_name.size() + 1;
    }
    out.zeros(4);
    for (size_t i = page.first_index; i < page.first_index + page.count; ++i) out.c_string(channels[i].user_name);
    return std::move(out).finish();
}

// 0x3000 RX channels and their subscriptions (Inferno arc_server.rs; PROTOCOL facts in
// docs/protocol.md). Body:
//   0 u8 n | 1 u8 n | 2 + 20i: u16 channel number, u16 0x0006, u16 descriptor offset,
//   u16 TX channel name offset (0: none), u16 TX device name offset (0: none),
//   u16 RX channel name offset, u32 subscription status, u32 0
//   descriptor (16) | strings, NUL-terminated: per record its label, then the TX channel
//   and TX device names when subscribed
// Paged like 0x2000 (status 0x8112 while channels remain). A controller re-reads this
// right after a 0x3010, so it must already show the new subscription (the shell applies
// changes before it answers).
Response rx_channels(const ControlHeader& request, Bytes raw, const DeviceState& state, const ArcOptions& options) {
    const auto& channels = state.rx_channels;
    // A device without RX channels (dante.rx.channels = 0): body `00 00` then the descriptor,
    // as Inferno answers when it has no receiver; no paging to check.
    if (channels.empty()) {
        PacketWriter out = PacketWriter::response_to(request, kStatusOk);
        out.u8(0);
        out.u8(0);
        format_descriptor(out, state);
        return std::move(out).finish();
    }
    const auto first = requested_first_channel(raw);
    if (!first) return reply(request, kStatusError);
    const auto strings_of = [&](size_t i) {
        const RxSubscription& sub = channels[i].subscription;
        return channels[i].user_name.size() + 1 +
               (sub.empty() ? 0 : sub.tx_channel.size() + 1 + sub.tx_device.size() + 1);
    };
    const Page page = plan_page(channels.size(), *first, options.rx_page_size, kHeaderSize + 2 + kDescriptorSize,
                                [&](size_t i) { return 20 + strings_of(i); });

    PacketWriter out = PacketWriter::response_to(request, page.more_follow ? kStatusOkMorePages : kStatusOk);
    out.u8(static_cast<uint8_t>(page.count));
    out.u8(static_cast<uint8_t>(page.count));
    const size_t descriptor_offset = kHeaderSize + 2 + 20 * page.count;
    size_t at = descriptor_offset + kDescriptorSize;
    for (size_t i = page.first_index; i < page.first_index + page.count; ++i) {
        const RxChannel& channel = channels[i];
        const bool subscribed = !channel.subscription.empty();
        const size_t label_at = at;
        const size_t tx_channel_at = label_at + channel.user_name.size() + 1;
        const size_t tx_device_at = tx_channel_at + channel.subscription.tx_channel.size() + 1;
        out.u16(static_cast<uint16_t>(i + 1));
        out.u16(0x0006);
        out.u16(static_cast<uint16_t>(descriptor_offset));
        out.u16(static_cast<uint16_t>(subscribed ? tx_channel_at : 0));
        out.u16(static_cast<uint16_t>(subscribed ? tx_device_at : 0));
        out.u16(static_cast<uint16_t>(label_at));
        out.u32(subscribed ? channel.status : kRxStatusNone);
        out.u32(0);
        at += strings_of(i);
    }
    format_descriptor(out, state);
    for (size_t i = page.first_index; i < page.first_index + page.count; ++i) {
        out.c_string(channels[i].user_name);
        if (!channels[i].subscription.empty()) {
            out.c_string(channels[i].subscription.tx_channel);
            out.c_string(channels[i].subscription.tx_device);
        }
    }
    return std::move(out).finish();
}

// 0x2200 TX flows (netaudio services/arc.py query_tx_flows; Inferno dev has only a stub,
// so this is the netaudio reading, unconfirmed against a device). Request body `00 00`.
// Body: u8 max flow slots, u8 n, n × (u16 flow number, u16 absolute record offset), records.
// Record (offsets from its start):
//   +0 u16 flow number | +2 u16 type (0x0002 multicast; 0x0001 unicast is OUR choice, the
//   value real devices use is UNCONFIRMED) | +4 u32 rate | +8 u16 encoding bits
//   +10 u16 frames per packet | +12 u16 0x0802, +14 u16 port, +16 u32 IPv4: the destination
//   (the group for multicast), laid out as flow control's IPv4 descriptor; netaudio skips
//   +12..22, where a real device puts it is UNCONFIRMED | +20 u16 0
//   +22 u16 channel count | +24 u16 channels...
// netaudio decodes channels for multicast flows only; we list them for every flow.
// Not paged: flows that would push the reply past kMaxArcResponseSize are left out.
Response tx_flows(const ControlHeader& request, const DeviceState& state) {
    const auto record_size = [](const TxFlowSummary& flow) { return 24 + 2 * std::min<size_t>(flow.channels.size(), 64); };
    size_t count = 0;
    size_t size = kHeaderSize + 2;
    for (const TxFlowSummary& flow : state.tx_flows) {
        const size_t next = 4 + record_size(flow);
        if (count == 255 || size + next > kMaxArcResponseSize) break;
        size += next;
        ++count;
    }

    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.u8(static_cast<uint8_t>(std::min<uint16_t>(state.max_tx_flows, 255)));
    out.u8(static_cast<uint8_t>(count));
    size_t record_offset = kHeaderSize + 2 + 4 * count;
    for (size_t i = 0; i < count; ++i) {
        out.u16(state.tx_flows[i].flow_number);
        out.u16(static_cast<uint16_t>(record_offset));
        record_offset += record_size(state.tx_flows[i]);
    }
    for (size_t i = 0; i < count; ++i) {
        const TxFlowSummary& flow = state.tx_flows[i];
        const size_t channels = std::min<size_t>(flow.channels.size(), 64);
        out.u16(flow.flow_number);
        out.u16(flow.multicast ? kFlowTypeMulticast : kFlowTypeUnicast);
        out.u32(flow.rate);
        out.u16(flow.encoding_bits);
        out.u16(flow.frames_per_packet);
        out.u16(0x0802);
        out.u16(flow.port);
        out.u32(flow.address);
        out.u16(0);
        out.u16(static_cast<uint16_t>(channels));
        for (size_t c = 0; c < channels; ++c) out.u16(flow.channels[c]);
    }
    return std::move(out).finish();
}

// 0x1100 device settings. Body: u8 n, u8 n, n × (u16 setting code, u16 absolute offset of
// its u32 value), then the values (netaudio protocol.py parse_device_settings reads exactly
// this). Latencies in ns (a real device's 0x1100 carries 1 ms as 000f4240: netaudio
// tests/test_set_latency.py). Records, in this order:
//   0x8020 rate | 0x8204 latency | 0x8205 minimum | 0x8301 latency | 0x8302 maximum
//   0x8306 minimum
// then zeros to 0x60 bytes, with 0x01 at packet offset 0x53: netaudio reads that byte of a
// 0x1100 answer as "AES67 configured" (services/arc.py get_aes67_configured: 0x03 on,
// 0x01 off), and we have no AES67 mode.
inline constexpr size_t kSettingsAnswerSize = 0x60;
inline constexpr size_t kAes67FlagOffset = 0x53;

Response device_settings(const ControlHeader& request, const DeviceState& state) {
    const int64_t latency = std::clamp(state.latency_ns, int64_t{0}, int64_t{0xffffffff});
    const std::array<std::pair<uint16_t, uint32_t>, 6> records{{
        {kSettingSampleRate, state.rate},
        {kSettingLatency, static_cast<uint32_t>(latency)},
        {kSettingMinLatency, static_cast<uint32_t>(kMinSettableLatencyNs)},
        {kSettingLatencySet, static_cast<uint32_t>(latency)},
        {kSettingMaxLatency, static_cast<uint32_t>(kMaxSettableLatencyNs)},
        {kSettingMinLatency2, static_cast<uint32_t>(kMinSettableLatencyNs)},
    }};
    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.u8(records.size());
    out.u8(records.size());
    size_t value_offset = kHeaderSize + 2 + 4 * records.size();
    for (const auto& [code, value] : records) {
        out.u16(code);
        out.u16(static_cast<uint16_t>(value_offset));
        value_offset += 4;
    }
    for (const auto& [code, value] : records) out.u32(value);
    out.zeros(kSettingsAnswerSize - out.size());
    std::vector<uint8_t> bytes = *std::move(out).finish();
    bytes[kAes67FlagOffset] = 0x01;
    return bytes;
}

// 0x1101 set device settings: the 0x1100 record layout (u8 n, u8 n, n × (u16 code, u16
// absolute offset)), values after. Dante Controller's latency request (netaudio fixture
// session_latency_*, 40 bytes) points 0x8205 at 0x20 and 0x8301 at 0x24, both the latency
// in ns, plus two codes with small inline values (0x0211, 0x0310: no offset, ignored).
// netaudio's own (device_commands.py command_set_latency, 39 bytes) points at the same
// offsets but writes only the low three bytes of the value, the second time as the last
// three bytes of the datagram; its 0x20 field is then value << 8. So: the latency is the
// 0x8301 value (0x8205's only when there is no 0x8301), read as a u32, or as the 24-bit
// value netaudio sends when the field is the last three bytes of the datagram.
// Refused with kStatusError: a malformed record table, a value offset outside the datagram
// or not after the record table, a
// latency outside kMinSettableLatencyNs..kMaxSettableLatencyNs, and any 0x8020 (sample
// rate) other than the device's: the rate is fixed by the PipeWire graph and every receiver.
// Answer: OK with body u8 2, u8 2, 0x8205 and 0x8301 pointing at the latency (as the
// device in the fixture echoes them), so a controller reading back sees what took effect.
inline constexpr size_t kMaxSettingRecords = 32;

// The value a record points at: after the record table (`values_start`), inside the datagram.
std::optional<uint32_t> setting_value(Bytes raw, uint16_t offset, size_t values_start) {
    if (offset < values_start) return std::nullopt;
    if (const auto value = read_u32(raw, offset)) return value;
    if (size_t{offset} + 3 == raw.size())
        return (uint32_t{raw[offset]} << 16) | (uint32_t{raw[offset + 1u]} << 8) | uint32_t{raw[offset + 2u]};
    return std::nullopt;
}

ArcResult set_device_settings(const ControlHeader& request, Bytes raw, const DeviceState& state) {
    ArcResult result;
    const Bytes body = body_of(raw);
    const auto count = read_u8(body, 1);
    const auto refuse = [&] {
        result.latency_ns.reset();
        result.response = reply(request, kStatusError);
        return result;
    };
    if (!count || *count == 0 || *count > kMaxSettingRecords || body.size() < 2 + 4 * size_t{*count}) return refuse();
    std::optional<uint32_t> latency_8205, latency_8301;
    for (size_t i = 0; i < *count; ++i) {
        const uint16_t code = *read_u16(body, 2 + 4 * i);
        const uint16_t offset = *read_u16(body, 4 + 4 * i);
        if ((code & 0x8000) == 0) continue;  // an inline value we do not know
        const auto value = setting_value(raw, offset, kHeaderSize + 2 + 4 * size_t{*count});
        if (!value) return refuse();
        if (code == kSettingMinLatency) latency_8205 = value;
        else if (code == kSettingLatencySet) latency_8301 = value;
        else if (code == kSettingSampleRate) {
            if (*value != state.rate) return refuse();
        } else {
            return refuse();  // a setting we cannot change
        }
    }
    const std::optional<uint32_t> latency = latency_8301 ? latency_8301 : latency_8205;
    if (!latency) return refuse();
    if (*latency < kMinSettableLatencyNs || *latency > kMaxSettableLatencyNs) return refuse();
    if (*latency != state.latency_ns) result.latency_ns = *latency;

    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.u8(2);
    out.u8(2);
    out.u16(kSettingMinLatency);
    out.u16(kHeaderSize + 10);
    out.u16(kSettingLatencySet);
    out.u16(kHeaderSize + 14);
    out.u32(*latency);
    out.u32(*latency);
    result.response = std::move(out).finish();
    return result;
}

// 0x2201 create a multicast TX flow, body as netaudio builds it (services/arc.py
// _build_create_flow_body; Dante Controller's own bytes are UNCONFIRMED):
//   0 u16 0x0101 | 2 u16 0x0010 (0x0001 from 0x2809 controllers) | 4 u16 0 | 6 u16 flow slot
//   8 u16 flow type 0x0002 | 10..20 zeros | 20 u16 N | 22 N × u16 TX channel (1-based)
//   22+2N u16 P: absolute offset of a sub-record | 24+2N u16 0x0002
//   [P] u16 0x0A00 | P+2..P+16 zeros | then 00 01 00 00
// We read: the slot, the type (must be multicast), N (1..64) and the channels. Frames per
// packet: no source names a field; by analogy with flow control 0x0100, whose sub-record
// is 0x0A00, 0x0002, fpp, we read a u16 at P+4 (UNCONFIRMED): netaudio sends 0 there, read
// as "the device's default". The first four bytes vary between protocols and are ignored.
// Every read is bounds-checked: a short or inconsistent body is refused with kStatusError.
std::optional<MulticastFlowRequest> parse_create_tx_flow(Bytes raw) {
    const Bytes body = body_of(raw);
    const auto slot = read_u16(body, 6);
    const auto type = read_u16(body, 8);
    const auto count = read_u16(body, 20);
    if (!slot || !type || !count || *type != kFlowTypeMulticast) return std::nullopt;
    if (*count == 0 || *count > kMaxCreateFlowChannels) return std::nullopt;
    MulticastFlowRequest request;
    request.flow_number = *slot;
    for (size_t i = 0; i < *count; ++i) {
        const auto channel = read_u16(body, 22 + 2 * i);
        if (!channel) return std::nullopt;
        request.channels.push_back(*channel);
    }
    const auto pointer = read_u16(body, 22 + 2 * size_t{*count});
    if (pointer && *pointer != 0) {
        // The sub-record must lie in the body; a pointer into the header or past the end is
        // a malformed request, not something to read around.
        if (*pointer < kHeaderSize) return std::nullopt;
        const auto fpp = read_u16(raw, size_t{*pointer} + 4);
        if (!fpp) return std::nullopt;
        request.fpp = *fpp;
    }
    return request;
}

// 0x2202 delete a TX flow (netaudio delete_tx_flow): body u16 1, u16 0, u16 flow slot.
std::optional<uint16_t> parse_delete_tx_flow(Bytes raw) {
    const auto slot = read_u16(body_of(raw), 4);
    if (!slot || *slot == 0) return std::nullopt;
    return slot;
}

// 0x1001 set device name (netaudio command_set_name): body = name + NUL, i.e. the name at
// absolute offset 10. An empty body (command_reset_name) or an empty name resets to the
// default name. A valid name is answered OK with an empty body (what a real device puts in
// the body is UNCONFIRMED; netaudio ignores it); an invalid one gets kStatusError.
ArcResult set_device_name(const ControlHeader& request, Bytes raw, const DeviceState& state) {
    ArcResult result;
    std::string_view wanted = state.default_device_name;
    if (raw.size() > kHeaderSize) {
        const auto name = read_string_at(raw, kHeaderSize, kMaxNameLength);
        if (!name) {
            result.response = reply(request, kStatusError);
            return result;
        }
        if (!name->empty()) wanted = *name;
    }
    if (!dante::is_valid_device_name(wanted)) {
        result.response = reply(request, kStatusError);
        return result;
    }
    if (wanted != state.device_name) result.device_rename = std::string(wanted);
    result.response = reply(request, kStatusOk);
    return result;
}

// A label at `offset` in a rename request: "" asks for the factory name (offset 0, offset
// at the datagram's end, or an empty string: netaudio's reset); nullopt: unreadable.
std::optional<std::string_view> requested_label(Bytes raw, uint16_t offset) {
    if (offset == 0 || offset == raw.size()) return std::string_view();
    return read_string_at(raw, offset, kMaxNameLength);
}

// 0x2013 set TX channel name (netaudio command_set_channel_name, channel_type "tx"):
//   body 0 u8 2 (ignored) | 1 u8 record count | 2 + 6i: u16 0, u16 channel number (1-based),
//   u16 absolute name offset | then padding and the names.
// netaudio sends one record, offset 0x18, 6 zero bytes, then the name. Its reset sends the
// same record with no name: the offset then equals the datagram length. We read offset 0,
// offset == length, and an empty string all as "reset to the factory name". Several records
// are accepted; the request is all-or-nothing: one bad record refuses it all.
ArcResult set_tx_channel_names(const ControlHeader& request, Bytes raw, const DeviceState& state) {
    ArcResult result;
    const Bytes body = body_of(raw);
    const auto count = read_u8(body, 1);
    const auto refuse = [&] {
        result.channel_renames.clear();
        result.response = reply(request, kStatusError);
        return result;
    };
    if (!count || *count == 0 || body.size() < 2 + 6 * size_t{*count}) return refuse();

    // Apply to a working copy, so that two records of one request cannot take the same label.
    std::vector<TxChannel> working = state.tx_channels;
    for (size_t record = 0; record < *count; ++record) {
        const size_t at = 2 + 6 * record;
        const uint16_t channel = *read_u16(body, at + 2);
        const uint16_t name_offset = *read_u16(body, at + 4);
        if (channel == 0 || channel > working.size()) return refuse();
        TxChannel& target = working[channel - 1u];

        const auto requested = requested_label(raw, name_offset);
        if (!requested) return refuse();
        const std::string_view label = requested->empty() ? std::string_view(target.factory_name) : *requested;
        if (!is_valid_channel_label(label) || label_taken_by_other_channel(working, channel - 1u, label))
            return refuse();
        target.user_name = std::string(label);
    }
    for (size_t i = 0; i < working.size(); ++i) {
        if (working[i].user_name != state.tx_channels[i].user_name)
            result.channel_renames.push_back({static_cast<uint16_t>(i + 1), working[i].user_name});
    }
    result.response = reply(request, kStatusOk);
    return result;
}

// 0x3001 RX channel labels (netaudio device_commands.py command_set_channel_name "rx"):
//   body 0 u8 2 | 1 u8 n | 2 + 4i: u16 channel number, u16 label offset (absolute; pointing
//   at the datagram's end, or at an empty string, resets the label to the factory name)
// RX labels follow the TX label rules but need not be unique (no mDNS instance of their own).
// The whole request is refused if any record is bad.
ArcResult set_rx_channel_names(const ControlHeader& request, Bytes raw, const DeviceState& state) {
    ArcResult result;
    const Bytes body = body_of(raw);
    const auto count = read_u8(body, 1);
    const auto refuse = [&] {
        result.rx_channel_renames.clear();
        result.response = reply(request, kStatusError);
        return result;
    };
    if (!count || *count == 0 || *count > kMaxRxRecordsPerRequest || body.size() < 2 + 4 * size_t{*count})
        return refuse();
    std::vector<std::string> labels;
    for (const RxChannel& channel : state.rx_channels) labels.push_back(channel.user_name);
    for (size_t record = 0; record < *count; ++record) {
        const uint16_t channel = *read_u16(body, 2 + 4 * record);
        if (channel == 0 || channel > labels.size()) return refuse();
        const auto requested = requested_label(raw, *read_u16(body, 2 + 4 * record + 2));
        if (!requested) return refuse();
        const std::string_view label =
            requested->empty() ? std::string_view(state.rx_channels[channel - 1u].factory_name) : *requested;
        if (!is_valid_channel_label(label)) return refuse();
        labels[channel - 1u] = std::string(label);
    }
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] != state.rx_channels[i].user_name)
            result.rx_channel_renames.push_back({static_cast<uint16_t>(i + 1), labels[i]});
    result.response = reply(request, kStatusOk);
    return result;
}

// 0x3010 subscribe (Inferno arc_server.rs; netaudio command_add_subscriptions):
//   body 0 u8 2 | 1 u8 n | 2 + 6i: u16 RX channel, u16 TX channel name offset, u16 TX device
//   name offset (absolute); both offsets 0: unsubscribe. Strings after (netaudio pads the
//   records to 44 bytes first).
// A TX channel name follows the label rules, a device name the device rules; anything else
// (and an RX channel we do not have) refuses the whole request, so a controller's view never
// half-applies. Subscribing to our own device is allowed: a loopback, as Dante allows.
ArcResult subscribe(const ControlHeader& request, Bytes raw, const DeviceState& state) {
    ArcResult result;
    const Bytes body = body_of(raw);
    const auto count = read_u8(body, 1);
    const auto refuse = [&] {
        result.subscription_changes.clear();
        result.response = reply(request, kStatusError);
        return result;
    };
    if (!count || *count == 0 || *count > kMaxRxRecordsPerRequest || body.size() < 2 + 6 * size_t{*count})
        return refuse();
    std::vector<RxSubscription> wanted;
    for (const RxChannel& channel : state.rx_channels) wanted.push_back(channel.subscription);
    for (size_t record = 0; record < *count; ++record) {
        const size_t at = 2 + 6 * record;
        const uint16_t channel = *read_u16(body, at);
        const uint16_t tx_channel_offset = *read_u16(body, at + 2);
        const uint16_t tx_device_offset = *read_u16(body, at + 4);
        if (channel == 0 || channel > wanted.size()) return refuse();
        if (tx_channel_offset == 0 && tx_device_offset == 0) {
            wanted[channel - 1u] = {};
            continue;
        }
        const auto tx_channel = read_string_at(raw, tx_channel_offset, kMaxNameLength);
        const auto tx_device = read_string_at(raw, tx_device_offset, kMaxNameLength);
        if (!tx_channel || !tx_device || !is_valid_channel_label(*tx_channel) || !is_valid_device_name(*tx_device))
            return refuse();
        wanted[channel - 1u] = {std::string(*tx_channel), std::string(*tx_device)};
    }
    for (size_t i = 0; i < wanted.size(); ++i)
        if (!(wanted[i] == state.rx_channels[i].subscription))
            result.subscription_changes.push_back({static_cast<uint16_t>(i + 1), wanted[i]});
    result.response = reply(request, kStatusOk);
    return result;
}

// 0x3014 remove subscriptions (netaudio command_remove_subscriptions; Inferno has none):
// netaudio's payload is u32 count then u32 RX channels right after the 8-byte header, so
// in our 10-byte header view the status field holds the count's high half (0) and the body
// is u16 count (low half), then count × u32 channel. Bad channel: the request is refused.
ArcResult unsubscribe(const ControlHeader& request, Bytes raw, const DeviceState& state) {
    ArcResult result;
    const Bytes body = body_of(raw);
    const auto count = read_u16(body, 0);
    if (!count || *count == 0 || *count > kMaxRxRecordsPerRequest || body.size() < 2 + 4 * size_t{*count}) {
        result.response = reply(request, kStatusError);
        return result;
    }
    std::vector<bool> remove(state.rx_channels.size(), false);
    for (size_t i = 0; i < *count; ++i) {
        const uint16_t high = *read_u16(body, 2 + 4 * i);
        const uint16_t channel = *read_u16(body, 2 + 4 * i + 2);
        if (high != 0 || channel == 0 || channel > remove.size()) {
            result.response = reply(request, kStatusError);
            return result;
        }
        remove[channel - 1u] = true;
    }
    for (size_t i = 0; i < remove.size(); ++i)
        if (remove[i] && !state.rx_channels[i].subscription.empty())
            result.subscription_changes.push_back({static_cast<uint16_t>(i + 1), {}});
    result.response = reply(request, kStatusOk);
    return result;
}

}  // namespace

std::optional<std::vector<uint8_t>> tx_flow_change_reply(const ControlHeader& request, uint16_t status) {
    return reply(request, status);
}

ArcResult handle_arc_request(Bytes request, const DeviceState& state, const ArcOptions& options) {
    ArcResult result;
    const auto header = parse_control_header(request);
    if (!header || header->status != kStatusRequest) return result;

    switch (header->opcode) {
        case kArcChannelCounts: result.response = channel_counts(*header, state); break;
        case kArcSetDeviceName: return set_device_name(*header, request, state);
        case kArcDeviceName: result.response = device_name(*header, state); break;
        case kArcDeviceNames: result.response = device_names(*header, state); break;
        case kArcDeviceSettings: result.response = device_settings(*header, state); break;
        case kArcSetDeviceSettings: return set_device_settings(*header, request, state);
        case kArcDeviceSettings2: result.response = zeros_reply(*header, 94); break;
        case kArcTxChannels: result.response = tx_channels(*header, request, state, options); break;
        case kArcTxChannelNames: result.response = tx_channel_names(*header, request, state, options); break;
        case kArcSetTxChannelName: return set_tx_channel_names(*header, request, state);
        case kArcTxFlows: result.response = tx_flows(*header, state); break;
        case kArcCreateTxFlow:
            result.create_multicast = parse_create_tx_flow(request);
            if (!result.create_multicast) result.response = reply(*header, kStatusError);
            result.request_header = *header;
            break;
        case kArcDeleteTxFlow:
            result.delete_flow = parse_delete_tx_flow(request);
            if (!result.delete_flow) result.response = reply(*header, kStatusError);
            result.request_header = *header;
            break;
        case kArcRxChannels: result.response = rx_channels(*header, request, state, options); break;
        case kArcSetRxChannelName: return set_rx_channel_names(*header, request, state);
        case kArcSubscribe: return subscribe(*header, request, state);
        case kArcUnsubscribe: return unsubscribe(*header, request, state);
        case kArc3200: result.response = zeros_reply(*header, 6); break;
        case kArc3300: result.response = zeros_reply(*header, 8); break;
        default: result.response = reply(*header, kStatusError); break;
    }
    return result;
}

}  // namespace dante::control
