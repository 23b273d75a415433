#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>

#include "clock/posix_clock_source.hpp"
#include "clock/rate_tracker.hpp"
#include "util/clock_now.hpp"

using namespace dante;

namespace {

// A reference that runs at a scripted rate and offset against a simulated monotonic clock,
// read with scripted sandwich noise: each read advances the simulated time by one interval.
class SimulatedReference : public ReferenceClock {
public:
    int64_t mono = 1'000'000'000'000;  // ~17 min after boot
    int64_t interval_ns = 1'000'000'000;
    double rate = 1.0001;  // the PHC runs 100 ppm fast against CLOCK_MONOTONIC
    int64_t base_reference = 1'795'000'000'000'000'000;
    int64_t base_mono = 1'000'000'000'000;
    int64_t step_ns = 0;       // added to every later reading
    int64_t noise_ns = 0;      // +-noise, deterministic
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    bool synced = true;

    int64_t truth(int64_t at_mono) const {
        return base_reference + static_cast<int64_t>(std::llround(static_cast<double>(at_mono - base_mono) * rate)) +
               step_ns;
    }
    Pair read_pair() override {
        mono += interval_ns;
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        const int64_t jitter = noise_ns == 0 ? 0 : static_cast<int64_t>(rng * 0x2545F4914F6CDD1Dull % (2 * noise_ns + 1)) - noise_ns;
        return {mono, truth(mono) + jitter};
    }
    bool disciplined() override { return synced; }
};

}  // namespace

