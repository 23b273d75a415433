#include "control/control_header.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/byte_order.hpp"

namespace dante::control {

namespace {

// True when [offset, offset + size) fits in a buffer of `total` bytes, written so that
// huge offsets cannot wrap around.
bool fits(size_t total, size_t offset, size_t size) { return offset <= total && size <= total - offset; }

}  // namespace

std::optional<uint8_t> read_u8(Bytes data, size_t offset) {
    if (!fits(data.size(), offset, 1)) return std::nullopt;
    return data[offset];
}

std::optional<uint16_t> read_u16(Bytes data, size_t offset) {
    if (!fits(data.size(), offset, 2)) return std::nullopt;
    return load_be16(data.data() + offset);
}

std::optional<uint32_t> read_u32(Bytes data, size_t offset) {
    if (!fits(data.size(), offset, 4)) return std::nullopt;
    return load_be32(data.data() + offset);
}

std::optional<ControlHeader> parse_control_header(Bytes datagram) {
    if (datagram.size() < kHeaderSize) return std::nullopt;
    ControlHeader header;
    header.start_code = *read_u16(datagram, 0);
    header.length = *read_u16(datagram, 2);
    header.sequence = *read_u16(datagram, 4);
    header.opcode = *read_u16(datagram, 6);
    header.status = *read_u16(datagram, 8);
    if (header.length != datagram.size()) return std::nullopt;
    return header;
}

Bytes body_of(Bytes datagram) {
    if (datagram.size() <= kHeaderSize) return {};
    return datagram.subspan(kHeaderSize);
}

std::optional<std::string_view> read_string_at(Bytes datagram, size_t absolute_offset, size_t max_length) {
    if (absolute_offset < kHeaderSize || absolute_offset >= datagram.size()) return std::nullopt;
    const Bytes tail = datagram.subspan(absolute_offset);
    // Look for the NUL only as far as a legal string could reach.
    const size_t search = std::min(tail.size(), max_length + 1);
    const auto* begin = tail.data();
    const auto* nul = static_cast<const uint8_t*>(std::memchr(begin, 0, search));
    if (nul == nullptr) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(begin), static_cast<size_t>(nul - begin));
}

PacketWriter::PacketWriter(uint16_t start_code, uint16_t sequence, uint16_t opcode, uint16_t status) {
    buffer_.reserve(256);
    u16(start_code);
    u16(0);  // length, filled by finish()
    u16(sequence);
    u16(opcode);
    u16(status);
}

PacketWriter PacketWriter::response_to(const ControlHeader& request, uint16_t status) {
    return PacketWriter(request.start_code, request.sequence, request.opcode, status);
}

void PacketWriter::u8(uint8_t value) { buffer_.push_back(value); }

void PacketWriter::u16(uint16_t value) {
    buffer_.push_back(static_cast<uint8_t>(value >> 8));
    buffer_.push_back(static_cast<uint8_t>(value));
}

void PacketWriter::u32(uint32_t value) {
    u16(static_cast<uint16_t>(value >> 16));
    u16(static_cast<uint16_t>(value));
}

void PacketWriter::bytes(Bytes value) { buffer_.insert(buffer_.end(), value.begin(), value.end()); }

void PacketWriter::zeros(size_t count) { buffer_.insert(buffer_.end(), count, 0); }

void PacketWriter::c_string(std::string_view value) {
    buffer_.insert(buffer_.end(), value.begin(), value.end());
    buffer_.push_back(0);
}

void PacketWriter::patch_u16(size_t absolute_offset, uint16_t value) {
    if (!fits(buffer_.size(), absolute_offset, 2)) return;
    buffer_[absolute_offset] = static_cast<uint8_t>(value >> 8);
    buffer_[absolute_offset + 1] = static_cast<uint8_t>(value);
}

std::optional<std::vector<uint8_t>> PacketWriter::finish() && {
    if (buffer_.size() > std::numeric_limits<uint16_t>::max()) return std::nullopt;
    patch_u16(2, static_cast<uint16_t>(buffer_.size()));
    return std::move(buffer_);
}

}  // namespace dante::control
