#include "config/device_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <type_traits>

#include "config/spa_json.hpp"

namespace dante {
namespace {

constexpr std::array kRates{44100u, 48000u, 88200u, 96000u, 176400u, 192000u};
constexpr uint32_t kMaxChannels = 64;  // SPA_AUDIO_MAX_CHANNELS on PipeWire 0.3.x
constexpr uint32_t kMaxFlows = 128;
constexpr int64_t kMinLatencyNs = 100'000;       // 0.1 ms: below any Dante setting
constexpr int64_t kMaxLatencyNs = 100'000'000;   // 100 ms

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

// A value as an error message shows it: a hostile one (10k entries, control bytes) must not
// make the message unreadable.
std::string shown(std::string_view value, size_t max = 120) {
    std::string out;
    for (const char c : value.substr(0, max)) out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
    if (value.size() > max) out += "... (" + std::to_string(value.size()) + " bytes)";
    return quoted(out);
}

std::string invalid(std::string_view key, std::string_view value, std::string_view accepted) {
    return "invalid " + std::string(key) + " = " + shown(value) + ": accepted " + std::string(accepted);
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

// "01", "02", ...: Dante's default channel names. snprintf, not "0" + to_string(): GCC 12 -O3
// reports a false -Wrestrict overlap in that operator+.
std::string two_digits(size_t n) {
    char text[24];
    std::snprintf(text, sizeof text, "%02zu", n);
    return text;
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

bool is_valid_channel_label(std::string_view label) {
    if (label.empty() || label.size() > 31 || label.front() == ' ' || label.back() == ' ') return false;
    return std::all_of(label.begin(), label.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x7f && c != '=' && c != '.' && c != '@';
    });
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

// Everything parse_device_config() gathers before the checks that span several keys.
struct ConfigDraft {
    DeviceConfig cfg;
    std::optional<std::vector<std::string>> positions;
    bool clock_source_given = false;
    std::vector<std::string> rx_names;  // as given (dante.rx.names), checked against the count later
    std::optional<int64_t> rx_latency_ns;  // dante.rx.latency-ns; not given: dante.latency-ns
    std::string detail;  // what exactly is wrong with a refused structured value, if known
};

namespace {

// Parsers for the table below: each takes one value and stores it, or returns false (the
// caller then names the key and its accepted values).
template <auto DeviceConfig::*Field, uint32_t Min, uint32_t Max>
bool store_uint(std::string_view v, ConfigDraft& d) {
    const auto n = parse_int<uint32_t>(v, Min, Max);
    if (n) d.cfg.*Field = static_cast<std::remove_reference_t<decltype(d.cfg.*Field)>>(*n);
    return n.has_value();
}

// One of a few words, each standing for a value; false for any other word.
template <typename T>
bool store_choice(std::string_view v, T& field, std::initializer_list<std::pair<std::string_view, T>> choices) {
    for (const auto& [word, value] : choices) {
        if (v == word) {
            field = value;
            return true;
        }
    }
    return false;
}

template <auto DeviceConfig::*Field>
bool store_absolute_path(std::string_view v, ConfigDraft& d) {
    if (v.empty() || v.front() != '/') return false;
    d.cfg.*Field = std::string(v);
    return true;
}

std::string ordinal(size_t index) { return "entry " + std::to_string(index + 1); }

// dante.rx.names: an SPA JSON array of labels, bare words or strings.
bool parse_rx_names(std::string_view v, ConfigDraft& d) {
    const SpaJsonResult parsed = parse_spa_json(v, {.max_depth = 1, .max_elements = 1 + kMaxRxChannels});
    if (!parsed.value) {
        d.detail = parsed.error.starts_with("more than ") ? "more than " + std::to_string(kMaxRxChannels) + " labels"
                                                         : parsed.error;
        return false;
    }
    if (parsed.value->kind != SpaJsonValue::Kind::array) return false;
    std::vector<std::string> names;
    for (size_t i = 0; i < parsed.value->children.size(); ++i) {
        const SpaJsonValue& item = parsed.value->children[i];
        if (!item.is_scalar() || !is_valid_channel_label(item.text)) {
            d.detail = ordinal(i) + (item.is_scalar() ? " " + shown(item.text, 40) + " is not a valid label"
                                                      : " is not a label");
            return false;
        }
        names.push_back(item.text);
    }
    d.rx_names = std::move(names);
    return true;
}

// One entry of dante.rx.subscriptions: { rx = N tx-channel = "label" tx-device = "name" }.
bool parse_rx_subscription(const SpaJsonValue& entry, RxSubscriptionConfig& out, std::string& detail) {
    if (entry.kind != SpaJsonValue::Kind::object) {
        detail = "not an object";
        return false;
    }
    bool has_rx = false, has_channel = false, has_device = false;
    for (const SpaJsonValue& member : entry.children) {
        bool* seen = member.key == "rx"           ? &has_rx
                     : member.key == "tx-channel" ? &has_channel
                     : member.key == "tx-device"  ? &has_device
                                                  : nullptr;
        if (seen == nullptr) {
            detail = "unknown key " + shown(member.key, 40) + " (keys: rx, tx-channel, tx-device)";
            return false;
        }
        if (*seen) {
            detail = "key " + member.key + " given twice";
            return false;
        }
        *seen = true;
        if (!member.is_scalar()) {
            detail = member.key + " is not a single value";
            return false;
        }
        if (member.key == "rx") {
            const auto n = member.kind == SpaJsonValue::Kind::bare ? parse_int<uint32_t>(member.text, 1, kMaxRxChannels)
                                                                   : std::nullopt;
            if (!n) {
                detail = "rx " + shown(member.text, 40) + " is not an RX channel number (1 to 64)";
                return false;
            }
            out.rx_channel = static_cast<uint16_t>(*n);
        } else if (member.key == "tx-channel") {
            if (!is_valid_channel_label(member.text)) {
                detail = "tx-channel " + shown(member.text, 40) + " is not a valid channel label";
                return false;
            }
            out.tx_channel = member.text;
        } else {
            if (!is_valid_device_name(member.text)) {
                detail = "tx-device " + shown(member.text, 40) + " is not a valid Dante device name";
                return false;
            }
            out.tx_device = member.text;
        }
    }
    if (!has_rx || !has_channel || !has_device) {
        detail = std::string("missing ") + (!has_rx ? "rx" : !has_channel ? "tx-channel" : "tx-device");
        return false;
    }
    return true;
}

bool parse_rx_subscriptions(std::string_view v, ConfigDraft& d) {
    // An entry is seven values (the object, three keys and their values).
    const SpaJsonResult parsed = parse_spa_json(v, {.max_depth = 2, .max_elements = 1 + 7 * kMaxRxChannels});
    if (!parsed.value) {
        d.detail = parsed.error.starts_with("more than ") ? "more than " + std::to_string(kMaxRxChannels) + " entries"
                                                         : parsed.error;
        return false;
    }
    if (parsed.value->kind != SpaJsonValue::Kind::array) return false;
    std::vector<RxSubscriptionConfig> subscriptions;
    for (size_t i = 0; i < parsed.value->children.size(); ++i) {
        RxSubscriptionConfig sub;
        std::string why;
        if (!parse_rx_subscription(parsed.value->children[i], sub, why)) {
            d.detail = ordinal(i) + ": " + why;
            return false;
        }
        for (const RxSubscriptionConfig& earlier : subscriptions) {
            if (earlier.rx_channel == sub.rx_channel) {
                d.detail = ordinal(i) + ": rx " + std::to_string(sub.rx_channel) +
                           " is subscribed twice (one TX channel per RX channel)";
                return false;
            }
        }
        subscriptions.push_back(std::move(sub));
    }
    d.cfg.rx_subscriptions = std::move(subscriptions);
    return true;
}

// The one table of module args. The parser, the module's usage string (module_usage()) and
// the README's table of args (module_args_markdown(), checked by tests/unit/config/) all
// come from here: a new key is one row (see CONTRIBUTING.md).
constexpr auto kConfigKeys = std::to_array<ConfigKey>({
    {"dante.device-name", "<name>", "1 to 31 letters, digits or '-', not starting or ending with '-'",
     "1–31 of `A-Z a-z 0-9 -`, not starting/ending with `-`", "the host name",
     [](std::string_view v, ConfigDraft& d) {
         if (!is_valid_device_name(v)) return false;
         d.cfg.device_name = std::string(v);
         return true;
     }},
    {"dante.interface", "<ifname>", "a network interface name (e.g. eth0)", "an interface name: flows are served on it. It may not exist yet, or have no address: the device waits for one (`dante.net.problem`) and follows it when it changes",
     "none (nothing on the network)",
     [](std::string_view v, ConfigDraft& d) {
         if (!is_interface_name(v)) return false;
         d.cfg.interface = std::string(v);
         return true;
     }},
    {"audio.channels", "<1-64>", "an integer from 1 to 64", "1–64", "2",
     store_uint<&DeviceConfig::channels, 1, kMaxChannels>},
    {"audio.rate", "<hz>", "44100, 48000, 88200, 96000, 176400 or 192000", "44100, 48000, 88200, 96000, 176400, 192000",
     "48000",
     [](std::string_view v, ConfigDraft& d) {
         const auto r = parse_int<uint32_t>(v, 1, 1'000'000);
         if (!r || std::find(kRates.begin(), kRates.end(), *r) == kRates.end()) return false;
         d.cfg.rate = *r;
         return true;
     }},
    {"audio.format", "<S16|S24|S32>", "S16, S24 or S32", "S16, S24, S32 (wire format)", "S24",
     [](std::string_view v, ConfigDraft& d) {
         return store_choice(v, d.cfg.format,
                             {{"S16", SampleFormat::s16}, {"S24", SampleFormat::s24}, {"S32", SampleFormat::s32}});
     }},
    {"audio.position", "<[ FL FR ]>", "a list of channel names, e.g. [ FL FR ]", "e.g. `[ FL FR ]`, one per channel",
     "FL FR / MONO / AUXn",
     [](std::string_view v, ConfigDraft& d) {
         d.positions = parse_positions(v);
         return d.positions && !d.positions->empty();
     }},
    {"dante.latency-ns", "<ns>", "nanoseconds from 100000 to 100000000", "100000–100000000", "4000000",
     [](std::string_view v, ConfigDraft& d) {
         const auto ns = parse_int<int64_t>(v, kMinLatencyNs, kMaxLatencyNs);
         if (ns) d.cfg.latency_ns = *ns;
         return ns.has_value();
     }},
    {"dante.clock.source", "<ptp|tai|phc:/dev/ptpN|usrvclock:/path>",
     "tai, ptp, phc:/dev/ptpN or usrvclock:/path/to/socket",
     "`ptp` (built-in engine on `dante.interface`, from `pipewire-dante-ptp@IF` when it runs; refused without an "
     "interface), `tai`, `phc:/dev/ptpN`, `usrvclock:/path` (see below)",
     "`ptp` when `dante.interface` is set, else `tai` (nothing goes on the network without a named interface)",
     [](std::string_view v, ConfigDraft& d) {
         const auto source = parse_clock_source(v);
         if (!source) return false;
         d.cfg.clock_source = *source;
         d.clock_source_given = true;
         return true;
     }},
    {"dante.ptp.version", "<1|2|auto>", "1, 2 or auto",
     "`1`, `2` or `auto` (`auto` = PTPv1, what Dante devices speak by default)", "`auto`",
     [](std::string_view v, ConfigDraft& d) {
         return store_choice<uint8_t>(v, d.cfg.ptp_version, {{"auto", 0}, {"1", 1}, {"2", 2}});
     }},
    {"dante.ptp.domain", "<0-255>", "an integer from 0 to 255", "0–255", "0",
     store_uint<&DeviceConfig::ptp_domain, 0, 255>},
    {"dante.ptp.servo", "<linreg|pi>", "linreg or pi",
     "`linreg` (a least-squares line through the last 16 s of Syncs: averages software-timestamp noise) or `pi` "
     "(linuxptp-style PI loop)",
     "`linreg`",
     [](std::string_view v, ConfigDraft& d) {
         return store_choice(v, d.cfg.ptp_servo_pi, {{"linreg", false}, {"pi", true}});
     }},
    {"dante.state-file", "<path>", "an absolute path", "absolute path", "none",
     store_absolute_path<&DeviceConfig::state_file>},
    {"dante.port-base", "<0|1024-65531>", "0 (Dante's standard ports) or a port from 1024 to 65531",
     "0 (standard ports) or 1024–65531", "0",
     [](std::string_view v, ConfigDraft& d) {
         const auto p = parse_int<uint32_t>(v, 0, 65531);
         if (!p || (*p != 0 && *p < 1024)) return false;
         d.cfg.port_base = static_cast<uint16_t>(*p);
         return true;
     }},
    {"dante.max-flows", "<1-128>", "an integer from 1 to 128", "1–128 (unicast and multicast flows together)", "32",
     store_uint<&DeviceConfig::max_flows, 1, kMaxFlows>},
    {"dante.multicast-ttl", "<1-255>", "an integer from 1 to 255", "1–255: IP TTL of multicast flows", "1",
     store_uint<&DeviceConfig::multicast_ttl, 1, 255>},
    {"dante.mdns", "<builtin|avahi>", "builtin or avahi",
     "`builtin` (our own mDNS responder on `dante.interface`, next to any avahi-daemon) or `avahi` (publish through "
     "the avahi-daemon of the sink's network namespace)",
     "`builtin`",
     [](std::string_view v, ConfigDraft& d) {
         return store_choice(v, d.cfg.mdns, {{"builtin", MdnsBackend::builtin}, {"avahi", MdnsBackend::avahi}});
     }},
    {"dante.debug.ring-tap", "<path>", "an absolute path",
     "absolute path: dumps what each cycle wrote to the rings (tests)", "off",
     store_absolute_path<&DeviceConfig::ring_tap_path>},
    {"dante.rx.channels", "<0-64>", "an integer from 0 to 64",
     "0–64 receive channels a Dante controller can list, label and subscribe (ARC), recorded from the source node "
     "\"Dante Receiver (<device>)\". Needs `dante.interface`",
     "0 (none: a transmitter only, as before)", store_uint<&DeviceConfig::rx_channels, 0, kMaxRxChannels>},
    {"dante.rx.names", "<[ \"Vocal\" \"Guitar L\" ]>",
     "an array of at most dante.rx.channels labels, e.g. [ \"Vocal\" \"Guitar L\" ], each 1 to 31 ASCII "
     "characters, none of = . @",
     "e.g. `[ \"Vocal\" \"Guitar L\" ]`: labels of RX channels 1, 2, ... (1–31 ASCII characters, none of `= . @`; "
     "channels not named keep their number). A controller's later rename wins (kept in `dante.state-file`); its "
     "reset returns to this label",
     "`01`, `02`, ...", parse_rx_names},
    {"dante.rx.subscriptions", "<[ { rx = 1 tx-channel = \"01\" tx-device = \"stage-box\" } ]>",
     "an array of { rx = <1 to dante.rx.channels> tx-channel = <channel label> tx-device = <device name> }, at most "
     "one per RX channel",
     "e.g. `[ { rx = 1 tx-channel = \"01\" tx-device = \"stage-box\" } ]`: the TX channel each RX channel subscribes "
     "to at start. A controller's later subscribe or remove of that "
     "RX channel wins (kept in `dante.state-file`)",
     "none", parse_rx_subscriptions},
    {"dante.rx.latency-ns", "<ns>", "nanoseconds from 100000 to 100000000",
     "100000–100000000: the receive latency. The source outputs each sample this long (plus 2 quanta and a 1 ms "
     "margin) after its transmitter stamped it; raise it when packets arrive late (`dante.rx.late`)",
     "`dante.latency-ns`",
     [](std::string_view v, ConfigDraft& d) {
         d.rx_latency_ns = parse_int<int64_t>(v, kMinLatencyNs, kMaxLatencyNs);
         return d.rx_latency_ns.has_value();
     }},
});

static_assert(kMaxChannels == 64 && kMaxFlows == 128 && kMaxRxChannels == 64,
              "update the texts of audio.channels, dante.max-flows and dante.rx.*");

const ConfigKey* find_key(std::string_view key) {
    const auto it =
        std::find_if(kConfigKeys.begin(), kConfigKeys.end(), [&](const ConfigKey& k) { return k.key == key; });
    return it == kConfigKeys.end() ? nullptr : &*it;
}

}  // namespace

std::span<const ConfigKey> config_keys() { return kConfigKeys; }

std::string module_usage() {
    std::string usage;
    for (const ConfigKey& k : kConfigKeys) usage += std::string(k.key) + "=" + std::string(k.value) + " ";
    return usage + "...";
}

std::string module_args_markdown() {
    std::string table = "| arg | accepted | default |\n|---|---|---|\n";
    for (const ConfigKey& k : kConfigKeys)
        table +=
            "| `" + std::string(k.key) + "` | " + std::string(k.help) + " | " + std::string(k.default_value) + " |\n";
    return table;
}

ConfigResult parse_device_config(const ConfigItems& items, std::string_view default_device_name, UnknownKeys unknown) {
    ConfigDraft draft;
    DeviceConfig& cfg = draft.cfg;
    cfg.device_name = std::string(default_device_name);
    auto fail = [](std::string message) { return ConfigResult{std::nullopt, std::move(message)}; };

    for (const auto& [key, value] : items) {
        const ConfigKey* spec = find_key(key);
        if (!spec) {
            const bool ours = key.starts_with("dante.") || key.starts_with("audio.");
            if (unknown == UnknownKeys::ignore && !key.starts_with("dante.")) continue;
            if (!ours && is_passthrough_key(key)) continue;
            std::string accepted;
            for (const ConfigKey& k : kConfigKeys) accepted += (accepted.empty() ? "" : ", ") + std::string(k.key);
            return fail("unknown argument " + key + ": accepted are " + accepted +
                        " and node properties (node.*, media.*, priority.*, ...)");
        }
        draft.detail.clear();
        if (!spec->parse(value, draft))
            return fail(invalid(key, value, spec->accepted) + (draft.detail.empty() ? "" : " (" + draft.detail + ")"));
    }
    // The built-in PTP engine is the default clock, but only where it may speak: with no
    // interface named nothing goes on the network, so the device runs on CLOCK_TAI.
    if (!draft.clock_source_given)
        cfg.clock_source.kind = cfg.interface.empty() ? ClockSourceKind::tai : ClockSourceKind::ptp;
    if (cfg.clock_source.kind == ClockSourceKind::ptp && cfg.interface.empty())
        return fail("dante.clock.source = ptp needs dante.interface: the PTP engine only runs on a named interface "
                    "(name one, or use dante.clock.source = tai)");
    if (!is_valid_device_name(cfg.device_name))
        return fail("no valid dante.device-name: set one (1 to 31 letters, digits or '-')");
    if (draft.positions) {
        if (draft.positions->size() != cfg.channels)
            return fail("invalid audio.position: it names " + std::to_string(draft.positions->size()) +
                        " channels but audio.channels is " + std::to_string(cfg.channels));
        cfg.positions = std::move(*draft.positions);
    } else {
        cfg.positions = default_positions(cfg.channels);
    }
    if (draft.rx_names.size() > cfg.rx_channels)
        return fail("invalid dante.rx.names: it names " + std::to_string(draft.rx_names.size()) +
                    " channels but dante.rx.channels is " + std::to_string(cfg.rx_channels));
    cfg.rx_names = std::move(draft.rx_names);
    cfg.rx_latency_ns = draft.rx_latency_ns.value_or(cfg.latency_ns);
    for (size_t i = cfg.rx_names.size(); i < cfg.rx_channels; ++i)
        cfg.rx_names.push_back(two_digits(i + 1));
    for (const RxSubscriptionConfig& sub : cfg.rx_subscriptions)
        if (sub.rx_channel > cfg.rx_channels)
            return fail("invalid dante.rx.subscriptions: rx " + std::to_string(sub.rx_channel) +
                        " is beyond dante.rx.channels = " + std::to_string(cfg.rx_channels));
    return {std::move(cfg), {}};
}

std::string node_description_for(std::string_view device_name) {
    return "Dante Transmitter (" + std::string(device_name) + ")";
}

std::string source_description_for(std::string_view device_name) {
    return "Dante Receiver (" + std::string(device_name) + ")";
}

}  // namespace dante
