#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "tx/tx_rings.hpp"

using dante::TxRings;

namespace {
std::vector<int32_t> ramp(int32_t start, uint32_t n) {
    std::vector<int32_t> v(n);
    for (uint32_t i = 0; i < n; ++i) v[i] = start + static_cast<int32_t>(i);
    return v;
}
}  // namespace

TEST_CASE("rings return exactly what was written at a position") {
    TxRings rings(2, 1024);
    auto left = ramp(1000, 256);
    auto right = ramp(-5000, 256);
    std::array<const int32_t*, 2> planes{left.data(), right.data()};
    rings.write(1'000'000'000ull, planes, 256);

    std::vector<int32_t> out(256);
    CHECK(rings.read(0, 1'000'000'000ull, out) == 256);
    CHECK(out == left);
    CHECK(rings.read(1, 1'000'000'000ull, out) == 256);
    CHECK(out == right);

    // A window straddling the written block: real audio inside, silence outside.
    std::vector<int32_t> window(16);
    CHECK(rings.read(0, 1'000'000'000ull - 8, window) == 8);
    for (int i = 0; i < 8; ++i) CHECK(window[i] == 0);
    for (int i = 8; i < 16; ++i) CHECK(window[i] == left[i - 8]);
}

TEST_CASE("holes the graph never wrote read as silence") {
    TxRings rings(1, 64);
    auto a = ramp(1, 8);
    std::array<const int32_t*, 1> p{a.data()};
    rings.write(100, p, 8);
    rings.write(120, p, 8);  // leaves 108..119 unwritten
    std::vector<int32_t> out(28);
    CHECK(rings.read(0, 100, out) == 16);
    for (int i = 8; i < 20; ++i) CHECK(out[i] == 0);
    CHECK(out[20] == 1);
}

TEST_CASE("a slot overwritten by a later lap is never returned for the old position") {
    TxRings rings(1, 64);  // 64 frames
    auto first = ramp(1, 64);
    auto second = ramp(1000, 64);
    std::array<const int32_t*, 1> p1{first.data()};
    std::array<const int32_t*, 1> p2{second.data()};
    rings.write(0, p1, 64);
    rings.write(64, p2, 64);  // same slots, one lap later
    std::vector<int32_t> out(64);
    CHECK(rings.read(0, 0, out) == 0);  // stale audio must not be repeated
    for (int32_t v : out) CHECK(v == 0);
    CHECK(rings.read(0, 64, out) == 64);
    CHECK(out == second);
}

TEST_CASE("a write longer than the ring keeps its newest frames") {
    TxRings rings(1, 16);
    auto big = ramp(0, 40);
    std::array<const int32_t*, 1> p{big.data()};
    rings.write(500, p, 40);
    std::vector<int32_t> out(16);
    CHECK(rings.read(0, 524, out) == 16);
    CHECK(out == std::vector<int32_t>(big.begin() + 24, big.end()));
    CHECK(rings.read(0, 500, out) == 0);
    std::vector<int32_t> wide(40, 7);  // a read wider than the ring: the rest is silence
    CHECK(rings.read(0, 524, wide) == 16);
    CHECK(std::vector<int32_t>(wide.begin(), wide.begin() + 16) == std::vector<int32_t>(big.begin() + 24, big.end()));
    for (size_t i = 16; i < wide.size(); ++i) CHECK(wide[i] == 0);
}

TEST_CASE("null planes write silence and out-of-range channels read silence") {
    TxRings rings(2, 32);
    auto a = ramp(7, 4);
    std::array<const int32_t*, 2> p{a.data(), nullptr};
    rings.write(10, p, 4);
    std::vector<int32_t> out(4, 99);
    CHECK(rings.read(1, 10, out) == 4);  // written, as silence
    for (int32_t v : out) CHECK(v == 0);
    CHECK(rings.read(5, 10, out) == 0);
    CHECK(rings.capacity() == 32);
}

TEST_CASE("a concurrent reader never sees a frame from the wrong position") {
    // Each sample encodes its own position, so any torn or stale frame is detectable.
    TxRings rings(2, 256);
    std::atomic<bool> done{false};
    std::atomic<uint64_t> written_end{0};
    std::atomic<uint64_t> bad{0};
    std::atomic<uint64_t> real{0};
    std::atomic<bool> reader_ready{false};
    std::thread writer([&] {
        while (!reader_ready) std::this_thread::yield();  // overlap the two, even on a busy machine
        std::vector<int32_t> block(32);
        for (uint64_t pos = 0; pos < 200'000; pos += 32) {
            for (uint32_t i = 0; i < 32; ++i) block[i] = static_cast<int32_t>((pos + i) & 0x7fffffff);
            std::array<const int32_t*, 2> p{block.data(), block.data()};
            rings.write(pos, p, 32);
            written_end.store(pos + 32, std::memory_order_release);
        }
        done = true;
    });
    std::vector<int32_t> out(64);
    reader_ready = true;
    while (!done || real.load() == 0) {
        const uint64_t end = written_end.load(std::memory_order_acquire);
        const uint64_t start = end > 200 ? end - 200 : 0;  // chase the writer, sometimes into the lap it overwrites
        for (uint32_t c = 0; c < 2; ++c) {
            real += rings.read(c, start, out);
            for (uint32_t i = 0; i < out.size(); ++i)
                if (out[i] != 0 && out[i] != static_cast<int32_t>((start + i) & 0x7fffffff)) ++bad;
        }
    }
    writer.join();
    CHECK(bad.load() == 0);
    CHECK(real.load() > 0);
}
