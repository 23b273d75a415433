// The linear-regression servo on its own (against the PI servo on the same noise), and the
// robust means it and the path-delay filter rest on.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ptp/delay_filter.hpp"
#include "ptp/linreg_servo.hpp"
#include "ptp/middle_mean.hpp"
#include "ptp/pi_servo.hpp"

using namespace dante::ptp;

namespace {

constexpr int64_t kInterval = 125'000'000;  // 8 Syncs a second, as Dante sends them

// A clock disciplined by a servo against a master running `ppm` fast; `phase` is the TRUE
// error (ours minus the master's), the servo sees it plus measurement noise.
struct Loop {
    std::unique_ptr<Servo> servo;
    double ppm;
    double phase;
    double rate = 1.0;
    Loop(std::unique_ptr<Servo> s, double ppm_, double start_offset) : servo(std::move(s)), ppm(ppm_), phase(start_offset) {
        servo->set_interval(static_cast<double>(kInterval) * 1e-9);
    }
    ServoOutput step(int64_t local_ns, double noise_ns = 0.0) {
        const ServoOutput out = servo->sample(std::llround(phase + noise_ns), local_ns);
        rate = out.rate;
        if (out.step_ns) phase -= static_cast<double>(*out.step_ns);
        phase += static_cast<double>(kInterval) * (rate - (1.0 + ppm * 1e-6));
        return out;
    }
};

// Software-timestamp-like noise, deterministic: ±3 µs, late more often than early, two
// modes 1.5 µs apart, and every 37th packet 60 µs late.
double sw_noise(int i) {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    const double u = static_cast<double>(x % 10'000) / 10'000.0;  // [0, 1)
    double n = (u * u) * 6'000.0 - 3'000.0;                         // skewed
    if (x & 0x100000u) n += 1'500.0;
    if (i % 37 == 0) n += 60'000.0;
    return n;
}

}  // namespace

TEST_CASE("linreg servo: waits for a 1 s baseline, steps once, then tracks phase and frequency") {
    Loop loop(std::make_unique<LinregServo>(), +100.0, 5'000'000.0);  // 5 ms off, master 100 ppm fast
    for (int i = 0; i < 8; ++i) CHECK(loop.step(i * kInterval).state == ServoState::unlocked);
    const ServoOutput lock = loop.step(8 * kInterval);
    CHECK(lock.state == ServoState::jump);
    REQUIRE(lock.step_ns.has_value());
    CHECK(std::llabs(*lock.step_ns - 4'900'000) < 1'000);  // 5 ms less 1 s at 100 ppm
    int steps = 0;
    for (int i = 9; i < 200; ++i) {
        const ServoOutput out = loop.step(i * kInterval);
        CHECK(out.state == ServoState::locked);
        steps += out.step_ns ? 1 : 0;
    }
    CHECK(steps == 0);
    CHECK(std::abs(loop.phase) < 5.0);
    CHECK(loop.servo->rate() == doctest::Approx(1.0001).epsilon(1e-10));
}

TEST_CASE("linreg servo: small initial offsets are slewed, not stepped") {
    Loop loop(std::make_unique<LinregServo>(), -5.0, 8'000.0);  // 13 µs at lock: under 20 µs
    for (int i = 0; i <= 8; ++i) CHECK_FALSE(loop.step(i * kInterval).step_ns.has_value());
    for (int i = 9; i < 40; ++i) loop.step(i * kInterval);
    CHECK(std::abs(loop.phase) < 5.0);
}

TEST_CASE("linreg servo: on software-timestamp noise, its error spreads a fraction of the PI loop's") {
    // Same noise, same master (+37 ppm), 60 s after 10 s of settling. What a servo can do
    // about noise is to spread less around where the noise puts it: the noise's own centre
    // (+750 ns here, from skew and the second mode) is a bias no follower can see from one
    // direction, so it is judged apart, as the bias of the error's middle.
    struct Result {
        double spread_p99;
        double centre;
    };
    auto run = [](std::unique_ptr<Servo> servo) {
        Loop loop(std::move(servo), +37.0, 2'000'000.0);
        std::vector<double> errors;
        for (int i = 0; i < 560; ++i) {
            loop.step(i * kInterval, sw_noise(i));
            if (i >= 80) errors.push_back(loop.phase);
        }
        std::vector<double> sorted = errors;
        const double centre = middle_half_mean(sorted.begin(), sorted.end());
        for (double& e : errors) e = std::fabs(e - centre);
        std::sort(errors.begin(), errors.end());
        return Result{errors[errors.size() * 99 / 100], centre};
    };
    const Result linreg = run(std::make_unique<LinregServo>());
    const Result pi = run(std::make_unique<PiServo>());
    MESSAGE("p99 |error - centre| linreg " << linreg.spread_p99 << " ns, pi " << pi.spread_p99 << " ns; centre "
                                           << linreg.centre << " / " << pi.centre << " ns");
    CHECK(linreg.spread_p99 < 0.5 * pi.spread_p99);
    CHECK(std::fabs(linreg.centre) < 2'000.0);
}

TEST_CASE("linreg servo: a lone delayed timestamp is left out; a lasting change is followed") {
    Loop loop(std::make_unique<LinregServo>(), 0.0, 0.0);
    for (int i = 0; i < 40; ++i) loop.step(i * kInterval, (i % 2) ? 500.0 : -500.0);
    const double before = loop.phase;
    const ServoOutput spike = loop.step(40 * kInterval, 200'000.0);  // 200 µs late, once
    CHECK(spike.state == ServoState::locked);
    CHECK(std::fabs(loop.phase - before) < 100.0);
    // 40 µs for good (a path change, say): the first few are held back, then it is news.
    for (int i = 41; i < 41 + LinregServo::kSpikeRunLimit + 100; ++i) loop.step(i * kInterval, 40'000.0);
    CHECK(std::fabs(loop.phase + 40'000.0) < 2'000.0);  // slewed to the new measurement
}

TEST_CASE("linreg servo: a jump of the master re-acquires with a step; reset keeps the frequency") {
    LinregServo servo;
    servo.set_interval(0.125);
    Loop loop(std::make_unique<LinregServo>(), +20.0, 0.0);
    for (int i = 0; i < 40; ++i) loop.step(i * kInterval);
    // The master steps by 5 ms: two samples are held as outliers, the third unlocks.
    loop.phase += 5'000'000.0;
    CHECK(loop.step(40 * kInterval).state == ServoState::locked);
    CHECK(loop.step(41 * kInterval).state == ServoState::locked);
    CHECK(loop.step(42 * kInterval).state == ServoState::unlocked);
    CHECK(loop.servo->rate() == doctest::Approx(1.00002).epsilon(1e-9));  // frequency kept meanwhile
    bool stepped = false;
    for (int i = 43; i < 60 && !stepped; ++i) {
        const ServoOutput out = loop.step(i * kInterval);
        if (out.step_ns) {
            stepped = true;
            CHECK(out.state == ServoState::jump);
            CHECK(std::llabs(*out.step_ns - 5'000'000) < 2'000);
        }
    }
    CHECK(stepped);
    loop.servo->reset();
    CHECK(loop.servo->rate() == doctest::Approx(1.00002).epsilon(1e-9));
    CHECK(loop.step(100 * kInterval).state == ServoState::unlocked);
    CHECK(loop.rate == doctest::Approx(1.00002).epsilon(1e-9));  // re-acquires from the held rate
}

TEST_CASE("linreg servo: out-of-order samples are ignored; the correction is bounded") {
    LinregServo servo;
    servo.sample(0, 1'000'000'000);
    const ServoOutput older = servo.sample(50'000, 500'000'000);
    CHECK(older.state == ServoState::unlocked);
    CHECK(older.rate == 1.0);
    LinregServo wild;
    wild.set_interval(1.0);
    for (int i = 0; i < 4; ++i) {
        const ServoOutput out = wild.sample(int64_t{i} * 10'000'000, int64_t{i} * 1'000'000'000);  // 10000 ppm
        CHECK(out.rate >= 1.0 - 500e-6 - 1e-12);
        CHECK(out.rate <= 1.0 + 500e-6 + 1e-12);
    }
}

TEST_CASE("middle-half mean: ignores a quarter of outliers on each side") {
    std::array<int64_t, 8> values{10, 11, 12, 13, 1'000'000, -1'000'000, 11, 12};
    CHECK(middle_half_mean(values.begin(), values.end()) == doctest::Approx(11.5));
    std::array<double, 1> one{4.0};
    CHECK(middle_half_mean(one.begin(), one.end()) == 4.0);
    std::array<double, 0> none{};
    CHECK(middle_half_mean(none.begin(), none.end()) == 0.0);
}

TEST_CASE("path-delay filter: one late Delay_Req does not move it; two modes give the middle") {
    DelayFilter filter;
    CHECK_FALSE(filter.value().has_value());
    for (int i = 0; i < 20; ++i) filter.push(i % 2 ? 11'000 : 13'000);
    CHECK(*filter.value() == 12'000);
    filter.push(500'000);
    CHECK(std::llabs(*filter.value() - 12'000) <= 200);
    filter.clear();
    filter.push(-300);
    CHECK(*filter.value() == 0);  // a negative path is noise
}
