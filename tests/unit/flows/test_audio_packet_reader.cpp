#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "flows/audio_packet_reader.hpp"
#include "flows/packet_writer.hpp"
#include "ring_probe.hpp"

using namespace dante;
using dante::test::probe;
using dante::test::rings_with_probe;


TEST_CASE("what the packet writer sends, the reader reads back: timestamp, frames, every sample") {
    const uint64_t ts = 48000ull * 1'700'000'123ull + 47'990;  // near a second's end
    TxRings rings = rings_with_probe(3, ts, 64);
    DitherSource dither;
    const std::array<uint16_t, 3> slots{3, 1, 2};  // slot s carries channel slots[s]
    for (uint32_t bytes : {3u, 4u}) {
        std::vector<uint8_t> out(2000);
        const PacketSpec spec{ts, 48000, 32, bytes, slots};
        const auto written = write_audio_packet(rings, spec, dither, out);
        REQUIRE(written.bytes > 0);
        const auto read = read_audio_packet(std::span(out.data(), written.bytes), 3, bytes, 48000);
        REQUIRE(read.ok());
        CHECK(read.packet.timestamp == ts);
        CHECK(read.packet.frames == 32);
        for (uint32_t f = 0; f < 32; ++f)
            for (uint32_t s = 0; s < 3; ++s) {
                const int32_t full = probe(slots[s] - 1u, ts + f);
                const int32_t expected = bytes == 4 ? full : full >> 8;  // S24: the top three bytes
                CHECK(audio_sample(read.packet, f, s, 3, bytes) == expected);
            }
    }
}

TEST_CASE("a datagram that does not fit the flow is refused whole, with the reason") {
    std::vector<uint8_t> packet(9 + 2 * 3 * 4, 0);  // 4 frames of 2 slots x S24
    packet[0] = 0x02;
    CHECK(read_audio_packet(packet, 2, 3, 48000).ok());
    CHECK(read_audio_packet(std::span(packet).first(9), 2, 3, 48000).error == AudioPacketError::too_short);
    CHECK(read_audio_packet(std::span(packet).first(5), 2, 3, 48000).error == AudioPacketError::too_short);
    CHECK(read_audio_packet({}, 2, 3, 48000).error == AudioPacketError::too_short);
    CHECK(read_audio_packet(std::span(packet).first(packet.size() - 1), 2, 3, 48000).error ==
          AudioPacketError::ragged);
    CHECK(read_audio_packet(packet, 3, 3, 48000).error == AudioPacketError::ragged);  // another flow's shape
    // Byte 0 is not checked: receivers ignore it.
    packet[0] = 0x7f;
    CHECK(read_audio_packet(packet, 2, 3, 48000).ok());
    // The sample index within the second must be below the rate.
    packet[5] = 0x00, packet[6] = 0x00, packet[7] = 0xbb, packet[8] = 0x80;  // 48000
    CHECK(read_audio_packet(packet, 2, 3, 48000).error == AudioPacketError::bad_subsecond);
    packet[8] = 0x7f;  // 47999
    CHECK(read_audio_packet(packet, 2, 3, 48000).ok());
    // More frames than any transmitter sends.
    std::vector<uint8_t> huge(9 + (kMaxFramesPerPacket + 1) * 4, 0);
    CHECK(read_audio_packet(huge, 1, 4, 48000).error == AudioPacketError::too_many_frames);
    // Impossible shapes never read anything.
    CHECK(read_audio_packet(packet, 0, 3, 48000).error == AudioPacketError::bad_shape);
    CHECK(read_audio_packet(packet, 2, 5, 48000).error == AudioPacketError::bad_shape);
    CHECK(read_audio_packet(packet, 2, 1, 48000).error == AudioPacketError::bad_shape);
    CHECK(read_audio_packet(packet, 2, 3, 0).error == AudioPacketError::bad_shape);
    CHECK(std::string(to_string(AudioPacketError::ragged)) == "not a whole number of frames");
}

TEST_CASE("samples are sign-extended from 16, 24 and 32 bits") {
    const std::array<uint8_t, 9 + 2 + 3 + 4> bytes{0x02, 0, 0, 0, 1, 0, 0, 0, 0,  // header, ts = rate
                                                   0x80, 0x00,                   // S16 -32768
                                                   0xff, 0xff, 0xfe,             // S24 -2
                                                   0x7f, 0xff, 0xff, 0xff};      // S32 max
    const auto s16 = read_audio_packet(std::span(bytes).first(11), 1, 2, 48000);
    REQUIRE(s16.ok());
    CHECK(s16.packet.timestamp == 48000);
    CHECK(audio_sample(s16.packet, 0, 0, 1, 2) == -32768);
    std::array<uint8_t, 12> p24{};
    std::copy(bytes.begin(), bytes.begin() + 9, p24.begin());
    std::copy(bytes.begin() + 11, bytes.begin() + 14, p24.begin() + 9);
    const auto s24 = read_audio_packet(p24, 1, 3, 48000);
    REQUIRE(s24.ok());
    CHECK(audio_sample(s24.packet, 0, 0, 1, 3) == -2);
    std::array<uint8_t, 13> p32{};
    std::copy(bytes.begin(), bytes.begin() + 9, p32.begin());
    std::copy(bytes.begin() + 14, bytes.end(), p32.begin() + 9);
    const auto s32 = read_audio_packet(p32, 1, 4, 48000);
    REQUIRE(s32.ok());
    CHECK(audio_sample(s32.packet, 0, 0, 1, 4) == 0x7fffffff);
}
