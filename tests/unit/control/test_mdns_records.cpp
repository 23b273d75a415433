#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "control/mdns_records.hpp"
#include "control_test_support.hpp"

using namespace dante::control;
using namespace control_test;

namespace {

using Strings = std::vector<std::string>;

Strings channel_txt(int id, int nchan, bool is_default) {
    Strings txt{"txtvers=2",  "dbcp1=0x1102", "dbcp=0x1004", "id=" + std::to_string(id), "rate=48000",
                "pcm=3 e",    "enc=24",       "en=24",       "latency_ns=4000000",      "fpp=32,2",
                "nchan=" + std::to_string(nchan)};
    if (is_default) txt.emplace_back("default");
    return txt;
}

}  // namespace

TEST_CASE("mdns: two channels on the standard ports") {
    const auto records = build_service_records(make_state(2), MdnsParams{});
    REQUIRE(records.size() == 4);

    CHECK(records[0].type == "_netaudio-arc._udp");
    CHECK(records[0].instance == "studio-pc");
    CHECK(records[0].host_label == "studio-pc");
    CHECK(records[0].port == 4440);
    CHECK(records[0].ttl_seconds == 4500);
    CHECK(records[0].txt == Strings{"arcp_vers=2.7.41", "arcp_min=0.2.4", "router_vers=4.0.2",
                                    "router_info=PipeWire-Dante", "mf=PipeWire-Dante", "model=_000000000000000b"});

    CHECK(records[1].type == "_netaudio-cmc._udp");
    CHECK(records[1].instance == "studio-pc");
    CHECK(records[1].port == 8800);
    CHECK(records[1].txt == Strings{"id=0000c0a800070000", "process=3", "cmcp_vers=1.2.0", "cmcp_min=1.0.0",
                                    "server_vers=4.0.2", "channels=0x6000004d", "mf=PipeWire-Dante",
                                    "model=_000000000000000b", "", ""});

    CHECK(records[2].type == "_netaudio-chan._udp");
    CHECK(records[2].instance == "01@studio-pc");
    CHECK(records[2].host_label == "studio-pc");
    CHECK(records[2].port == 4455);
    CHECK(records[2].txt == channel_txt(1, 2, true));
    CHECK(records[3].instance == "02@studio-pc");
    CHECK(records[3].txt == channel_txt(2, 2, true));
}

TEST_CASE("mdns: twenty channels: one instance each, nchan capped at 8") {
    const auto records = build_service_records(make_state(20), MdnsParams{});
    REQUIRE(records.size() == 22);
    for (int i = 1; i <= 20; ++i) {
        CAPTURE(i);
        const ServiceRecord& record = records[static_cast<size_t>(i) + 1];
        CHECK(record.type == "_netaudio-chan._udp");
        char instance[32];  // (snprintf: GCC 12 -O3 false -Wrestrict in "0" + to_string(i))
        std::snprintf(instance, sizeof instance, "%02d@studio-pc", i);
        CHECK(record.instance == instance);
        CHECK(record.txt == channel_txt(i, 8, true));
    }
}

TEST_CASE("mdns: a renamed channel is advertised under both names, `default` on the factory one") {
    DeviceState state = make_state(2);
    state.tx_channels[1].user_name = "Guitar R";
    const auto records = build_service_records(state, MdnsParams{});
    REQUIRE(records.size() == 5);
    CHECK(records[2].instance == "01@studio-pc");
    CHECK(records[3].instance == "02@studio-pc");
    CHECK(records[3].txt == channel_txt(2, 2, true));
    CHECK(records[4].instance == "Guitar R@studio-pc");
    CHECK(records[4].txt == channel_txt(2, 2, false));
}

TEST_CASE("mdns: a renamed device renames every instance") {
    DeviceState state = make_state(1);
    state.device_name = "stage-left";
    for (const auto& record : build_service_records(state, MdnsParams{})) {
        CHECK(record.host_label == "stage-left");
        CHECK(record.instance.ends_with("stage-left"));
    }
}

TEST_CASE("mdns: port base shifts ARC, CMC and flow control as Inferno's alt-port scheme") {
    const auto ports = control_ports_for(14000);
    REQUIRE(ports);
    CHECK(ports->arc == 14000);
    CHECK(ports->cmc == 14001);
    CHECK(ports->flow_control == 14002);
    CHECK(ports->info_request == 14003);
    const auto records = build_service_records(make_state(1), MdnsParams{.ports = *ports});
    REQUIRE(records.size() == 3);
    CHECK(records[0].port == 14000);
    CHECK(records[1].port == 14001);
    CHECK(records[2].port == 14002);

    const auto standard = control_ports_for(0);
    REQUIRE(standard);
    CHECK(standard->arc == 4440);
    CHECK(standard->info_request == 8700);
    CHECK(control_ports_for(65532));
    CHECK_FALSE(control_ports_for(65533));
}

