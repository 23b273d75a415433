// End to end on loopback: a FlowsService on `lo` sending from TxRings filled with a known
// signal, the dante-rx receiving logic asking for flows and recording them. Traffic stays
// on 127.0.0.1; the control port is ephemeral so parallel runs do not collide.

#include <doctest/doctest.h>

#include <time.h>

#include <chrono>
#include <thread>

#include "clock/media_time.hpp"
#include "flows/flows_service.hpp"
#include "rx_session.hpp"
#include "locked_test_clock.hpp"
#include "loopback_transmitter.hpp"

using namespace dante;

namespace {

constexpr uint32_t kRate = 48000;


int32_t signal(uint32_t channel, uint64_t pos) {
    return static_cast<int32_t>(static_cast<uint32_t>(pos) * 2654435761u + channel * 0x01010101u);
}

void fill(TxRings& rings, uint64_t from, uint32_t frames) {
    std::vector<std::vector<int32_t>> planes(rings.channels(), std::vector<int32_t>(frames));
    std::vector<const int32_t*> ptrs;
    for (uint32_t c = 0; c < rings.channels(); ++c) {
        for (uint32_t i = 0; i < frames; ++i) planes[c][i] = signal(c, from + i);
        ptrs.push_back(planes[c].data());
    }
    rings.write(from, ptrs, frames);
}

DeviceConfig lo_config() { return test::loopback_tx_config("e2e", kRate); }

FlowsServiceOptions test_options() { return test::loopback_tx_options(1234); }

rx::RxOptions receiver(const FlowsService& service, const test::LockedTestClock& clock, std::vector<uint16_t> channels,
                       uint32_t bits) {
    rx::RxOptions o;
    o.target = Ipv4Endpoint{ipv4(127, 0, 0, 1), service.control_port()};
    o.channels = std::move(channels);
    o.seconds = 0.25;
    o.bits = bits;
    o.fpp = 32;
    o.rate = kRate;
    o.arrival_clock = [&clock] { return clock.media_now(); };
    return o;
}

bool wait_for(const std::function<bool()>& done, int timeout_ms) {
    for (int i = 0; i < timeout_ms / 10; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

}  // namespace

TEST_CASE("loopback: dante-rx receives bit-exact audio at the right timestamps") {
    test::LockedTestClock clock;
    TxRings rings(2, 1u << 16);
    const uint64_t start = media_sample_at(clock.media_now(), kRate);
    fill(rings, start, 60'000);  // 1.25 s of signal from media now on

    FlowsService service(lo_config(), rings, clock, test_options());
    std::string error;
    REQUIRE_MESSAGE(service.start(error), error);
    CHECK(service.control_port() != 0);

    SUBCASE("S32, channels swapped") {
        const auto r = rx::run_receiver(receiver(service, clock, {2, 1}, 32));
        REQUIRE_MESSAGE(r.ok, r.error);
        CHECK(r.first_timestamp % 32 == 0);
        CHECK(r.first_timestamp > start);
        CHECK(r.first_timestamp + r.frames < start + 60'000);
        CHECK(r.frames == 12'000);
        CHECK(r.lost == 0);
        CHECK(r.duplicated == 0);
        CHECK(r.malformed == 0);
        CHECK(r.stop_acknowledged);
        CHECK(r.keepalives_sent >= 1);
        size_t mismatches = 0;
        for (uint64_t f = 0; f < r.frames; ++f) {
            mismatches += r.samples[f * 2] != signal(1, r.first_timestamp + f);
            mismatches += r.samples[f * 2 + 1] != signal(0, r.first_timestamp + f);
        }
        CHECK(mismatches == 0);
        // Sent when due: arrival (stub media clock) minus packet time is small and >= 0.
        const auto late = rx::lateness_us(r);
        CHECK(late.p50 >= 0);
        CHECK(late.p50 < 20'000);
        const auto json = rx::stats_json(r);
        CHECK(json["packets"].get<uint64_t>() >= 12'000 / 32);
        CHECK(json["format"] == "S32");
        CHECK(json["first_timestamp"].get<uint64_t>() == r.first_timestamp);
    }
    SUBCASE("S24 with an empty slot") {
        const auto r = rx::run_receiver(receiver(service, clock, {1, 0}, 24));
        REQUIRE_MESSAGE(r.ok, r.error);
        CHECK(r.lost == 0);
        size_t mismatches = 0;
        for (uint64_t f = 0; f < r.frames; ++f) {
            mismatches += r.samples[f * 2] != (signal(0, r.first_timestamp + f) >> 8);
            mismatches += r.samples[f * 2 + 1] != 0;
        }
        CHECK(mismatches == 0);
    }
    SUBCASE("a wrong rate is refused with 0x0301") {
        auto o = receiver(service, clock, {1}, 24);
        o.rate = 44100;
        const auto r = rx::run_receiver(o);
        CHECK_FALSE(r.ok);
        CHECK(r.refused_status == flowctl::status::rate_mismatch);
    }
    // The receiver stopped its flow: the table empties.
    CHECK(wait_for([&] { return service.active_flows() == 0; }, 2000));
    const auto stats = service.stats();
    CHECK(stats.requests >= 1);
    service.stop();
    CHECK_FALSE(service.running());
}

TEST_CASE("loopback: a flow without keepalives expires and is removed") {
    test::LockedTestClock clock;
    TxRings rings(2, 1u << 16);
    auto options = test_options();
    options.transmitter.keepalive_timeout_ns = 300'000'000;
    FlowsService service(lo_config(), rings, clock, options);
    std::string error;
    REQUIRE_MESSAGE(service.start(error), error);

    // A bare request from a socket that never answers the audio.
    auto control = open_udp(Ipv4Endpoint{ipv4(127, 0, 0, 1), 0}, error);
    auto audio = open_udp(Ipv4Endpoint{ipv4(127, 0, 0, 1), 0}, error);
    REQUIRE(control);
    REQUIRE(audio);
    REQUIRE(connect_udp(*control, Ipv4Endpoint{ipv4(127, 0, 0, 1), service.control_port()}, error));
    flowctl::FlowRequest request;
    request.rx_device_name = "mute";
    request.rx_flow_name = "1_1";
    request.rate = kRate;
    request.bits_per_sample = 24;
    request.fpp = 16;
    const uint16_t ids[] = {1};
    request.slots.assign(ids);
    request.destination = *audio->local_endpoint();
    std::array<uint8_t, 256> buf{};
    const size_t n = flowctl::encode_request_flow(1, request, buf);
    REQUIRE(control->send(std::span<const uint8_t>(buf.data(), n)) == static_cast<ssize_t>(n));
    REQUIRE(control->wait_readable(2000));
    const ssize_t got = control->recv_from(buf, nullptr);
    REQUIRE(got > 0);
    const auto response = flowctl::decode_response(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)));
    REQUIRE(response.response);
    CHECK(response.response->header.status == flowctl::status::ok);
    CHECK(wait_for([&] { return service.active_flows() == 1; }, 1000));
    // Audio arrives (silence: the rings are empty), then the flow expires.
    CHECK(audio->wait_readable(1000));
    CHECK(wait_for([&] { return service.active_flows() == 0; }, 3000));
    CHECK(service.stats().expired == 1);
    CHECK(service.stats().underruns > 0);
    service.stop();
}

TEST_CASE("loopback receivers are refused unless the test flag allows them") {
    test::LockedTestClock clock;
    TxRings rings(2, 1024);
    auto options = test_options();
    options.allow_loopback = false;
    FlowsService service(lo_config(), rings, clock, options);
    std::string error;
    REQUIRE_MESSAGE(service.start(error), error);
    auto o = receiver(service, clock, {1}, 24);
    o.attempts = 1;
    o.reply_timeout_ms = 300;
    const auto r = rx::run_receiver(o);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("no answer") != std::string::npos);
    CHECK(service.stats().malformed >= 1);  // ignored, not answered
    CHECK(service.active_flows() == 0);
}

TEST_CASE("start fails clearly on a missing interface; ports follow port_base") {
    test::LockedTestClock clock;
    TxRings rings(2, 1024);
    DeviceConfig config = lo_config();
    config.interface = std::string("nonexistent0");
    FlowsService service(config, rings, clock, test_options());
    std::string error;
    CHECK_FALSE(service.start(error));
    CHECK(error.find("nonexistent0") != std::string::npos);
    CHECK(flow_control_port(0) == 4455);
    CHECK(flow_control_port(14000) == 14002);
}

TEST_CASE("dante-rx stats: packets later than a threshold and the dropouts they form") {
    rx::RxResult r;
    // 2 ms packets late in a run, one on time, one late alone, then a 9 ms run of two.
    r.lateness_ns = {100'000, 2'500'000, 3'000'000, 50'000, 1'500'000, 9'000'000, 8'500'000, 200'000};
    const auto json = rx::stats_json(r);
    CHECK(json["late_over_us"]["1000"] == 5);
    CHECK(json["late_runs_over_us"]["1000"] == 2);  // {2.5, 3.0} and {1.5, 9.0, 8.5}
    CHECK(json["late_over_us"]["2000"] == 4);
    CHECK(json["late_runs_over_us"]["2000"] == 2);  // {2.5, 3.0} and {9.0, 8.5}
    CHECK(json["late_over_us"]["8000"] == 2);
    CHECK(json["late_runs_over_us"]["8000"] == 1);
    CHECK(json["late_runs_over_us"]["4000"] == 1);
}
