#pragma once
// Test helpers for receive channels: ARC 0x3010 / 0x3014 / 0x3001 requests built the way
// netaudio builds them (device_commands.py), and a 0x3000 page read the way a controller
// reads it. Shared by the ARC core's tests and the control service's.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "control/control_header.hpp"
#include "control_test_support.hpp"

namespace control_test {

using dante::control::read_string_at;
using dante::control::read_u16;
using dante::control::read_u32;

// command_add_subscriptions: ">HBBBB" (0, 2, n, 0, rx0), offsets of rx0's names as two
// bytes each, then ">H rx, >H off, >H off" for the others, zero padding to 44 bytes of
// records, then the string table (TX channel, NUL, TX device, NUL per record).
inline Packet subscribe_request(const std::vector<std::tuple<uint16_t, std::string, std::string>>& subs) {
    const size_t records = 10 + 6 * (subs.size() - 1);
    const size_t table_at = 8 + records + (records < 44 ? 44 - records : 0);
    Packet strings;
    std::vector<std::pair<uint16_t, uint16_t>> offsets;
    for (const auto& [rx, channel, device] : subs) {
        const auto channel_at = static_cast<uint16_t>(table_at + strings.size());
        strings = concat({strings, text(channel)});
        const auto device_at = static_cast<uint16_t>(table_at + strings.size());
        strings = concat({strings, text(device)});
        offsets.emplace_back(channel_at, device_at);
    }
    Packet payload{0, 0, 2, static_cast<uint8_t>(subs.size())};
    for (size_t i = 0; i < subs.size(); ++i) {
        put_u16(payload, std::get<0>(subs[i]));
        put_u16(payload, offsets[i].first);
        put_u16(payload, offsets[i].second);
    }
    payload.resize(table_at - 8, 0);
    return netaudio_packet(0x3010, concat({payload, strings}));
}

// command_remove_subscriptions: ">I" n, then ">I" channel each, right after the 8-byte header.
inline Packet remove_request(const std::vector<uint32_t>& channels) {
    Packet payload;
    const auto u32 = [&](uint32_t v) {
        put_u16(payload, static_cast<uint16_t>(v >> 16));
        put_u16(payload, static_cast<uint16_t>(v));
    };
    u32(static_cast<uint32_t>(channels.size()));
    for (uint32_t c : channels) u32(c);
    return netaudio_packet(0x3014, payload);
}

// command_set_channel_name("rx"): ">HBBBB" (0, 2, 1, 0, ch), ">H" 0x14, 4 zeros, name, NUL.
inline Packet set_rx_name_request(uint8_t channel, std::string_view name) {
    Packet p{0, 0, 2, 1, 0, channel, 0x00, 0x14, 0, 0, 0, 0};
    if (!name.empty()) p = concat({p, text(name)});
    return netaudio_packet(0x3001, p);
}

struct RxRecord {
    uint16_t number = 0;
    std::string label, tx_channel, tx_device;
    uint32_t status = 0;
};

// How a controller reads one 0x3000 page.
inline std::vector<RxRecord> read_rx_page(const Packet& response, uint16_t* status = nullptr) {
    if (status) *status = *read_u16(response, 8);
    std::vector<RxRecord> out;
    const size_t n = response.at(10);
    for (size_t i = 0; i < n; ++i) {
        const size_t at = 12 + 20 * i;
        RxRecord r;
        r.number = *read_u16(response, at);
        CHECK(*read_u16(response, at + 2) == 0x0006);
        CHECK(*read_u32(response, *read_u16(response, at + 4)) == 48000);  // the descriptor's rate
        const auto string = [&](size_t field) {
            const uint16_t offset = *read_u16(response, at + field);
            return offset ? std::string(*read_string_at(response, offset, 31)) : std::string();
        };
        r.tx_channel = string(6);
        r.tx_device = string(8);
        r.label = string(10);
        r.status = *read_u32(response, at + 12);
        out.push_back(r);
    }
    return out;
}

}  // namespace control_test
