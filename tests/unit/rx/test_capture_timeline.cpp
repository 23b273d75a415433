// CaptureTimeline: which Dante timestamps a receiving node outputs per cycle
// (src/rx/capture_timeline.hpp).
#include <doctest/doctest.h>

#include "clock/media_time.hpp"
#include "rx/capture_timeline.hpp"

using namespace dante;

namespace {

constexpr uint32_t kRate = 48000;
constexpr int64_t kMarginNs = 1'000'000;   // 48 frames
constexpr int64_t kLatencyNs = 4'000'000;  // 192 frames

ClockSnapshot locked_clock(int64_t media_ns_at_zero) {
    ClockSnapshot s;
    s.monotonic_ns = 0;
    s.media_ns = media_ns_at_zero;
    s.rate = 1.0;
    s.generation = 1;
    s.state = ClockState::locked;
    return s;
}

}  // namespace

TEST_CASE("CaptureTimeline: driven by our sink, the offset is 2 quanta + margin + latency, exactly") {
    CaptureTimeline timeline(kRate, kMarginNs, kLatencyNs);
    CHECK(timeline.offset(1024) == 2048 + 48 + 192);
    CHECK(timeline.offset(256) == 512 + 240);
    const uint64_t start = 480'000'000;
    const CaptureCycle first = timeline.driven(start, 1024);
    CHECK(first.read_position == start - 2288);
    CHECK(first.offset == 2288);
    CHECK(first.discontinuity);  // the first cycle anchors
    const CaptureCycle second = timeline.driven(start + 1024, 1024);
    CHECK(second.read_position == first.read_position + 1024);
    CHECK_FALSE(second.discontinuity);
    // The graph's position jumped (the sink re-anchored): counted.
    const CaptureCycle jumped = timeline.driven(start + 10'000, 1024);
    CHECK(jumped.discontinuity);
    CHECK(timeline.discontinuities() == 1);
    // A position too early to go back that far reads nothing (timestamp 0: silence).
    CaptureTimeline early(kRate, kMarginNs, kLatencyNs);
    CHECK(early.driven(100, 1024).read_position == 0);
}

TEST_CASE("CaptureTimeline: following another driver, positions come from the media clock and stay contiguous") {
    CaptureTimeline timeline(kRate, kMarginNs, kLatencyNs);
    const ClockSnapshot clock = locked_clock(10'000'000'000);  // media 10 s at monotonic 0
    const int64_t cycle_ns = samples_to_ns(1024, kRate);
    const CaptureCycle first = timeline.following(clock, 0, 1024);
    // Graph position = media now + margin + one quantum, as if our sink drove.
    const uint64_t graph = media_sample_at(10'000'000'000 + kMarginNs, kRate) + 1024;
    CHECK(first.read_position == graph - timeline.offset(1024));
    // The other driver's cycles wobble and drift a little: contiguous all the same.
    uint64_t expected = first.read_position;
    for (int i = 1; i < 50; ++i) {
        const int64_t wobble = (i % 3 - 1) * 200'000;  // +-0.2 ms
        const CaptureCycle c = timeline.following(clock, i * cycle_ns + wobble, 1024);
        expected += 1024;
        CHECK(c.read_position == expected);
        CHECK_FALSE(c.discontinuity);
    }
    CHECK(timeline.discontinuities() == 0);
    // Drifted past half a quantum: it re-anchors, once.
    const CaptureCycle far = timeline.following(clock, 50 * cycle_ns + samples_to_ns(600, kRate), 1024);
    CHECK(far.discontinuity);
    CHECK(timeline.discontinuities() == 1);
    // An unusable clock: nothing to read, and the next usable cycle anchors afresh.
    ClockSnapshot lost = clock;
    lost.state = ClockState::unsynchronized;
    CHECK(timeline.following(lost, 51 * cycle_ns, 1024).read_position == 0);
    CHECK(timeline.following(clock, 52 * cycle_ns, 1024).discontinuity);
}
