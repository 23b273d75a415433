// The PI servo on its own, and the PTP media clock's states and generations.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "ptp/pi_servo.hpp"
#include "ptp/ptp_media_clock.hpp"

using namespace dante::ptp;
using dante::ClockState;

namespace {

// A clock disciplined by the servo against a master that runs `ppm` faster than our
// local time: offset(t) = our(t) - master(t).
struct Loop {
    PiServo servo;
    double ppm;
    double our_phase = 0;  // ns, our clock minus the master's
    double rate = 1.0;
    Loop(double ppm_, double start_offset, double interval_s) : servo({}, interval_s), ppm(ppm_), our_phase(start_offset) {}
    ServoOutput step(int64_t local_ns, double interval_ns) {
        const ServoOutput out = servo.sample(std::llround(our_phase), local_ns);
        rate = out.rate;
        if (out.step_ns) our_phase -= static_cast<double>(*out.step_ns);
        // Next interval: we advance at `rate`, the master at 1 + ppm.
        our_phase += interval_ns * (rate - (1.0 + ppm * 1e-6));
        return out;
    }
};

}  // namespace

TEST_CASE("PI servo: estimates the frequency, steps once, then holds the offset near zero") {
    constexpr double kInterval = 125'000'000;
    Loop loop(+100.0, 5'000'000.0, kInterval / 1e9);  // 5 ms off, master 100 ppm fast
    // The first estimate waits for a 1 s baseline (min_estimate_span_s): 8 intervals.
    for (int i = 0; i < 8; ++i)
        CHECK(loop.step(static_cast<int64_t>(i * kInterval), kInterval).state == ServoState::unlocked);
    const ServoOutput second = loop.step(static_cast<int64_t>(8 * kInterval), kInterval);
    CHECK(second.state == ServoState::jump);
    REQUIRE(second.step_ns.has_value());
    // The frequency estimate from the first and the 1-s-later sample is already right to
    // well under a ppm.
    CHECK(std::abs(second.rate - 1.0001) < 1e-7);
    int steps = 0;
    for (int i = 9; i < 200; ++i) {
        const ServoOutput out = loop.step(static_cast<int64_t>(i * kInterval), kInterval);
        CHECK(out.state == ServoState::locked);
        steps += out.step_ns ? 1 : 0;
    }
    CHECK(steps == 0);
    CHECK(std::abs(loop.our_phase) < 1.0);
    CHECK(std::abs(loop.rate - 1.0001) < 1e-9);
}

