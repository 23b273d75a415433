#include "flows/flow_control_codec.hpp"

#include <algorithm>
#include <cstring>

#include "util/byte_order.hpp"

namespace dante::flowctl {
namespace {

// Fixed part of a 0x0100 body before the strings, for N slots
// (docs/protocol.md#flow-control).
constexpr size_t request_fixed_body_bytes(size_t slots) { return 38 + 2 * slots; }

void store_header(uint8_t* p, const Header& h) {
    store_be16(p, h.start_code);
    store_be16(p + 2, h.length);
    store_be16(p + 4, h.sequence);
    store_be16(p + 6, h.opcode);
    store_be16(p + 8, h.status);
}

// A NUL-terminated string starting at absolute offset `at`, which must lie in the string
// area [area_begin, size). No NUL before the end of the datagram: refused.
std::optional<std::string> read_string(std::span<const uint8_t> d, size_t at, size_t area_begin) {
    if (at < area_begin || at >= d.size()) return std::nullopt;
    const auto begin = d.begin() + static_cast<std::ptrdiff_t>(at);
    const auto nul = std::find(begin, d.end(), uint8_t{0});
    if (nul == d.end() || static_cast<size_t>(nul - begin) > kMaxNameBytes) return std::nullopt;
    return std::string(begin, nul);
}

bool read_slots(const uint8_t* p, uint16_t count, SlotList& slots) {
    if (count > kMaxSlots) return false;
    slots.count = count;
    for (uint16_t i = 0; i < count; ++i) slots.ids[i] = load_be16(p + 2 * i);
    return true;
}

RequestDecode fail(DecodeError e) { return RequestDecode{std::nullopt, e}; }

RequestDecode decode_request_flow(std::span<const uint8_t> d, Request request) {
    const uint8_t* body = d.data() + kHeaderBytes;
    const size_t body_size = d.size() - kHeaderBytes;
    if (body_size < 16) return fail(DecodeError::too_short);
    const uint16_t name_offset = load_be16(body);
    FlowRequest& flow = request.flow;
    flow.rate = load_be32(body + 2);
    flow.bits_per_sample = load_be32(body + 6);
    // body + 10 holds 0x0001 in every request seen; meaning unknown, not checked.
    const uint16_t n = load_be16(body + 12);
    const uint16_t descriptor_offset = load_be16(body + 14);
    if (n > kMaxSlots) return fail(DecodeError::bad_slot_count);
    const size_t fixed = request_fixed_body_bytes(n);
    if (body_size < fixed) return fail(DecodeError::too_short);
    read_slots(body + 16, n, flow.slots);
    // body + 16 + 2N: offset of the next sub-record, then 0x0A00, 0x0002: constants of
    // unknown meaning, not checked (Inferno only warns).
    flow.fpp = load_be16(body + 22 + 2 * n);
    const uint16_t flow_name_offset = load_be16(body + 24 + 2 * n);
    // Strings and the descriptor must sit after the fixed fields, never overlap them.
    const size_t area = kHeaderBytes + fixed;
    auto device_name = read_string(d, name_offset, area);
    auto flow_name = read_string(d, flow_name_offset, area);
    if (!device_name || !flow_name) return fail(DecodeError::bad_string);
    flow.rx_device_name = std::move(*device_name);
    flow.rx_flow_name = std::move(*flow_name);
    if (descriptor_offset < area || size_t{descriptor_offset} + 8 > d.size()) return fail(DecodeError::bad_descriptor);
    const uint8_t* descriptor = d.data() + descriptor_offset;
    if (load_be16(descriptor) != kIpv4DescriptorTag) return fail(DecodeError::bad_descriptor);
    flow.destination.port = load_be16(descriptor + 2);
    flow.destination.address = load_be32(descriptor + 4);
    return RequestDecode{std::move(request), DecodeError::none};
}

}  // namespace

bool SlotList::assign(std::span<const uint16_t> channel_ids) {
    if (channel_ids.size() > kMaxSlots) {
        count = 0;
        return false;
    }
    count = static_cast<uint16_t>(channel_ids.size());
    std::copy(channel_ids.begin(), channel_ids.end(), ids.begin());
    return true;
}

std::string_view to_string(DecodeError error) {
    switch (error) {
        case DecodeError::none: return "ok";
        case DecodeError::too_short: return "truncated packet";
        case DecodeError::too_long: return "oversized packet";
        case DecodeError::bad_start_code: return "unknown start code";
        case DecodeError::length_mismatch: return "length field does not match the datagram size";
        case DecodeError::not_a_request: return "not a request (status field set)";
        case DecodeError::unknown_opcode: return "unknown opcode";
        case DecodeError::bad_slot_count: return "too many channel slots";
        case DecodeError::bad_string: return "string offset out of bounds or unterminated";
        case DecodeError::bad_descriptor: return "missing or unknown destination descriptor";
        case DecodeError::bad_body_size: return "body of the wrong size";
    }
    return "?";
}

void store_handle(uint8_t* out, const FlowHandle& handle) {
    store_be32(out, handle.index);
    store_be16(out + 4, handle.cookie);
}

FlowHandle load_handle(const uint8_t* in) { return FlowHandle{load_be32(in), load_be16(in + 4)}; }

std::optional<Header> decode_header(std::span<const uint8_t> d, DecodeError& error) {
    if (d.size() < kHeaderBytes) {
        error = DecodeError::too_short;
        return std::nullopt;
    }
    if (d.size() > kMaxPacketBytes) {
        error = DecodeError::too_long;
        return std::nullopt;
    }
    Header h{load_be16(d.data()), load_be16(d.data() + 2), load_be16(d.data() + 4), load_be16(d.data() + 6),
             load_be16(d.data() + 8)};
    if (h.start_code != kStartCode) {
        error = DecodeError::bad_start_code;
        return std::nullopt;
    }
    if (h.length != d.size()) {
        error = h.length > d.size() ? DecodeError::too_short : DecodeError::length_mismatch;
        return std::nullopt;
    }
    error = DecodeError::none;
    return h;
}

RequestDecode decode_request(std::span<const uint8_t> d) {
    DecodeError error = DecodeError::none;
    const auto header = decode_header(d, error);
    if (!header) return fail(error);
    if (header->status != 0) return fail(DecodeError::not_a_request);
    Request request;
    request.header = *header;
    const uint8_t* body = d.data() + kHeaderBytes;
    const size_t body_size = d.size() - kHeaderBytes;
    switch (header->opcode) {
        case static_cast<uint16_t>(Opcode::request_flow):
            request.opcode = Opcode::request_flow;
            return decode_request_flow(d, std::move(request));
        case static_cast<uint16_t>(Opcode::stop_flow):
            // Exactly a handle, as Inferno requires.
            if (body_size != kHandleBytes)
                return fail(body_size < kHandleBytes ? DecodeError::too_short : DecodeError::bad_body_size);
            request.opcode = Opcode::stop_flow;
            request.handle = load_handle(body);
            return RequestDecode{std::move(request), DecodeError::none};
        case static_cast<uint16_t>(Opcode::update_flow): {
            if (body_size < kHandleBytes + 2) return fail(DecodeError::too_short);
            const uint16_t n = load_be16(body + kHandleBytes);
            if (n > kMaxSlots) return fail(DecodeError::bad_slot_count);
            // Trailing bytes after the ids are tolerated (Inferno reads only what it needs).
            if (body_size < kHandleBytes + 2 + 2 * size_t{n}) return fail(DecodeError::too_short);
            request.opcode = Opcode::update_flow;
            request.handle = load_handle(body);
            read_slots(body + kHandleBytes + 2, n, request.slots);
            return RequestDecode{std::move(request), DecodeError::none};
        }
        default:
            return fail(DecodeError::unknown_opcode);
    }
}

ResponseDecode decode_response(std::span<const uint8_t> d) {
    DecodeError error = DecodeError::none;
    const auto header = decode_header(d, error);
    if (!header) return ResponseDecode{std::nullopt, error};
    if (header->status == 0) return ResponseDecode{std::nullopt, DecodeError::not_a_request};
    Response response;
    response.header = *header;
    response.body = d.subspan(kHeaderBytes);
    if (header->opcode == static_cast<uint16_t>(Opcode::request_flow) && header->status == status::ok) {
        if (response.body.size() < kHandleBytes) return ResponseDecode{std::nullopt, DecodeError::too_short};
        response.handle = load_handle(response.body.data());
    }
    return ResponseDecode{response, DecodeError::none};
}

size_t encode_request_flow(uint16_t sequence, const FlowRequest& r, std::span<uint8_t> out) {
    const size_t n = r.slots.count;
    if (n > kMaxSlots) return 0;
    if (r.rx_device_name.find('\0') != std::string::npos || r.rx_flow_name.find('\0') != std::string::npos) return 0;
    if (r.rx_device_name.size() > kMaxNameBytes || r.rx_flow_name.size() > kMaxNameBytes) return 0;
    // Layout as Inferno's receiver writes it: fixed fields, then the two names, zero
    // padding up to an absolute offset that is a multiple of 8, then the descriptor.
    const size_t strings = kHeaderBytes + request_fixed_body_bytes(n);
    const size_t flow_name_at = strings + r.rx_device_name.size() + 1;
    const size_t names_end = flow_name_at + r.rx_flow_name.size() + 1;
    const size_t descriptor_at = (names_end + 7) & ~size_t{7};
    const size_t total = descriptor_at + 8;
    if (total > out.size() || total > 0xFFFF) return 0;
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(total), uint8_t{0});
    uint8_t* p = out.data();
    store_header(p, Header{kStartCode, static_cast<uint16_t>(total), sequence,
                           static_cast<uint16_t>(Opcode::request_flow), 0});
    uint8_t* body = p + kHeaderBytes;
    store_be16(body, static_cast<uint16_t>(strings));
    store_be32(body + 2, r.rate);
    store_be32(body + 6, r.bits_per_sample);
    store_be16(body + 10, 0x0001);
    store_be16(body + 12, static_cast<uint16_t>(n));
    store_be16(body + 14, static_cast<uint16_t>(descriptor_at));
    for (size_t i = 0; i < n; ++i) store_be16(body + 16 + 2 * i, r.slots.ids[i]);
    store_be16(body + 16 + 2 * n, static_cast<uint16_t>(kHeaderBytes + 18 + 2 * n));
    store_be16(body + 18 + 2 * n, 0x0A00);
    store_be16(body + 20 + 2 * n, 0x0002);
    store_be16(body + 22 + 2 * n, r.fpp);
    store_be16(body + 24 + 2 * n, static_cast<uint16_t>(flow_name_at));
    // body + 26 + 2N: 12 zero bytes (already zeroed).
    std::memcpy(p + strings, r.rx_device_name.data(), r.rx_device_name.size());
    std::memcpy(p + flow_name_at, r.rx_flow_name.data(), r.rx_flow_name.size());
    store_be16(p + descriptor_at, kIpv4DescriptorTag);
    store_be16(p + descriptor_at + 2, r.destination.port);
    store_be32(p + descriptor_at + 4, r.destination.address);
    return total;
}

