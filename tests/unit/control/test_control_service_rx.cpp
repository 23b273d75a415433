// ControlService and receive channels on loopback: the RX channels come from dante.rx.*, a
// controller's 0x3001 / 0x3010 / 0x3014 are applied before the reply (the next 0x3000 shows
// them), saved, and back after a restart; a state file never outranks the channel count.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "control/control_service.hpp"
#include "control_test_support.hpp"
#include "loopback_client.hpp"
#include "rx_test_support.hpp"

using namespace control_test;
using dante::control::kRxStatusNone;
using dante::control::kRxStatusUnresolved;

namespace {

// Ports apart from test_control_service.cpp's (31000..39000), per process.
uint16_t port_base() { return static_cast<uint16_t>(39000 + (getpid() % 2000) * 4); }

dante::DeviceConfig rx_config(uint32_t rx_channels) {
    dante::DeviceConfig config;
    config.device_name = "unit-rx";
    config.interface = std::string("lo");
    config.channels = 2;
    config.port_base = port_base();
    config.rx_channels = rx_channels;
    for (uint32_t i = 1; i <= rx_channels; ++i) {
        char digits[24];  // not "0" + to_string(i): GCC 12 -O3's false -Wrestrict (see make_state)
        std::snprintf(digits, sizeof digits, "%02u", i);
        config.rx_names.emplace_back(digits);
    }
    return config;
}

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

bool ok(const Packet& reply) { return reply.size() >= 10 && ((reply[8] << 8) | reply[9]) == 0x0001; }

std::vector<RxRecord> rx_list(const Client& client) {
    const Packet reply = client.ask(paged_request(0x3000, 1), port_base());
    REQUIRE(reply.size() > 12);
    return read_rx_page(reply);
}

}  // namespace

