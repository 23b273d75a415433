#include "control/conmon.hpp"

#include <algorithm>
#include <cstring>

#include "util/byte_order.hpp"

namespace dante::control {

namespace {

void put_u16(std::vector<uint8_t>& out, size_t at, uint16_t value) { store_be16(out.data() + at, value); }

// Copies at most `field` bytes of `text` to `at` (no NUL: the buffer is zeroed, and a name
// that fills its field exactly is how Inferno writes it too).
void put_text(std::vector<uint8_t>& out, size_t at, size_t field, std::string_view text) {
    const size_t used = std::min(field, text.size());
    std::memcpy(out.data() + at, text.data(), used);
}

}  // namespace

std::vector<uint8_t> build_conmon_packet(uint16_t start_code, uint16_t sequence, const ConmonIdentity& identity,
                                         const ConmonOpcode& opcode, Bytes body) {
    // Sized once up front (also sidesteps a g++ 12 -Warray-bounds false positive on insert).
    std::vector<uint8_t> out(kConmonHeaderSize + body.size(), 0);
    put_u16(out, 0, start_code);
    put_u16(out, 2, static_cast<uint16_t>(kConmonHeaderSize + body.size()));
    put_u16(out, 4, sequence);
    put_u16(out, 6, identity.process_id);
    std::copy(identity.device_id.begin(), identity.device_id.end(), out.begin() + 8);
    std::fill(out.begin() + 16, out.begin() + 24, ' ');
    put_text(out, 16, 8, identity.vendor);
    std::copy(opcode.begin(), opcode.end(), out.begin() + 24);
    if (!body.empty()) std::memcpy(out.data() + kConmonHeaderSize, body.data(), body.size());
    return out;
}

std::vector<uint8_t> build_heartbeat(const ConmonIdentity& identity, uint16_t sequence) {
    std::vector<uint8_t> body{0x00, 0x10, 0x80, 0x01, 0x00, 0x04, 0x00, 0x04, 0, 0, 0x00, 0x00, 0, 0, 0, 0};
    put_u16(body, 8, sequence);
    return build_conmon_packet(0xfffe, sequence, identity, kHeartbeatOpcode, body);
}

// Board info body (Inferno info_mcast_server.rs send_board_info):
//   [0..4] firmware version | [4..8] hardware version 1.3.0.3 | [12..20] board name (8)
//   [0x14..0x18] feature flags 00 00 10 00 (0x16 bit 0x10: has a manufacturer name)
//   [0x27] 7 | [0x28..0x2C] boot version 1.0.0.0 | [0x38..0x48] board name (16)
//   [0xBB] 0x1F (Inferno: "if 0, device is flooded with info multicast requests")
std::vector<uint8_t> build_board_info(const ConmonIdentity& identity, uint16_t sequence, const BoardInfo& info) {
    std::vector<uint8_t> body(200, 0);
    std::copy(info.firmware_version.begin(), info.firmware_version.end(), body.begin());
    body[4] = 1;
    body[5] = 3;
    body[6] = 0;
    body[7] = 3;
    put_text(body, 12, 8, info.board_name);
    body[0x16] = 0x10;
    body[0x27] = 7;
    body[0x28] = 1;
    put_text(body, 0x38, 16, info.board_name);
    body[0xbb] = 0x1f;
    return build_conmon_packet(0xffff, sequence, identity, kBoardInfoOpcode, body);
}

// Product info body (Inferno send_product_info):
//   [0..8] manufacturer | [8..16] board name | [0x2C..0x3C] manufacturer (16)
//   [0xAC..0xBC] model name (16) | [0x12C..0x130] version
// netaudio (services/notification.py parse_make_model_response) reads the manufacturer from
// packet 0x4C..0xCC and the product name from 0xCC..0x14C (body 0x2C..0xAC, 0xAC..0x12C): we
// let both run to those 128-byte fields (NUL-terminated, the rest is zeros), so a model
// name longer than Inferno's 16 bytes arrives whole.
std::vector<uint8_t> build_product_info(const ConmonIdentity& identity, uint16_t sequence, const ProductInfo& info) {
    std::vector<uint8_t> body(336, 0);
    put_text(body, 0, 8, info.manufacturer);
    put_text(body, 8, 8, info.board_name);
    put_text(body, 0x2c, 0x7f, info.manufacturer);
    put_text(body, 0xac, 0x7f, info.model_name);
    std::copy(info.version.begin(), info.version.end(), body.begin() + 0x12c);
    return build_conmon_packet(0xffff, sequence, identity, kProductInfoOpcode, body);
}

InfoRequest classify_info_request(Bytes datagram) {
    if (datagram.size() < kConmonHeaderSize) return InfoRequest::none;
    const Bytes op = datagram.subspan(24, 8);
    if (op[0] != 0x07 || op[2] != 0x00 || op[4] != 0 || op[5] != 0 || op[6] != 0 || op[7] != 0)
        return InfoRequest::none;
    if (op[3] == 0x61) return InfoRequest::board_info;
    if (op[3] == 0xc1) return InfoRequest::product_info;
    return InfoRequest::none;
}

namespace {

// The opcode bytes of an answer: 07 2A (as our board/product info), u16 opcode, 00 00 00 00.
ConmonOpcode answer_opcode(uint16_t opcode) {
    return {0x07, 0x2a, static_cast<uint8_t>(opcode >> 8), static_cast<uint8_t>(opcode), 0, 0, 0, 0};
}

void put_u32(std::vector<uint8_t>& out, size_t at, uint32_t value) { store_be32(out.data() + at, value); }

}  // namespace

std::optional<SettingsRequest> parse_settings_request(Bytes datagram) {
    if (datagram.size() < kConmonHeaderSize || datagram.size() > kMaxSettingsRequestSize) return std::nullopt;
    if (*read_u16(datagram, 0) != kSettingsStartCode || *read_u16(datagram, 2) != datagram.size()) return std::nullopt;
    static constexpr std::string_view kVendor = "Audinate";
    if (!std::equal(kVendor.begin(), kVendor.end(), datagram.begin() + 16)) return std::nullopt;
    if (datagram[24] != 0x07) return std::nullopt;
    return SettingsRequest{*read_u16(datagram, 26), datagram.subspan(kConmonHeaderSize)};
}

std::vector<uint8_t> build_interface_status(const ConmonIdentity& identity, uint16_t sequence,
                                            const InterfaceStatus& status) {
    std::vector<uint8_t> body(0x60 - kConmonHeaderSize, 0);
    const auto at = [](size_t packet_offset) { return packet_offset - kConmonHeaderSize; };
    put_u16(body, at(0x20), 1);
    put_u32(body, at(0x24), status.link_speed_mbps);
    put_u16(body, at(0x28), status.dynamic ? 0x0001 : 0x0003);
    std::copy(status.mac.begin(), status.mac.end(), body.begin() + at(0x2a));
    put_u32(body, at(0x30), status.address);
    put_u32(body, at(0x34), status.netmask);
    put_u32(body, at(status.dynamic ? 0x38 : 0x3c), status.gateway);
    return build_conmon_packet(kSettingsStartCode, sequence, identity, answer_opcode(0x0011), body);
}

std::vector<uint8_t> build_clock_status(const ConmonIdentity& identity, uint16_t sequence, const ClockStatus& status) {
    std::vector<uint8_t> body(0x60 - kConmonHeaderSize, 0);
    const auto at = [](size_t packet_offset) { return packet_offset - kConmonHeaderSize; };
    put_u16(body, at(0x20), 0x0002);
    const int64_t offset = std::clamp<int64_t>(status.offset_ns, INT32_MIN, INT32_MAX);
    put_u32(body, at(0x28), static_cast<uint32_t>(static_cast<int32_t>(offset)));
    std::copy(identity.device_id.begin(), identity.device_id.end(), body.begin() + at(0x2c));
    std::copy(status.leader_id.begin(), status.leader_id.end(), body.begin() + at(0x34));
    std::copy(status.leader_id.begin(), status.leader_id.end(), body.begin() + at(0x3c));
    put_u32(body, at(0x44), 0x00010034);
    const uint16_t role = status.role == ClockRole::leader ? 0x0006 : status.role == ClockRole::follower ? 0x0009 : 0x0003;
    put_u16(body, at(0x48), role);
    return build_conmon_packet(kSettingsStartCode, sequence, identity, answer_opcode(0x0020), body);
}

std::vector<uint8_t> build_aes67_status(const ConmonIdentity& identity, uint16_t sequence) {
    const std::vector<uint8_t> body(4, 0);
    return build_conmon_packet(kSettingsStartCode, sequence, identity, answer_opcode(0x1007), body);
}

DeviceId device_id_from_hex(std::string_view text) {
    DeviceId id{};
    size_t count = 0;
    int pending = -1;
    for (const char c : text) {
        int nibble = -1;
        if (c >= '0' && c <= '9') nibble = c - '0';
        else if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') nibble = c - 'A' + 10;
        else if (c == ':' || c == '-' || c == '.') continue;
        else return {};
        if (pending < 0) {
            pending = nibble;
            continue;
        }
        if (count == id.size()) return {};
        id[count++] = static_cast<uint8_t>(pending * 16 + nibble);
        pending = -1;
    }
    if (pending >= 0 || count == 0) return {};
    return id;
}

ConmonPublisher::ConmonPublisher(ConmonIdentity identity, BoardInfo board, ProductInfo product)
    : identity_(std::move(identity)), board_(std::move(board)), product_(std::move(product)) {}

Datagram ConmonPublisher::board_info() {
    return {kDeviceInfoGroup, kDeviceInfoPort, build_board_info(identity_, take_sequence(), board_)};
}

Datagram ConmonPublisher::product_info() {
    return {kDeviceInfoGroup, kDeviceInfoPort, build_product_info(identity_, take_sequence(), product_)};
}

std::vector<Datagram> ConmonPublisher::start(int64_t now_ns) {
    std::vector<Datagram> out;
    out.push_back(board_info());
    out.push_back(product_info());
    last_board_info_ns_ = now_ns;
    last_product_info_ns_ = now_ns;
    next_heartbeat_ns_ = now_ns;
    return out;
}

std::vector<Datagram> ConmonPublisher::on_info_request(Bytes datagram, int64_t now_ns) {
    std::vector<Datagram> out;
    const auto recently = [&](const std::optional<int64_t>& last) {
        return last && now_ns - *last < kMinInfoIntervalNs && now_ns >= *last;
    };
    switch (classify_info_request(datagram)) {
        case InfoRequest::board_info:
            if (!recently(last_board_info_ns_)) {
                out.push_back(board_info());
                last_board_info_ns_ = now_ns;
            }
            break;
        case InfoRequest::product_info:
            if (!recently(last_product_info_ns_)) {
                out.push_back(product_info());
                last_product_info_ns_ = now_ns;
            }
            break;
        case InfoRequest::none: break;
    }
    return out;
}

namespace {

// True (and `last` set to now) unless the same kind went out less than the interval ago.
bool due(std::optional<int64_t>& last, int64_t now_ns) {
    if (last && now_ns >= *last && now_ns - *last < ConmonPublisher::kMinInfoIntervalNs) return false;
    last = now_ns;
    return true;
}

}  // namespace

std::optional<Datagram> ConmonPublisher::interface_status(const InterfaceStatus& status, int64_t now_ns) {
    if (!due(last_interface_ns_, now_ns)) return std::nullopt;
    return Datagram{kDeviceInfoGroup, kDeviceInfoPort, build_interface_status(identity_, take_sequence(), status)};
}

std::optional<Datagram> ConmonPublisher::clock_status(const ClockStatus& status, int64_t now_ns) {
    if (!due(last_clock_ns_, now_ns)) return std::nullopt;
    return Datagram{kDeviceInfoGroup, kDeviceInfoPort, build_clock_status(identity_, take_sequence(), status)};
}

std::optional<Datagram> ConmonPublisher::aes67_status(int64_t now_ns) {
    if (!due(last_aes67_ns_, now_ns)) return std::nullopt;
    return Datagram{kDeviceInfoGroup, kDeviceInfoPort, build_aes67_status(identity_, take_sequence())};
}

std::vector<Datagram> ConmonPublisher::poll(int64_t now_ns) {
    std::vector<Datagram> out;
    if (now_ns < next_heartbeat_ns_) return out;
    const uint16_t sequence = take_sequence();
    out.push_back({kHeartbeatGroup, kHeartbeatPort, build_heartbeat(identity_, sequence)});
    next_heartbeat_ns_ += kHeartbeatIntervalNs;
    if (next_heartbeat_ns_ <= now_ns) next_heartbeat_ns_ = now_ns + kHeartbeatIntervalNs;
    return out;
}

}  // namespace dante::control
