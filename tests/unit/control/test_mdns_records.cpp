#include <doctest/doctest.h>

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
        CHECK(record.instance == (i < 10 ? "0" : "") + std::to_string(i) + "@studio-pc");
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
