#include <doctest/doctest.h>

#include "control/cmc_server.hpp"
#include "control/control_ports.hpp"
#include "control/conmon.hpp"
#include "control_test_support.hpp"

using namespace dante::control;
using namespace control_test;

namespace {

const DeviceId kId{0x00, 0x00, 0xc0, 0xa8, 0x00, 0x07, 0x00, 0x00};

// netaudio's registration (services/cmc.py _build_registration_packet): 0x1200, length,
// sequence, 0x1001, 4 zero bytes, its MAC, 2 zero bytes.
Packet netaudio_registration(uint16_t sequence) {
    Packet p = hex("1200 0014");
    put_u16(p, sequence);
    return concat({p, hex("1001 0000 0000 0a0b 0c0d 0e0f 0000")});
}

ConmonIdentity identity() { return {3, kId, "Audinate Dante-compatible"}; }

}  // namespace

TEST_CASE("cmc 0x1001: the 22-byte registration reply") {
    const CmcIdentity id{3, kId, 0xc0a80007, 8700};
    const auto reply = handle_cmc_request(netaudio_registration(7), id);
    REQUIRE(reply);
    CHECK(to_hex(*reply) == to_hex(hex("1200 0020 0007 1001 0001 0003 0000 c0a8 0007 0000 0001 0000 c0a8 0007 21fc 0000")));
}

TEST_CASE("cmc 0x1001: the info port follows the port base") {
    const CmcIdentity id{3, kId, 0xc0a80007, control_ports_for(14000)->info_request};
    const auto reply = handle_cmc_request(netaudio_registration(1), id);
    REQUIRE(reply);
    CHECK(*read_u16(*reply, 28) == 14003);
}

TEST_CASE("cmc: other opcodes, responses and malformed datagrams get no reply") {
    const CmcIdentity id{3, kId, 0xc0a80007, 8700};
    CHECK_FALSE(handle_cmc_request(hex("1200 000c 0001 3010 0000 0000"), id));  // DC's 0x3010 (Inferno #45)
    CHECK_FALSE(handle_cmc_request(hex("1200 000a 0001 1001 0001"), id));       // a response
    CHECK_FALSE(handle_cmc_request(hex("1200 0014 0001 1001 0000"), id));       // length says 20, is 10
    CHECK_FALSE(handle_cmc_request(hex("1200 00"), id));
}

TEST_CASE("conmon: heartbeat bytes") {
    const auto packet = build_heartbeat(identity(), 5);
    CHECK(to_hex(packet) == to_hex(hex("fffe 0030 0005 0003 0000 c0a8 0007 0000 'Audinate' 0008 0001 1000 0000"
                                       "0010 8001 0004 0004 0005 0000 0000 0000")));
}

TEST_CASE("conmon: a short vendor string is space padded") {
    const auto packet = build_heartbeat({1, kId, "Ab"}, 1);
    CHECK(to_hex(Packet(packet.begin() + 16, packet.begin() + 24)) == to_hex(hex("'Ab      '")));
}

TEST_CASE("conmon: board info layout") {
    const auto packet = build_board_info(identity(), 9, {"PipeWire-Dante", {0, 1, 0, 2}});
    REQUIRE(packet.size() == 32 + 200);
    CHECK(to_hex(Packet(packet.begin(), packet.begin() + 32)) ==
          to_hex(hex("ffff 00e8 0009 0003 0000 c0a8 0007 0000 'Audinate' 072a 0060 0000 0000")));
    const auto body = [&](size_t at) { return packet[32 + at]; };
    CHECK(to_hex(Packet(packet.begin() + 32, packet.begin() + 40)) == to_hex(hex("0001 0002 0103 0003")));
    CHECK(to_hex(Packet(packet.begin() + 44, packet.begin() + 52)) == to_hex(hex("'PipeWire'")));  // 8 chars
    CHECK(body(0x14) == 0);
    CHECK(body(0x16) == 0x10);
    CHECK(body(0x27) == 7);
    CHECK(body(0x28) == 1);
    CHECK(to_hex(Packet(packet.begin() + 32 + 0x38, packet.begin() + 32 + 0x48)) ==
          to_hex(hex("'PipeWire-Dante' 0000")));
    CHECK(body(0xbb) == 0x1f);
}

