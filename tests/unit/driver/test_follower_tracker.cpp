#include <doctest/doctest.h>

#include <cmath>

#include "clock/media_time.hpp"
#include "driver/follower_tracker.hpp"

using namespace dante;

namespace {
constexpr uint32_t kRate = 48000;
constexpr int64_t kMargin = 1'000'000;

// Another driver runs the graph with cycles of `duration` samples of ITS clock, which is
// `ppm` off the media clock. The adapter's resampler turns each cycle's `duration` input
// frames into duration * rate output frames (fractions carried over), as audioconvert does.
struct Simulation {
    double ppm;
    uint32_t duration = 256;
    FollowerTracker tracker{kRate, kMargin};
    ClockSnapshot clock{};
    double carry = 0;
    double rate = 1.0;
    double worst_late_error = 0;
    uint64_t discontinuities_after_start = 0;

    void run(int cycles) {
        clock.rate = 1.0;
        clock.generation = 1;
        clock.state = ClockState::locked;
        const double period_ns = duration * 1e9 / kRate / (1.0 + ppm * 1e-6);
        for (int i = 0; i < cycles; ++i) {
            const auto nsec = static_cast<int64_t>(1e9 + i * period_ns);
            const double exact = duration * rate + carry;
            const auto frames = static_cast<uint32_t>(exact);
            carry = exact - frames;
            const auto r = tracker.track(clock, nsec, duration, frames);
            rate = r.rate;
            if (i > 0 && r.discontinuity) ++discontinuities_after_start;
            if (i > cycles / 2) worst_late_error = std::max(worst_late_error, std::abs(r.error));
        }
    }
};
}  // namespace

TEST_CASE("following a driver whose clock is 100 ppm fast or slow keeps the lead without re-anchoring") {
    for (double ppm : {-100.0, -10.0, 0.0, 10.0, 100.0}) {
        CAPTURE(ppm);
        Simulation sim{ppm};
        sim.run(20'000);  // 107 s of audio
        CHECK(sim.discontinuities_after_start == 0);
        CHECK(sim.worst_late_error < 2.0);  // samples, once settled
        CHECK(sim.rate == doctest::Approx(1.0 - ppm * 1e-6).epsilon(20e-6));
    }
}

TEST_CASE("without rate correction the error would grow: the simulation can fail") {
    FollowerTracker tracker(kRate, kMargin);
    ClockSnapshot clock{};
    clock.generation = 1;
    double worst = 0;
    uint64_t discontinuities = 0;
    for (int i = 0; i < 40'000; ++i) {  // 100 ppm of 10.24 M samples = 1024, past the 560 bound
        const auto nsec = static_cast<int64_t>(1e9 + i * (256 * 1e9 / kRate / 1.0001));
        const auto r = tracker.track(clock, nsec, 256, 256);  // ignore the returned rate
        worst = std::max(worst, std::abs(r.error));
        if (i > 0 && r.discontinuity) ++discontinuities;
    }
    CHECK(discontinuities > 0);  // 100 ppm uncorrected drifts past the bound and re-anchors
}

TEST_CASE("a clock step re-anchors once and positions stay contiguous otherwise") {
    FollowerTracker tracker(kRate, kMargin);
    ClockSnapshot clock{};
    clock.generation = 1;
    auto a = tracker.track(clock, 1'000'000'000, 256, 256);
    CHECK(a.discontinuity);
    auto b = tracker.track(clock, 1'000'000'000 + samples_to_ns(256, kRate), 256, 256);
    CHECK(!b.discontinuity);
    CHECK(b.position == a.position + 256);
    clock.media_ns += 2'000'000'000;  // the media clock jumped 2 s
    auto c = tracker.track(clock, 1'000'000'000 + samples_to_ns(512, kRate), 256, 256);
    CHECK(c.discontinuity);
    CHECK(tracker.discontinuities() == 1);
}