TEST_CASE("mdns: format TXT follows the device (16-bit, 96 kHz, old pcm type, other fpp)") {
    DeviceState state = make_state(1);
    state.encoding_bits = 16;
    state.rate = 96000;
    state.pcm_type = 0x04;
    state.latency_ns = 1'000'000;
    const auto records = build_service_records(state, MdnsParams{.ports = {}, .fpp_max = 16, .fpp_min = 4, .max_channels_per_flow = 8});
    CHECK(records[2].txt == Strings{"txtvers=2", "dbcp1=0x1102", "dbcp=0x1004", "id=1", "rate=96000", "pcm=2 4",
                                    "enc=16", "en=16", "latency_ns=1000000", "fpp=16,4", "nchan=1", "default"});
}

TEST_CASE("mdns: TXT strings are cut at 255 bytes") {
    DeviceState state = make_state(1);
    state.board_name = std::string(300, 'b');
    const auto records = build_service_records(state, MdnsParams{});
    CHECK(records[0].txt[3].size() == 255);
    CHECK(records[0].txt[3].starts_with("router_info=bbb"));
}

// ---- multicast bundles (`b.N`, `_netaudio-bund._udp`; docs/protocol.md#mdns-and-dns-sd)

namespace {

TxFlowSummary multicast_flow(uint16_t number, std::vector<uint16_t> channels, uint32_t group, uint16_t fpp = 32,
                             uint16_t bits = 24) {
    TxFlowSummary flow;
    flow.flow_number = number;
    flow.multicast = true;
    flow.rate = 48000;
    flow.encoding_bits = bits;
    flow.frames_per_packet = fpp;
    flow.channels = std::move(channels);
    flow.address = group;
    flow.port = 4321;
    return flow;
}

Strings with(Strings txt, std::initializer_list<std::string> extra, bool is_default) {
    // b.N pointers go after nchan, before `default`.
    if (is_default) txt.pop_back();
    txt.insert(txt.end(), extra);
    if (is_default) txt.emplace_back("default");
    return txt;
}

constexpr uint32_t kGroup1 = (239u << 24) | (255u << 16) | (3u << 8) | 128u;  // 239.255.3.128
constexpr uint32_t kGroup2 = (239u << 24) | (255u << 16) | (3u << 8) | 129u;  // 239.255.3.129

const ServiceRecord* find_record(const std::vector<ServiceRecord>& records, const std::string& type,
                                 const std::string& instance) {
    for (const ServiceRecord& record : records)
        if (record.type == type && record.instance == instance) return &record;
    return nullptr;
}

}  // namespace

TEST_CASE("mdns: one multicast flow: a bund instance and `b.N` on the channels it carries") {
    DeviceState state = make_state(4);
    state.tx_flows = {multicast_flow(1, {3, 1}, kGroup1)};
    const auto records = build_service_records(state, MdnsParams{});
    REQUIRE(records.size() == 2 + 4 + 1);

    CHECK(records[2].txt == with(channel_txt(1, 4, true), {"b.1=2"}, true));  // channel 1 in slot 2
    CHECK(records[3].txt == channel_txt(2, 4, true));                         // not in the flow
    CHECK(records[4].txt == with(channel_txt(3, 4, true), {"b.1=1"}, true));  // channel 3 in slot 1
    CHECK(records[5].txt == channel_txt(4, 4, true));

    const ServiceRecord& bund = records[6];
    CHECK(bund.type == "_netaudio-bund._udp");
    CHECK(bund.instance == "1@studio-pc");
    CHECK(bund.host_label == "studio-pc");
    CHECK(bund.port == 4455);
    CHECK(bund.ttl_seconds == 120);
    CHECK(bund.txt == Strings{"id=1", "a.0=239.255.3.128", "p.0=4321", "nchan=2", "enc=24", "en=24", "fpp=32",
                              "latency_ns=4000000"});
}