size_t encode_stop_flow(uint16_t sequence, const FlowHandle& handle, std::span<uint8_t> out) {
    constexpr size_t total = kHeaderBytes + kHandleBytes;
    if (out.size() < total) return 0;
    store_header(out.data(), Header{kStartCode, total, sequence, static_cast<uint16_t>(Opcode::stop_flow), 0});
    store_handle(out.data() + kHeaderBytes, handle);
    return total;
}

size_t encode_update_flow(uint16_t sequence, const FlowHandle& handle, const SlotList& slots, std::span<uint8_t> out) {
    if (slots.count > kMaxSlots) return 0;
    const size_t total = kHeaderBytes + kHandleBytes + 2 + 2 * size_t{slots.count};
    if (out.size() < total) return 0;
    store_header(out.data(), Header{kStartCode, static_cast<uint16_t>(total), sequence,
                                    static_cast<uint16_t>(Opcode::update_flow), 0});
    uint8_t* body = out.data() + kHeaderBytes;
    store_handle(body, handle);
    store_be16(body + kHandleBytes, slots.count);
    for (uint16_t i = 0; i < slots.count; ++i) store_be16(body + kHandleBytes + 2 + 2 * i, slots.ids[i]);
    return total;
}

size_t encode_response(const Header& request, uint16_t status_code, std::span<const uint8_t> body,
                       std::span<uint8_t> out) {
    const size_t total = kHeaderBytes + body.size();
    if (out.size() < total || total > 0xFFFF) return 0;
    store_header(out.data(),
                 Header{request.start_code, static_cast<uint16_t>(total), request.sequence, request.opcode, status_code});
    std::copy(body.begin(), body.end(), out.begin() + kHeaderBytes);
    return total;
}

}  // namespace dante::flowctl
