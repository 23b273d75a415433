#pragma once
// The 10-byte header shared by Dante's request/response control protocols (ARC on 4440,
// CMC on 8800; flow control on 4455 uses it too but lives in src/flows), and the small
// bounds-checked byte helpers the control cores parse and build with.
//
// Layout (all big-endian; Inferno protocol/req_resp.rs; docs/protocol.md#control-header):
//   0 u16 start code (protocol id; a response echoes the request's)
//   2 u16 total length of the datagram, header included
//   4 u16 sequence (transaction id, echoed)
//   6 u16 opcode (echoed)
//   8 u16 status: 0 in requests; 0x0001 OK, 0x8112 OK + more pages, other = error
//
// Nothing here throws or reads outside the span it is given: every reader returns
// std::nullopt when the bytes are not there.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace dante::control {

using Bytes = std::span<const uint8_t>;

inline constexpr size_t kHeaderSize = 10;

// Status values seen on the wire.
inline constexpr uint16_t kStatusRequest = 0x0000;
inline constexpr uint16_t kStatusOk = 0x0001;
inline constexpr uint16_t kStatusOkMorePages = 0x8112;
// netaudio names 0x0022 "RESULT_CODE_ERROR" from captures of real devices
// (netaudio/dante/packet_dissector.py, debug_formatter.py); we use it for every refusal.
inline constexpr uint16_t kStatusError = 0x0022;

struct ControlHeader {
    uint16_t start_code = 0;
    uint16_t length = 0;
    uint16_t sequence = 0;
    uint16_t opcode = 0;
    uint16_t status = 0;
};

// Big-endian readers: nullopt when [offset, offset + size) is not inside `data`.
std::optional<uint8_t> read_u8(Bytes data, size_t offset);
std::optional<uint16_t> read_u16(Bytes data, size_t offset);
std::optional<uint32_t> read_u32(Bytes data, size_t offset);

// Parses the header of one datagram. Rejects (nullopt) a datagram shorter than the
// header and one whose length field disagrees with its real size: a UDP datagram arrives
// whole, so a mismatch means a truncated, padded or forged packet, and Inferno's habit of
// trusting the field is what lets a short request index past its end.
std::optional<ControlHeader> parse_control_header(Bytes datagram);

// The body: the bytes after the header (empty if there are none).
Bytes body_of(Bytes datagram);

// Reads a NUL-terminated string that starts at an ABSOLUTE datagram offset (how every
// Dante body points at its strings). nullopt unless: the offset lies in the body (at or
// after the header, before the end), a NUL ends the string inside the datagram, and the
// string has at most max_length bytes before that NUL.
std::optional<std::string_view> read_string_at(Bytes datagram, size_t absolute_offset, size_t max_length);

// Builds one datagram: a header followed by an appended body; finish() fills the length.
// Offsets taken from here are absolute (header included), which is what bodies store.
class PacketWriter {
public:
    PacketWriter(uint16_t start_code, uint16_t sequence, uint16_t opcode, uint16_t status);

    // A response to `request`: echoes start code, sequence and opcode.
    static PacketWriter response_to(const ControlHeader& request, uint16_t status);

    void u8(uint8_t value);
    void u16(uint16_t value);
    void u32(uint32_t value);
    void bytes(Bytes value);
    void zeros(size_t count);
    // The string's bytes and a NUL.
    void c_string(std::string_view value);
    // Overwrites a u16 already written (for offsets known only later). Out of range: no-op.
    void patch_u16(size_t absolute_offset, uint16_t value);
    void set_status(uint16_t status) { patch_u16(8, status); }

    [[nodiscard]] size_t size() const { return buffer_.size(); }

    // The datagram with its length field filled in; nullopt if it outgrew a u16 length.
    std::optional<std::vector<uint8_t>> finish() &&;

private:
    std::vector<uint8_t> buffer_;
};

}  // namespace dante::control