TEST_CASE("conmon: product info layout") {
    const auto packet = build_product_info(identity(), 10, {"Manufacturer-Long", "Board", "pipewire-dante", {0, 1, 0, 0}});
    REQUIRE(packet.size() == 32 + 336);
    CHECK(*read_u16(packet, 2) == 368);
    CHECK(to_hex(Packet(packet.begin() + 24, packet.begin() + 32)) == to_hex(hex("072a 00c0 0000 0000")));
    const auto field = [&](size_t at, size_t size) {
        return std::string(packet.begin() + 32 + static_cast<long>(at), packet.begin() + 32 + static_cast<long>(at + size));
    };
    CHECK(field(0, 8) == "Manufact");
    CHECK(field(8, 8) == std::string("Board\0\0\0", 8));
    CHECK(field(0x2c, 16) == "Manufacturer-Lon");
    CHECK(field(0xac, 16) == std::string("pipewire-dante\0\0", 16));
    CHECK(to_hex(Packet(packet.begin() + 32 + 0x12c, packet.begin() + 32 + 0x130)) == to_hex(hex("0001 0000")));
}

TEST_CASE("conmon: info requests recognised by their opcode bytes") {
    Packet board = concat({hex("ffff 0020 0001 0000 0000 0000 0000 0000 'Audinate'"), hex("0731 0061 0000 0000")});
    Packet product = board;
    product[27] = 0xc1;
    CHECK(classify_info_request(board) == InfoRequest::board_info);
    CHECK(classify_info_request(product) == InfoRequest::product_info);
    Packet other = board;
    other[27] = 0x62;
    CHECK(classify_info_request(other) == InfoRequest::none);
    other = board;
    other[31] = 1;
    CHECK(classify_info_request(other) == InfoRequest::none);
    other = board;
    other[24] = 0x08;
    CHECK(classify_info_request(other) == InfoRequest::none);
    CHECK(classify_info_request(Packet(board.begin(), board.begin() + 31)) == InfoRequest::none);
}

TEST_CASE("conmon publisher: start-up info, 1 s heartbeats, no burst after a stall") {
    ConmonPublisher publisher(identity(), {"PipeWire-Dante"}, {"PipeWire-Dante", "PipeWire-Dante", "pipewire-dante"});
    const int64_t t0 = 5'000'000'000;
    auto sent = publisher.start(t0);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].address == 0xE00000E7);
    CHECK(sent[0].port == 8702);
    CHECK(*read_u16(sent[0].bytes, 4) == 1);  // sequence starts at 1
    CHECK(sent[0].bytes[27] == 0x60);
    CHECK(*read_u16(sent[1].bytes, 4) == 2);
    CHECK(sent[1].bytes[27] == 0xc0);

    sent = publisher.poll(t0);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].address == 0xE00000E9);
    CHECK(sent[0].port == 8708);
    CHECK(*read_u16(sent[0].bytes, 4) == 3);
    CHECK(*read_u16(sent[0].bytes, 40) == 3);  // the body counter is the header's sequence

    CHECK(publisher.poll(t0 + 500'000'000).empty());
    CHECK(publisher.next_heartbeat_ns() == t0 + 1'000'000'000);
    CHECK(publisher.poll(t0 + 1'000'000'000).size() == 1);
    CHECK(publisher.poll(t0 + 1'999'999'999).empty());
    CHECK(publisher.poll(t0 + 12'000'000'000).size() == 1);  // late: one, not ten
    CHECK(publisher.poll(t0 + 12'500'000'000).empty());
    CHECK(publisher.next_heartbeat_ns() == t0 + 13'000'000'000);
}

TEST_CASE("conmon publisher: answers info requests, at most once per 100 ms per kind") {
    ConmonPublisher publisher(identity(), {"PipeWire-Dante"}, {"PipeWire-Dante", "PipeWire-Dante", "pipewire-dante"});
    const int64_t t0 = 1'000'000'000;
    publisher.start(t0);
    const Packet board = concat({hex("ffff 0020 0001 0000 0000 0000 0000 0000 'Audinate'"), hex("0731 0061 0000 0000")});
    Packet product = board;
    product[27] = 0xc1;

    CHECK(publisher.on_info_request(board, t0 + 50'000'000).empty());  // start-up copy is fresh
    auto sent = publisher.on_info_request(board, t0 + 150'000'000);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].bytes[27] == 0x60);
    CHECK(*read_u16(sent[0].bytes, 4) == 3);
    CHECK(publisher.on_info_request(board, t0 + 200'000'000).empty());
    sent = publisher.on_info_request(product, t0 + 200'000'000);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].bytes[27] == 0xc0);
    CHECK(publisher.on_info_request(hex("ffff 0000"), t0 + 900'000'000).empty());
}
