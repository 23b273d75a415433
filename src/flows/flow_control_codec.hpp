#pragma once
// Sans-I/O encoding and decoding of Dante's flow-control protocol (UDP 4455).
//
// A receiver asks the transmitter for a unicast audio flow (0x0100), changes its channels
// (0x0102) or stops it (0x0101); the transmitter answers with a status and, for 0x0100,
// a 6-byte flow handle. Both directions live here: the transmitter decodes requests and
// encodes responses, the receiver (src/rx/flow_requester) encodes requests and decodes
// responses, and the tests check one against the other byte for byte.
// Layouts: docs/protocol.md#flow-control.
//
// Every decoder is bounds-checked and never throws: a datagram that is truncated, longer
// than its header says, or whose offsets point outside it is refused with a reason. The
// decoders are strict about what we must understand (offsets, the destination
// descriptor) and lenient about constant fields whose meaning is unknown (Inferno only
// warns about those, so real receivers may well send other values).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/ipv4.hpp"

namespace dante::flowctl {

inline constexpr uint16_t kStartCode = 0x1102;  // "dbcp1" in the channel's TXT record
inline constexpr uint16_t kDefaultPort = 4455;
inline constexpr size_t kHeaderBytes = 10;
// Control datagrams are small (a request with 64 slots and long names is < 400 bytes);
// anything beyond an Ethernet MTU is not a request we want to parse.
inline constexpr size_t kMaxPacketBytes = 1500;
// Receiver and flow names are short labels (a Dante device name is at most 31 bytes);
// anything longer is refused, which also keeps every request we encode well inside one
// datagram.
inline constexpr size_t kMaxNameBytes = 63;
// Inferno's receivers ask for at most 8 slots; the packet-size limit bounds real flows
// well below this. It caps what one request can make us hold.
inline constexpr size_t kMaxSlots = 64;
inline constexpr uint16_t kIpv4DescriptorTag = 0x0802;

enum class Opcode : uint16_t {
    request_flow = 0x0100,
    stop_flow = 0x0101,
    update_flow = 0x0102,
};

// Status codes (header opcode2 of a response).
namespace status {
inline constexpr uint16_t ok = 0x0001;
inline constexpr uint16_t flow_not_found = 0x0103;  // unknown handle, or the flow expired
inline constexpr uint16_t rate_mismatch = 0x0301;
// Not seen from Dante hardware: Inferno answers 0x0302 to an fpp it cannot do. We use it
// for every request whose parameters we refuse: fpp outside 2..256, bit depth other than
// 16/24/32, channel ids beyond our channel count, no slots, a packet larger than the MTU,
// or a destination that is not a unicast host on our subnet.
inline constexpr uint16_t unsupported_parameters = 0x0302;
inline constexpr uint16_t too_many_flows = 0x0315;
}  // namespace status

struct Header {
    uint16_t start_code = kStartCode;
    uint16_t length = 0;  // whole datagram, header included
    uint16_t sequence = 0;
    uint16_t opcode = 0;
    uint16_t status = 0;  // 0 in requests
};

// What the transmitter hands out for a flow: its table index and a random cookie, so a
// stale handle of a since-reused index is not mistaken for the new flow.
struct FlowHandle {
    uint32_t index = 0;
    uint16_t cookie = 0;
    friend bool operator==(const FlowHandle&, const FlowHandle&) = default;
};
inline constexpr size_t kHandleBytes = 6;

// The channel ids of a flow's slots in order: 1-based TX channel numbers, 0 = empty slot.
struct SlotList {
    uint16_t count = 0;
    std::array<uint16_t, kMaxSlots> ids{};

    [[nodiscard]] std::span<const uint16_t> span() const { return {ids.data(), count}; }
    friend bool operator==(const SlotList& a, const SlotList& b) {
        if (a.count != b.count) return false;
        for (uint16_t i = 0; i < a.count; ++i)
            if (a.ids[i] != b.ids[i]) return false;
        return true;
    }
    // Build from a list; returns false (and leaves the list empty) if it has too many ids.
    bool assign(std::span<const uint16_t> channel_ids);
};

// A 0x0100 request. The destination comes from the 0x0802 descriptor.
struct FlowRequest {
    std::string rx_device_name;
    std::string rx_flow_name;
    uint32_t rate = 0;
    uint32_t bits_per_sample = 0;
    uint16_t fpp = 0;
    SlotList slots;
    Ipv4Endpoint destination;
};

struct Request {
    Header header;
    Opcode opcode = Opcode::request_flow;
    FlowRequest flow;   // request_flow
    FlowHandle handle;  // stop_flow, update_flow
    SlotList slots;     // update_flow
};

enum class DecodeError : uint8_t {
    none,
    too_short,           // shorter than the header or than its body layout needs
    too_long,            // larger than kMaxPacketBytes
    bad_start_code,      // not 0x1102
    length_mismatch,     // header length field differs from the datagram size
    not_a_request,       // opcode2 != 0 where a request was expected
    unknown_opcode,      // not 0x0100/0x0101/0x0102
    bad_slot_count,      // more than kMaxSlots
    bad_string,          // string offset outside the string area, or no terminating NUL
    bad_descriptor,      // descriptor offset outside the packet, or not an IPv4 (0x0802) one
    bad_body_size,       // a body of the wrong size (stop flow: exactly a handle)
};
std::string_view to_string(DecodeError error);

struct RequestDecode {
    std::optional<Request> request;
    DecodeError error = DecodeError::none;
};

struct Response {
    Header header;
    std::span<const uint8_t> body;
    std::optional<FlowHandle> handle;  // an OK answer to 0x0100 that carries one
};

struct ResponseDecode {
    std::optional<Response> response;
    DecodeError error = DecodeError::none;
};

// Header only; checks start code, size bounds and the length field.
std::optional<Header> decode_header(std::span<const uint8_t> datagram, DecodeError& error);

RequestDecode decode_request(std::span<const uint8_t> datagram);
ResponseDecode decode_response(std::span<const uint8_t> datagram);

// Encoders write into `out` and return the datagram size, or 0 when `out` is too small
// or the input cannot be encoded (too many slots, a name with a NUL in it, > 64 KiB).
size_t encode_request_flow(uint16_t sequence, const FlowRequest& request, std::span<uint8_t> out);
size_t encode_stop_flow(uint16_t sequence, const FlowHandle& handle, std::span<uint8_t> out);
size_t encode_update_flow(uint16_t sequence, const FlowHandle& handle, const SlotList& slots, std::span<uint8_t> out);
// A response to `request`: echoes its start code, sequence number and opcode.
size_t encode_response(const Header& request, uint16_t status_code, std::span<const uint8_t> body,
                       std::span<uint8_t> out);

void store_handle(uint8_t* out, const FlowHandle& handle);  // 6 bytes
FlowHandle load_handle(const uint8_t* in);

}  // namespace dante::flowctl
