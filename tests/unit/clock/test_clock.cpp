#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <thread>

#include "clock/clock_snapshot.hpp"
#include "clock/deferred_clock.hpp"
#include "clock/media_time.hpp"
#include "clock/seqlock.hpp"
#include "clock/tai_clock.hpp"

using namespace dante;

TEST_CASE("media time and sample indices convert exactly, also at large epochs") {
    CHECK(media_sample_at(1'000'000'000, 48000) == 48000);
    CHECK(media_sample_at(999'999'999, 48000) == 47999);
    CHECK(media_ns_of_sample(48000, 48000) == 1'000'000'000);
    CHECK(media_ns_of_sample(1, 48000) == 20834);  // ceil(20833.33)
    // 2026 as TAI ns times 192 kHz overflows 64 bits; the conversions must not.
    const int64_t tai_2026 = 1'795'000'000'000'000'000;
    const uint64_t index = media_sample_at(tai_2026, 192000);
    CHECK(index == 1'795'000'000ull * 192000ull);
    CHECK(media_sample_at(media_ns_of_sample(index + 7, 192000), 192000) == index + 7);
    for (uint64_t i = 0; i < 1000; ++i) {
        const uint64_t s = 86'400'000'000ull + i * 7919;
        CHECK(media_sample_at(media_ns_of_sample(s, 44100), 44100) == s);
        CHECK(media_sample_at(media_ns_of_sample(s, 44100) - 1, 44100) == s - 1);
    }
    CHECK(samples_to_ns(48, 48000) == 1'000'000);
    CHECK(ns_to_samples_ceil(1'000'000, 48000) == 48);
    CHECK(ns_to_samples_ceil(1'000'001, 48000) == 49);
}

TEST_CASE("the split-at-seconds conversions equal the plain 128-bit formulas") {
    uint64_t x = 0x243F6A8885A308D3ull;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    for (uint32_t rate : {44100u, 48000u, 88200u, 96000u, 192000u, 384000u}) {
        for (int i = 0; i < 20000; ++i) {
            // Up to ~2^62 ns (146 years) and indices whose ns still fit an int64.
            const auto ns = static_cast<int64_t>(next() >> (2 + i % 40));
            CHECK(media_sample_at(ns, rate) == static_cast<uint64_t>((static_cast<u128>(ns) * rate) / 1'000'000'000u));
            CHECK(ns_to_samples_ceil(ns, rate) ==
                  static_cast<int64_t>((static_cast<i128>(ns) * rate + 999'999'999) / 1'000'000'000));
            CHECK(ns_to_samples_ceil(-ns, rate) ==
                  static_cast<int64_t>((static_cast<i128>(-ns) * rate + 999'999'999) / 1'000'000'000));
            const uint64_t index = media_sample_at(ns, rate) + (next() & 0xFFFF);
            CHECK(media_ns_of_sample(index, rate) ==
                  static_cast<int64_t>((static_cast<u128>(index) * 1'000'000'000u + rate - 1) / rate));
        }
    }
}

TEST_CASE("a snapshot maps monotonic instants to media time and back") {
    ClockSnapshot s;
    s.media_ns = 5'000'000'000'000;
    s.monotonic_ns = 1'000'000'000;
    s.rate = 1.0001;  // media runs 100 ppm fast
    CHECK(s.media_ns_at(2'000'000'000) == 5'000'000'000'000 + 1'000'100'000);
    CHECK(s.monotonic_ns_at(s.media_ns_at(1'234'567'890)) == 1'234'567'890);
    CHECK(s.media_ns_at(s.monotonic_ns) == s.media_ns);
}

TEST_CASE("seqlock readers always see a value written as a whole") {
    struct Pair {
        uint64_t a, b, c;
    };
    SeqLock<Pair> lock(Pair{0, 0, 0});
    std::atomic<bool> done{false};
    std::atomic<bool> reader_ready{false};
    std::thread writer([&] {
        while (!reader_ready) std::this_thread::yield();  // overlap the two, even on a busy machine
        for (uint64_t i = 1; i < 300'000; ++i) lock.store(Pair{i, i * 3, i * 7});
        done = true;
    });
    uint64_t torn = 0;
    uint64_t reads = 0;
    reader_ready = true;
    while (!done || reads == 0) {
        const Pair p = lock.load();
        if (p.b != p.a * 3 || p.c != p.a * 7) ++torn;
        ++reads;
    }
    writer.join();
    CHECK(torn == 0);
    CHECK(reads > 0);
    CHECK(lock.load().a == 299'999);
}

namespace {
// A reference clock the test scripts: each read returns the next queued pair.
class ScriptedReference : public ReferenceClock {
public:
    std::deque<Pair> pairs;
    bool synced = true;
    Pair read_pair() override {
        Pair p = pairs.front();
        if (pairs.size() > 1) pairs.pop_front();
        return p;
    }
    bool disciplined() override { return synced; }
};
}  // namespace

TEST_CASE("TAI clock publishes the reference offset and bumps the generation on steps only") {
    auto ref = std::make_unique<ScriptedReference>();
    auto* script = ref.get();
    script->pairs = {{1'000'000'000, 37'000'000'000'000}};
    TaiClock clock(std::move(ref));
    ClockSnapshot s = clock.snapshot();
    CHECK(s.generation == 1);
    CHECK(s.state == ClockState::locked);
    CHECK(s.media_ns_at(1'500'000'000) == 37'000'500'000'000);
    CHECK(clock.source_name() == "tai");

    // One second later, 20 us of slew: not a discontinuity.
    script->pairs = {{2'000'000'000, 37'001'000'020'000}};
    clock.update();
    s = clock.snapshot();
    CHECK(s.generation == 1);
    CHECK(s.offset_ns == 20'000);

    // Someone stepped the clock by 5 ms: a new generation, clients must re-anchor.
    script->pairs = {{3'000'000'000, 37'002'005'020'000}};
    clock.update();
    s = clock.snapshot();
    CHECK(s.generation == 2);
    CHECK(s.media_ns_at(3'000'000'000) == 37'002'005'020'000);

    // Losing discipline is reported as free-running, and is a discontinuity too.
    script->synced = false;
    script->pairs = {{4'000'000'000, 37'003'005'020'000}};
    clock.update();
    CHECK(clock.snapshot().state == ClockState::free_running);
    CHECK(clock.snapshot().generation == 3);
}

TEST_CASE("the system TAI reference reads a tight, plausible pair") {
    auto ref = make_system_tai_reference();
    const auto a = ref->read_pair();
    const auto b = ref->read_pair();
    CHECK(b.monotonic_ns >= a.monotonic_ns);
    // TAI and MONOTONIC advance together: the offset moves by far less than a millisecond.
    const int64_t drift = (b.reference_ns - b.monotonic_ns) - (a.reference_ns - a.monotonic_ns);
    CHECK(std::llabs(drift) < 1'000'000);
    CHECK(to_string(ClockState::free_running) == "free-running");
}

TEST_CASE("a deferred clock reads unsynchronized with the reason until its opener succeeds") {
    int attempts = 0;
    bool allow = false;
    DeferredClock clock("phc:/dev/ptp9", [&](std::string& error) -> std::unique_ptr<MediaClock> {
        ++attempts;
        if (!allow) {
            error = "Permission denied";
            return nullptr;
        }
        return std::make_unique<TaiClock>(make_system_tai_reference());
    });
    CHECK(attempts == 1);
    CHECK(!clock.is_open());
    CHECK(clock.snapshot().state == ClockState::unsynchronized);
    CHECK(clock.source_name() == "phc:/dev/ptp9");
    CHECK(clock.problem().find("phc:/dev/ptp9: Permission denied") != std::string::npos);
    clock.update();  // within the retry interval: no new attempt
    CHECK(attempts == 1);
}

TEST_CASE("a deferred clock retries from update() and, once open, is the clock it opened") {
    int attempts = 0;
    bool allow = false;
    DeferredClock clock(
        "phc:/dev/ptp9",
        [&](std::string& error) -> std::unique_ptr<MediaClock> {
            ++attempts;
            if (!allow) {
                error = "Permission denied";
                return nullptr;
            }
            return std::make_unique<TaiClock>(make_system_tai_reference());
        },
        0);
    clock.update();
    CHECK(attempts == 2);
    CHECK(!clock.problem().empty());
    allow = true;
    clock.update();
    CHECK(attempts == 3);
    REQUIRE(clock.is_open());
    CHECK(clock.problem().empty());
    CHECK(clock.snapshot().state != ClockState::unsynchronized);
    clock.update();
    CHECK(attempts == 3);
}
