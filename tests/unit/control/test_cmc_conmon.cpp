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
    CHECK(field(0x2c, 18) == std::string("Manufacturer-Long\0", 18));  // netaudio: packet 0x4C..0xCC
    CHECK(field(0xac, 16) == std::string("pipewire-dante\0\0", 16));
    // A model name longer than Inferno's 16 bytes arrives whole (netaudio reads 0xCC..0x14C).
    const auto longer = build_product_info(identity(), 10, {"pipewire-dante", "Board", "PipeWire Dante Transmitter", {0, 1, 0, 0}});
    CHECK(std::string(reinterpret_cast<const char*>(longer.data() + 0xcc)) == "PipeWire Dante Transmitter");
    CHECK(std::string(reinterpret_cast<const char*>(longer.data() + 0x4c)) == "pipewire-dante");
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

namespace {

// netaudio's settings requests (device_commands.py), rewritten: FFFF, length, u16 sequence,
// u16 0, MAC (6), u16 0, "Audinate", 07 3A, u16 opcode, u32 0x64, body.
Packet settings_request(uint16_t opcode, const Packet& body, uint16_t sequence = 0) {
    Packet p = hex("ffff");
    put_u16(p, static_cast<uint16_t>(32 + body.size()));
    put_u16(p, sequence);
    p = concat({p, hex("0000 0000 0000 0000 0000 'Audinate' 073a")});
    put_u16(p, opcode);
    return concat({p, hex("0000 0064"), body});
}

// netaudio services/notification.py _extract_conmon_opcode: the u16 10 bytes after "Audinate".
uint16_t netaudio_opcode(const Packet& p) { return *read_u16(p, 16 + 10); }

}  // namespace

TEST_CASE("conmon settings requests: netaudio's probes parse; malformed ones do not") {
    const Packet interface = settings_request(0x0013, Packet(8, 0));     // command_probe_interface_status
    const Packet clock = settings_request(0x0021, concat({hex("0000 0000 00"), Packet(55, 0)}), 0x21);
    const Packet aes67 = settings_request(0x1006, hex("0000 0000"), 0x1007);  // command_probe_aes67
    for (const auto& [packet, opcode] : {std::pair{interface, 0x0013}, {clock, 0x0021}, {aes67, 0x1006}}) {
        const auto parsed = parse_settings_request(packet);
        REQUIRE(parsed);
        CHECK(parsed->opcode == opcode);
        CHECK(parsed->body.size() == packet.size() - 32);
        CHECK(classify_info_request(packet) == InfoRequest::none);
    }
    Packet bad = interface;
    bad[0] = 0x27;  // not the settings start code
    CHECK_FALSE(parse_settings_request(bad));
    bad = interface;
    bad[3] += 1;  // length disagrees
    CHECK_FALSE(parse_settings_request(bad));
    bad = interface;
    bad[16] = 'X';  // no vendor
    CHECK_FALSE(parse_settings_request(bad));
    bad = interface;
    bad[24] = 0x08;
    CHECK_FALSE(parse_settings_request(bad));
    CHECK_FALSE(parse_settings_request(Packet(interface.begin(), interface.begin() + 31)));
    CHECK_FALSE(parse_settings_request(settings_request(0x0013, Packet(600, 0))));  // oversized
}

TEST_CASE("conmon interface status 0x0011: byte-exact, as netaudio's _handle_interface_status reads it") {
    InterfaceStatus status;
    status.mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    status.address = 0x0a4d5a01;
    status.netmask = 0xffffff00;
    status.gateway = 0x0a4d5afe;
    status.link_speed_mbps = 10000;
    const auto packet = build_interface_status(identity(), 9, status);
    CHECK(to_hex(packet) == to_hex(concat({hex("ffff 0060 0009 0003 0000 c0a8 0007 0000 'Audinate' 072a 0011 0000 0000"
                                               "0001 0000 0000 2710 0003 0211 2233 4455 0a4d 5a01 ffff ff00"
                                               "0000 0000 0a4d 5afe"),
                                           Packet(0x20, 0)})));
    CHECK(netaudio_opcode(packet) == 0x0011);
    // Static (3): DNS at +16, gateway at +20 (from 0x28). DHCP (1): gateway first.
    status.dynamic = true;
    const auto dynamic = build_interface_status(identity(), 9, status);
    CHECK(*read_u16(dynamic, 0x28) == 0x0001);
    CHECK(*read_u32(dynamic, 0x38) == 0x0a4d5afe);
    CHECK(*read_u32(dynamic, 0x3c) == 0);
    CHECK(*read_u16(dynamic, 0x48) == 0);  // no reboot pending
}

