#include "config/device_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace dante {
namespace {

constexpr std::array kRates{44100u, 48000u, 88200u, 96000u, 176400u, 192000u};
constexpr uint32_t kMaxChannels = 64;  // SPA_AUDIO_MAX_CHANNELS on PipeWire 0.3.x
constexpr uint32_t kMaxFlows = 128;
constexpr int64_t kMinLatencyNs = 100'000;       // 0.1 ms: below any Dante setting
constexpr int64_t kMaxLatencyNs = 100'000'000;   // 100 ms

constexpr std::array kKnownKeys{
    "dante.device-name", "dante.interface",  "audio.channels",      "audio.rate",
    "audio.format",      "audio.position",   "dante.latency-ns",    "dante.clock.source",
    "dante.ptp.version", "dante.ptp.domain", "dante.ptp.servo",     "dante.state-file",
    "dante.port-base",   "dante.max-flows",  "dante.debug.ring-tap", "dante.multicast-ttl",
    "dante.mdns",
};

constexpr std::array kPassthroughPrefixes{"node.",   "media.",  "priority.", "object.",
                                          "session.", "device.", "port.",     "monitor."};

std::string quoted(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q.push_back('"');
    q.append(s);
    q.push_back('"');
    return q;
}

std::string invalid(std::string_view key, std::string_view value, std::string_view accepted) {
    return "invalid " + std::string(key) + " = " + quoted(value) + ": accepted " + std::string(accepted);
}

template <typename Int>
std::optional<Int> parse_int(std::string_view text, Int min, Int max) {
    Int value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) return std::nullopt;
    return value;
}

// audio.position arrives as PipeWire writes arrays ("[ FL FR ]") or as a plain list.
std::optional<std::vector<std::string>> parse_positions(std::string_view text) {
    std::vector<std::string> names;
    std::string current;
    auto flush = [&] {
        if (!current.empty()) names.push_back(std::move(current));
        current.clear();
    };
    for (const char c : text) {
        if (c == '[' || c == ']' || c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            flush();
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
            current.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
            if (current.size() > 16) return std::nullopt;
        } else {
            return std::nullopt;
        }
    }
    flush();
    return names;
}

std::vector<std::string> default_positions(uint32_t channels) {
    if (channels == 1) return {"MONO"};
    if (channels == 2) return {"FL", "FR"};
    std::vector<std::string> names;
    for (uint32_t c = 0; c < channels; ++c) names.push_back("AUX" + std::to_string(c));
    return names;
}

bool is_interface_name(std::string_view name) {
    // Linux interface names: 1..15 bytes, no '/', no whitespace, not "." or "..".
    if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
    return std::none_of(name.begin(), name.end(), [](char c) {
        return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c));
    });
}