TEST_CASE("PI servo: small initial offsets are slewed, not stepped; gains follow the interval") {
    // Hardware-timestamp gains (the default, see PiServoConfig): kp = min(0.7, 1/T), ki = min(0.3, 2/T).
    PiServo hardware({}, 1.0);
    CHECK(hardware.kp() == doctest::Approx(0.7));
    CHECK(hardware.ki() == doctest::Approx(0.3));
    hardware.set_interval(4.0);  // long intervals: the normalised limits take over
    CHECK(hardware.kp() == doctest::Approx(0.25));
    CHECK(hardware.ki() == doctest::Approx(0.3));
    // Software-timestamp gains: kp = min(0.1 T^-0.3, 0.7/T), ki = min(0.001 T^0.4, 0.3/T).
    PiServo servo(PiServoConfig::software_timestamps(), 1.0);
    CHECK(servo.kp() == doctest::Approx(0.1));
    CHECK(servo.ki() == doctest::Approx(0.001));
    servo.set_interval(0.125);
    CHECK(servo.kp() == doctest::Approx(0.1 * std::pow(0.125, -0.3)));
    CHECK(servo.ki() == doctest::Approx(0.001 * std::pow(0.125, 0.4)));
    servo.set_interval(1.0);
    servo.sample(5'000, 0);
    const ServoOutput out = servo.sample(5'000, 1'000'000'000);
    CHECK(out.state == ServoState::locked);
    CHECK_FALSE(out.step_ns.has_value());
}

TEST_CASE("PI servo: one outlier is ignored, a persistent jump re-acquires with a step") {
    PiServoConfig config;
    config.min_estimate_span_s = 0;  // two samples suffice here: the outlier logic is under test
    PiServo servo(config, 0.125);
    servo.sample(0, 0);
    servo.sample(0, 125'000'000);
    const double locked_rate = servo.sample(10, 250'000'000).rate;
    // A single 5 ms outlier: ignored, the rate does not move.
    const ServoOutput outlier = servo.sample(5'000'000, 375'000'000);
    CHECK(outlier.state == ServoState::locked);
    CHECK_FALSE(outlier.step_ns.has_value());
    CHECK(outlier.rate == doctest::Approx(locked_rate));
    // The master really jumped by 5 ms: after kOutlierRun samples, unlock and re-acquire.
    servo.sample(5'000'000, 500'000'000);
    const ServoOutput third = servo.sample(5'000'000, 625'000'000);
    CHECK(third.state == ServoState::unlocked);
    const ServoOutput reacquired = servo.sample(5'000'000, 750'000'000);
    CHECK(reacquired.state == ServoState::jump);
    REQUIRE(reacquired.step_ns.has_value());
    CHECK(*reacquired.step_ns == 5'000'000);
}

TEST_CASE("PI servo: the frequency correction is bounded") {
    PiServo servo({}, 1.0);
    servo.sample(0, 0);
    const ServoOutput out = servo.sample(10'000'000, 1'000'000'000);  // 10 ms/s = 10000 ppm
    CHECK(out.rate >= 1.0 - 500e-6 - 1e-12);
    CHECK(out.rate <= 1.0 + 500e-6 + 1e-12);
}

TEST_CASE("PTP media clock: unsynchronized -> locked -> holdover -> master, generations at discontinuities") {
    PtpMediaClock clock(std::make_unique<PiServo>(PiServoConfig{}, 1.0), 1'000);
    CHECK(clock.snapshot().state == ClockState::unsynchronized);
    CHECK(clock.snapshot().generation == 0);
    CHECK(clock.source_name() == "ptp");
    CHECK(clock.master_id().empty());
    CHECK(clock.ptp_ns_at(2'000) == 2'000);  // before anything: the monotonic timescale

    const ClockIdentity leader = {0, 0x1d, 0xc1, 0xff, 0xfe, 1, 2, 3};
    clock.follow(leader, 10'000);
    CHECK(clock.master_id() == "00:1d:c1:ff:fe:01:02:03");
    CHECK(clock.snapshot().state == ClockState::unsynchronized);

    // The leader's time is ours + 1 s: offsets of -1 s, then a step.
    CHECK(clock.on_offset(-1'000'000'000, 1'000'000'000, 1'000'000'000) == ServoState::unlocked);
    CHECK(clock.on_offset(-1'000'000'000, 2'000'000'000, 2'000'000'000) == ServoState::jump);
    const uint64_t after_step = clock.snapshot().generation;
    CHECK(after_step == 1);
    CHECK(clock.ptp_ns_at(2'000'000'000) == 3'000'000'000);
    CHECK(clock.on_offset(3, 3'000'000'000, 3'000'000'000) == ServoState::locked);
    dante::ClockSnapshot s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.generation == 2);  // the lock itself is a discontinuity for clients
    CHECK(s.offset_ns == 3);
    CHECK(s.media_ns_at(3'000'000'000) == clock.ptp_ns_at(3'000'000'000));

    // Leader lost: holdover at the servo's frequency estimate (the locked rate without the
    // last sample's proportional kick, which is tiny here), no generation change.
    const double rate = s.rate;
    clock.leader_lost(4'000'000'000);
    s = clock.snapshot();
    CHECK(s.state == ClockState::holdover);
    CHECK(s.rate == doctest::Approx(rate).epsilon(1e-7));
    CHECK(s.generation == 2);

    // We take over: same timeline (continuous), new generation.
    const int64_t media_before = clock.ptp_ns_at(5'000'000'000);
    const ClockIdentity ourselves = {0, 0x1d, 0xc1, 0xff, 0xfe, 9, 9, 9};
    clock.become_master(ourselves, 5'000'000'000);
    s = clock.snapshot();
    CHECK(s.state == ClockState::master);
    CHECK(s.generation == 3);
    CHECK(clock.ptp_ns_at(5'000'000'000) == media_before);
    CHECK(clock.master_id() == "00:1d:c1:ff:fe:09:09:09");

    // A better leader appears: holdover until locked again.
    clock.follow(leader, 6'000'000'000);
    CHECK(clock.snapshot().state == ClockState::holdover);
}

TEST_CASE("PI servo: a lone delayed timestamp is left out of the loop; a run of them is news") {
    PiServoConfig config;
    config.min_estimate_span_s = 0;
    PiServo servo(config, 0.125);
    int64_t t = 0;
    const auto next = [&] { return t += 125'000'000; };
    servo.sample(0, next());
    servo.sample(0, next());
    // A steady loop: offsets of a couple of µs either side.
    double rate = 0;
    for (int i = 0; i < 20; ++i) rate = servo.sample(i % 2 ? 2'000 : -2'000, next()).rate;
    // One Sync held up 60 µs: no kick.
    const ServoOutput spike = servo.sample(60'000, next());
    CHECK(spike.state == ServoState::locked);
    CHECK(spike.rate == rate);
    // The same offset kSpikeRunLimit times in a row is taken as real and corrected.
    ServoOutput out{};
    for (int i = 1; i < PiServo::kSpikeRunLimit; ++i) out = servo.sample(60'000, next());
    CHECK(out.rate < rate);  // our clock is ahead: slow down
}
