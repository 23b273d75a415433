#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "device/device.hpp"
#include "util/spsc_queue.hpp"

using namespace dante;

TEST_CASE("spsc queue keeps order and refuses when full") {
    SpscQueue<int, 4> q;
    for (int i = 0; i < 4; ++i) CHECK(q.try_push(i));
    CHECK(!q.try_push(99));
    for (int i = 0; i < 4; ++i) CHECK(q.try_pop().value() == i);
    CHECK(!q.try_pop());
}

TEST_CASE("a device publishes the timing-contract properties") {
    auto cfg = parse_device_config({{"dante.device-name", "unit-dev"}}, "x").config.value();
    std::string error;
    auto device = Device::create(cfg, error);
    REQUIRE(device);
    device->stats().lead_ns.store(22'333'333);
    std::map<std::string, std::string> props;
    for (const auto& [k, v] : device->properties()) props[k] = v;
    CHECK(props["dante.device-name"] == "unit-dev");
    CHECK(props["dante.clock.source"] == "tai");
    CHECK(props["dante.rate"] == "48000");
    CHECK(props["dante.tx.lead-ns"] == "22333333");
    CHECK(props["dante.tx.latency-ns"] == "4000000");
    CHECK(props["dante.clock.generation"] == "1");
    CHECK((props["dante.clock.state"] == "locked" || props["dante.clock.state"] == "free-running"));
    CHECK(std::stod(props["dante.clock.rate"]) == doctest::Approx(1.0));
    CHECK(std::stoll(props["dante.clock.media-ns"]) > std::stoll(props["dante.clock.monotonic-ns"]));
    CHECK(props.count("dante.flows") == 1);
}

TEST_CASE("the ptp clock without an interface is refused: nothing goes on the network unnamed") {
    const auto result = parse_device_config({{"dante.clock.source", "ptp"}}, "x");
    CHECK_FALSE(result.config);
    CHECK(result.error.find("dante.interface") != std::string::npos);
}

TEST_CASE("a missing interface loads the device, which waits for it and says so") {
    // A boot-time drop-in may load before the network is up (or a USB NIC is plugged in).
    auto cfg = parse_device_config({{"dante.interface", "nosuch-if0"}}, "x").config.value();
    CHECK(cfg.clock_source.kind == ClockSourceKind::ptp);
    std::string error;
    auto device = Device::create(cfg, error);
    REQUIRE_MESSAGE(device, error);
    std::map<std::string, std::string> props;
    for (const auto& [k, v] : device->properties()) props[k] = v;
    CHECK(props["dante.net.link"] == "absent");
    CHECK(props["dante.net.in-use"] == "");
    CHECK(props["dante.net.problem"] == "no IPv4 address on nosuch-if0 (absent): the control plane and flows wait for one");
    CHECK(props["dante.flows"] == "0");
    device->follow_network();  // nothing to move to: stays waiting
    for (const auto& [k, v] : device->properties()) props[k] = v;
    CHECK(props["dante.net.moves"] == "0");
}

TEST_CASE("phc and usrvclock sources: a PHC that cannot be opened loads unsynchronized with the cause, usrvclock waits for its server") {
    auto phc = parse_device_config({{"dante.clock.source", "phc:/dev/ptp97"}}, "x").config.value();
    std::string error;
    {
        // The user's audio is never taken down by a clock: the sink loads, sends nothing,
        // and says why (and retries).
        auto phc_device = Device::create(phc, error);
        REQUIRE(phc_device);
        std::map<std::string, std::string> map;
        for (auto& [k, v] : phc_device->properties()) map[k] = v;
        CHECK(map["dante.clock.source"] == "phc:/dev/ptp97");
        CHECK(map["dante.clock.state"] == "unsynchronized");
        CHECK(map["dante.clock.problem"].find("phc:/dev/ptp97") != std::string::npos);
        CHECK(map["dante.clock.problem"].find("no such device") != std::string::npos);
    }

    // The server may start after PipeWire: the device loads and reports no usable time yet.
    auto usrv = parse_device_config({{"dante.clock.source", "usrvclock:/run/dante-test-no-such-socket"}}, "x").config.value();
    error.clear();
    auto device = Device::create(usrv, error);
    REQUIRE(device);
    auto props = [&] {
        std::map<std::string, std::string> map;
        for (auto& [k, v] : device->properties()) map[k] = v;
        return map;
    }();
    CHECK(props["dante.clock.source"] == "usrvclock:/run/dante-test-no-such-socket");
    CHECK(props["dante.clock.state"] == "unsynchronized");
}

TEST_CASE("the ring tap writes back, by position, what the cycle put in the rings") {
    char path[] = "/tmp/dante-tap-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    auto cfg = parse_device_config({{"dante.debug.ring-tap", path}}, "x").config.value();
    std::string error;
    {
        auto device = Device::create(cfg, error);
        REQUIRE(device);
        std::vector<int32_t> l{1, 2, 3}, r{-1, -2, -3};
        std::array<const int32_t*, 2> planes{l.data(), r.data()};
        device->rings().write(4800, planes, 3);
        device->tap()->note_cycle({4800, 111, 222, 3});
        device->tap()->note_cycle({9600, 333, 444, 2});  // never written: reads back as silence
    }  // destruction drains the queue and closes the file
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(path);
    REQUIRE(bytes.size() == (32 + 6 * 4) + (32 + 4 * 4));
    auto u64 = [&](size_t off) { uint64_t v; std::memcpy(&v, bytes.data() + off, 8); return v; };
    auto i32 = [&](size_t off) { int32_t v; std::memcpy(&v, bytes.data() + off, 4); return v; };
    CHECK(u64(0) == 4800);
    CHECK(u64(8) == 111);
    CHECK(u64(16) == 222);
    CHECK(i32(24) == 3);
    CHECK(i32(28) == 2);
    CHECK(std::vector<int32_t>{i32(32), i32(36), i32(40), i32(44), i32(48), i32(52)} ==
          std::vector<int32_t>{1, 2, 3, -1, -2, -3});
    CHECK(u64(56) == 9600);
    CHECK(i32(88) == 0);
}

TEST_CASE("an uncreatable tap file is a clear error, not a crash") {
    auto cfg = parse_device_config({{"dante.debug.ring-tap", "/nonexistent-dir/tap.bin"}}, "x").config.value();
    std::string error;
    CHECK(Device::create(cfg, error) == nullptr);
    CHECK(error.find("/nonexistent-dir/tap.bin") != std::string::npos);
}
