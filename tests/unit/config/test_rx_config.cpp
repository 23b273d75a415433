// dante.rx.channels, dante.rx.names and dante.rx.subscriptions, and the SPA JSON reader
// behind the structured ones: good values, bad ones, hostile ones.
#include <doctest/doctest.h>

#include <string>

#include "config/device_config.hpp"
#include "config/spa_json.hpp"

using namespace dante;

namespace {

ConfigResult parse(const ConfigItems& items) { return parse_device_config(items, "host-1"); }

// The error of a refused config (the test fails if it was accepted).
std::string error_of(const ConfigItems& items) {
    const auto r = parse(items);
    CHECK_FALSE(r.config);
    return r.error;
}

std::string many_subscriptions(size_t n) {
    std::string text = "[";
    for (size_t i = 1; i <= n; ++i)
        text += " { rx = " + std::to_string(i) + " tx-channel = \"01\" tx-device = \"stage-box\" }";
    return text + " ]";
}

}  // namespace

TEST_CASE("spa json: relaxed syntax as PipeWire writes module args") {
    const auto r = parse_spa_json(R"([ { rx = 1 tx-channel = "01" tx-device = stage-box }, { "rx": 2, "tx-channel": "A\"b" } ]
        # a comment
    )");
    REQUIRE(r.value);
    REQUIRE(r.value->kind == SpaJsonValue::Kind::array);
    REQUIRE(r.value->children.size() == 2);
    const SpaJsonValue& first = r.value->children[0];
    REQUIRE(first.children.size() == 3);
    CHECK(first.children[0].key == "rx");
    CHECK(first.children[0].kind == SpaJsonValue::Kind::bare);
    CHECK(first.children[0].text == "1");
    CHECK(first.children[1].kind == SpaJsonValue::Kind::string);
    CHECK(first.children[2].text == "stage-box");
    CHECK(r.value->children[1].children[1].text == "A\"b");
    CHECK(parse_spa_json("[]").value->children.empty());
    CHECK(parse_spa_json("\"\\u0041\"").value->text == "A");
}