TEST_CASE("ControlService: RX channels from the config, controller changes applied at once, saved and restored") {
    const TempDir dir("ctl-rx-test");
    const std::string state_file = (dir.path / "state.json").string();
    dante::DeviceConfig config = rx_config(4);
    config.rx_names[0] = "Vocal";
    config.rx_subscriptions = {{2, "01", "stage-box"}};
    {
        dante::ControlService service(config, state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        Client client;
        // 0x1000: 4 RX channels (the RX count follows the TX count in the body).
        const Packet counts = client.ask(netaudio_packet(0x1000), port_base());
        REQUIRE(counts.size() >= 16);
        CHECK(*read_u16(counts, 10 + 4) == 4);

        // The configured labels and subscription, reported as unresolved: nothing receives yet.
        auto records = rx_list(client);
        REQUIRE(records.size() == 4);
        CHECK(records[0].label == "Vocal");
        CHECK(records[0].tx_channel.empty());
        CHECK(records[0].status == kRxStatusNone);
        CHECK(records[1].tx_channel == "01");
        CHECK(records[1].tx_device == "stage-box");
        CHECK(records[1].status == kRxStatusUnresolved);
        CHECK(prop(service.properties(), "dante.rx.channels") == "4");
        CHECK(prop(service.properties(), "dante.rx.subscriptions") ==
              R"([ { rx = 2 tx-channel = "01" tx-device = "stage-box" status = unresolved } ])");

        // 0x3010 and, right after its OK, 0x3000 shows the subscription.
        CHECK(ok(client.ask(subscribe_request({{1, "Guitar L", "amp-2"}}), port_base())));
        records = rx_list(client);
        CHECK(records[0].tx_channel == "Guitar L");
        CHECK(records[0].tx_device == "amp-2");
        CHECK(records[0].status == kRxStatusUnresolved);

        // 0x3001, likewise.
        CHECK(ok(client.ask(set_rx_name_request(3, "Keys"), port_base())));
        CHECK(rx_list(client)[2].label == "Keys");

        // 0x3014 removes the configured subscription of channel 2.
        CHECK(ok(client.ask(remove_request({2}), port_base())));
        records = rx_list(client);
        CHECK(records[1].tx_channel.empty());
        CHECK(records[1].status == kRxStatusNone);
        CHECK(prop(service.properties(), "dante.rx.subscriptions") ==
              R"([ { rx = 1 tx-channel = "Guitar L" tx-device = "amp-2" status = unresolved } ])");

        // A refused request changes nothing and counts nothing.
        CHECK_FALSE(ok(client.ask(subscribe_request({{5, "01", "stage-box"}}), port_base())));
        CHECK(prop(service.properties(), "dante.control.subscriptions") == "2");
        CHECK(prop(service.properties(), "dante.control.renames") == "1");
        CHECK(prop(service.properties(), "dante.control.save-errors") == "0");
    }
    {
        // Restarted with the same args and state file: the controller's changes are back, the
        // removal of a configured subscription included.
        dante::ControlService service(config, state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        Client client;
        auto records = rx_list(client);
        REQUIRE(records.size() == 4);
        CHECK(records[0].label == "Vocal");
        CHECK(records[0].tx_channel == "Guitar L");
        CHECK(records[0].status == kRxStatusUnresolved);
        CHECK(records[1].tx_channel.empty());
        CHECK(records[2].label == "Keys");
        CHECK(records[3].label == "04");
        CHECK(prop(service.properties(), "dante.control.state-error").empty());

        // A label reset returns to the configured label; subscribing back to what the config
        // says leaves nothing about that channel in the file.
        CHECK(ok(client.ask(set_rx_name_request(3, ""), port_base())));
        CHECK(rx_list(client)[2].label == "03");
        CHECK(ok(client.ask(subscribe_request({{2, "01", "stage-box"}}), port_base())));
        CHECK(rx_list(client)[1].tx_device == "stage-box");
    }
    std::ifstream in(state_file);
    const std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(saved.find("rx_unsubscribed") == std::string::npos);
    CHECK(saved.find("Guitar L") != std::string::npos);
    CHECK(saved.find("stage-box") == std::string::npos);
}

TEST_CASE("ControlService: a state file's RX data beyond dante.rx.channels is ignored, not a crash") {
    const TempDir dir("ctl-rx-beyond");
    const std::string state_file = (dir.path / "state.json").string();
    std::ofstream(state_file) << R"({"version": 1, "device_name": "", "tx_channel_names": [],
        "rx_channel_names": ["A", "B", "C", "D"],
        "rx_subscriptions": [ {"rx": 1, "tx_channel": "01", "tx_device": "box"},
                              {"rx": 9, "tx_channel": "02", "tx_device": "box"} ],
        "rx_unsubscribed": [ 7 ]})";
    for (const uint32_t channels : {2u, 0u}) {
        CAPTURE(channels);
        dante::ControlService service(rx_config(channels), state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        Client client;
        const auto records = rx_list(client);
        REQUIRE(records.size() == channels);
        if (channels == 2) {
            CHECK(records[0].label == "A");
            CHECK(records[0].tx_device == "box");
            CHECK(records[1].label == "B");
            CHECK(records[1].tx_channel.empty());
        }
        const Packet counts = client.ask(netaudio_packet(0x1000), port_base());
        REQUIRE(counts.size() >= 16);
        CHECK(*read_u16(counts, 10 + 4) == channels);
        CHECK(prop(service.properties(), "dante.control.state-error").empty());
    }
}

TEST_CASE("ControlService: the receiving side gets every subscription at start and after each change, "
          "and 0x3000 reports its state") {
    dante::DeviceConfig config = rx_config(3);
    config.rx_subscriptions = {{2, "01", "stage-box"}};
    std::mutex mutex;
    std::vector<std::vector<dante::RxSubscriptionConfig>> handed;  // what the hook got, in order
    dante::ControlServiceOptions options;
    options.rx_subscriptions = [&](std::vector<dante::RxSubscriptionConfig> subs) {
        std::lock_guard lock(mutex);
        handed.push_back(std::move(subs));
    };
    // Channel 2 receives; anything else subscribed is in progress.
    options.rx_status = [](uint16_t rx_channel) {
        return rx_channel == 2 ? dante::control::kRxStatusReceivingUnicast : dante::control::kRxStatusInProgress;
    };
    dante::ControlService service(config, "", options);
    std::string error;
    REQUIRE_MESSAGE(service.start(error), error);
    {
        std::lock_guard lock(mutex);
        REQUIRE(handed.size() == 1);
        CHECK(handed[0] == std::vector<dante::RxSubscriptionConfig>{{2, "01", "stage-box"}});
    }
    Client client;
    auto records = rx_list(client);
    REQUIRE(records.size() == 3);
    CHECK(records[0].status == kRxStatusNone);  // not subscribed: never asks the hook
    CHECK(records[1].status == dante::control::kRxStatusReceivingUnicast);
    CHECK(prop(service.properties(), "dante.rx.subscriptions") ==
          R"([ { rx = 2 tx-channel = "01" tx-device = "stage-box" status = receiving-unicast } ])");

    // A controller subscribes channel 3: the hook has the whole set before the OK.
    CHECK(ok(client.ask(subscribe_request({{3, "02", "stage-box"}}), port_base())));
    {
        std::lock_guard lock(mutex);
        REQUIRE(handed.size() == 2);
        CHECK(handed[1] == std::vector<dante::RxSubscriptionConfig>{{2, "01", "stage-box"}, {3, "02", "stage-box"}});
    }
    records = rx_list(client);
    CHECK(records[2].status == dante::control::kRxStatusInProgress);

    // Removing one hands over the rest; a refused request hands over nothing.
    CHECK(ok(client.ask(remove_request({2}), port_base())));
    CHECK_FALSE(ok(client.ask(subscribe_request({{7, "01", "stage-box"}}), port_base())));
    std::lock_guard lock(mutex);
    REQUIRE(handed.size() == 3);
    CHECK(handed[2] == std::vector<dante::RxSubscriptionConfig>{{3, "02", "stage-box"}});
}
