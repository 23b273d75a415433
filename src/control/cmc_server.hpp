#pragma once
// CMC (UDP 8800): a controller registers with the device (opcode 0x1001) and learns where
// to send info requests. Sans-I/O: request in, optional reply out.
//
// 0x1001 reply body, 22 bytes (Inferno cmc_server.rs; docs/protocol.md#cmc):
//   0 u16 process id | 2 8-byte device id | 10 u16 1 | 12 u16 0 | 14 IPv4 (4 bytes)
//   18 u16 info-request port (8700, or base+3) | 20 u16 0
// netaudio's registration (services/cmc.py) is start code 0x1200, opcode 0x1001, then
// 4 zero bytes, its MAC and 2 zero bytes; we do not need its body.
// Anything else (Dante Controller also sends 0x3010 here, Inferno issue #45) gets no reply,
// as in Inferno: an error reply to a message we do not understand might be taken as a
// refusal, silence is known to work.

#include <cstdint>
#include <optional>
#include <vector>

#include "control/control_header.hpp"
#include "control/device_state.hpp"

namespace dante::control {

inline constexpr uint16_t kCmcRegister = 0x1001;

struct CmcIdentity {
    uint16_t process_id = 0;
    DeviceId device_id{};
    uint32_t ipv4 = 0;  // host order
    uint16_t info_request_port = 8700;
};

std::optional<std::vector<uint8_t>> handle_cmc_request(Bytes request, const CmcIdentity& identity);

}  // namespace dante::control
