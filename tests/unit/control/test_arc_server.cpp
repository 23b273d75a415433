#include <doctest/doctest.h>

#include <map>
#include <string>

#include "control/arc_server.hpp"
#include "control_test_support.hpp"

using namespace dante::control;
using namespace control_test;

namespace {

// The response bytes, or "" when there is none (so a missing reply fails a comparison).
std::string response_hex(const ArcResult& result) { return result.response ? to_hex(*result.response) : ""; }

DeviceState two_channel_state() {
    DeviceState state = make_state(2);
    state.tx_channels[0].user_name = "Left";
    state.tx_channels[1].user_name = "Right";
    return state;
}

// What netaudio's get_tx_channels reads from one 0x2000 page: record i's channel number
// and the name its offset points at; also checks the descriptor offset of record 0 gives
// the rate, as netaudio reads it.
struct DecodedPage {
    uint16_t status = 0;
    std::vector<uint16_t> numbers;
    std::vector<std::string> names;
    uint32_t rate = 0;
};

DecodedPage decode_page(const Packet& response, size_t record_size) {
    DecodedPage page;
    page.status = *read_u16(response, 8);
    const size_t n = response.at(10);
    REQUIRE(response.at(11) == n);
    for (size_t i = 0; i < n; ++i) {
        const size_t at = 12 + record_size * i;
        const size_t number_at = record_size == 8 ? at : at + 2;
        page.numbers.push_back(*read_u16(response, number_at));
        const auto name = read_string_at(response, *read_u16(response, at + record_size - 2), 31);
        REQUIRE(name);
        page.names.emplace_back(*name);
        if (record_size == 8 && i == 0) page.rate = *read_u32(response, *read_u16(response, at + 4));
    }
    return page;
}

}  // namespace

TEST_CASE("arc 0x1002: device name, sequence echoed (netaudio fixture request)") {
    const auto result = handle_arc_request(hex("27ff 000a c546 1002 0000"), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 0014 c546 1002 0001 'studio-pc' 00")));
    CHECK_FALSE(result.device_rename);
}

TEST_CASE("arc 0x1000: channel counts, Inferno's 32-byte body with 2 TX and 0 RX") {
    const auto result = handle_arc_request(netaudio_packet(0x1000, {0, 0}, 0xf215), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 002a f215 1000 0001"
                                             "0000 0002 0000 0000 0000 0000 0000 0008"
                                             "0000 0000 0001 0000 0000 0000 0000 0000")));
    // netaudio: tx = response[13], rx = response[15], lock = response[34:36] != 0.
    REQUIRE(result.response);
    CHECK(result.response->at(13) == 2);
    CHECK(result.response->at(15) == 0);
    CHECK(*read_u16(*result.response, 34) == 0);
}

TEST_CASE("arc 0x1003: names at 0x30/0x50/0x70, ':705' at 0x88") {
    const auto result = handle_arc_request(netaudio_packet(0x1003, {0, 0}, 7), two_channel_state());
    auto padded = [](std::string_view s, size_t field) {
        Packet p(s.begin(), s.end());
        p.resize(field, 0);
        return p;
    };
    const Packet expected = concat({hex("27ff 008d 0007 1003 0001"
                                        "0000 0000 0000 0070 0090 0000 0030 0050 0030"
                                        "0000 0000 0000 0000 0000 0000 2729 0000 1102 0000"),
                                    padded("studio-pc", 32), padded("pwdante-0000c0a800070000", 32),
                                    padded("PipeWire-Dante", 24), text(":705")});
    CHECK(response_hex(result) == to_hex(expected));
    REQUIRE(result.response);
    CHECK(read_string_at(*result.response, 0x30, 31) == "studio-pc");
    CHECK(read_string_at(*result.response, 0x50, 31) == "pwdante-0000c0a800070000");
    CHECK(read_string_at(*result.response, 0x70, 23) == "PipeWire-Dante");
}

TEST_CASE("arc 0x1003: over-long names are cut to their fields, still NUL-terminated") {
    DeviceState state = two_channel_state();
    state.board_name = std::string(40, 'b');
    state.factory_host_name = std::string(40, 'f');
    const auto result = handle_arc_request(netaudio_packet(0x1003), state);
    REQUIRE(result.response);
    CHECK(result.response->size() == 141);
    CHECK(read_string_at(*result.response, 0x50, 31) == std::string(31, 'f'));
    CHECK(read_string_at(*result.response, 0x70, 23) == std::string(23, 'b'));
}

