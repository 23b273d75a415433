#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

#include "flows/packet_writer.hpp"
#include "ring_probe.hpp"

using namespace dante;
using dante::test::probe;

namespace {

// Fills channel c at positions [pos, pos+n) with value(c, position).
template <typename F>
void fill(TxRings& rings, uint64_t pos, uint32_t n, F value) {
    std::vector<std::vector<int32_t>> planes(rings.channels(), std::vector<int32_t>(n));
    std::vector<const int32_t*> ptrs;
    for (uint32_t c = 0; c < rings.channels(); ++c) {
        for (uint32_t i = 0; i < n; ++i) planes[c][i] = value(c, pos + i);
        ptrs.push_back(planes[c].data());
    }
    rings.write(pos, ptrs, n);
}

int32_t be_signed(const uint8_t* p, uint32_t bytes) {
    uint32_t u = 0;
    for (uint32_t i = 0; i < bytes; ++i) u = (u << 8) | p[i];
    const uint32_t shift = 32 - 8 * bytes;
    return static_cast<int32_t>(u << shift) >> shift;
}


}  // namespace

TEST_CASE("header: marker and timestamp split at the rate") {
    TxRings rings(2, 1024);
    DitherSource dither;
    std::vector<uint8_t> out(1500);
    const uint16_t slots[] = {1};
    PacketSpec spec{48000ull * 1'700'000'000ull + 47999, 48000, 4, 4, slots};
    auto r = write_audio_packet(rings, spec, dither, out);
    REQUIRE(r.bytes == 9 + 16);
    CHECK(out[0] == 0x02);
    CHECK(be_signed(&out[1], 4) == 1'700'000'000);
    CHECK(static_cast<uint32_t>(be_signed(&out[5], 4)) == 47999);
    spec.timestamp += 1;  // the next sample starts a new second
    write_audio_packet(rings, spec, dither, out);
    CHECK(be_signed(&out[1], 4) == 1'700'000'001);
    CHECK(be_signed(&out[5], 4) == 0);
    // Seconds keep only the low 32 bits.
    spec.timestamp = (uint64_t{1} << 32) * 48000 + 5;
    write_audio_packet(rings, spec, dither, out);
    CHECK(be_signed(&out[1], 4) == 0);
    CHECK(be_signed(&out[5], 4) == 5);
    CHECK(split_timestamp(96000 * 3 + 7, 96000).seconds == 3);
    CHECK(split_timestamp(96000 * 3 + 7, 96000).subsecond == 7);
}

TEST_CASE("S32 and S24 are bit-exact, interleaved, big-endian, with empty slots zero") {
    TxRings rings(4, 4096);
    const uint64_t pos = 1'000'000;
    fill(rings, pos, 512, probe);
    DitherSource dither;
    const uint16_t slots[] = {3, 0, 1, 4, 3};
    for (uint32_t bytes : {4u, 3u}) {
        std::vector<uint8_t> out(1500, 0xEE);
        const uint32_t fpp = 32;
        const PacketSpec spec{pos + 64, 48000, fpp, bytes, slots};
        const auto r = write_audio_packet(rings, spec, dither, out);
        REQUIRE(r.bytes == 9 + fpp * 5 * bytes);
        CHECK(r.missing_frames == 0);
        for (uint32_t f = 0; f < fpp; ++f)
            for (uint32_t s = 0; s < 5; ++s) {
                const uint8_t* p = &out[9 + (f * 5 + s) * bytes];
                const int32_t want = slots[s] == 0 ? 0 : probe(slots[s] - 1u, pos + 64 + f);
                if (bytes == 4)
                    CHECK(be_signed(p, 4) == want);
                else
                    CHECK(be_signed(p, 3) == (want >> 8));  // the top three bytes exactly
            }
    }
    // A hand-checked byte layout.
    TxRings one(1, 16);
    const int32_t v = 0x11223344;
    const int32_t* plane[] = {&v};
    one.write(5, plane, 1);
    const uint16_t s1[] = {1};
    std::vector<uint8_t> out(64);
    write_audio_packet(one, PacketSpec{5, 48000, 1, 4, s1}, dither, out);
    CHECK(std::vector<uint8_t>(out.begin() + 9, out.begin() + 13) == std::vector<uint8_t>{0x11, 0x22, 0x33, 0x44});
    write_audio_packet(one, PacketSpec{5, 48000, 1, 3, s1}, dither, out);
    CHECK(std::vector<uint8_t>(out.begin() + 9, out.begin() + 12) == std::vector<uint8_t>{0x11, 0x22, 0x33});
    write_audio_packet(one, PacketSpec{5, 48000, 1, 2, s1}, dither, out);
    const int32_t got = be_signed(&out[9], 2);
    CHECK(std::abs(got - 0x1122) <= 1);
}

TEST_CASE("S32 and S24 at every slot count and fpp: the same bytes as a sample-by-sample reference") {
    // The writer interleaves in chunks (fixed strides for 1/2/4/8 slots, groups past 64
    // slots, chunks of frames); this checks it against the plainest possible loop, with
    // holes in the rings so missing_frames is exercised too.
    TxRings rings(8, 4096);
    const uint64_t pos = 2'000'000;
    fill(rings, pos, 600, probe);
    fill(rings, pos + 700, 100, probe);  // 600..699 is a hole
    DitherSource dither;
    uint32_t seed = 7;
    auto next = [&seed](uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 8) % n;
    };
    for (int round = 0; round < 300; ++round) {
        const uint32_t bytes = round % 2 ? 3 : 4;
        const size_t slot_count = std::array<size_t, 10>{1, 2, 3, 4, 5, 8, 16, 64, 65, 70}[round % 10];
        const uint32_t fpp = 1 + next(kMaxFramesPerPacket);
        const uint64_t ts = pos + next(900);
        std::vector<uint16_t> slots(slot_count);
        for (auto& s : slots) s = static_cast<uint16_t>(next(10));  // 0 = empty, 9 = beyond the rings
        std::vector<uint8_t> out(audio_packet_bytes(fpp, static_cast<uint32_t>(slot_count), bytes) + 3, 0xEE);
        const PacketSpec spec{ts, 48000, fpp, bytes, slots};
        const auto r = write_audio_packet(rings, spec, dither, out);
        REQUIRE(r.bytes == out.size() - 3);
        uint32_t missing = 0;
        std::vector<int32_t> plane(fpp);
        for (size_t s = 0; s < slot_count; ++s) {
            if (slots[s] == 0) continue;
            missing = std::max(missing, fpp - rings.read(slots[s] - 1u, ts, plane));
        }
        CHECK(r.missing_frames == missing);
        size_t wrong = 0;
        for (uint32_t f = 0; f < fpp; ++f)
            for (size_t s = 0; s < slot_count; ++s) {
                const bool real = slots[s] != 0 && slots[s] <= 8 && (ts + f < pos + 600 || (ts + f >= pos + 700 && ts + f < pos + 800));
                const int32_t want = real ? probe(slots[s] - 1u, ts + f) : 0;
                const int32_t got = be_signed(&out[9 + (f * slot_count + s) * bytes], bytes);
                if (got != (bytes == 4 ? want : want >> 8)) ++wrong;
            }
        CHECK(wrong == 0);
        CHECK(out[r.bytes] == 0xEE);  // nothing written past the packet
    }
}

TEST_CASE("unwritten ring positions go out as silence and count as missing") {
    TxRings rings(2, 1024);
    fill(rings, 100, 10, [](uint32_t, uint64_t) { return 0x7FFFFF00; });
    DitherSource dither;
    const uint16_t slots[] = {1, 2};
    std::vector<uint8_t> out(1500);
    const auto r = write_audio_packet(rings, PacketSpec{96, 48000, 16, 4, slots}, dither, out);
    CHECK(r.missing_frames == 6);  // 96..99 and 110..111 never written
    for (uint32_t f = 0; f < 16; ++f) {
        const bool written = f >= 4 && f < 14;
        CHECK(be_signed(&out[9 + f * 8], 4) == (written ? 0x7FFFFF00 : 0));
    }
    // Only empty slots: nothing to miss.
    const uint16_t empty[] = {0, 0};
    CHECK(write_audio_packet(rings, PacketSpec{5000, 48000, 16, 3, empty}, dither, out).missing_frames == 0);
}

TEST_CASE("S16: exact for 16-bit audio, TPDF dither within 1.5 LSB otherwise, saturating") {
    TxRings rings(2, 4096);
    fill(rings, 0, 2048, [](uint32_t c, uint64_t pos) {
        const auto i = static_cast<int32_t>(pos);
        return c == 0 ? static_cast<int32_t>(static_cast<uint32_t>(i * 37 - 30000) << 16)  // 16-bit audio
                      : i * 1'000'003 - 1'000'000'000;                                     // 32-bit audio
    });
    DitherSource dither(99);
    const uint16_t slots[] = {1, 2};
    std::vector<uint8_t> out(1500);
    std::vector<int32_t> errors;
    for (uint64_t pos = 0; pos < 2048; pos += 128) {
        write_audio_packet(rings, PacketSpec{pos, 48000, 128, 2, slots}, dither, out);
        for (uint32_t f = 0; f < 128; ++f) {
            const auto i = static_cast<int32_t>(pos + f);
            CHECK(be_signed(&out[9 + f * 4], 2) == static_cast<int16_t>(i * 37 - 30000));
            const int64_t exact = int64_t{i * 1'000'003 - 1'000'000'000};
            const int64_t err = int64_t{be_signed(&out[9 + f * 4 + 2], 2)} * 65536 - exact;
            CHECK(err >= -65536 - 32768);
            CHECK(err <= 65536 + 32768);
            errors.push_back(static_cast<int32_t>(err));
        }
    }
    // Dither is not plain truncation: the error takes many values and averages near zero.
    int64_t sum = 0;
    for (int32_t e : errors) sum += e;
    const double mean = static_cast<double>(sum) / static_cast<double>(errors.size());
    CHECK(std::abs(mean) < 65536.0 / 4);

    DitherSource d2(5);
    for (int k = 0; k < 1000; ++k) {
        CHECK(dither_to_s16(INT32_MAX, d2) >= 32766);
        CHECK(dither_to_s16(INT32_MIN, d2) <= -32767);
        CHECK(dither_to_s16(INT32_MIN + 1, d2) >= -32768);
    }
}

TEST_CASE("the dither source is deterministic and never stuck at zero") {
    DitherSource a(7), b(7), z(0);
    for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
    for (int i = 0; i < 100; ++i) CHECK(z.next() != 0);
}

TEST_CASE("invalid specs and short buffers write nothing") {
    TxRings rings(1, 64);
    DitherSource dither;
    const uint16_t slots[] = {1};
    std::vector<uint8_t> out(1500);
    CHECK(write_audio_packet(rings, PacketSpec{0, 48000, 0, 3, slots}, dither, out).bytes == 0);
    CHECK(write_audio_packet(rings, PacketSpec{0, 48000, 257, 3, slots}, dither, out).bytes == 0);
    CHECK(write_audio_packet(rings, PacketSpec{0, 48000, 32, 1, slots}, dither, out).bytes == 0);
    CHECK(write_audio_packet(rings, PacketSpec{0, 48000, 32, 5, slots}, dither, out).bytes == 0);
    CHECK(write_audio_packet(rings, PacketSpec{0, 0, 32, 3, slots}, dither, out).bytes == 0);
    std::vector<uint8_t> small(9 + 32 * 3 - 1);
    CHECK(write_audio_packet(rings, PacketSpec{0, 48000, 32, 3, slots}, dither, small).bytes == 0);
    CHECK(audio_packet_bytes(32, 8, 3) == 9 + 768);
}
