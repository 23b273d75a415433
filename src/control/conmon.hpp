#pragma once
// "conmon" multicasts, sent from the info-request port (8700): the heartbeat that tells
// controllers the device is alive, and the board/product info they ask for. Builders are
// pure; ConmonPublisher adds the sequence numbers and the 1 s heartbeat schedule, with
// time passed in, and returns datagrams for the shell to send.
//
// 32-byte header, big-endian (Inferno protocol/mcast.rs; docs/protocol.md#conmon):
//   0 u16 start code | 2 u16 total length | 4 u16 sequence (+1 per message sent)
//   6 u16 process id | 8 device id (8) | 16 vendor (8, space padded: "Audinate")
//   24 opcode (8) | 32 body

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/control_header.hpp"
#include "control/device_state.hpp"

namespace dante::control {

inline constexpr size_t kConmonHeaderSize = 32;
inline constexpr uint32_t kDeviceInfoGroup = 0xE00000E7;  // 224.0.0.231
inline constexpr uint16_t kDeviceInfoPort = 8702;
inline constexpr uint32_t kHeartbeatGroup = 0xE00000E9;  // 224.0.0.233
inline constexpr uint16_t kHeartbeatPort = 8708;
inline constexpr int64_t kHeartbeatIntervalNs = 1'000'000'000;

using ConmonOpcode = std::array<uint8_t, 8>;
inline constexpr ConmonOpcode kHeartbeatOpcode{0x00, 0x08, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00};
inline constexpr ConmonOpcode kBoardInfoOpcode{0x07, 0x2a, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00};
inline constexpr ConmonOpcode kProductInfoOpcode{0x07, 0x2a, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00};

struct ConmonIdentity {
    uint16_t process_id = 0;
    DeviceId device_id{};
    // Inferno sends the first 8 characters of "Audinate Dante-compatible".
    std::string vendor = "Audinate Dante-compatible";
};

struct BoardInfo {
    std::string board_name;
    std::array<uint8_t, 4> firmware_version{0, 1, 0, 0};  // major, minor, patch (u16)
};

struct ProductInfo {
    std::string manufacturer;
    std::string board_name;
    std::string model_name;
    std::array<uint8_t, 4> version{0, 1, 0, 0};
};

std::vector<uint8_t> build_conmon_packet(uint16_t start_code, uint16_t sequence, const ConmonIdentity& identity,
                                         const ConmonOpcode& opcode, Bytes body);

// Start code 0xFFFE, 16-byte body: `00 10` block length, `80 01` block type, `00 04 00 04`,
// u16 sequence (the header's), `00 00`, u32 frequency offset (0).
std::vector<uint8_t> build_heartbeat(const ConmonIdentity& identity, uint16_t sequence);
// Start code 0xFFFF, 200-byte body (layout in conmon.cpp).
std::vector<uint8_t> build_board_info(const ConmonIdentity& identity, uint16_t sequence, const BoardInfo& info);
// Start code 0xFFFF, 336-byte body (layout in conmon.cpp).
std::vector<uint8_t> build_product_info(const ConmonIdentity& identity, uint16_t sequence, const ProductInfo& info);

enum class InfoRequest : uint8_t { none, board_info, product_info };

// A datagram on the info-request port asking for board or product info: at least the
// 32-byte header, opcode `07 xx 00 61 00 00 00 00` (board) or `07 xx 00 C1 ...` (product),
// as Inferno's info_mcast_server.rs matches them.
InfoRequest classify_info_request(Bytes datagram);

// Settings requests on the info port (8700), as netaudio sends them (dante/device_commands.py;
// answers read by services/notification.py): the 32-byte header above with start code 0xFFFF,
// the length field = the datagram's size, vendor "Audinate", opcode bytes 24..32 = 07, a
// protocol byte, u16 request opcode, u32 (0x64 in every netaudio request), then a body.
// A device answers on 224.0.0.231:8702 (the multicast netaudio listens to, matching the
// source address) with opcode request - 1 and bytes 28..32 zero (captures in netaudio
// tests/fixtures/provenance: interface_config_set_toggle, clock_master_control,
// aes67_toggle).
inline constexpr uint16_t kSettingsStartCode = 0xffff;
inline constexpr uint16_t kInterfaceStatusRequest = 0x0013;  // answer 0x0011
inline constexpr uint16_t kClockStatusRequest = 0x0021;      // answer 0x0020 (also "set preferred leader")
inline constexpr uint16_t kAes67Request = 0x1006;            // answer 0x1007 (also "enable AES67")
inline constexpr uint16_t kSetSampleRateRequest = 0x0081;
inline constexpr uint16_t kSetEncodingRequest = 0x0083;
inline constexpr size_t kMaxSettingsRequestSize = 512;

struct SettingsRequest {
    uint16_t opcode = 0;
    Bytes body;  // from byte 32
};

// nullopt unless the datagram has the shape above (a well-formed request we may not know).
std::optional<SettingsRequest> parse_settings_request(Bytes datagram);

// Interface status (0x0011), 96 bytes: body (packet offsets)
//   0x20 u16 interface count (1) | 0x22 u16 0 | 0x24 u32 link speed in Mb/s (UNCONFIRMED:
//   the one capture has 0x64 there) | 0x28 u16 mode: 1 dynamic (DHCP), 3 static
//   0x2A MAC (6) | 0x30 IPv4 | 0x34 netmask | dynamic: 0x38 gateway, 0x3C DNS; static:
//   0x38 DNS, 0x3C gateway (netaudio _handle_interface_status) | 0x48 u16 0: no change
//   pending a reboot | zeros to 0x60. DNS: 0.0.0.0 (the device uses none).
struct InterfaceStatus {
    std::array<uint8_t, 6> mac{};
    uint32_t address = 0;  // host order
    uint32_t netmask = 0;
    uint32_t gateway = 0;
    uint32_t link_speed_mbps = 0;
    bool dynamic = false;
};
std::vector<uint8_t> build_interface_status(const ConmonIdentity& identity, uint16_t sequence,
                                            const InterfaceStatus& status);

// Clock status (0x0020), 96 bytes. netaudio reads 0x26 (preferred leader: 0x01 yes) and the
// u16 at 0x48 (PTPv1 role: 0x0006 leader, 0x0009 follower). The two captured answers also
// show, and we fill: 0x2C the device's own clock id (8), 0x34 the leader's id, 0x3C the
// grandmaster's (ours when we lead), 0x28 an i32 that is small and negative on a follower
// and a leader alike (we put the clock's last measured offset in ns, clamped: UNCONFIRMED),
// 0x44 00 01 00 34 (copied, meaning unknown). A device not synchronised gets role 0x0003
// (PTPv1 "listening"; netaudio shows no role for it).
enum class ClockRole : uint8_t { none, leader, follower };
struct ClockStatus {
    ClockRole role = ClockRole::none;
    DeviceId leader_id{};  // the leader we follow; ours when we lead; zeros when unknown
    int64_t offset_ns = 0;
};
std::vector<uint8_t> build_clock_status(const ConmonIdentity& identity, uint16_t sequence, const ClockStatus& status);

// AES67 status (0x1007), 36 bytes: body 00 00 00 00; netaudio reads byte 0x21 as
// (current, configured): 0x00 = off, off. We have no AES67 mode.
std::vector<uint8_t> build_aes67_status(const ConmonIdentity& identity, uint16_t sequence);

// Hex ("00:1d:c1:ff:fe:12:34:56", separators ignored) to 8 bytes, left-aligned; zeros if
// it is not 1..8 hex bytes.
DeviceId device_id_from_hex(std::string_view text);

struct Datagram {
    uint32_t address = 0;  // IPv4, host order
    uint16_t port = 0;
    std::vector<uint8_t> bytes;
};

class ConmonPublisher {
public:
    ConmonPublisher(ConmonIdentity identity, BoardInfo board, ProductInfo product);