TEST_CASE("arc 0x1102, 0x3200, 0x3300: zero bodies of Inferno's sizes") {
    const DeviceState state = two_channel_state();
    CHECK(response_hex(handle_arc_request(netaudio_packet(0x1102, {0, 0}, 2), state)) ==
          to_hex(concat({hex("27ff 0068 0002 1102 0001"), Packet(94, 0)})));
    CHECK(response_hex(handle_arc_request(netaudio_packet(0x3200, {0, 0}, 3), state)) ==
          to_hex(hex("27ff 0010 0003 3200 0001 0000 0000 0000")));
    CHECK(response_hex(handle_arc_request(netaudio_packet(0x3300, {0, 0}, 4), state)) ==
          to_hex(hex("27ff 0012 0004 3300 0001 0000 0000 0000 0000")));
}

namespace {

// netaudio protocol.py parse_device_settings, rewritten: code -> u32 at the record's offset.
std::map<uint16_t, uint32_t> parse_settings_like_netaudio(const Packet& response) {
    std::map<uint16_t, uint32_t> out;
    const size_t records = response.at(11);
    for (size_t i = 0; i < records; ++i) {
        const uint16_t code = *read_u16(response, 12 + 4 * i);
        const uint16_t offset = *read_u16(response, 14 + 4 * i);
        out[code] = *read_u32(response, offset);
    }
    return out;
}

}  // namespace

TEST_CASE("arc 0x1100: rate and latencies as netaudio's parse_device_settings reads them") {
    DeviceState state = two_channel_state();
    state.rate = 96000;
    state.latency_ns = 2'000'000;
    const auto result = handle_arc_request(netaudio_packet(0x1100, {0, 0}, 1), state);
    REQUIRE(result.response);
    CHECK(response_hex(result) == to_hex(concat({hex("27ff 0060 0001 1100 0001 0606"
                                                     "8020 0024 8204 0028 8205 002c 8301 0030 8302 0034 8306 0038"
                                                     "0001 7700 001e 8480 0001 86a0 001e 8480 05f5 e100 0001 86a0"),
                                                 Packet(0x53 - 0x3c, 0), hex("01"), Packet(0x60 - 0x54, 0)})));
    const auto settings = parse_settings_like_netaudio(*result.response);
    CHECK(settings.at(0x8020) == 96000);    // DEVICE_SETTINGS_INFO_SAMPLE_RATE
    CHECK(settings.at(0x8204) == 2000000);  // DEVICE_SETTINGS_INFO_LATENCY
    CHECK(settings.at(0x8205) == 100000);   // min
    CHECK(settings.at(0x8302) == 100000000);  // max
}

TEST_CASE("arc 0x1100: netaudio's AES67 query (start code 0x2809, 48-byte body): AES67 off at 0x53") {
    Packet body = hex("0017 0201 8204 8205 0210 0211 8218 8219 8301 8302 8306 0310"
                      "0311 0303 8021 00f0 8060 0022 0063 0064 0065 0222 0212 8321");
    Packet request = hex("2809 003a 0009 1100 0000");
    request.insert(request.end(), body.begin(), body.end());
    const auto result = handle_arc_request(request, two_channel_state());
    REQUIRE(result.response);
    CHECK(to_hex(Packet(result.response->begin(), result.response->begin() + 10)) ==
          to_hex(hex("2809 0060 0009 1100 0001")));
    CHECK(result.response->at(0x53) == 0x01);  // netaudio get_aes67_configured: 0x01 = off
}

TEST_CASE("arc 0x1101: Dante Controller's latency request (netaudio fixture bytes) sets the latency") {
    DeviceState state = two_channel_state();
    // session_latency_1000000ns: 1 ms, from a device at 0.5 ms.
    const Packet request = hex("2729 0028 0000 1101 0000 0504 8205 0020 0211 0004 8301 0024 0310 0004 8302 8306"
                               "000f 4240 000f 4240");
    const auto result = handle_arc_request(request, state);
    CHECK(result.latency_ns == 1'000'000);
    CHECK(response_hex(result) == to_hex(hex("2729 001c 0000 1101 0001 0202 8205 0014 8301 0018 000f 4240 000f 4240")));
    state.latency_ns = 1'000'000;
    const auto again = handle_arc_request(request, state);  // already so: OK, no effect
    CHECK_FALSE(again.latency_ns);
    CHECK(*read_u16(*again.response, 8) == kStatusOk);
}

