#include <doctest/doctest.h>

#include "control/control_header.hpp"
#include "control_test_support.hpp"

using namespace dante::control;
using namespace control_test;

TEST_CASE("control header: parses the five big-endian fields of netaudio's device-name request") {
    // Captured request from netaudio's fixtures (192_168_1_108_get_device_name_request.bin).
    const Packet request = hex("27ff 000a c546 1002 0000");
    const auto header = parse_control_header(request);
    REQUIRE(header);
    CHECK(header->start_code == 0x27ff);
    CHECK(header->length == 10);
    CHECK(header->sequence == 0xc546);
    CHECK(header->opcode == 0x1002);
    CHECK(header->status == 0);
    CHECK(body_of(request).empty());
}

TEST_CASE("control header: rejects short datagrams and a length field that disagrees with the size") {
    CHECK_FALSE(parse_control_header(hex("")));
    CHECK_FALSE(parse_control_header(hex("27ff 000a c546 1002 00")));  // 9 bytes
    CHECK_FALSE(parse_control_header(hex("27ff 000b c546 1002 0000")));  // says 11, is 10
    CHECK_FALSE(parse_control_header(hex("27ff 000a c546 1002 0000 00")));  // says 10, is 11
    CHECK_FALSE(parse_control_header(hex("27ff 0000 c546 1002 0000")));
    CHECK(parse_control_header(hex("27ff 000c c546 1002 0000 abcd")));
}

TEST_CASE("control header: bounded big-endian readers") {
    const Packet data = hex("0102 0304 05");
    CHECK(read_u8(data, 4) == 0x05);
    CHECK_FALSE(read_u8(data, 5));
    CHECK(read_u16(data, 0) == 0x0102);
    CHECK(read_u16(data, 3) == 0x0405);
    CHECK_FALSE(read_u16(data, 4));
    CHECK(read_u32(data, 1) == 0x02030405u);
    CHECK_FALSE(read_u32(data, 2));
    CHECK_FALSE(read_u32(data, SIZE_MAX - 1));  // no wrap-around
}

TEST_CASE("control header: strings at absolute offsets") {
    // header (10) + "ab\0" + "cdef" (no NUL)
    const Packet packet = concat({hex("27ff 0011 0000 0000 0000"), text("ab"), text("cdef", false)});
    CHECK(read_string_at(packet, 10, 31) == "ab");
    CHECK(read_string_at(packet, 11, 31) == "b");
    CHECK(read_string_at(packet, 12, 31) == "");           // the NUL itself: an empty string
    CHECK_FALSE(read_string_at(packet, 13, 31));           // runs off the end without a NUL
    CHECK_FALSE(read_string_at(packet, 9, 31));            // inside the header
    CHECK_FALSE(read_string_at(packet, 0, 31));
    CHECK_FALSE(read_string_at(packet, packet.size(), 31));  // at the end
    CHECK_FALSE(read_string_at(packet, 60000, 31));
    CHECK(read_string_at(packet, 10, 2) == "ab");           // exactly max_length
    CHECK_FALSE(read_string_at(packet, 10, 1));             // longer than max_length
}

TEST_CASE("control header: a response echoes start code, sequence and opcode and fills the length") {
    ControlHeader request{0x2729, 10, 0xbeef, 0x2200, 0};
    PacketWriter out = PacketWriter::response_to(request, kStatusOk);
    out.u8(0x7f);
    out.u16(0x0102);
    out.u32(0x03040506);
    out.zeros(2);
    out.c_string("hi");
    out.patch_u16(10, 0xaaaa);
    out.patch_u16(out.size() - 1, 0xffff);  // would run past the end: ignored
    const auto packet = std::move(out).finish();
    REQUIRE(packet);
    CHECK(to_hex(*packet) == to_hex(hex("2729 0016 beef 2200 0001 aaaa 0203 0405 0600 00 'hi' 00")));
}

TEST_CASE("control header: finish refuses a packet longer than a u16 length can say") {
    PacketWriter out(0x27ff, 0, 0x1000, kStatusOk);
    out.zeros(65535 - 10);
    CHECK(PacketWriter(out).finish());
    out.u8(0);
    CHECK_FALSE(std::move(out).finish());
}
