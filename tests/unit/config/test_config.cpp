#include <doctest/doctest.h>

#include <map>

#include "config/device_config.hpp"

using namespace dante;

namespace {
ConfigResult parse(const ConfigItems& items, UnknownKeys unknown = UnknownKeys::reject) {
    return parse_device_config(items, "host-1", unknown);
}
bool error_names(const ConfigItems& items, const std::string& needle) {
    const auto r = parse(items);
    return !r.config && r.error.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("defaults are a usable stereo device named after the host") {
    const auto r = parse({});
    REQUIRE(r.config);
    CHECK(r.config->device_name == "host-1");
    CHECK(r.config->channels == 2);
    CHECK(r.config->rate == 48000);
    CHECK(r.config->format == SampleFormat::s24);
    CHECK(r.config->positions == std::vector<std::string>{"FL", "FR"});
    CHECK(r.config->clock_source.kind == ClockSourceKind::tai);
    CHECK(r.config->interface.empty());
    CHECK(r.config->port_base == 0);
}

TEST_CASE("every documented arg is parsed and stored") {
    const auto r = parse({{"dante.device-name", "Studio-A"},
                          {"dante.interface", "enp3s0"},
                          {"audio.channels", "4"},
                          {"audio.rate", "96000"},
                          {"audio.format", "S32"},
                          {"audio.position", "[ FL FR RL RR ]"},
                          {"dante.latency-ns", "1000000"},
                          {"dante.clock.source", "phc:/dev/ptp0"},
                          {"dante.ptp.version", "1"},
                          {"dante.ptp.domain", "3"},
                          {"dante.state-file", "/var/lib/dante/state.json"},
                          {"dante.port-base", "14440"},
                          {"dante.max-flows", "8"},
                          {"dante.multicast-ttl", "4"},
                          {"dante.mdns", "avahi"},
                          {"dante.rx.channels", "2"},
                          {"dante.rx.names", "[ \"Vocal\" ]"},
                          {"dante.rx.subscriptions", "[ { rx = 2 tx-channel = \"01\" tx-device = \"stage-box\" } ]"},
                          {"node.description", "passes through"},
                          {"priority.session", "2000"}});
    REQUIRE(r.config);
    const DeviceConfig& c = *r.config;
    CHECK(c.device_name == "Studio-A");
    CHECK(c.interface == "enp3s0");
    CHECK(c.channels == 4);
    CHECK(c.rate == 96000);
    CHECK(c.format == SampleFormat::s32);
    CHECK(c.positions == std::vector<std::string>{"FL", "FR", "RL", "RR"});
    CHECK(c.latency_ns == 1'000'000);
    CHECK(c.clock_source.kind == ClockSourceKind::phc);
    CHECK(c.clock_source.describe() == "phc:/dev/ptp0");
    CHECK(c.ptp_version == 1);
    CHECK(c.ptp_domain == 3);
    CHECK(c.state_file == "/var/lib/dante/state.json");
    CHECK(c.port_base == 14440);
    CHECK(c.max_flows == 8);
    CHECK(c.multicast_ttl == 4);
    CHECK(c.mdns == MdnsBackend::avahi);
    CHECK(c.rx_channels == 2);
    CHECK(c.rx_names == std::vector<std::string>{"Vocal", "02"});
    REQUIRE(c.rx_subscriptions.size() == 1);
    CHECK(c.rx_subscriptions[0] == RxSubscriptionConfig{2, "01", "stage-box"});
}

TEST_CASE("the clock source defaults to ptp on a named interface and to tai without one") {
    CHECK(parse({}).config->clock_source.kind == ClockSourceKind::tai);
    CHECK(parse({{"dante.interface", "eth0"}}).config->clock_source.kind == ClockSourceKind::ptp);
    CHECK(parse({{"dante.interface", "eth0"}, {"dante.clock.source", "tai"}}).config->clock_source.kind ==
          ClockSourceKind::tai);
    CHECK(parse({{"dante.clock.source", "tai"}}).config->clock_source.kind == ClockSourceKind::tai);
    CHECK(parse({{"dante.interface", "eth0"}, {"dante.clock.source", "ptp"}}).config->clock_source.kind ==
          ClockSourceKind::ptp);
    // Nothing may go on the network without a named interface: ptp alone is refused.
    CHECK(error_names({{"dante.clock.source", "ptp"}}, "needs dante.interface"));
    CHECK(parse({{"dante.ptp.version", "auto"}}).config->ptp_version == 0);
    CHECK_FALSE(parse({}).config->ptp_servo_pi);  // linreg unless asked
    CHECK(parse({{"dante.ptp.servo", "pi"}}).config->ptp_servo_pi);
    CHECK_FALSE(parse({{"dante.ptp.servo", "linreg"}}).config->ptp_servo_pi);
}

TEST_CASE("more than two channels default to AUX positions") {
    const auto r = parse({{"audio.channels", "3"}});
    REQUIRE(r.config);
    CHECK(r.config->positions == std::vector<std::string>{"AUX0", "AUX1", "AUX2"});
    CHECK(parse({{"audio.channels", "1"}}).config->positions == std::vector<std::string>{"MONO"});
}

TEST_CASE("bad values are refused with a message naming the arg and what is accepted") {
    CHECK(error_names({{"audio.rate", "12345"}}, "audio.rate"));
    CHECK(error_names({{"audio.rate", "12345"}}, "48000"));
    CHECK(error_names({{"audio.rate", "48000x"}}, "audio.rate"));
    CHECK(error_names({{"audio.channels", "0"}}, "audio.channels"));
    CHECK(error_names({{"audio.channels", "65"}}, "1 to 64"));
    CHECK(error_names({{"audio.channels", "-2"}}, "audio.channels"));
    CHECK(error_names({{"audio.format", "F64"}}, "S16, S24 or S32"));
    CHECK(error_names({{"audio.position", "[ FL FR RL ]"}}, "names 3 channels"));
    CHECK(error_names({{"audio.position", "FL;FR"}}, "audio.position"));
    CHECK(error_names({{"dante.device-name", "-bad"}}, "dante.device-name"));
    CHECK(error_names({{"dante.device-name", "way-too-long-a-name-for-dante-ctl"}}, "31"));
    CHECK(error_names({{"dante.device-name", "sp ace"}}, "dante.device-name"));
    CHECK(error_names({{"dante.interface", "../../etc"}}, "dante.interface"));
    CHECK(error_names({{"dante.interface", "a-very-long-ifname"}}, "dante.interface"));
    CHECK(error_names({{"dante.latency-ns", "10"}}, "dante.latency-ns"));
    CHECK(error_names({{"dante.clock.source", "gps"}}, "tai, ptp"));
    CHECK(error_names({{"dante.clock.source", "phc:/etc/passwd"}}, "dante.clock.source"));
    CHECK(error_names({{"dante.ptp.version", "3"}}, "1, 2 or auto"));
    CHECK(error_names({{"dante.ptp.domain", "256"}}, "dante.ptp.domain"));
    CHECK(error_names({{"dante.ptp.servo", "kalman"}}, "linreg or pi"));
    CHECK(error_names({{"dante.state-file", "relative.json"}}, "absolute path"));
    CHECK(error_names({{"dante.port-base", "80"}}, "1024"));
    CHECK(error_names({{"dante.port-base", "65535"}}, "dante.port-base"));
    CHECK(error_names({{"dante.max-flows", "0"}}, "dante.max-flows"));
    CHECK(error_names({{"dante.max-flows", "100000"}}, "dante.max-flows"));
    CHECK(error_names({{"dante.multicast-ttl", "0"}}, "dante.multicast-ttl"));
    CHECK(error_names({{"dante.multicast-ttl", "256"}}, "dante.multicast-ttl"));
    CHECK(error_names({{"dante.mdns", "bonjour"}}, "builtin or avahi"));
    CHECK(parse({{"dante.mdns", "builtin"}}).config->mdns == MdnsBackend::builtin);
    CHECK(parse({}).config->mdns == MdnsBackend::builtin);  // the default
}

TEST_CASE("unknown args are refused in module args and tolerated in factory info") {
    CHECK(error_names({{"dante.bogus", "1"}}, "unknown argument dante.bogus"));
    CHECK(error_names({{"audio.bogus", "1"}}, "audio.bogus"));
    CHECK(error_names({{"latency", "1"}}, "unknown argument latency"));
    // The SPA factory also receives the adapter's own props; only dante.* must be ours.
    CHECK(parse({{"factory.name", "api.dante.sink"}, {"clock.quantum-limit", "8192"}}, UnknownKeys::ignore).config);
    CHECK(!parse({{"dante.bogus", "1"}}, UnknownKeys::ignore).config);
}

TEST_CASE("device names are validated and host names sanitized") {
    CHECK(is_valid_device_name("a"));
    CHECK(is_valid_device_name("Dante-TX-01"));
    CHECK(!is_valid_device_name(""));
    CHECK(!is_valid_device_name("end-"));
    CHECK(!is_valid_device_name("under_score"));
    CHECK(sanitize_device_name("my.host_name.local") == "my-host-name-local");
    CHECK(sanitize_device_name("--x--") == "x");
    CHECK(sanitize_device_name(std::string(40, 'a')).size() == 31);
    CHECK(sanitize_device_name("...") == "");
    // A host name that sanitizes to nothing cannot be a default: the user must name the device.
    CHECK(!parse_device_config({}, "", UnknownKeys::reject).config);
}

// The module sets these at load and the nodes republish them on a rename; pactl, pavucontrol
// and test_receiver.py know the nodes by them.
TEST_CASE("the nodes' descriptions name the device") {
    CHECK(node_description_for("studio-1") == "Dante Transmitter (studio-1)");
    CHECK(source_description_for("studio-1") == "Dante Receiver (studio-1)");
}

TEST_CASE("every key of the table refuses a bad value, naming the key and what it accepts") {
    // One bad value per key: a key added to the table without a line here fails below.
    const std::map<std::string, std::string> bad{
        {"dante.device-name", "-bad"},     {"dante.interface", "a/b"},        {"audio.channels", "0"},
        {"audio.rate", "12345"},           {"audio.format", "F64"},           {"audio.position", "FL;FR"},
        {"dante.latency-ns", "10"},        {"dante.clock.source", "gps"},     {"dante.ptp.version", "3"},
        {"dante.ptp.domain", "256"},       {"dante.ptp.servo", "kalman"},     {"dante.state-file", "rel.json"},
        {"dante.port-base", "80"},         {"dante.max-flows", "0"},          {"dante.multicast-ttl", "0"},
        {"dante.mdns", "bonjour"},         {"dante.debug.ring-tap", "tap.bin"},
        {"dante.rx.channels", "65"},       {"dante.rx.names", "Vocal"},       {"dante.rx.subscriptions", "none"},
        {"dante.rx.latency-ns", "99999"},
    };
    for (const ConfigKey& k : config_keys()) {
        CAPTURE(k.key);
        const auto it = bad.find(std::string(k.key));
        REQUIRE_MESSAGE(it != bad.end(), "no bad value listed for this key");
        const auto r = parse({{it->first, it->second}});
        REQUIRE_FALSE(r.config);
        CHECK(r.error == "invalid " + it->first + " = \"" + it->second + "\": accepted " + std::string(k.accepted));
        CHECK_FALSE(k.accepted.empty());
        CHECK_FALSE(k.help.empty());
        CHECK_FALSE(k.default_value.empty());
    }
    CHECK(bad.size() == config_keys().size());
}