TEST_CASE("mdns: two multicast flows: one bund each, by flow number, with their own format") {
    DeviceState state = make_state(4);
    // Listed out of order on purpose: the records come by flow number.
    state.tx_flows = {multicast_flow(5, {4}, kGroup2, 16, 32), multicast_flow(2, {1, 2, 0}, kGroup1)};
    const auto records = build_service_records(state, MdnsParams{});
    REQUIRE(records.size() == 2 + 4 + 2);
    CHECK(records[2].txt == with(channel_txt(1, 4, true), {"b.2=1"}, true));
    CHECK(records[3].txt == with(channel_txt(2, 4, true), {"b.2=2"}, true));
    CHECK(records[4].txt == channel_txt(3, 4, true));
    CHECK(records[5].txt == with(channel_txt(4, 4, true), {"b.5=1"}, true));

    CHECK(records[6].instance == "2@studio-pc");
    // The empty slot counts: nchan is the number of channels in each packet.
    CHECK(records[6].txt == Strings{"id=2", "a.0=239.255.3.128", "p.0=4321", "nchan=3", "enc=24", "en=24", "fpp=32",
                                    "latency_ns=4000000"});
    CHECK(records[7].instance == "5@studio-pc");
    CHECK(records[7].txt == Strings{"id=5", "a.0=239.255.3.129", "p.0=4321", "nchan=1", "enc=32", "en=32", "fpp=16",
                                    "latency_ns=4000000"});
}

TEST_CASE("mdns: a channel in two multicast flows points at both, lowest flow first") {
    DeviceState state = make_state(2);
    state.tx_channels[1].user_name = "Bass";
    state.tx_flows = {multicast_flow(3, {2}, kGroup2), multicast_flow(1, {1, 2, 2}, kGroup1)};
    const auto records = build_service_records(state, MdnsParams{});
    REQUIRE(records.size() == 2 + 3 + 2);
    CHECK(records[2].txt == with(channel_txt(1, 2, true), {"b.1=1"}, true));
    // Twice in flow 1: its first slot. Both the factory and the user-label instance.
    CHECK(records[3].instance == "02@studio-pc");
    CHECK(records[3].txt == with(channel_txt(2, 2, true), {"b.1=2", "b.3=1"}, true));
    CHECK(records[4].instance == "Bass@studio-pc");
    CHECK(records[4].txt == with(channel_txt(2, 2, false), {"b.1=2", "b.3=1"}, false));
    CHECK(records[5].instance == "1@studio-pc");
    CHECK(records[6].instance == "3@studio-pc");
}

TEST_CASE("mdns: unicast flows are not advertised; a deleted multicast flow leaves no trace") {
    DeviceState state = make_state(2);
    TxFlowSummary unicast = multicast_flow(1, {1, 2}, (10u << 24) | 2u);
    unicast.multicast = false;
    state.tx_flows = {unicast, multicast_flow(2, {2}, kGroup1)};
    auto records = build_service_records(state, MdnsParams{});
    REQUIRE(records.size() == 2 + 2 + 1);
    CHECK(records[2].txt == channel_txt(1, 2, true));
    CHECK(records[3].txt == with(channel_txt(2, 2, true), {"b.2=1"}, true));
    CHECK(find_record(records, kBundleServiceType, "2@studio-pc") != nullptr);
    CHECK(find_record(records, kBundleServiceType, "1@studio-pc") == nullptr);

    // 0x2202 deleted flow 2: the set is the one of a device that never had it.
    state.tx_flows = {unicast};
    records = build_service_records(state, MdnsParams{});
    CHECK(records.size() == 4);
    for (const ServiceRecord& record : records) {
        CHECK(record.type != kBundleServiceType);
        for (const std::string& txt : record.txt) CHECK_FALSE(txt.starts_with("b."));
    }
    state.tx_flows.clear();
    CHECK(build_service_records(state, MdnsParams{}).size() == records.size());
}

TEST_CASE("mdns: bundles follow a rename and the port base; unknown channels get no pointer") {
    DeviceState state = make_state(1);
    state.device_name = "stage-left";
    state.tx_flows = {multicast_flow(7, {9, 1}, kGroup1)};  // channel 9 does not exist
    const auto ports = control_ports_for(14000);
    REQUIRE(ports);
    const auto records = build_service_records(state, MdnsParams{.ports = *ports});
    REQUIRE(records.size() == 2 + 1 + 1);
    CHECK(records[2].txt == with(channel_txt(1, 1, true), {"b.7=2"}, true));
    CHECK(records[3].instance == "7@stage-left");
    CHECK(records[3].host_label == "stage-left");
    CHECK(records[3].port == 14002);
    CHECK(records[3].txt[3] == "nchan=2");
}
