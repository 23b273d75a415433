// ARC for receive channels: 0x1000's RX count, 0x3000 (channels and subscriptions), 0x3001
// (labels), 0x3010 (subscribe), 0x3014 (remove). Requests are built as netaudio builds them
// (device_commands.py), from its description.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "control/arc_server.hpp"
#include "control_test_support.hpp"
#include "rx_test_support.hpp"

using namespace dante::control;
using namespace control_test;

namespace {

DeviceState rx_state(size_t rx_channels) {
    DeviceState state = make_state(2);
    for (size_t i = 1; i <= rx_channels; ++i) {
        char digits[24];  // not "0" + to_string(i): GCC 12 -O3's false -Wrestrict (see make_state)
        std::snprintf(digits, sizeof digits, "%02zu", i);
        const std::string name = digits;
        state.rx_channels.push_back({name, name, {}, kRxStatusNone});
    }
    return state;
}

}  // namespace

TEST_CASE("arc 0x1000 and 0x3000: configured RX channels are counted and listed with their labels") {
    DeviceState state = rx_state(4);
    const auto counts = handle_arc_request(netaudio_packet(0x1000), state);
    REQUIRE(counts.response);
    CHECK(*read_u16(*counts.response, 10 + 4) == 4);
    const auto list = handle_arc_request(paged_request(0x3000, 1), state);
    REQUIRE(list.response);
    const auto records = read_rx_page(*list.response);
    REQUIRE(records.size() == 4);
    CHECK(records[0].number == 1);
    CHECK(records[3].label == "04");
    CHECK(records[2].tx_channel.empty());
    CHECK(records[2].status == kRxStatusNone);
}

TEST_CASE("arc 0x3000: pages of 16, 0x8112 while more remain, start honoured") {
    DeviceState state = rx_state(40);
    uint16_t status = 0;
    auto page = read_rx_page(*handle_arc_request(paged_request(0x3000, 1), state).response, &status);
    CHECK(page.size() == 16);
    CHECK(status == kStatusOkMorePages);
    page = read_rx_page(*handle_arc_request(paged_request(0x3000, 33), state).response, &status);
    REQUIRE(page.size() == 8);
    CHECK(page[0].number == 33);
    CHECK(status == kStatusOk);
}

TEST_CASE("arc 0x3010: subscriptions become effects; 0x3000 shows them once applied") {
    DeviceState state = rx_state(4);
    const auto result = handle_arc_request(subscribe_request({{1, "01", "stage-box"}, {2, "Guitar L", "stage-box"}}), state);
    REQUIRE(result.response);
    CHECK(*read_u16(*result.response, 8) == kStatusOk);
    REQUIRE(result.subscription_changes.size() == 2);
    CHECK(result.subscription_changes[0].rx_channel == 1);
    CHECK(result.subscription_changes[0].subscription == RxSubscription{"01", "stage-box"});
    CHECK(result.subscription_changes[1].subscription == RxSubscription{"Guitar L", "stage-box"});

    // The shell applies them (and the receiving side sets a status) before it answers.
    for (const auto& change : result.subscription_changes) {
        state.rx_channels[change.rx_channel - 1u].subscription = change.subscription;
        state.rx_channels[change.rx_channel - 1u].status = kRxStatusUnresolved;
    }
    const auto records = read_rx_page(*handle_arc_request(paged_request(0x3000, 1), state).response);
    CHECK(records[0].tx_channel == "01");
    CHECK(records[0].tx_device == "stage-box");
    CHECK(records[0].status == kRxStatusUnresolved);
    CHECK(records[1].tx_channel == "Guitar L");
    CHECK(records[2].tx_device.empty());

    // The same again: acknowledged, no effect.
    const auto again = handle_arc_request(subscribe_request({{1, "01", "stage-box"}}), state);
    CHECK(*read_u16(*again.response, 8) == kStatusOk);
    CHECK(again.subscription_changes.empty());
}

TEST_CASE("arc 0x3010 with empty offsets and 0x3014 unsubscribe; bad requests change nothing") {
    DeviceState state = rx_state(4);
    state.rx_channels[1].subscription = {"01", "stage-box"};
    state.rx_channels[2].subscription = {"02", "stage-box"};

    // 0x3010, both offsets 0: unsubscribe channel 2.
    Packet p = netaudio_packet(0x3010, {0, 0, 2, 1, 0, 2, 0, 0, 0, 0});
    auto result = handle_arc_request(p, state);
    REQUIRE(result.subscription_changes.size() == 1);
    CHECK(result.subscription_changes[0].rx_channel == 2);
    CHECK(result.subscription_changes[0].subscription.empty());

    // 0x3014 (netaudio remove_subscriptions): channels 3 and 4; 4 had none.
    result = handle_arc_request(remove_request({3, 4}), state);
    CHECK(*read_u16(*result.response, 8) == kStatusOk);
    REQUIRE(result.subscription_changes.size() == 1);
    CHECK(result.subscription_changes[0].rx_channel == 3);

    // Refused whole: an RX channel we do not have, a bad device name, a bad label, an
    // offset into the header, a truncated record, a 0x3014 naming channel 0.
    for (const Packet& bad : {subscribe_request({{1, "01", "a"}, {9, "01", "stage-box"}}),
                              subscribe_request({{1, "01", "not a host name"}}),
                              subscribe_request({{1, "bad@label", "stage-box"}}),
                              netaudio_packet(0x3010, {0, 0, 2, 1, 0, 1, 0, 4, 0, 4}),
                              netaudio_packet(0x3010, {0, 0, 2, 2, 0, 1, 0, 0, 0, 0}),
                              remove_request({0}), remove_request({})}) {
        const auto refused = handle_arc_request(bad, state);
        REQUIRE(refused.response);
        CHECK(*read_u16(*refused.response, 8) == kStatusError);
        CHECK(refused.subscription_changes.empty());
    }
}

TEST_CASE("arc 0x3001: RX labels set and reset (netaudio set_channel_name rx)") {
    DeviceState state = rx_state(2);
    auto result = handle_arc_request(set_rx_name_request(2, "Vocal"), state);
    CHECK(*read_u16(*result.response, 8) == kStatusOk);
    REQUIRE(result.rx_channel_renames.size() == 1);
    CHECK(result.rx_channel_renames[0].channel_number == 2);
    CHECK(result.rx_channel_renames[0].new_user_name == "Vocal");
    state.rx_channels[1].user_name = "Vocal";
    CHECK(read_rx_page(*handle_arc_request(paged_request(0x3000, 1), state).response)[1].label == "Vocal");
    // Reset: the offset points at the datagram's end.
    result = handle_arc_request(set_rx_name_request(2, ""), state);
    REQUIRE(result.rx_channel_renames.size() == 1);
    CHECK(result.rx_channel_renames[0].new_user_name == "02");
    // Bad: channel 3 of 2, an illegal label.
    CHECK(*read_u16(*handle_arc_request(set_rx_name_request(3, "x"), state).response, 8) == kStatusError);
    CHECK(*read_u16(*handle_arc_request(set_rx_name_request(1, "a=b"), state).response, 8) == kStatusError);
}
