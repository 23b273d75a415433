// Leader and followers on a simulated link, in simulated time: the whole engine (codecs,
// best master, port state machine, servo, media clock) end to end, with numbers.
#include <doctest/doctest.h>

#include <cstdlib>

#include "sim_network.hpp"

using namespace dante::ptp;
using dante::ClockState;
using sim::kSecond;

namespace {

// Largest |follower media - leader media| over [from, to), sampled every simulated ms.
struct OffsetWatch {
    int64_t from;
    int64_t to;
    int64_t worst = 0;
    int64_t samples = 0;
    void observe(int64_t now, const sim::Node& follower, const sim::Node& leader) {
        if (now < from || now >= to) return;
        worst = std::max<int64_t>(worst, std::llabs(follower.media_at_true(now) - leader.media_at_true(now)));
        ++samples;
    }
};

// First true instant the follower's clock reported `locked`.
struct LockWatch {
    std::optional<int64_t> at;
    void observe(int64_t now, const sim::Node& follower) {
        if (!at && follower.clock_state() == ClockState::locked) at = now;
    }
};

}  // namespace

TEST_CASE("simulation: a follower with +/-100 ppm locks to a leader within 10 s, to < 1 us") {
    for (const ServoKind servo : {ServoKind::linreg, ServoKind::pi})
    for (const PtpVersion version : {PtpVersion::v2, PtpVersion::v1}) {
        for (const double ppm : {+100.0, -100.0}) {
            CAPTURE(to_string(servo));
            CAPTURE(static_cast<int>(version));
            CAPTURE(ppm);
            sim::Network net;
            auto leader_config = sim::make_config(version, 0x01);
            leader_config.priority1 = 100;
            leader_config.v1_preferred = true;
            auto& leader = net.add({"leader", leader_config, 0.0, 1'000 * kSecond, 0});
            auto follower_config = sim::make_config(version, 0x02);
            auto& follower = net.add({"follower", follower_config, ppm * 1e-6, 77 * kSecond, 5 * kSecond, servo});

            LockWatch lock;
            OffsetWatch steady{25 * kSecond, 60 * kSecond};
            net.run_until(60 * kSecond, [&](int64_t now) {
                lock.observe(now, follower);
                steady.observe(now, follower, leader);
            });

            CHECK_FALSE(net.overflowed);
            CHECK(leader.state() == PortState::master);
            CHECK(leader.clock_state() == ClockState::master);
            CHECK(follower.state() == PortState::slave);
            CHECK(follower.clock_state() == ClockState::locked);
            REQUIRE(lock.at.has_value());
            CHECK(*lock.at - 5 * kSecond < 10 * kSecond);
            CHECK(steady.samples > 30'000);
            CHECK(steady.worst < 1'000);
            // The rate converged to the oscillators' true ratio: 1/(1+ppm) media ns per mono ns.
            const double rate_error = follower.clock->snapshot().rate - 1.0 / (1.0 + ppm * 1e-6);
            CAPTURE(rate_error);
            CHECK(std::abs(rate_error) < 100e-9);  // within 0.1 ppm: the P term moves it by ~kp x jitter
            // And the measured path delay is the link's (100 us + up to 200 ns of jitter).
            REQUIRE(follower.ptp->port().mean_path_delay_ns().has_value());
            CHECK(*follower.ptp->port().mean_path_delay_ns() == doctest::Approx(100'100).epsilon(0.005));
            MESSAGE(to_string(servo), " v", static_cast<int>(version) - 0, " ppm ", ppm, ": locked after ",
                    (*lock.at - 5 * kSecond) / 1'000'000, " ms, worst steady offset ", steady.worst, " ns");
        }
    }
}

TEST_CASE("simulation: holdover when the leader goes silent, re-lock when it returns") {
    sim::Network net;
    auto leader_config = sim::make_config(PtpVersion::v2, 0x01);
    leader_config.priority1 = 100;
    auto& leader = net.add({"leader", leader_config, -50e-6, 3 * kSecond, 0});
    auto follower_config = sim::make_config(PtpVersion::v2, 0x02);
    auto& follower = net.add({"follower", follower_config, +80e-6, 9 * kSecond, 2 * kSecond});

    net.run_until(30 * kSecond);
    REQUIRE(follower.clock_state() == ClockState::locked);
    const dante::ClockSnapshot before = follower.clock->snapshot();

    // The leader drops off the network. After the announce-receipt timeout (3 s) the
    // follower holds over at its last rate; its media time keeps tracking the leader's.
    leader.silent = true;
    net.run_until(30 * kSecond + 3'500'000'000);
    CHECK(follower.state() == PortState::listening);
    CHECK(follower.clock_state() == ClockState::holdover);
    // (the servo's frequency estimate: within 0.1 ppm of the locked rate on a clean network)
    CHECK(follower.clock->snapshot().rate == doctest::Approx(before.rate).epsilon(1e-7));
    CHECK(follower.clock->snapshot().generation == before.generation);  // holdover is no discontinuity
    CHECK(std::llabs(follower.media_at_true(net.now()) - leader.media_at_true(net.now())) < 1'000);

    // Nobody better shows up: the follower takes over as leader, continuing its timeline.
    net.run_until(40 * kSecond);
    CHECK(follower.state() == PortState::master);
    CHECK(follower.clock_state() == ClockState::master);
    CHECK(follower.clock->snapshot().generation > before.generation);
    // 10 s of free running at a rate matched to a few ppb: still within a few microseconds.
    CHECK(std::llabs(follower.media_at_true(net.now()) - leader.media_at_true(net.now())) < 5'000);

    // The better leader returns: the follower steps back and re-locks.
    leader.silent = false;
    const uint64_t generation_as_master = follower.clock->snapshot().generation;
    OffsetWatch steady{60 * kSecond, 70 * kSecond};
    net.run_until(70 * kSecond, [&](int64_t now) { steady.observe(now, follower, leader); });
    CHECK(leader.state() == PortState::master);
    CHECK(follower.state() == PortState::slave);
    CHECK(follower.clock_state() == ClockState::locked);
    CHECK(follower.clock->snapshot().generation > generation_as_master);
    CHECK(steady.worst < 1'000);
    CHECK_FALSE(net.overflowed);
}

TEST_CASE("simulation: a slave-only follower stays in holdover while the leader is away") {
    sim::Network net;
    auto leader_config = sim::make_config(PtpVersion::v1, 0x01);
    auto& leader = net.add({"leader", leader_config, 0.0, 0, 0});
    auto follower_config = sim::make_config(PtpVersion::v1, 0x02);
    follower_config.slave_only = true;
    auto& follower = net.add({"follower", follower_config, 100e-6, 0, 1 * kSecond});
    net.run_until(20 * kSecond);
    REQUIRE(follower.clock_state() == ClockState::locked);
    leader.silent = true;
    net.run_until(40 * kSecond);
    CHECK(follower.state() == PortState::listening);
    CHECK(follower.clock_state() == ClockState::holdover);
    leader.silent = false;
    net.run_until(55 * kSecond);
    CHECK(follower.clock_state() == ClockState::locked);
    CHECK(std::llabs(follower.media_at_true(net.now()) - leader.media_at_true(net.now())) < 1'000);
}

TEST_CASE("simulation: two leaders, the better one wins and everyone follows it") {
    SUBCASE("v2: lower priority1 wins") {
        sim::Network net;
        auto a_config = sim::make_config(PtpVersion::v2, 0x0A);
        a_config.priority1 = 120;
        auto b_config = sim::make_config(PtpVersion::v2, 0x0B);
        b_config.priority1 = 110;
        auto& a = net.add({"a", a_config, 30e-6, 10 * kSecond, 0});
        auto& b = net.add({"b", b_config, -60e-6, 20 * kSecond, 0});
        auto& c = net.add({"c", sim::make_config(PtpVersion::v2, 0x0C), 90e-6, 30 * kSecond, 0});
        OffsetWatch a_steady{40 * kSecond, 60 * kSecond};
        OffsetWatch c_steady{40 * kSecond, 60 * kSecond};
        net.run_until(60 * kSecond, [&](int64_t now) {
            a_steady.observe(now, a, b);
            c_steady.observe(now, c, b);
        });
        CHECK(b.state() == PortState::master);
        CHECK(a.state() == PortState::slave);
        CHECK(c.state() == PortState::slave);
        CHECK(a.ptp->port().parent() == b.spec.config.identity);
        CHECK(c.ptp->port().parent() == b.spec.config.identity);
        CHECK(a_steady.worst < 1'000);
        CHECK(c_steady.worst < 1'000);
    }
    SUBCASE("v1: the preferred master wins over a lower identity") {
        sim::Network net;
        auto a_config = sim::make_config(PtpVersion::v1, 0x01);  // lower identity, not preferred
        auto b_config = sim::make_config(PtpVersion::v1, 0x02);
        b_config.v1_preferred = true;
        auto& a = net.add({"a", a_config, 30e-6, 0, 0});
        auto& b = net.add({"b", b_config, -30e-6, 0, 200'000'000});
        net.run_until(30 * kSecond);
        CHECK(b.state() == PortState::master);
        CHECK(a.state() == PortState::slave);
        CHECK(std::llabs(a.media_at_true(net.now()) - b.media_at_true(net.now())) < 1'000);
    }
    SUBCASE("v2: equal datasets, the lower clock identity wins") {
        sim::Network net;
        auto& a = net.add({"a", sim::make_config(PtpVersion::v2, 0x07), 0.0, 0, 0});
        auto& b = net.add({"b", sim::make_config(PtpVersion::v2, 0x03), 0.0, 0, 0});
        net.run_until(20 * kSecond);
        CHECK(b.state() == PortState::master);
        CHECK(a.state() == PortState::slave);
    }
}

TEST_CASE("simulation: a leader that faults stops calling itself master, on the same timeline") {
    sim::Network net;
    auto& alone = net.add({"alone", sim::make_config(PtpVersion::v1, 0x01), 0.0, 0, 0});
    net.run_until(10 * kSecond);
    REQUIRE(alone.state() == PortState::master);
    REQUIRE(alone.clock_state() == ClockState::master);
    const dante::ClockSnapshot before = alone.clock->snapshot();
    const int64_t now_mono = alone.mono_at(net.now());
    const int64_t media_before = alone.clock->ptp_ns_at(now_mono);
    net.fault(alone);
    CHECK(alone.state() == PortState::faulty);
    CHECK(alone.clock_state() == ClockState::holdover);
    CHECK(alone.clock->snapshot().generation == before.generation);
    CHECK(alone.clock->ptp_ns_at(now_mono) == media_before);
    // The fault clears: alone again, it leads again (a new generation: clients re-anchor).
    net.run_until(20 * kSecond);
    CHECK(alone.state() == PortState::master);
    CHECK(alone.clock_state() == ClockState::master);
    CHECK(alone.clock->snapshot().generation > before.generation);
}
