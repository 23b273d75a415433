// The flow-control port's defence counters reach the node properties: a flood from one
// sender is mostly dropped by the rate limiter, what passes and cannot be decoded is
// counted as malformed, and both show as dante.flow-control.* (test_control_flood.py reads
// them). Loopback only, ephemeral port.

#include <doctest/doctest.h>

#include <time.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>

#include "flows/flows_service.hpp"
#include "net/udp_socket.hpp"
#include "locked_test_clock.hpp"

using namespace dante;

namespace {


std::string property(const ConfigItems& items, const std::string& key) {
    for (const auto& [k, v] : items)
        if (k == key) return v;
    return "(missing)";
}

}  // namespace

TEST_CASE("flow control: a garbage flood is rate-limited and counted, and the counters are properties") {
    test::LockedTestClock clock;
    TxRings rings(2, 1024);
    DeviceConfig config;
    config.device_name = "counters";
    config.interface = std::string("lo");
    config.channels = 2;
    config.max_flows = 2;
    FlowsServiceOptions options;
    options.allow_loopback = true;
    options.control_port = 0;
    options.rt_priority = 0;
    options.requests_per_second = 20;
    options.request_burst = 40;
    FlowsService service(config, rings, clock, options);
    std::string error;
    REQUIRE_MESSAGE(service.start(error), error);

    std::string send_error;
    auto sender = open_udp(Ipv4Endpoint{ipv4(127, 0, 0, 1), 0}, send_error);
    REQUIRE_MESSAGE(sender, send_error);
    const Ipv4Endpoint target{ipv4(127, 0, 0, 1), service.control_port()};
    // Garbage, in bursts the socket buffer takes whole: a truncated header, a flow-control
    // header whose length lies, random-ish bytes.
    const std::array<uint8_t, 5> truncated{0x11, 0x02, 0x00, 0x0a, 0x00};
    const std::array<uint8_t, 12> lying{0x11, 0x02, 0x01, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0xde, 0xad};
    std::array<uint8_t, 300> junk{};
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 37 + 11);
    // In bursts of 50, each one seen by the service before the next, so a loaded machine's
    // kernel never drops any (every datagram is either rate-limited or refused: none is
    // answered).
    constexpr int kBursts = 12, kBurst = 50, kSent = kBursts * kBurst;
    const auto seen = [&] {
        const FlowsStats s = service.stats();
        return s.rate_limited + s.malformed;
    };
    const int64_t started = monotonic_now_ns();
    for (int b = 0; b < kBursts; ++b) {
        for (int i = 0; i < kBurst; ++i) {
            const int kind = i % 3;
            if (kind == 0) (void)sender->send_to(truncated, target);
            if (kind == 1) (void)sender->send_to(lying, target);
            if (kind == 2) (void)sender->send_to(junk, target);
        }
        for (int wait = 0; wait < 500 && seen() < static_cast<uint64_t>((b + 1) * kBurst); ++wait)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const double elapsed_s = static_cast<double>(monotonic_now_ns() - started) / 1e9;
    const FlowsStats s = service.stats();
    CHECK(s.rate_limited + s.malformed == kSent);
    // The burst allowance passed and was refused; then about 20 per second.
    CHECK(s.malformed >= 40);
    CHECK(static_cast<double>(s.malformed) <= 40 + 20 * elapsed_s + 2);
    CHECK(s.rate_limited >= kSent - 40 - static_cast<uint64_t>(20 * elapsed_s) - 2);
    CHECK(s.requests == 0);

    const ConfigItems items = service.properties();
    CHECK(property(items, "dante.flow-control.malformed") == std::to_string(s.malformed));
    CHECK(property(items, "dante.flow-control.rate-limited") == std::to_string(s.rate_limited));
    service.stop();
}
