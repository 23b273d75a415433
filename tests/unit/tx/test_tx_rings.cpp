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

namespace {
// The sample every write puts at (position, channel): never 0, so silence is distinguishable.
int32_t pattern(uint64_t position, uint32_t channel) {
    uint64_t x = position * 4 + channel + 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return static_cast<int32_t>(x | 1);
}

// pattern() for positions modulo a prime period (longer than any ring here, so one lap
// back never has the same sample), with room past the end for a whole write: the writer
// points its planes straight into it and spends its time in write(), racing the reader.
constexpr uint64_t kPeriod = 100'003;
struct PatternTable {
    std::vector<std::vector<int32_t>> channel;
    PatternTable(uint32_t channels, uint32_t max_write) : channel(channels) {
        for (uint32_t c = 0; c < channels; ++c)
            for (uint64_t i = 0; i < kPeriod + max_write; ++i) channel[c].push_back(pattern(i % kPeriod, c));
    }
    const int32_t* at(uint64_t position, uint32_t c) const { return channel[c].data() + position % kPeriod; }
    int32_t sample(uint64_t position, uint32_t c) const { return channel[c][position % kPeriod]; }
};

struct Lcg {
    uint64_t s;
    uint32_t next(uint32_t n) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>((s >> 33) % n);
    }
};
}  // namespace

TEST_CASE("stress: unaligned writes, rewrites and laps race a reader: every frame is its own sample or silence") {
    // A small ring so the writer laps it constantly; writes of 1..300 frames at any
    // alignment, and now and then a step back that rewrites positions already published
    // (the follower re-anchoring). The reader reads windows from two laps back to past
    // the write head: every frame must be exactly that position's sample, or 0.
    constexpr uint32_t kChannels = 3;
    constexpr uint64_t kReads = 300'000;  // the writer runs until the reader is done
    TxRings rings(kChannels, 256);
    const PatternTable table(kChannels, 300);
    std::atomic<uint64_t> head{0};
    std::atomic<bool> done{false};
    std::atomic<bool> reader_ready{false};
    std::thread writer([&] {
        while (!reader_ready) std::this_thread::yield();
        Lcg rng{1};
        uint64_t pos = 1'000'000;
        while (!done.load(std::memory_order_relaxed)) {
            if (rng.next(16) == 0) pos -= std::min<uint64_t>(pos, rng.next(200));
            const uint32_t n = 1 + rng.next(300);
            std::array<const int32_t*, kChannels> planes{};
            for (uint32_t c = 0; c < kChannels; ++c) planes[c] = table.at(pos, c);
            rings.write(pos, planes, n);
            pos += n;
            head.store(pos, std::memory_order_release);
        }
    });
    Lcg rng{2};
    std::vector<int32_t> out(300);
    uint64_t bad = 0, real = 0, reads = 0;
    reader_ready = true;
    while (reads < kReads) {
        const uint64_t h = head.load(std::memory_order_acquire);
        if (h < 1'000'000 + 600) continue;
        const uint64_t start = h - 512 + rng.next(600);
        const uint32_t n = 1 + rng.next(300);
        const uint32_t c = rng.next(kChannels);
        const std::span<int32_t> window(out.data(), n);
        const uint32_t got = rings.read(c, start, window);
        uint32_t nonzero = 0;
        for (uint32_t i = 0; i < n; ++i) {
            if (window[i] == 0) continue;
            ++nonzero;
            if (window[i] != table.sample(start + i, c)) ++bad;
        }
        if (nonzero != got) ++bad;  // the count matches what came back
        real += got;
        ++reads;
    }
    done = true;
    writer.join();
    CHECK(bad == 0);
    CHECK(real > 0);
}

TEST_CASE("stress: a reader racing an appending writer never loses a published frame") {
    // The steady state: each cycle continues where the last ended (any size, any
    // alignment), so blocks are shared between the cycle being written and frames already
    // published. Frames published before a read and not yet reachable by the next lap
    // must all come back real, even while the writer appends to the same block.
    constexpr uint32_t kChannels = 2;
    constexpr uint32_t kCapacity = 4096;
    constexpr uint32_t kMaxWrite = 300;
    TxRings rings(kChannels, kCapacity);
    const PatternTable table(kChannels, kMaxWrite);
    std::atomic<uint64_t> head{0};
    std::atomic<bool> done{false};
    std::atomic<bool> reader_ready{false};
    std::thread writer([&] {
        while (!reader_ready) std::this_thread::yield();
        Lcg rng{3};
        uint64_t pos = 77;
        while (!done.load(std::memory_order_relaxed)) {
            const uint32_t n = 1 + rng.next(kMaxWrite);
            std::array<const int32_t*, kChannels> planes{};
            for (uint32_t c = 0; c < kChannels; ++c) planes[c] = table.at(pos, c);
            rings.write(pos, planes, n);
            pos += n;
            head.store(pos, std::memory_order_release);
        }
    });
    Lcg rng{4};
    std::vector<int32_t> out(256);
    uint64_t bad = 0, lost = 0, checked = 0;
    reader_ready = true;
    uint64_t reads = 0;
    while (reads < 300'000) {
        const uint64_t h = head.load(std::memory_order_acquire);
        const uint32_t n = 1 + rng.next(256);
        const uint64_t back = n + rng.next(64);  // right behind the head, in the block being appended to
        if (h < 77 + back) continue;
        ++reads;
        const uint64_t start = h - back;
        const uint32_t c = rng.next(kChannels);
        const uint32_t got = rings.read(c, start, std::span<int32_t>(out.data(), n));
        for (uint32_t i = 0; i < n; ++i)
            if (out[i] != 0 && out[i] != table.sample(start + i, c)) ++bad;
        // Only if the writer cannot have started to overwrite the window's blocks since.
        const uint64_t h2 = head.load(std::memory_order_acquire);
        const uint64_t reach = h2 + kMaxWrite + TxRings::kBlockFrames;  // block-rounded
        if (reach <= start + kCapacity) {
            ++checked;
            if (got != n) ++lost;
        }
    }
    done = true;
    writer.join();
    CHECK(bad == 0);
    CHECK(lost == 0);
    CHECK(checked > 0);
}
