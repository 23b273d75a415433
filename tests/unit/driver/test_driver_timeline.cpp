#include <doctest/doctest.h>

#include "clock/media_time.hpp"
#include "driver/driver_timeline.hpp"

using namespace dante;

namespace {
constexpr uint32_t kRate = 48000;
constexpr int64_t kMargin = 1'000'000;  // 48 samples

ClockSnapshot clock_at(int64_t media_ns, int64_t mono_ns, double rate = 1.0, uint64_t generation = 1) {
    ClockSnapshot s;
    s.media_ns = media_ns;
    s.monotonic_ns = mono_ns;
    s.rate = rate;
    s.generation = generation;
    s.state = ClockState::locked;
    return s;
}
}  // namespace

TEST_CASE("the first cycle anchors at media now plus the lead, and its nsec is when media reached position - lead") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(10'000'000'000, 500'000'000);  // media 10 s at mono 0.5 s
    const CyclePlan plan = timeline.plan(clock, 500'000'000, 1024);
    CHECK(plan.discontinuity);
    CHECK(plan.position == 480'000 + 1024 + 48);
    CHECK(plan.lead_ns == samples_to_ns(1024 + 48, kRate));
    CHECK(media_sample_at(clock.media_ns_at(plan.nsec), kRate) == plan.position - 1024 - 48);
    CHECK(plan.nsec <= 500'000'000);
    CHECK(plan.nsec > 500'000'000 - 20'834);  // within one sample period
}

TEST_CASE("positions are contiguous and deadlines follow the media clock's rate, not the system's") {
    DriverTimeline timeline(kRate, kMargin);
    const double rate = 1.0 + 80e-6;  // media clock 80 ppm fast against CLOCK_MONOTONIC
    const auto clock = clock_at(2'000'000'000, 1'000'000'000, rate);
    CyclePlan plan = timeline.plan(clock, 1'000'000'000, 256);
    const uint64_t first = plan.position;
    int64_t first_nsec = plan.nsec;
    for (int i = 1; i <= 1000; ++i) {
        // Wake a little late each time; the timeline must not drift because of it.
        const CyclePlan next = timeline.plan(clock, plan.next_nsec + 30'000, 256);
        CHECK(next.position == plan.position + 256);
        CHECK(!next.discontinuity);
        CHECK(next.nsec == plan.next_nsec);
        CHECK(next.rate_diff == doctest::Approx(rate));
        plan = next;
    }
    // 1000 cycles of 256 samples = 5.333 s of media time = 5.333 s / rate monotonic.
    const double media_span_ns = 1000.0 * 256 * 1e9 / kRate;
    CHECK(static_cast<double>(plan.nsec - first_nsec) == doctest::Approx(media_span_ns / rate).epsilon(1e-9));
    CHECK(plan.position - first == 256'000);
    CHECK(timeline.discontinuities() == 0);
}

TEST_CASE("quantum changes keep positions contiguous") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    CyclePlan a = timeline.plan(clock, 0, 1024);
    CyclePlan b = timeline.plan(clock, a.next_nsec, 256);
    CHECK(b.position == a.position + 1024);
    CHECK(!b.discontinuity);
    CyclePlan c = timeline.plan(clock, b.next_nsec, 2048);
    CHECK(c.position == b.position + 256);
    CHECK(c.lead_ns == samples_to_ns(2048 + 48, kRate));
}

TEST_CASE("a stall longer than a few quanta re-anchors instead of replaying the past") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    CyclePlan a = timeline.plan(clock, 0, 256);
    // Short lateness (2 quanta): catch up contiguously.
    CyclePlan b = timeline.plan(clock, a.next_nsec + samples_to_ns(512, kRate), 256);
    CHECK(b.position == a.position + 256);
    CHECK(!b.discontinuity);
    // The process was stopped for half a second.
    CyclePlan c = timeline.plan(clock, b.next_nsec + 500'000'000, 256);
    CHECK(c.discontinuity);
    CHECK(c.position == media_sample_at(clock.media_ns_at(b.next_nsec + 500'000'000), kRate) + 256 + 48);
    CHECK(timeline.discontinuities() == 1);
}

TEST_CASE("a clock step re-anchors; a small correction with a new generation does not") {
    DriverTimeline timeline(kRate, kMargin);
    CyclePlan a = timeline.plan(clock_at(0, 0, 1.0, 1), 0, 256);
    // New generation but the correlation moved by 100 us: keep going, deadlines absorb it.
    const auto nudged = clock_at(100'000, 0, 1.0, 2);
    CyclePlan b = timeline.plan(nudged, a.next_nsec, 256);
    CHECK(!b.discontinuity);
    CHECK(b.position == a.position + 256);
    CHECK(media_sample_at(nudged.media_ns_at(b.nsec), kRate) == b.position - 256 - 48);
    // The leader changed and media time jumped by 10 s.
    const auto stepped = clock_at(10'000'000'000, 0, 1.0, 3);
    CyclePlan c = timeline.plan(stepped, b.next_nsec, 256);
    CHECK(c.discontinuity);
    CHECK(c.position > b.position + 400'000);
    // reset() (node restarted) starts fresh without counting a discontinuity of the stream.
    timeline.reset();
    CHECK(timeline.plan(stepped, c.next_nsec, 256).discontinuity);
    CHECK(timeline.discontinuities() == 1);
}

TEST_CASE("a restart soon after a stop continues after the last cycle instead of overwriting it") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    CyclePlan plan = timeline.plan(clock, 0, 1024);
    for (int i = 0; i < 10; ++i) plan = timeline.plan(clock, plan.next_nsec, 1024);
    const uint64_t end = plan.position + 1024;
    // Stopped and started again right away (a suspend for a rate or quantum change): media
    // now + lead lies before the end of what the last cycle wrote.
    timeline.reset();
    const CyclePlan restart = timeline.plan(clock, plan.nsec + 1'000'000, 1024);
    CHECK(restart.discontinuity);
    CHECK(restart.position == end);
    CHECK(restart.nsec >= plan.nsec + 1'000'000);  // its deadline waits until it is due

    // A restart long after: anchors at media now + lead as the first start did.
    timeline.reset();
    const int64_t later = restart.nsec + 5'000'000'000;
    const CyclePlan fresh = timeline.plan(clock, later, 1024);
    CHECK(fresh.position == media_sample_at(clock.media_ns_at(later), kRate) + 1024 + 48);

    // After a clock step (new generation) the old end means nothing.
    timeline.reset();
    const auto stepped = clock_at(-1'000'000'000, 0, 1.0, 2);
    const CyclePlan after_step = timeline.plan(stepped, fresh.nsec, 1024);
    CHECK(after_step.position == media_sample_at(stepped.media_ns_at(fresh.nsec), kRate) + 1024 + 48);
}

TEST_CASE("a cycle that really lasted another quantum (0.3.65 applies it late) is followed contiguously") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    CyclePlan plan = timeline.plan(clock, 0, 2048);
    plan = timeline.plan(clock, plan.next_nsec, 2048);  // planned with 2048, ran 256
    timeline.correct_last_duration(256);
    const CyclePlan shorter = timeline.plan(clock, plan.next_nsec, 256);
    CHECK(shorter.position == plan.position + 256);
    CHECK(!shorter.discontinuity);
    timeline.correct_last_duration(2048);                  // planned with 256, ran 2048
    const CyclePlan longer = timeline.plan(clock, shorter.next_nsec, 2048);
    CHECK(longer.position == shorter.position + 2048);
    CHECK(!longer.discontinuity);
    CHECK(timeline.discontinuities() == 0);
}
