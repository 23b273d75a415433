#include <doctest/doctest.h>

#include <stdlib.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "control/control_ports.hpp"
#include "flows/flows_service.hpp"
#include "rx/avahi_tx_resolver.hpp"
#include "rx/mdns_resolve.hpp"

using namespace dante;

TEST_CASE("dante-rx: the flow-control port derived from the ARC port is the device's") {
    // The standard set, and every port base the device accepts (but 4440, which is the
    // one ambiguous case: it is the standard ARC port too).
    CHECK(rx::flow_control_port_for_arc_port(4440) == flow_control_port(0));
    for (uint16_t base : {uint16_t{1024}, uint16_t{5000}, uint16_t{14440}, uint16_t{65532}}) {
        const auto ports = control::control_ports_for(base);
        REQUIRE(ports);
        CHECK(rx::flow_control_port_for_arc_port(ports->arc) == flow_control_port(base));
        CHECK(rx::flow_control_port_for_arc_port(ports->arc) == ports->flow_control);
    }
    // An ARC port no base could give (the flow-control port would pass 65535): Dante's.
    CHECK(rx::flow_control_port_for_arc_port(65534) == 4455);
}

TEST_CASE("dante-rx: channel instances of a device, DNS names compared without case") {
    CHECK(rx::is_channel_of("01@lab-tx", "lab-tx"));
    CHECK(rx::is_channel_of("Vocals@Lab-TX", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("01@lab-tx2", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("@lab-tx", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("lab-tx", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("01@x@lab-tx2", "lab-tx"));
    CHECK(rx::dns_name_equal("Studio-PC", "studio-pc"));
    CHECK_FALSE(rx::dns_name_equal("studio-pc", "studio-pc2"));
}

TEST_CASE("dante-rx: without a reachable avahi-daemon the lookup fails at once, naming the device") {
    // A system bus that does not exist: nothing leaves this process.
    const char* old = getenv("DBUS_SYSTEM_BUS_ADDRESS");
    const std::string saved = old != nullptr ? old : "";
    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/dante-rx-test/system_bus_socket", 1);
    timespec before{}, after{};
    clock_gettime(CLOCK_MONOTONIC, &before);
    const rx::ResolveResult result = rx::resolve_device("no-such-device", 10'000);
    clock_gettime(CLOCK_MONOTONIC, &after);
    if (old != nullptr)
        setenv("DBUS_SYSTEM_BUS_ADDRESS", saved.c_str(), 1);
    else
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    CHECK_FALSE(result.device);
    CHECK(result.error.find("'no-such-device'") != std::string::npos);
    CHECK(result.error.find("no avahi-daemon reachable") != std::string::npos);
    CHECK(after.tv_sec - before.tv_sec < 3);
}

TEST_CASE("dante-rx: a channel's id comes from its TXT, 1..65535 only") {
    CHECK(rx::channel_id_of({{"id", "3"}, {"rate", "48000"}}) == 3);
    CHECK(rx::channel_id_of({{"id", "0x10"}}) == 16);
    CHECK(rx::channel_id_of({{"id", "0"}}) == 0);
    CHECK(rx::channel_id_of({{"id", "65536"}}) == 0);
    CHECK(rx::channel_id_of({{"id", "-1"}}) == 0);
    CHECK(rx::channel_id_of({{"id", "two"}}) == 0);
    CHECK(rx::channel_id_of({{"rate", "48000"}}) == 0);
}

namespace {

// A system bus that does not exist while it lives: no avahi-daemon is reachable, so no
// lookup sends anything on any network.
struct NoSystemBus {
    const char* old = getenv("DBUS_SYSTEM_BUS_ADDRESS");
    std::string saved = old != nullptr ? old : "";
    NoSystemBus() { setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/dante-rx-test/system_bus_socket", 1); }
    ~NoSystemBus() {
        if (old != nullptr)
            setenv("DBUS_SYSTEM_BUS_ADDRESS", saved.c_str(), 1);
        else
            unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    }
};

}  // namespace

TEST_CASE("AvahiTxResolver: every request is answered exactly once; without avahi-daemon, as not found") {
    const NoSystemBus no_bus;
    std::mutex mutex;
    std::condition_variable answered;
    std::map<std::string, int> answers;  // device -> times answered
    int found = 0;
    {
        rx::AvahiTxResolver resolver;
        auto done_for = [&](std::string device) {
            return [&, device](std::optional<TxResolution> answer) {
                std::lock_guard lock(mutex);
                ++answers[device];
                if (answer) ++found;
                answered.notify_all();
            };
        };
        for (int i = 0; i < 3; ++i) resolver.resolve("box-" + std::to_string(i), {"01"}, done_for("box-" + std::to_string(i)));
        // The same device again while (likely) still queued: the older request is answered
        // at once as not found, the newer one later; either way each exactly once.
        resolver.resolve("box-2", {"01", "02"}, done_for("box-2 again"));
        std::unique_lock lock(mutex);
        CHECK(answered.wait_for(lock, std::chrono::seconds(10), [&] { return answers.size() == 4; }));
    }
    CHECK(found == 0);
    for (const auto& [device, times] : answers) {
        CAPTURE(device);
        CHECK(times == 1);
    }
}

TEST_CASE("AvahiTxResolver: requests still queued at destruction are answered as not found") {
    const NoSystemBus no_bus;
    std::atomic<int> answered{0};
    {
        rx::AvahiTxResolver resolver;
        for (int i = 0; i < 20; ++i)
            resolver.resolve("nobody-" + std::to_string(i), {"01"}, [&](std::optional<TxResolution>) { ++answered; });
    }
    CHECK(answered == 20);
}

// ---- the multicast route (`b.N` pointers, `_netaudio-bund._udp` TXT)

TEST_CASE("dante-rx: b.N pointers of a channel's TXT, malformed ones skipped") {
    const rx::TxtMap txt{{"id", "1"},   {"b.2", "2"},  {"b.10", "1"}, {"b.", "1"},    {"b.x", "1"},
                         {"b.3", "0"},  {"b.4", "-1"}, {"b.5", ""},   {"b.0", "1"},   {"b.70000", "1"},
                         {"nchan", "2"}};
    CHECK(rx::bundle_pointers(txt) == std::map<uint16_t, uint16_t>{{2, 2}, {10, 1}});
    CHECK(rx::bundle_pointers({{"id", "1"}, {"default", ""}}).empty());
}

TEST_CASE("dante-rx: the bundle chosen carries every asked channel, lowest number first") {
    rx::BundleRoute route;
    std::string why;
    // Channel 1 in bundles 1 (slot 1) and 2 (slot 2); channel 2 in bundle 2 (slot 1).
    const std::map<uint16_t, std::map<uint16_t, uint16_t>> pointers{{1, {{1, 1}, {2, 2}}}, {2, {{2, 1}}}};
    REQUIRE(rx::choose_bundle({1, 2}, pointers, route, why));
    CHECK(route.bundle == 2);
    CHECK(route.slot_of_channel == std::vector<uint16_t>{2, 1});
    // Channel 1 alone: bundle 1, the lowest; an empty slot (0) records silence.
    REQUIRE(rx::choose_bundle({0, 1, 1}, pointers, route, why));
    CHECK(route.bundle == 1);
    CHECK(route.slot_of_channel == std::vector<uint16_t>{0, 1, 1});
    // No bundle with both.
    CHECK_FALSE(rx::choose_bundle({1, 2}, {{1, {{1, 1}}}, {2, {{3, 1}}}}, route, why));
    CHECK(why == "no one multicast bundle carries all the channels asked for");
    // A channel with no pointer at all: unicast.
    CHECK_FALSE(rx::choose_bundle({1, 2}, {{1, {{1, 1}}}, {2, {}}}, route, why));
    CHECK(why.find("channel 2 carries no b.N pointer") != std::string::npos);
    CHECK_FALSE(rx::choose_bundle({0}, {}, route, why));
}

TEST_CASE("dante-rx: a bundle's TXT gives the group, port and format") {
    rx::BundleRoute route;
    route.instance = "2@lab-tx";
    route.slot_of_channel = {2, 1};
    std::string why;
    rx::TxtMap txt{{"id", "2"},    {"a.0", "239.255.128.129"}, {"p.0", "4321"},        {"nchan", "2"},
                   {"en", "24"},   {"fpp", "32"},              {"latency_ns", "4000000"}};
    REQUIRE(rx::read_bundle_txt(txt, route, why));
    CHECK(route.group == ipv4(239, 255, 128, 129));
    CHECK(route.port == 4321);
    CHECK(route.slots == 2);
    CHECK(route.encoding_bits == 24);  // `en` when there is no `enc`
    CHECK(route.fpp == 32);
    CHECK(route.latency_ns == 4000000);

    for (const auto& c : std::vector<std::pair<std::string, std::string>>{
             {"a.0", "10.0.0.1"}, {"a.0", "239.255.1"}, {"p.0", "0"}, {"p.0", "70000"}, {"nchan", "0"},
             {"en", "20"}, {"fpp", "0"}, {"fpp", "32,2"}}) {
        const std::string& key = c.first;  // (not a structured binding: clang < 16 cannot capture one)
        const std::string& bad = c.second;
        CAPTURE(key);
        CAPTURE(bad);
        rx::TxtMap broken = txt;
        broken[key] = bad;
        CHECK_FALSE(rx::read_bundle_txt(broken, route, why));
        CHECK(why.starts_with("2@lab-tx has no usable"));
    }
    // A pointer past the bundle's slots.
    route.slot_of_channel = {3};
    CHECK_FALSE(rx::read_bundle_txt(txt, route, why));
}