TEST_CASE("rate tracker fits offset and rate through noisy samples") {
    RateTracker tracker;
    const double rate = 0.99995;  // -50 ppm
    uint64_t rng = 12345;
    RateTracker::Estimate e;
    for (int i = 0; i < 20; ++i) {
        const int64_t m = 5'000'000'000 + int64_t{i} * 1'000'000'000;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        const int64_t noise = static_cast<int64_t>(rng >> 33) % 2001 - 1000;  // +-1 us
        e = tracker.add(m, 7'000'000'000 + static_cast<int64_t>(std::llround(static_cast<double>(m) * rate)) + noise);
        CHECK_FALSE(e.stepped);
    }
    CHECK(e.stable);
    CHECK(std::fabs(e.rate - rate) < 1e-7);  // 0.1 ppm from 16 s of +-1 us samples
    const int64_t truth = 7'000'000'000 + static_cast<int64_t>(std::llround(static_cast<double>(e.monotonic_ns) * rate));
    CHECK(std::llabs(e.reference_ns - truth) < 1000);
}

TEST_CASE("tracked clock learns a +100 ppm reference, locks, and survives a step") {
    auto owned = std::make_unique<SimulatedReference>();
    SimulatedReference* ref = owned.get();
    ref->noise_ns = 500;
    TrackedClock clock(std::move(owned), "phc:/dev/ptp9");
    CHECK(clock.source_name() == "phc:/dev/ptp9");
    ClockSnapshot s = clock.snapshot();
    CHECK(s.generation == 1);
    CHECK(s.state == ClockState::free_running);  // one sample: usable, not locked
    CHECK(s.valid());

    // 100 ppm is 100 us per second: the first interval must not be mistaken for a step.
    for (int i = 0; i < 10; ++i) clock.update();
    s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.generation == 2);  // free-running -> locked, no step
    CHECK(s.rate == doctest::Approx(1.0001).epsilon(1e-7));
    // Predict one second ahead: within a couple of microseconds of the truth.
    const int64_t ahead = s.monotonic_ns + 1'000'000'000;
    CHECK(std::llabs(s.media_ns_at(ahead) - ref->truth(ahead)) < 2'000);

    // ptp4l steps the PHC by 3 ms: a new generation, following the new time at once, rate kept.
    ref->step_ns = 3'000'000;
    clock.update();
    s = clock.snapshot();
    CHECK(s.generation == 3);  // one bump: the step (and locked -> free-running while re-acquiring)
    CHECK(s.state == ClockState::free_running);
    CHECK(std::llabs(s.offset_ns - 3'000'000) < 5'000);
    CHECK(std::llabs(s.media_ns - ref->truth(s.monotonic_ns)) < 2'000);
    CHECK(s.rate == doctest::Approx(1.0001).epsilon(1e-7));
    for (int i = 0; i < 5; ++i) clock.update();
    s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.generation == 4);
    CHECK(std::llabs(s.media_ns - ref->truth(s.monotonic_ns)) < 2'000);

    // Nobody disciplines the reference any more: free-running, never locked.
    ref->synced = false;
    clock.update();
    CHECK(clock.snapshot().state == ClockState::free_running);
}

TEST_CASE("tracked clock follows a slowly retuned reference without false steps") {
    auto owned = std::make_unique<SimulatedReference>();
    SimulatedReference* ref = owned.get();
    ref->noise_ns = 200;
    TrackedClock clock(std::move(owned), "phc:/dev/ptp9");
    for (int i = 0; i < 40; ++i) {
        // A servo walks the rate by 0.5 ppm a second; rebase so the truth stays continuous.
        const int64_t now_truth = ref->truth(ref->mono);
        ref->base_mono = ref->mono;
        ref->base_reference = now_truth;
        ref->rate += 0.5e-6;
        clock.update();
    }
    const ClockSnapshot s = clock.snapshot();
    CHECK(s.generation <= 2);
    CHECK(s.rate == doctest::Approx(ref->rate).epsilon(1e-5));
    CHECK(std::llabs(s.media_ns - ref->truth(s.monotonic_ns)) < 20'000);
}

TEST_CASE("tracked clock on a real kernel clock, through the clockid code path") {
    for (const clockid_t id : {CLOCK_REALTIME, CLOCK_TAI}) {
        TrackedClock clock(std::make_unique<PosixClockReference>(id), "test");
        for (int i = 0; i < 6; ++i) {
            usleep(20'000);
            clock.update();
        }
        const ClockSnapshot s = clock.snapshot();
        // REALTIME and TAI are slewed with MONOTONIC: the measured rate is 1 to a few ppm
        // (sandwich jitter over 100 ms), and the media time is that clock's time.
        CHECK(std::fabs(s.rate - 1.0) < 20e-6);
        CHECK(s.generation >= 1);
        const int64_t mono = monotonic_now_ns();
        const int64_t actual = clock_now_ns(id);
        CHECK(std::llabs(s.media_ns_at(mono) - actual) < 200'000);
    }
}

TEST_CASE("a PHC path that is not one is refused with the cause") {
    std::string error;
    CHECK(open_phc_reference("/dev/ptp-does-not-exist", error) == nullptr);
    CHECK(error.find("no such device") != std::string::npos);
    error.clear();
    CHECK(open_phc_reference("/dev/null", error) == nullptr);  // a char device, but no PHC
    CHECK(error.find("not a PTP hardware clock") != std::string::npos);
    const std::string file = std::filesystem::temp_directory_path() / ("dante-phc-test-" + std::to_string(getpid()));
    std::ofstream(file) << "x";
    error.clear();
    CHECK(open_phc_reference(file, error) == nullptr);
    CHECK(error.find("not a PTP hardware clock") != std::string::npos);

    // Permission denied: root can open anything, so check it as an unprivileged child.
    chmod(file.c_str(), 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0) _exit(3);
        std::string child_error;
        const bool refused = open_phc_reference(file, child_error) == nullptr;
        _exit(refused && child_error.find("permission denied") != std::string::npos ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    unlink(file.c_str());
}

TEST_CASE("the clockid of a descriptor is the kernel's FD_TO_CLOCKID") {
    CHECK(clockid_of_fd(3) == static_cast<clockid_t>((~3u << 3) | 3u));
    CHECK(clockid_of_fd(3) < 0);  // dynamic clocks are negative ids
}