TEST_CASE("arc 0x1101: netaudio's command_set_latency (3-byte values, 39 bytes)") {
    // config latency 2 (ms): latency_us = 2000000 -> 1e 84 80
    const Packet payload = hex("0000 0503 8205 0020 0211 0010 8301 0024 8219 8301 8302 8306 1e8480 00 1e8480");
    const auto result = handle_arc_request(netaudio_packet(0x1101, payload, 7), two_channel_state());
    CHECK(result.latency_ns == 2'000'000);
    CHECK(*read_u16(*result.response, 8) == kStatusOk);
}

TEST_CASE("arc 0x1101: refusals get status 0x0022 and no effect") {
    const DeviceState state = two_channel_state();
    const auto refused = [&](const Packet& body) {
        const auto result = handle_arc_request(netaudio_packet(0x1101, concat({hex("0000"), body})), state);
        return result.response && *read_u16(*result.response, 8) == kStatusError && !result.latency_ns;
    };
    CHECK(refused(hex("0101 8301 0010 0001 869f")));        // 99.999 us: below the minimum
    CHECK(refused(hex("0101 8301 0010 05f5 e101")));        // above 100 ms
    CHECK(refused(hex("0101 8020 0010 0001 7700")));        // sample rate 96000 on a 48 kHz device
    CHECK(refused(hex("0101 8299 0010 0000 0001")));        // a setting we cannot change
    CHECK(refused(hex("0101 8301 0040 000f 4240")));        // value offset past the end
    CHECK(refused(hex("0101 8301 0002 000f 4240")));        // value offset in the header
    CHECK(refused(hex("0101 8301 000e 000f 4240")));        // value offset in the record table
    CHECK(refused(hex("0105 8301 000e")));                  // five records announced, one there
    CHECK(refused(hex("0100")));                            // no record
    CHECK(refused(hex("")));                                // no body
    CHECK(refused(hex("0101 0211 0004")));                  // no latency at all
    // The device's own rate with a latency is fine.
    const auto ok = handle_arc_request(netaudio_packet(0x1101, hex("0000 0202 8020 0014 8301 0018 0000 bb80 000f 4240")), state);
    CHECK(ok.latency_ns == 1'000'000);
}

TEST_CASE("arc 0x2000: TX channels with factory names and the format descriptor") {
    const auto result = handle_arc_request(paged_request(0x2000, 1, 0x11), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 0032 0011 2000 0001 0202"
                                             "0001 0007 001c 002c"
                                             "0002 0007 001c 002f"
                                             "0000 bb80 0101 0018 0400 0018 0018 000e"
                                             "'01' 00 '02' 00")));
}

TEST_CASE("arc 0x2000: the descriptor carries the device's rate, encoding and pcm type") {
    DeviceState state = make_state(1);
    state.rate = 96000;
    state.encoding_bits = 16;
    state.pcm_type = 0x04;
    const auto result = handle_arc_request(paged_request(0x2000, 1), state);
    CHECK(response_hex(result) == to_hex(hex("27ff 0027 0000 2000 0001 0101 0001 0007 0014 0024"
                                             "0001 7700 0101 0010 0400 0010 0010 0004 '01' 00")));
}

TEST_CASE("arc 0x2010: TX user names") {
    const auto result = handle_arc_request(paged_request(0x2010, 1, 0x12), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 0027 0012 2010 0001 0202"
                                             "0001 0001 001c"
                                             "0002 0002 0021"
                                             "0000 0000"
                                             "'Left' 00 'Right' 00")));
}