TEST_CASE("conmon clock status 0x0020: role at 0x48, not preferred at 0x26, ids and offset") {
    ClockStatus status;
    status.role = ClockRole::follower;
    status.leader_id = {0x00, 0x1d, 0xc1, 0xff, 0xfe, 0x12, 0x34, 0x56};
    status.offset_ns = -178;
    const auto packet = build_clock_status(identity(), 4, status);
    CHECK(to_hex(packet) == to_hex(concat({hex("ffff 0060 0004 0003 0000 c0a8 0007 0000 'Audinate' 072a 0020 0000 0000"
                                               "0002 0000 0000 0000 ffff ff4e 0000 c0a8 0007 0000"
                                               "001d c1ff fe12 3456 001d c1ff fe12 3456 0001 0034 0009"),
                                           Packet(0x60 - 0x4a, 0)})));
    CHECK(netaudio_opcode(packet) == 0x0020);
    CHECK(packet[0x26] == 0x00);
    status.role = ClockRole::leader;
    CHECK(*read_u16(build_clock_status(identity(), 4, status), 0x48) == 0x0006);
    status.role = ClockRole::none;
    CHECK(*read_u16(build_clock_status(identity(), 4, status), 0x48) == 0x0003);
    status.offset_ns = int64_t{1} << 40;  // clamped to an i32
    CHECK(*read_u32(build_clock_status(identity(), 4, status), 0x28) == 0x7fffffff);
}

TEST_CASE("conmon AES67 status 0x1007: off/off at 0x21") {
    const auto packet = build_aes67_status(identity(), 2);
    CHECK(to_hex(packet) ==
          to_hex(hex("ffff 0024 0002 0003 0000 c0a8 0007 0000 'Audinate' 072a 1007 0000 0000 0000 0000")));
    CHECK(netaudio_opcode(packet) == 0x1007);
}

TEST_CASE("conmon publisher: settings answers go to 224.0.0.231:8702, at most once per 100 ms per kind") {
    ConmonPublisher publisher(identity(), {}, {});
    const int64_t t0 = 5'000'000'000;
    const auto first = publisher.interface_status({}, t0);
    REQUIRE(first);
    CHECK(first->address == kDeviceInfoGroup);
    CHECK(first->port == kDeviceInfoPort);
    CHECK_FALSE(publisher.interface_status({}, t0 + 50'000'000));
    CHECK(publisher.clock_status({}, t0 + 50'000'000));  // another kind
    CHECK(publisher.aes67_status(t0 + 50'000'000));
    CHECK(publisher.interface_status({}, t0 + 150'000'000));
}

TEST_CASE("device id from the clock's hex id") {
    CHECK(device_id_from_hex("00:1d:c1:ff:fe:12:34:56") == DeviceId{0x00, 0x1d, 0xc1, 0xff, 0xfe, 0x12, 0x34, 0x56});
    CHECK(device_id_from_hex("001dc1123456") == DeviceId{0x00, 0x1d, 0xc1, 0x12, 0x34, 0x56, 0, 0});
    CHECK(device_id_from_hex("") == DeviceId{});
    CHECK(device_id_from_hex("00:1d:c1:ff:fe:12:34:56:78") == DeviceId{});  // more than 8 bytes
    CHECK(device_id_from_hex("0g") == DeviceId{});
    CHECK(device_id_from_hex("abc") == DeviceId{});  // odd digit count
}
