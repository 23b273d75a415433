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
};

}  // namespace dante::control
