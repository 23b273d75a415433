#pragma once
// Test helpers: hex in/out (tests/unit/common/hex_bytes.hpp), and requests built the way netaudio builds them
// (netaudio/dante/device_commands.py: `_build_control_packet` writes start code 0x27FF and
// length = 8 + len(payload), then transaction id and opcode; its "payload" begins with the
// header's status field, 00 00). Written from that description, not copied.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "control/device_state.hpp"
#include "hex_bytes.hpp"

namespace control_test {

using Packet = std::vector<uint8_t>;

using dante::test::hex;
using dante::test::to_hex;

inline Packet concat(std::initializer_list<Packet> parts) {
    Packet out;
    for (const Packet& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

inline void put_u16(Packet& p, uint16_t v) {
    p.push_back(static_cast<uint8_t>(v >> 8));
    p.push_back(static_cast<uint8_t>(v));
}

inline Packet text(std::string_view s, bool nul = true) {
    Packet out(s.begin(), s.end());
    if (nul) out.push_back(0);
    return out;
}

// netaudio's _build_control_packet.
inline Packet netaudio_packet(uint16_t opcode, const Packet& payload = {0, 0}, uint16_t transaction = 0,
                              uint16_t start_code = 0x27ff) {
    Packet p;
    put_u16(p, start_code);
    put_u16(p, static_cast<uint16_t>(8 + payload.size()));
    put_u16(p, transaction);
    put_u16(p, opcode);
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
}

// command_transmitters / command_receivers: struct ">HBBHH" (0, 0, 1, start, 0).
inline Packet paged_request(uint16_t opcode, uint16_t first_channel, uint16_t transaction = 0) {
    Packet payload{0, 0, 0, 1};
    put_u16(payload, first_channel);
    put_u16(payload, 0);
    return netaudio_packet(opcode, payload, transaction);
}

// command_set_name: ">H" 0, name, NUL.
inline Packet set_name_request(std::string_view name) { return netaudio_packet(0x1001, concat({{0, 0}, text(name)})); }
// command_reset_name: the default payload, 00 00 (status only).
inline Packet reset_name_request() { return netaudio_packet(0x1001); }

// command_set_channel_name("tx"): ">HBBBBBB" (0, 2, 1, 0, 0, 0, ch), ">H" 0x18, 6 zeros, name, NUL.
inline Packet set_tx_channel_name_request(uint8_t channel, std::string_view name) {
    return netaudio_packet(0x2013, concat({{0, 0, 2, 1, 0, 0, 0, channel, 0x00, 0x18, 0, 0, 0, 0, 0, 0}, text(name)}));
}
// command_reset_channel_name("tx"): the same without the name.
inline Packet reset_tx_channel_name_request(uint8_t channel) {
    return netaudio_packet(0x2013, {0, 0, 2, 1, 0, 0, 0, channel, 0x00, 0x18, 0, 0, 0, 0, 0, 0});
}

// A device with `channels` TX channels, factory names "01".. and user names = factory.
inline dante::control::DeviceState make_state(size_t channels) {
    dante::control::DeviceState state;
    state.device_name = "studio-pc";
    state.default_device_name = "pwdante-0a000001";
    state.factory_host_name = "pwdante-0000c0a800070000";
    state.board_name = "PipeWire-Dante";
    state.manufacturer = "PipeWire-Dante";
    state.device_id = {0x00, 0x00, 0xc0, 0xa8, 0x00, 0x07, 0x00, 0x00};
    state.process_id = 3;
    state.ipv4 = 0xc0a80007;  // 192.168.0.7
    state.rate = 48000;
    state.encoding_bits = 24;
    state.pcm_type = 0x0e;
    state.latency_ns = 4'000'000;
    for (size_t i = 1; i <= channels; ++i) {
        // snprintf, not "0" + to_string(i): GCC 12 -O3 reports a false -Wrestrict overlap
        // in that operator+.
        char digits[24];
        std::snprintf(digits, sizeof digits, "%02zu", i);
        const std::string name = digits;
        state.tx_channels.push_back({name, name});
    }
    return state;
}

}  // namespace control_test