TEST_CASE("arc 0x3000: a transmitter has no RX channels: n = 0 and the descriptor") {
    const auto result = handle_arc_request(paged_request(0x3000, 1, 0xad5d), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 001c ad5d 3000 0001 0000 0000 bb80 0101 0018 0400 0018 0018 000e")));
    // Without a paging body too (nothing to page).
    CHECK(handle_arc_request(netaudio_packet(0x3000), two_channel_state()).response);
}

TEST_CASE("arc 0x2200: TX flows as netaudio parses them, start code echoed (0x2729 probe)") {
    DeviceState state = two_channel_state();
    state.tx_flows.push_back({1, false, 48000, 24, 32, {1, 2}, 0x0A000002u, 40000});
    state.tx_flows.push_back({3, true, 48000, 24, 32, {2}, 0xEFFF0082u, 4321});
    const auto result = handle_arc_request(netaudio_packet(0x2200, {0, 0, 0, 0}, 5, 0x2729), state);
    // Records: number, type, rate, bits, fpp, then our destination descriptor (0x0802, port,
    // IPv4, 0) where netaudio skips 10 bytes, then the channels.
    CHECK(response_hex(result) == to_hex(hex("2729 004a 0005 2200 0001 2002 0001 0014 0003 0030"
                                             "0001 0001 0000 bb80 0018 0020 0802 9c40 0a00 0002 0000 0002 0001 0002"
                                             "0003 0002 0000 bb80 0018 0020 0802 10e1 efff 0082 0000 0001 0002")));
    // No flows: max slots and a zero count.
    CHECK(response_hex(handle_arc_request(netaudio_packet(0x2200, {0, 0, 0, 0}, 6, 0x2729), two_channel_state())) ==
          to_hex(hex("2729 000c 0006 2200 0001 2000")));
}

TEST_CASE("arc 0x2200: a flow list too long for one datagram is cut, never overflowing") {
    DeviceState state = make_state(8);
    for (uint16_t i = 1; i <= 128; ++i) state.tx_flows.push_back({i, false, 48000, 24, 32, {1, 2, 3, 4, 5, 6, 7, 8}});
    const auto result = handle_arc_request(netaudio_packet(0x2200, {0, 0, 0, 0}), state);
    REQUIRE(result.response);
    CHECK(result.response->size() <= kMaxArcResponseSize);
    const size_t listed = result.response->at(11);
    CHECK(listed == (kMaxArcResponseSize - 12) / (4 + 40));
}

TEST_CASE("arc paging: pages of 32 (netaudio's reading), start honoured, 0x8112 while more remain") {
    const DeviceState state = make_state(40);
    for (uint16_t opcode : {uint16_t{0x2000}, uint16_t{0x2010}}) {
        CAPTURE(opcode);
        const size_t record = opcode == 0x2000 ? 8 : 6;
        auto page = decode_page(*handle_arc_request(paged_request(opcode, 1), state).response, record);
        CHECK(page.status == kStatusOkMorePages);
        REQUIRE(page.numbers.size() == 32);
        CHECK(page.numbers.front() == 1);
        CHECK(page.numbers.back() == 32);
        CHECK(page.names[31] == "32");
        if (opcode == 0x2000) CHECK(page.rate == 48000);

        page = decode_page(*handle_arc_request(paged_request(opcode, 33), state).response, record);
        CHECK(page.status == kStatusOk);
        REQUIRE(page.numbers.size() == 8);
        CHECK(page.numbers.front() == 33);
        CHECK(page.names.back() == "40");

        page = decode_page(*handle_arc_request(paged_request(opcode, 17), state).response, record);
        CHECK(page.status == kStatusOk);  // 17..40 fit in one page of 32
        CHECK(page.numbers.size() == 24);

        page = decode_page(*handle_arc_request(paged_request(opcode, 41), state).response, record);
        CHECK(page.status == kStatusOk);  // past the end: an empty page
        CHECK(page.numbers.empty());
    }
}

TEST_CASE("arc paging: pages of 16 (Inferno's reading)") {
    const DeviceState state = make_state(40);
    const ArcOptions inferno{.tx_page_size = 16};
    for (uint16_t opcode : {uint16_t{0x2000}, uint16_t{0x2010}}) {
        CAPTURE(opcode);
        const size_t record = opcode == 0x2000 ? 8 : 6;
        auto page = decode_page(*handle_arc_request(paged_request(opcode, 1), state, inferno).response, record);
        CHECK(page.status == kStatusOkMorePages);
        CHECK(page.numbers.size() == 16);
        page = decode_page(*handle_arc_request(paged_request(opcode, 17), state, inferno).response, record);
        CHECK(page.status == kStatusOkMorePages);
        CHECK(page.numbers.front() == 17);
        CHECK(page.numbers.size() == 16);
        page = decode_page(*handle_arc_request(paged_request(opcode, 33), state, inferno).response, record);
        CHECK(page.status == kStatusOk);
        CHECK(page.numbers.size() == 8);
    }
}

TEST_CASE("arc paging: 32 channels with 31-character names still fit one datagram") {
    DeviceState state = make_state(64);
    for (auto& channel : state.tx_channels) channel.user_name = std::string(29, 'x') + channel.factory_name;
    const auto result = handle_arc_request(paged_request(0x2010, 1), state);
    REQUIRE(result.response);
    CHECK(result.response->size() <= kMaxArcResponseSize);
    const auto page = decode_page(*result.response, 6);
    CHECK(page.numbers.size() == 32);
    CHECK(page.status == kStatusOkMorePages);
}

TEST_CASE("arc paging: the page shrinks rather than pass the datagram limit") {
    DeviceState state = make_state(200);
    const ArcOptions huge{.tx_page_size = 255};
    for (auto& channel : state.tx_channels) channel.user_name = std::string(28, 'y') + channel.factory_name;
    const auto result = handle_arc_request(paged_request(0x2010, 1), state, huge);
    REQUIRE(result.response);
    CHECK(result.response->size() <= kMaxArcResponseSize);
    const auto page = decode_page(*result.response, 6);
    CHECK(page.numbers.size() < 200);
    CHECK(page.status == kStatusOkMorePages);
    // Asking from where it stopped continues the list.
    const auto next = decode_page(
        *handle_arc_request(paged_request(0x2010, static_cast<uint16_t>(page.numbers.size() + 1)), state, huge).response,
        6);
    CHECK(next.numbers.front() == page.numbers.size() + 1);
}

TEST_CASE("arc paging: a missing or zero start channel is an error reply") {
    const DeviceState state = make_state(4);
    CHECK(response_hex(handle_arc_request(paged_request(0x2000, 0, 9), state)) ==
          to_hex(hex("27ff 000a 0009 2000 0022")));
    CHECK(response_hex(handle_arc_request(netaudio_packet(0x2010, {0, 0, 0, 1}, 9), state)) ==
          to_hex(hex("27ff 000a 0009 2010 0022")));
}

TEST_CASE("arc 0x1001: rename the device (netaudio set_name)") {
    const auto result = handle_arc_request(set_name_request("stage-left"), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 1001 0001")));
    REQUIRE(result.device_rename);
    CHECK(*result.device_rename == "stage-left");
}

TEST_CASE("arc 0x1001: the same name is acknowledged without an effect") {
    const auto result = handle_arc_request(set_name_request("studio-pc"), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 1001 0001")));
    CHECK_FALSE(result.device_rename);
}

TEST_CASE("arc 0x1001: reset (netaudio reset_name, empty body) goes back to the default name") {
    auto result = handle_arc_request(reset_name_request(), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 1001 0001")));
    REQUIRE(result.device_rename);
    CHECK(*result.device_rename == "pwdante-0a000001");
    // An empty string is a reset too.
    result = handle_arc_request(set_name_request(""), two_channel_state());
    CHECK(result.device_rename == "pwdante-0a000001");
}

TEST_CASE("arc 0x1001: invalid names are refused with 0x0022 and no effect") {
    for (const std::string& bad : std::vector<std::string>{"bad name", "-leading", "trailing-", std::string(32, 'a'), "dot.name", "ünï"}) {
        CAPTURE(bad);
        const auto result = handle_arc_request(set_name_request(bad), two_channel_state());
        CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 1001 0022")));
        CHECK_FALSE(result.device_rename);
    }
    CHECK(handle_arc_request(set_name_request(std::string(31, 'a')), two_channel_state()).device_rename);
    // No NUL: refused.
    const auto unterminated = handle_arc_request(netaudio_packet(0x1001, concat({{0, 0}, text("abc", false)})),
                                                 two_channel_state());
    CHECK(response_hex(unterminated) == to_hex(hex("27ff 000a 0000 1001 0022")));
    CHECK_FALSE(unterminated.device_rename);
}

TEST_CASE("arc 0x2013: rename a TX channel (netaudio set_channel_name tx)") {
    const Packet request = set_tx_channel_name_request(2, "Guitar R");
    CHECK(to_hex(request) == to_hex(hex("27ff 0021 0000 2013 0000 0201 0000 0002 0018 0000 0000 0000 'Guitar R' 00")));
    const auto result = handle_arc_request(request, two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0001")));
    REQUIRE(result.channel_renames.size() == 1);
    CHECK(result.channel_renames[0].channel_number == 2);
    CHECK(result.channel_renames[0].new_user_name == "Guitar R");
}

TEST_CASE("arc 0x2013: same label: OK without effect; reset: back to the factory name") {
    auto result = handle_arc_request(set_tx_channel_name_request(1, "Left"), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0001")));
    CHECK(result.channel_renames.empty());

    result = handle_arc_request(reset_tx_channel_name_request(1), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0001")));
    REQUIRE(result.channel_renames.size() == 1);
    CHECK(result.channel_renames[0].channel_number == 1);
    CHECK(result.channel_renames[0].new_user_name == "01");

    // Reset of a channel that was never renamed: nothing changes.
    result = handle_arc_request(reset_tx_channel_name_request(1), make_state(2));
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0001")));
    CHECK(result.channel_renames.empty());

    // Offset 0 and an empty string also mean reset.
    result = handle_arc_request(netaudio_packet(0x2013, hex("0000 0201 0000 0002 0000 0000 0000 0000")),
                                two_channel_state());
    REQUIRE(result.channel_renames.size() == 1);
    CHECK(result.channel_renames[0].new_user_name == "02");
    result = handle_arc_request(set_tx_channel_name_request(2, ""), two_channel_state());
    REQUIRE(result.channel_renames.size() == 1);
    CHECK(result.channel_renames[0].new_user_name == "02");
}

TEST_CASE("arc 0x2013: a label is case-insensitively unique on the device") {
    const DeviceState state = two_channel_state();
    for (const char* taken : {"right", "RIGHT", "02"}) {
        CAPTURE(taken);
        const auto result = handle_arc_request(set_tx_channel_name_request(1, taken), state);
        CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0022")));
        CHECK(result.channel_renames.empty());
    }
    // Changing only the case of its own label is a real rename.
    const auto result = handle_arc_request(set_tx_channel_name_request(1, "LEFT"), state);
    REQUIRE(result.channel_renames.size() == 1);
    CHECK(result.channel_renames[0].new_user_name == "LEFT");
}

TEST_CASE("arc 0x2013: several records in one request, all or nothing") {
    // count 2: (ch 1 → "A"), (ch 2 → "B"); names after the records.
    Packet body = hex("0000 0202 0000 0001 0018 0000 0002 001a 'A' 00 'B' 00");
    auto result = handle_arc_request(netaudio_packet(0x2013, body), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0001")));
    REQUIRE(result.channel_renames.size() == 2);
    CHECK(result.channel_renames[0].new_user_name == "A");
    CHECK(result.channel_renames[1].new_user_name == "B");

    // Both to "A": the second clashes with the first: nothing applied.
    body = hex("0000 0202 0000 0001 0018 0000 0002 0018 'A' 00");
    result = handle_arc_request(netaudio_packet(0x2013, body), two_channel_state());
    CHECK(response_hex(result) == to_hex(hex("27ff 000a 0000 2013 0022")));
    CHECK(result.channel_renames.empty());

    // A swap of labels works, because records apply in order.
    body = hex("0000 0203 0000 0001 001e 0000 0002 0020 0000 0001 0022 'X' 00 'L' 00 'R' 00");
    result = handle_arc_request(netaudio_packet(0x2013, body), two_channel_state());
    REQUIRE(result.channel_renames.size() == 2);
    CHECK(result.channel_renames[0].new_user_name == "R");
    CHECK(result.channel_renames[1].new_user_name == "L");
}

TEST_CASE("arc 0x2013: rejection paths") {
    const DeviceState state = two_channel_state();
    const std::string error = to_hex(hex("27ff 000a 0000 2013 0022"));
    auto refused = [&](const Packet& request) {
        const auto result = handle_arc_request(request, state);
        const bool is_refusal = response_hex(result) == error;
        if (is_refusal) CHECK(result.channel_renames.empty());
        return is_refusal;
    };
    CHECK(refused(set_tx_channel_name_request(0, "X")));            // channel 0
    CHECK(refused(set_tx_channel_name_request(3, "X")));            // past the last channel
    CHECK(refused(set_tx_channel_name_request(1, "a.b")));          // Dante forbids . @ =
    CHECK(refused(set_tx_channel_name_request(1, "a@b")));
    CHECK(refused(set_tx_channel_name_request(1, "a=b")));
    CHECK(refused(set_tx_channel_name_request(1, " padded")));
    CHECK(refused(set_tx_channel_name_request(1, std::string(32, 'x'))));
    CHECK(refused(set_tx_channel_name_request(1, "tab\there")));
    CHECK(refused(netaudio_packet(0x2013, hex("0000 0200"))));       // count 0
    CHECK(refused(netaudio_packet(0x2013, hex("0000 0201 0000 0001"))));  // record cut short
    CHECK(refused(netaudio_packet(0x2013, hex("0000"))));            // no body
    CHECK(refused(netaudio_packet(0x2013, hex("0000 0201 0000 0001 0004 'abc' 00"))));  // offset in header
    CHECK(refused(netaudio_packet(0x2013, hex("0000 0201 0000 0001 0100 'abc' 00"))));  // offset past end
    CHECK(refused(netaudio_packet(0x2013, hex("0000 0201 0000 0001 0012 'abc'"))));     // no NUL
    CHECK(refused(netaudio_packet(0x2013, hex("0000 02ff 0000 0001 0012 'abc' 00"))));  // count > records
    // A 31-character label is fine.
    CHECK_FALSE(refused(set_tx_channel_name_request(1, std::string(31, 'x'))));
}

TEST_CASE("arc: unknown opcodes get status 0x0022 and an empty body") {
    const DeviceState state = two_channel_state();
    for (uint16_t opcode : {uint16_t{0x0000}, uint16_t{0x1101}, uint16_t{0x2201}, uint16_t{0x3010}, uint16_t{0xffff}}) {
        CAPTURE(opcode);
        const auto result = handle_arc_request(netaudio_packet(opcode, {0, 0}, 0x4242), state);
        Packet expected = hex("27ff 000a 4242 0000 0022");
        expected[6] = static_cast<uint8_t>(opcode >> 8);
        expected[7] = static_cast<uint8_t>(opcode);
        CHECK(response_hex(result) == to_hex(expected));
    }
}

TEST_CASE("arc: no reply to responses, short datagrams or inconsistent lengths") {
    const DeviceState state = two_channel_state();
    CHECK_FALSE(handle_arc_request(hex("27ff 000a 0001 1002 0001"), state).response);  // a response
    CHECK_FALSE(handle_arc_request(hex("27ff 000a 0001 1002 8112"), state).response);
    CHECK_FALSE(handle_arc_request(hex("27ff 000a 0001 1002 0022"), state).response);
    CHECK_FALSE(handle_arc_request(hex("27ff 000a 0001 1002 00"), state).response);   // 9 bytes
    CHECK_FALSE(handle_arc_request(hex(""), state).response);
    CHECK_FALSE(handle_arc_request(hex("27ff 0010 0001 2000 0000 0001 0001"), state).response);  // says 16, is 14
    CHECK_FALSE(handle_arc_request(hex("27ff 000a 0001 2000 0000 0001 0001 0000"), state).response);  // says 10
    // A rename inside a rejected datagram has no effect either.
    Packet rename = set_name_request("other");
    rename[3] = static_cast<uint8_t>(rename[3] + 1);
    const auto result = handle_arc_request(rename, state);
    CHECK_FALSE(result.response);
    CHECK_FALSE(result.device_rename);
}

// netaudio's create_tx_flow body (services/arc.py _build_create_flow_body), built here from
// its description: 0x0101, variant, 0, slot, type 2, 10 zeros, N, channels, pointer P (to
// the sub-record right after `00 02`), 00 02, [P] 0a 00, 14 zeros (fpp read at P+4), 00 01 00 00.
Packet create_flow_request(uint16_t slot, std::vector<uint16_t> channels, uint16_t fpp = 0, uint16_t sequence = 9,
                           uint16_t type = 2, uint16_t variant = 0x0010) {
    Packet body;
    put_u16(body, 0x0101);
    put_u16(body, variant);
    put_u16(body, 0);
    put_u16(body, slot);
    put_u16(body, type);
    body.insert(body.end(), 10, 0);
    put_u16(body, static_cast<uint16_t>(channels.size()));
    for (uint16_t c : channels) put_u16(body, c);
    put_u16(body, static_cast<uint16_t>(10 + body.size() + 4));
    put_u16(body, 0x0002);
    put_u16(body, 0x0a00);
    put_u16(body, 0);
    put_u16(body, fpp);
    body.insert(body.end(), 10, 0);
    body.insert(body.end(), {0, 1, 0, 0});
    Packet p;
    put_u16(p, 0x2729);
    put_u16(p, static_cast<uint16_t>(10 + body.size()));
    put_u16(p, sequence);
    put_u16(p, 0x2201);
    put_u16(p, 0);
    p.insert(p.end(), body.begin(), body.end());
    return p;
}

TEST_CASE("arc 0x2201: netaudio's create request becomes an effect, answered by the shell") {
    const DeviceState state = two_channel_state();
    const Packet request = create_flow_request(17, {1, 2});
    // The exact bytes netaudio sends for slot 17, channels 1 and 2.
    CHECK(to_hex(request) == to_hex(hex("2729 003c 0009 2201 0000 0101 0010 0000 0011 0002 0000 0000 0000 0000 0000"
                                        "0002 0001 0002 0028 0002 0a00 0000 0000 0000 0000 0000 0000 0000 0001 0000")));
    const ArcResult result = handle_arc_request(request, state);
    CHECK_FALSE(result.response);
    REQUIRE(result.create_multicast);
    CHECK(result.create_multicast->flow_number == 17);
    CHECK(result.create_multicast->channels == std::vector<uint16_t>{1, 2});
    CHECK(result.create_multicast->fpp == 0);
    CHECK(result.request_header.sequence == 9);
    CHECK(to_hex(*tx_flow_change_reply(result.request_header, kStatusOk)) == to_hex(hex("2729 000a 0009 2201 0001")));
    CHECK(to_hex(*tx_flow_change_reply(result.request_header, kStatusTooManyFlows)) ==
          to_hex(hex("2729 000a 0009 2201 0315")));

    // The 0x2809 variant of the body, and an fpp in the sub-record.
    const ArcResult other = handle_arc_request(create_flow_request(0, {2, 1, 2}, 16, 10, 2, 0x0001), state);
    REQUIRE(other.create_multicast);
    CHECK(other.create_multicast->flow_number == 0);
    CHECK(other.create_multicast->channels == std::vector<uint16_t>{2, 1, 2});
    CHECK(other.create_multicast->fpp == 16);
}

TEST_CASE("arc 0x2201: malformed requests are refused with 0x0022, bounds-checked") {
    const DeviceState state = two_channel_state();
    const auto refused = [&](const Packet& p) {
        const ArcResult r = handle_arc_request(p, state);
        return !r.create_multicast && r.response && read_u16(*r.response, 8) == kStatusError;
    };
    CHECK(refused(create_flow_request(1, {1}, 0, 1, 1)));  // not a multicast flow type
    CHECK(refused(create_flow_request(1, {})));            // no channels
    CHECK(refused(create_flow_request(1, std::vector<uint16_t>(65, 1))));  // more than 64
    // Truncated anywhere before the pointer: refused, never read past the end.
    const Packet full = create_flow_request(1, {1, 2});
    for (size_t size = 10; size < 10 + 26; ++size) {
        Packet cut(full.begin(), full.begin() + static_cast<long>(size));
        cut[2] = static_cast<uint8_t>(size >> 8);
        cut[3] = static_cast<uint8_t>(size);
        CHECK(refused(cut));
    }
    // A pointer into the header, or whose fpp field lies past the end.
    Packet bad_pointer = full;
    bad_pointer[10 + 26] = 0;
    bad_pointer[10 + 27] = 4;
    CHECK(refused(bad_pointer));
    bad_pointer[10 + 26] = 0x01;
    bad_pointer[10 + 27] = 0x00;
    CHECK(refused(bad_pointer));
    // Pointer 0: no sub-record, default fpp.
    Packet no_sub = full;
    no_sub[10 + 26] = 0;
    no_sub[10 + 27] = 0;
    const ArcResult r = handle_arc_request(no_sub, state);
    REQUIRE(r.create_multicast);
    CHECK(r.create_multicast->fpp == 0);
}

TEST_CASE("arc 0x2202: delete by slot (netaudio delete_tx_flow), malformed refused") {
    const DeviceState state = two_channel_state();
    const ArcResult result = handle_arc_request(hex("2729 0010 0003 2202 0000 0001 0000 0011"), state);
    CHECK_FALSE(result.response);
    REQUIRE(result.delete_flow);
    CHECK(*result.delete_flow == 17);
    for (const char* bad : {"2729 000e 0003 2202 0000 0001 0000", "2729 0010 0003 2202 0000 0001 0000 0000"}) {
        const ArcResult r = handle_arc_request(hex(bad), state);
        CHECK_FALSE(r.delete_flow);
        REQUIRE(r.response);
        CHECK(read_u16(*r.response, 8) == kStatusError);
    }
}
