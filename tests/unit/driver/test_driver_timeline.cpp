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

TEST_CASE("a quantum that shrinks a lot waits for its shorter lead instead of re-anchoring over written audio") {
    // PipeWire 1.4 with clock.force-quantum 256 under a 2048 graph: the timer armed for the
    // 2048 quantum wakes 1792 samples before a contiguous 256-sample cycle may start.
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    const CyclePlan a = timeline.plan(clock, 0, 2048);
    CHECK(timeline.wait_ns(clock, a.next_nsec, 2048) == 0);  // same quantum: on time
    CHECK(timeline.wait_ns(clock, a.next_nsec, 4096) == 0);  // growing: run now, late is fine
    const int64_t wait = timeline.wait_ns(clock, a.next_nsec, 256);
    CHECK(wait == doctest::Approx(static_cast<double>(samples_to_ns(1792, kRate))).epsilon(1e-6));
    const CyclePlan b = timeline.plan(clock, a.next_nsec + wait, 256);
    CHECK(b.position == a.position + 2048);
    CHECK(!b.discontinuity);
    CHECK(b.nsec <= a.next_nsec + wait);
    CHECK(b.nsec > a.next_nsec + wait - 20'834);  // the contract holds: started on time
    CHECK(timeline.wait_ns(clock, b.next_nsec, 256) == 0);
    CHECK(timeline.discontinuities() == 0);
}

TEST_CASE("a shrunk quantum planned without waiting still continues after the written audio") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    const CyclePlan a = timeline.plan(clock, 0, 8192);
    const CyclePlan b = timeline.plan(clock, a.next_nsec, 32);
    CHECK(b.position == a.position + 8192);
    CHECK(!b.discontinuity);
}

TEST_CASE("a restart with a much smaller quantum waits and continues after the written audio") {
    // PipeWire 1.4 suspends and restarts the driver for clock.force-quantum 256 under 2048.
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    CyclePlan a = timeline.plan(clock, 0, 2048);
    a = timeline.plan(clock, a.next_nsec, 2048);
    timeline.reset();
    const int64_t now = a.next_nsec + 2'000'000;  // restarted 2 ms after the cycle was due
    const int64_t wait = timeline.wait_ns(clock, now, 256);
    CHECK(wait > 0);
    const CyclePlan b = timeline.plan(clock, now + wait, 256);
    CHECK(b.position == a.position + 2048);
    CHECK(b.nsec <= now + wait);
    CHECK(b.nsec > now + wait - 20'834);
}

TEST_CASE("a restart later than the lead allows anchors afresh: a gap, never audio written behind the lead") {
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    const CyclePlan a = timeline.plan(clock, 0, 2048);
    const uint64_t end = a.position + 2048;
    const int64_t end_due = clock.monotonic_ns_at(media_ns_of_sample(end, kRate));  // the transmitter sends it then

    // Paused for a quantum change and restarted with 256 frames 1 ms before that end is
    // sent: continuing there would render it with less than the lead (304 samples) to go.
    timeline.reset();
    const int64_t now = end_due - 1'000'000;
    CHECK(timeline.wait_ns(clock, now, 256) == 0);
    const CyclePlan b = timeline.plan(clock, now, 256);
    CHECK(b.position == media_sample_at(clock.media_ns_at(now), kRate) + 256 + 48);
    CHECK(b.position > end);  // a gap of silence
    CHECK(b.nsec <= now);
}

TEST_CASE("a restart right after a long cycle began waits and continues after it") {
    // Seen on PipeWire 1.4: stopped 3 ms after a 2048-frame cycle began, restarted at once
    // with 256 frames: the end of that cycle is 2048 + its lead ahead of media now.
    DriverTimeline timeline(kRate, kMargin);
    const auto clock = clock_at(0, 0);
    const CyclePlan a = timeline.plan(clock, 0, 2048);
    timeline.reset();
    const int64_t now = a.nsec + 3'300'000;
    const int64_t wait = timeline.wait_ns(clock, now, 256);
    CHECK(wait > 70'000'000);  // 3840 - 48 samples, less the 3.3 ms
    const CyclePlan b = timeline.plan(clock, now + wait, 256);
    CHECK(b.position == a.position + 2048);
    // Planned without the wait, it still never goes back over the written audio.
    timeline.reset();
    const CyclePlan c = timeline.plan(clock, b.nsec + 100'000, 256);
    CHECK(c.position == b.position + 256);
}

TEST_CASE("no wait across a clock step or beyond what the lead shrank by") {
    DriverTimeline timeline(kRate, kMargin);
    const CyclePlan a = timeline.plan(clock_at(0, 0), 0, 2048);
    // A new generation: plan() decides whether it is a step.
    CHECK(timeline.wait_ns(clock_at(0, 0, 1.0, 2), a.next_nsec, 256) == 0);
    // The media clock went back by a second within the same generation: not a shrunk lead.
    CHECK(timeline.wait_ns(clock_at(-1'000'000'000, 0), a.next_nsec, 256) == 0);
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
    // What the stall skipped, for spa_io_clock.xrun: half a second of the timeline.
    CHECK(b.skipped == 0);
    CHECK(c.skipped == c.position - (b.position + 256));
    CHECK(c.skipped == 24'000);
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