    // Board and product info once at start-up (as Inferno does); the first heartbeat is due now.
    std::vector<Datagram> start(int64_t now_ns);
    // The info asked for, unless the same kind went out less than kMinInfoIntervalNs ago:
    // a unicast request must not become a multicast flood.
    std::vector<Datagram> on_info_request(Bytes datagram, int64_t now_ns);
    // A heartbeat when one is due. After a stall, one heartbeat and the schedule restarts
    // from now (no burst of missed beats).
    std::vector<Datagram> poll(int64_t now_ns);
    [[nodiscard]] int64_t next_heartbeat_ns() const { return next_heartbeat_ns_; }

    // Settings answers (to 224.0.0.231:8702), each kind at most once per kMinInfoIntervalNs
    // like the info above: nullopt when the same kind went out moments ago.
    std::optional<Datagram> interface_status(const InterfaceStatus& status, int64_t now_ns);
    std::optional<Datagram> clock_status(const ClockStatus& status, int64_t now_ns);
    std::optional<Datagram> aes67_status(int64_t now_ns);

    static constexpr int64_t kMinInfoIntervalNs = 100'000'000;

private:
    Datagram board_info();
    Datagram product_info();
    uint16_t take_sequence() { return sequence_++; }

    ConmonIdentity identity_;
    BoardInfo board_;
    ProductInfo product_;
    uint16_t sequence_ = 1;  // Inferno starts at 1
    int64_t next_heartbeat_ns_ = 0;
    std::optional<int64_t> last_board_info_ns_;
    std::optional<int64_t> last_product_info_ns_;
    std::optional<int64_t> last_interface_ns_, last_clock_ns_, last_aes67_ns_;
};

}  // namespace dante::control