TEST_CASE("spa json: broken and hostile text is refused with a position, within bounded work") {
    for (const char* bad : {"[", "[ \"open ]", "{ a = ", "[ ] x", "", "]", "[ \"\\q\" ]", "\"\\u12\""}) {
        CAPTURE(bad);
        const auto r = parse_spa_json(bad);
        CHECK_FALSE(r.value);
        CHECK(r.error.find("at byte") != std::string::npos);
    }
    CHECK(parse_spa_json(std::string(100'000, '[')).error.find("nesting deeper") != std::string::npos);
    std::string wide = "[";
    for (int i = 0; i < 10'000; ++i) wide += " x";
    wide += " ]";
    CHECK(parse_spa_json(wide).error.find("more than 1024 values") != std::string::npos);
}

TEST_CASE("dante.rx.*: defaults are no RX channels; a count gives labels 01, 02, ...") {
    const auto none = parse({});
    REQUIRE(none.config);
    CHECK(none.config->rx_channels == 0);
    CHECK(none.config->rx_names.empty());
    CHECK(none.config->rx_subscriptions.empty());

    const auto four = parse({{"dante.rx.channels", "4"}});
    REQUIRE(four.config);
    CHECK(four.config->rx_names == std::vector<std::string>{"01", "02", "03", "04"});
    const auto max = parse({{"dante.rx.channels", "64"}});
    REQUIRE(max.config);
    CHECK(max.config->rx_names.back() == "64");
}

TEST_CASE("dante.rx.names: labels as an SPA JSON array, the rest keep their number") {
    const auto r = parse({{"dante.rx.channels", "3"}, {"dante.rx.names", R"([ "Vocal" "Guitar L" ])"}});
    REQUIRE(r.config);
    CHECK(r.config->rx_names == std::vector<std::string>{"Vocal", "Guitar L", "03"});
    const auto bare = parse({{"dante.rx.channels", "2"}, {"dante.rx.names", "[ Kick, Snare ]"}});
    REQUIRE(bare.config);
    CHECK(bare.config->rx_names == std::vector<std::string>{"Kick", "Snare"});
    CHECK(parse({{"dante.rx.channels", "2"}, {"dante.rx.names", "[]"}}).config->rx_names.size() == 2);
}

TEST_CASE("dante.rx.names: labels a controller would refuse, and other bad values, are errors naming the key") {
    const ConfigItems two{{"dante.rx.channels", "2"}};
    const auto with = [&](std::string value) {
        ConfigItems items = two;
        items.emplace_back("dante.rx.names", std::move(value));
        return error_of(items);
    };
    CHECK(with(R"([ "a.b" ])").find("invalid dante.rx.names") == 0);
    CHECK(with(R"([ "a.b" ])").find("entry 1 \"a.b\" is not a valid label") != std::string::npos);
    CHECK(with(R"([ "ok" "x@y" ])").find("entry 2") != std::string::npos);
    CHECK(with(R"([ "a=b" ])").find("not a valid label") != std::string::npos);
    CHECK(with(R"([ " lead" ])").find("not a valid label") != std::string::npos);
    CHECK(with(R"([ "" ])").find("not a valid label") != std::string::npos);
    CHECK(with("[ \"" + std::string(32, 'a') + "\" ]").find("not a valid label") != std::string::npos);
    CHECK(with(R"([ "caf\u00e9" ])").find("not a valid label") != std::string::npos);  // not ASCII
    CHECK(with("[ [ \"nested\" ] ]").find("invalid dante.rx.names") == 0);
    CHECK(with("[ { a = b } ]").find("invalid dante.rx.names") == 0);
    CHECK(with("Vocal").find("accepted an array") != std::string::npos);
    CHECK(with("[ \"unterminated ]").find("unterminated string") != std::string::npos);
    // More labels than channels: said with both numbers.
    CHECK(with("[ a b c ]") == "invalid dante.rx.names: it names 3 channels but dante.rx.channels is 2");
    CHECK(error_of({{"dante.rx.names", "[ a ]"}}).find("dante.rx.channels is 0") != std::string::npos);
    // Hostile: 10k labels are refused as a whole, and the message stays short.
    std::string huge = "[";
    for (int i = 0; i < 10'000; ++i) huge += " \"Label\"";
    huge += " ]";
    const std::string error = with(huge);
    CHECK(error.find("invalid dante.rx.names") == 0);
    CHECK(error.find("(more than 64 labels)") != std::string::npos);
    CHECK(error.size() < 600);
}

TEST_CASE("dante.rx.subscriptions: the documented shape is read") {
    const auto r = parse({{"dante.rx.channels", "4"},
                          {"dante.rx.subscriptions",
                           R"([ { rx = 1 tx-channel = "01" tx-device = "stage-box" }
                                { rx = 4, tx-channel = "Guitar L", tx-device = amp-2 } ])"}});
    REQUIRE(r.config);
    REQUIRE(r.config->rx_subscriptions.size() == 2);
    CHECK(r.config->rx_subscriptions[0] == RxSubscriptionConfig{1, "01", "stage-box"});
    CHECK(r.config->rx_subscriptions[1] == RxSubscriptionConfig{4, "Guitar L", "amp-2"});
    CHECK(parse({{"dante.rx.channels", "1"}, {"dante.rx.subscriptions", "[ ]"}}).config->rx_subscriptions.empty());
    // The key order does not matter; all 64 channels may be subscribed.
    CHECK(parse({{"dante.rx.channels", "1"},
                 {"dante.rx.subscriptions", R"([ { tx-device = a tx-channel = b rx = 1 } ])"}})
              .config);
    const auto full = parse({{"dante.rx.channels", "64"}, {"dante.rx.subscriptions", many_subscriptions(64)}});
    REQUIRE(full.config);
    CHECK(full.config->rx_subscriptions.size() == 64);
}

TEST_CASE("dante.rx.subscriptions: every malformed entry is an error naming the key and the entry") {
    const auto with = [](std::string value, std::string channels = "4") {
        return error_of({{"dante.rx.channels", std::move(channels)}, {"dante.rx.subscriptions", std::move(value)}});
    };
    const auto says = [&](const std::string& value, const std::string& needle) {
        const std::string error = with(value);
        CAPTURE(error);
        CHECK(error.find("invalid dante.rx.subscriptions") == 0);
        CHECK(error.find(needle) != std::string::npos);
    };
    says(R"([ { rx = 5 tx-channel = "01" tx-device = "box" } ])", "rx 5 is beyond dante.rx.channels = 4");
    says(R"([ { rx = 0 tx-channel = "01" tx-device = "box" } ])", "rx \"0\" is not an RX channel number");
    says(R"([ { rx = 65 tx-channel = "01" tx-device = "box" } ])", "not an RX channel number");
    says(R"([ { rx = -1 tx-channel = "01" tx-device = "box" } ])", "not an RX channel number");
    says(R"([ { rx = 99999999999999999999 tx-channel = "01" tx-device = "box" } ])", "not an RX channel number");
    says(R"([ { rx = "1" tx-channel = "01" tx-device = "box" } ])", "not an RX channel number");  // a string
    says(R"([ { rx = 1.5 tx-channel = "01" tx-device = "box" } ])", "not an RX channel number");
    says(R"([ { rx = [ 1 ] tx-channel = "01" tx-device = "box" } ])", "nesting deeper than 2");
    says(R"([ { rx = 1 tx-channel = "0.1" tx-device = "box" } ])", "tx-channel \"0.1\" is not a valid channel label");
    says(R"([ { rx = 1 tx-channel = "01" tx-device = "stage box" } ])", "not a valid Dante device name");
    says(R"([ { rx = 1 tx-channel = "01" tx-device = "-box" } ])", "not a valid Dante device name");
    says(R"([ { rx = 1 tx-channel = "01" } ])", "entry 1: missing tx-device");
    says(R"([ { tx-channel = "01" tx-device = box } ])", "missing rx");
    says(R"([ { rx = 1 tx-device = box } ])", "missing tx-channel");
    says(R"([ { rx = 1 rx = 2 tx-channel = "01" tx-device = box } ])", "key rx given twice");
    says(R"([ { rx = 1 tx-channel = "01" tx-device = box volume = 3 } ])", "unknown key \"volume\"");
    says(R"([ { rx = 1 tx-channel = a tx-device = b } { rx = 1 tx-channel = c tx-device = d } ])",
         "entry 2: rx 1 is subscribed twice");
    says(R"([ 1 ])", "entry 1: not an object");
    says(R"([ [ ] ])", "entry 1: not an object");
    says(R"([ { rx = 1 tx-channel = a tx-device = b } )", "missing ']'");
    CHECK(with(R"({ rx = 1 tx-channel = a tx-device = b })").find("accepted an array") != std::string::npos);
    CHECK(with("yes").find("accepted an array") != std::string::npos);
    // Without RX channels nothing may be subscribed.
    CHECK(error_of({{"dante.rx.subscriptions", many_subscriptions(1)}}).find("dante.rx.channels = 0") !=
          std::string::npos);
    // Hostile: 10k entries, deep nesting; refused whole, the message stays short.
    for (const std::string& hostile : {many_subscriptions(10'000), std::string(50'000, '['), many_subscriptions(65)}) {
        const std::string error = with(hostile, "64");
        CHECK(error.find("invalid dante.rx.subscriptions") == 0);
        CHECK(error.size() < 700);
    }
    CHECK(with(many_subscriptions(65), "64").find("(more than 64 entries)") != std::string::npos);
}

TEST_CASE("dante.rx.channels: only 0 to 64") {
    for (const char* bad : {"65", "-1", "1e3", "", "4294967297", "four"}) {
        CAPTURE(bad);
        CHECK(error_of({{"dante.rx.channels", bad}}).find("invalid dante.rx.channels") == 0);
    }
    CHECK(parse({{"dante.rx.channels", "0"}}).config);
}

TEST_CASE("dante.rx.latency-ns: the device's latency unless given, within the same bounds") {
    CHECK(parse({}).config->rx_latency_ns == 4'000'000);
    CHECK(parse({{"dante.latency-ns", "2000000"}}).config->rx_latency_ns == 2'000'000);
    const auto raised = parse({{"dante.latency-ns", "2000000"}, {"dante.rx.latency-ns", "10000000"}});
    CHECK(raised.config->latency_ns == 2'000'000);  // what the transmitter advertises stays
    CHECK(raised.config->rx_latency_ns == 10'000'000);
    for (const char* bad : {"99999", "100000001", "-1", "", "10ms"}) {
        CAPTURE(bad);
        CHECK(error_of({{"dante.rx.latency-ns", bad}}).find("invalid dante.rx.latency-ns") == 0);
    }
}

TEST_CASE("channel labels follow Dante's rules") {
    CHECK(is_valid_channel_label("Guitar L"));
    CHECK(is_valid_channel_label("01"));
    CHECK(is_valid_channel_label(std::string(31, 'x')));
    CHECK_FALSE(is_valid_channel_label(std::string(32, 'x')));
    CHECK_FALSE(is_valid_channel_label("a.b"));
    CHECK_FALSE(is_valid_channel_label("a@b"));
    CHECK_FALSE(is_valid_channel_label("a=b"));
    CHECK_FALSE(is_valid_channel_label("tab\there"));
    CHECK_FALSE(is_valid_channel_label("trailing "));
    CHECK_FALSE(is_valid_channel_label(""));
}