std::optional<ClockSourceConfig> parse_clock_source(std::string_view text) {
    auto after = [&](std::string_view prefix) { return text.substr(prefix.size()); };
    if (text == "tai") return ClockSourceConfig{ClockSourceKind::tai, {}};
    if (text == "ptp") return ClockSourceConfig{ClockSourceKind::ptp, {}};
    if (text.starts_with("phc:/dev/ptp") && text.size() > 12 &&
        std::all_of(text.begin() + 12, text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return ClockSourceConfig{ClockSourceKind::phc, std::string(after("phc:"))};
    if (text.starts_with("usrvclock:/") && text.size() > 11 && text.size() < 108)
        return ClockSourceConfig{ClockSourceKind::usrvclock, std::string(after("usrvclock:"))};
    return std::nullopt;
}

}  // namespace

std::string_view to_string(SampleFormat format) {
    switch (format) {
        case SampleFormat::s16: return "S16";
        case SampleFormat::s24: return "S24";
        case SampleFormat::s32: return "S32";
    }
    return "S24";
}

uint32_t bytes_per_sample(SampleFormat format) {
    switch (format) {
        case SampleFormat::s16: return 2;
        case SampleFormat::s24: return 3;
        case SampleFormat::s32: return 4;
    }
    return 3;
}

std::string ClockSourceConfig::describe() const {
    switch (kind) {
        case ClockSourceKind::tai: return "tai";
        case ClockSourceKind::ptp: return "ptp";
        case ClockSourceKind::phc: return "phc:" + path;
        case ClockSourceKind::usrvclock: return "usrvclock:" + path;
    }
    return "tai";
}

bool is_valid_device_name(std::string_view name) {
    if (name.empty() || name.size() > 31 || name.front() == '-' || name.back() == '-') return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
}

std::string sanitize_device_name(std::string_view name) {
    std::string out;
    for (const char c : name) {
        if (out.size() == 31) break;
        if (std::isalnum(static_cast<unsigned char>(c))) out.push_back(c);
        else if (!out.empty() && out.back() != '-') out.push_back('-');
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out;
}

bool is_passthrough_key(std::string_view key) {
    return std::any_of(kPassthroughPrefixes.begin(), kPassthroughPrefixes.end(),
                       [&](std::string_view prefix) { return key.starts_with(prefix); });
}

ConfigResult parse_device_config(const ConfigItems& items, std::string_view default_device_name,
                                 UnknownKeys unknown) {
    DeviceConfig cfg;
    cfg.device_name = std::string(default_device_name);
    std::optional<std::vector<std::string>> positions;
    bool clock_source_given = false;
    auto fail = [](std::string message) { return ConfigResult{std::nullopt, std::move(message)}; };

    for (const auto& [key, value] : items) {
        const bool ours = key.starts_with("dante.") || key.starts_with("audio.");
        const bool known = std::find(kKnownKeys.begin(), kKnownKeys.end(), key) != kKnownKeys.end();
        if (!known) {
            if (unknown == UnknownKeys::ignore && !key.starts_with("dante.")) continue;
            if (!ours && is_passthrough_key(key)) continue;
            std::string accepted;
            for (const char* k : kKnownKeys) accepted += std::string(accepted.empty() ? "" : ", ") + k;
            return fail("unknown argument " + key + ": accepted are " + accepted +
                        " and node properties (node.*, media.*, priority.*, ...)");
        }
        if (key == "dante.device-name") {
            if (!is_valid_device_name(value))
                return fail(invalid(key, value, "1 to 31 letters, digits or '-', not starting or ending with '-'"));
            cfg.device_name = value;
        } else if (key == "dante.interface") {
            if (!is_interface_name(value)) return fail(invalid(key, value, "a network interface name (e.g. eth0)"));
            cfg.interface = value;
        } else if (key == "audio.channels") {
            const auto n = parse_int<uint32_t>(value, 1, kMaxChannels);
            if (!n) return fail(invalid(key, value, "an integer from 1 to " + std::to_string(kMaxChannels)));
            cfg.channels = *n;
        } else if (key == "audio.rate") {
            const auto r = parse_int<uint32_t>(value, 1, 1'000'000);
            if (!r || std::find(kRates.begin(), kRates.end(), *r) == kRates.end())
                return fail(invalid(key, value, "44100, 48000, 88200, 96000, 176400 or 192000"));
            cfg.rate = *r;
        } else if (key == "audio.format") {
            if (value == "S16") cfg.format = SampleFormat::s16;
            else if (value == "S24") cfg.format = SampleFormat::s24;
            else if (value == "S32") cfg.format = SampleFormat::s32;
            else return fail(invalid(key, value, "S16, S24 or S32"));
        } else if (key == "audio.position") {
            positions = parse_positions(value);
            if (!positions || positions->empty())
                return fail(invalid(key, value, "a list of channel names, e.g. [ FL FR ]"));
        } else if (key == "dante.latency-ns") {
            const auto ns = parse_int<int64_t>(value, kMinLatencyNs, kMaxLatencyNs);
            if (!ns) return fail(invalid(key, value, "nanoseconds from 100000 to 100000000"));
            cfg.latency_ns = *ns;
        } else if (key == "dante.clock.source") {
            const auto source = parse_clock_source(value);
            if (!source) return fail(invalid(key, value, "tai, ptp, phc:/dev/ptpN or usrvclock:/path/to/socket"));
            cfg.clock_source = *source;
            clock_source_given = true;
        } else if (key == "dante.ptp.version") {
            if (value == "auto") cfg.ptp_version = 0;
            else if (value == "1") cfg.ptp_version = 1;
            else if (value == "2") cfg.ptp_version = 2;
            else return fail(invalid(key, value, "1, 2 or auto"));
        } else if (key == "dante.ptp.servo") {
            if (value != "linreg" && value != "pi") return fail(invalid(key, value, "linreg or pi"));
            cfg.ptp_servo_pi = value == "pi";
        } else if (key == "dante.ptp.domain") {
            const auto d = parse_int<uint32_t>(value, 0, 255);
            if (!d) return fail(invalid(key, value, "an integer from 0 to 255"));
            cfg.ptp_domain = static_cast<uint8_t>(*d);
        } else if (key == "dante.state-file") {
            if (value.empty() || value.front() != '/') return fail(invalid(key, value, "an absolute path"));
            cfg.state_file = value;
        } else if (key == "dante.port-base") {
            const auto p = parse_int<uint32_t>(value, 0, 65531);
            if (!p || (*p != 0 && *p < 1024))
                return fail(invalid(key, value, "0 (Dante's standard ports) or a port from 1024 to 65531"));
            cfg.port_base = static_cast<uint16_t>(*p);
        } else if (key == "dante.max-flows") {
            const auto n = parse_int<uint32_t>(value, 1, kMaxFlows);
            if (!n) return fail(invalid(key, value, "an integer from 1 to " + std::to_string(kMaxFlows)));
            cfg.max_flows = *n;
        } else if (key == "dante.multicast-ttl") {
            const auto n = parse_int<uint32_t>(value, 1, 255);
            if (!n) return fail(invalid(key, value, "an integer from 1 to 255"));
            cfg.multicast_ttl = static_cast<uint8_t>(*n);
        } else if (key == "dante.mdns") {
            if (value == "builtin") cfg.mdns = MdnsBackend::builtin;
            else if (value == "avahi") cfg.mdns = MdnsBackend::avahi;
            else return fail(invalid(key, value, "builtin or avahi"));
        } else if (key == "dante.debug.ring-tap") {
            if (value.empty() || value.front() != '/') return fail(invalid(key, value, "an absolute path"));
            cfg.ring_tap_path = value;
        }
    }
    // The built-in PTP engine is the default clock, but only where it may speak: with no
    // interface named nothing goes on the network, so the device runs on CLOCK_TAI.
    if (!clock_source_given) cfg.clock_source.kind = cfg.interface.empty() ? ClockSourceKind::tai : ClockSourceKind::ptp;
    if (cfg.clock_source.kind == ClockSourceKind::ptp && cfg.interface.empty())
        return fail("dante.clock.source = ptp needs dante.interface: the PTP engine only runs on a named interface "
                    "(name one, or use dante.clock.source = tai)");
    if (!is_valid_device_name(cfg.device_name))
        return fail("no valid dante.device-name: set one (1 to 31 letters, digits or '-')");
    if (positions) {
        if (positions->size() != cfg.channels)
            return fail("invalid audio.position: it names " + std::to_string(positions->size()) +
                        " channels but audio.channels is " + std::to_string(cfg.channels));
        cfg.positions = std::move(*positions);
    } else {
        cfg.positions = default_positions(cfg.channels);
    }
    return {std::move(cfg), {}};
}

std::string node_description_for(std::string_view device_name) {
    return "Dante Transmitter (" + std::string(device_name) + ")";
}

}  // namespace dante
