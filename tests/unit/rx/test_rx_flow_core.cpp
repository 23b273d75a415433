#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "flows/packet_writer.hpp"
#include "ring_probe.hpp"
#include "rx/rx_flow_core.hpp"

using namespace dante;
using dante::test::probe;
using dante::test::rings_with_probe;

namespace {

struct Sender {
    explicit Sender(const TxRings& source, uint32_t bytes_per_sample = 3) : rings(source), bytes(bytes_per_sample) {}
    const TxRings& rings;
    std::array<uint16_t, 2> slots{1, 2};
    uint32_t bytes;
    DitherSource dither;
    std::vector<uint8_t> packet(uint64_t ts, uint32_t fpp = 32) {
        std::vector<uint8_t> out(2000);
        const PacketSpec spec{ts, 48000, fpp, bytes, slots};
        out.resize(write_audio_packet(rings, spec, dither, out).bytes);
        return out;
    }
};

}  // namespace

TEST_CASE("received packets land in the flow's rings at their timestamps, as the graph reads them") {
    const uint64_t t0 = 48000ull * 1000;
    const TxRings source = dante::test::rings_with_probe(2, t0, 32 * 10);
    for (uint32_t bytes : {3u, 4u}) {
        Sender tx(source, bytes);
        RxFlowCore rx({2, bytes, 48000, 192});
        REQUIRE(rx.valid());
        for (int i = 0; i < 10; ++i) CHECK(rx.on_datagram(tx.packet(t0 + 32 * i), t0 + 32 * i + 32));
        for (uint32_t c = 0; c < 2; ++c) {
            std::vector<int32_t> got(320);
            CHECK(rx.rings().read(c, t0, got) == 320);
            for (uint32_t i = 0; i < 320; ++i) {
                const int32_t sent = probe(c, t0 + i);
                CHECK(got[i] == (bytes == 4 ? sent : static_cast<int32_t>(static_cast<uint32_t>(sent) & 0xffffff00u)));
            }
        }
        CHECK(rx.stats().packets == 10);
        CHECK(rx.stats().lost == 0);
        CHECK(rx.stats().reordered == 0);
        CHECK(rx.stats().late == 0);
    }
}

TEST_CASE("a missing packet reads as silence and counts as lost; a late and a reordered one are counted") {
    const uint64_t t0 = 48000ull * 2000;
    const TxRings source = dante::test::rings_with_probe(2, t0, 32 * 6);
    Sender tx(source);
    RxFlowCore rx({2, 3, 48000, 192});
    CHECK(rx.on_datagram(tx.packet(t0), t0 + 32));
    CHECK(rx.on_datagram(tx.packet(t0 + 64), t0 + 96));  // t0 + 32 never comes... yet
    CHECK(rx.stats().lost == 1);
    std::vector<int32_t> got(32, 7);
    CHECK(rx.rings().read(0, t0 + 32, got) == 0);
    CHECK(got == std::vector<int32_t>(32, 0));
    // It comes after all, behind the newest, and after its playout instant (latency 192).
    CHECK(rx.on_datagram(tx.packet(t0 + 32), t0 + 32 + 193));
    CHECK(rx.stats().reordered == 1);
    CHECK(rx.stats().late == 1);
    CHECK(rx.rings().read(0, t0 + 32, got) == 32);
}

TEST_CASE("malformed and far-off packets never reach the rings") {
    const uint64_t t0 = 48000ull * 3000;
    const TxRings source = dante::test::rings_with_probe(2, t0, 64);
    Sender tx(source);
    RxFlowCore rx({2, 3, 48000, 192});
    std::vector<uint8_t> p = tx.packet(t0);
    p.pop_back();  // ragged
    CHECK_FALSE(rx.on_datagram(p, t0));
    CHECK(rx.stats().malformed == 1);
    // Another flow's shape: 31 two-slot frames are not a whole number of four-slot frames.
    RxFlowCore wide({4, 3, 48000, 192});
    CHECK_FALSE(wide.on_datagram(tx.packet(t0, 31), t0));
    CHECK(wide.stats().malformed == 1);
    // A second away from media now in either direction: not written, counted.
    CHECK_FALSE(rx.on_datagram(tx.packet(t0), t0 + 48000));
    CHECK_FALSE(rx.on_datagram(tx.packet(t0), t0 - 48000));
    CHECK(rx.stats().out_of_window == 2);
    std::vector<int32_t> got(32);
    CHECK(rx.rings().read(0, t0, got) == 0);
    // An impossible shape makes an invalid core that accepts nothing.
    RxFlowCore none({0, 3, 48000, 192});
    CHECK_FALSE(none.valid());
    CHECK_FALSE(none.on_datagram(tx.packet(t0), t0));
}
