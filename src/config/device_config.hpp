#pragma once
// The device's configuration, as given in pipewire.conf module args, validated.
//
// Pure: key/value strings in, a DeviceConfig or one clear error out. The module validates
// before it creates anything (so a bad arg refuses the load with a message naming the arg
// and what is accepted), and the SPA plugin reads the same keys from its factory info.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dante {

enum class SampleFormat : uint8_t { s16, s24, s32 };
std::string_view to_string(SampleFormat format);
uint32_t bytes_per_sample(SampleFormat format);

enum class ClockSourceKind : uint8_t { tai, ptp, phc, usrvclock };

// dante.clock.source. Not given: ptp (the built-in engine, on dante.interface) when an
// interface is named, tai when none is (nothing may go on the network then). ptp without
// an interface is refused.
struct ClockSourceConfig {
    ClockSourceKind kind = ClockSourceKind::tai;
    std::string path;  // device (phc) or socket (usrvclock)
    [[nodiscard]] std::string describe() const;
};

// dante.mdns: who answers for the device's DNS-SD records. builtin (default): our own
// responder, which Dante receivers can resolve; avahi: avahi-daemon, whose answers they
// cannot use (src/control/mdns_responder.hpp says why).
enum class MdnsBackend : uint8_t { builtin, avahi };

// Receive channels (dante.rx.*): what a Dante controller sees and may rename and subscribe,
// received into the source node.
inline constexpr uint32_t kMaxRxChannels = 64;

// One entry of dante.rx.subscriptions: RX channel `rx_channel` (1-based) subscribes to the TX
// channel labelled `tx_channel` on the device named `tx_device`.
struct RxSubscriptionConfig {
    uint16_t rx_channel = 0;
    std::string tx_channel;
    std::string tx_device;
    bool operator==(const RxSubscriptionConfig&) const = default;
};

struct DeviceConfig {
    std::string device_name;
    std::string interface;  // empty: none named (nothing goes on the network)
    uint32_t channels = 2;
    uint32_t rate = 48000;
    SampleFormat format = SampleFormat::s24;
    std::vector<std::string> positions;  // one per channel
    int64_t latency_ns = 4'000'000;      // advertised to receivers
    ClockSourceConfig clock_source;
    uint8_t ptp_version = 0;  // 0 = auto (= PTPv1, what Dante devices speak by default), 1 or 2
    uint8_t ptp_domain = 0;
    bool ptp_servo_pi = false;  // dante.ptp.servo: linreg (default) or pi
    std::string state_file;
    uint16_t port_base = 0;  // 0: Dante's standard ports
    uint32_t max_flows = 32;
    uint8_t multicast_ttl = 1;  // IP TTL of multicast flows: 1 keeps them on the link
    MdnsBackend mdns = MdnsBackend::builtin;
    std::string ring_tap_path;  // test hook: dump what the graph wrote to the rings
    uint32_t rx_channels = 0;           // 0: none (a transmitter only)
    std::vector<std::string> rx_names;  // one label per RX channel ("01", "02", ... unless named)
    std::vector<RxSubscriptionConfig> rx_subscriptions;  // at most one per RX channel
    int64_t rx_latency_ns = 4'000'000;  // the receive latency (capture_timeline.hpp); given or latency_ns
};

using ConfigItems = std::vector<std::pair<std::string, std::string>>;

struct ConfigResult {
    std::optional<DeviceConfig> config;
    std::string error;  // set when config is empty
};

enum class UnknownKeys : uint8_t {
    reject,  // module args: anything not ours and not a standard node prop is a mistake
    ignore,  // SPA factory info: carries the adapter's own props too
};

// One module arg, as the table in device_config.cpp declares it: the parser, the module's
// usage string and the README's table of args all come from that one table.
struct ConfigDraft;
struct ConfigKey {
    std::string_view key;            // "audio.rate"
    std::string_view value;          // the usage string's placeholder: "<hz>"
    std::string_view accepted;       // a bad value's message: "invalid audio.rate = \"1\": accepted <this>"
    std::string_view help;           // the README's "accepted" column (Markdown)
    std::string_view default_value;  // the README's "default" column (Markdown)
    bool (*parse)(std::string_view value, ConfigDraft& draft);  // false: refused
};
std::span<const ConfigKey> config_keys();
// "dante.device-name=<name> dante.interface=<ifname> ... ...": PW_KEY_MODULE_USAGE.
std::string module_usage();
// The README's table of module args (Markdown, one row per key, ending in a newline).
std::string module_args_markdown();

// Keys that pass through untouched to the node (node.name, media.class, ...).
bool is_passthrough_key(std::string_view key);

ConfigResult parse_device_config(const ConfigItems& items, std::string_view default_device_name,
                                 UnknownKeys unknown = UnknownKeys::reject);

// A Dante device name: 1..31 of [A-Za-z0-9-], not starting or ending with '-'.
bool is_valid_device_name(std::string_view name);
// A Dante channel label (TX or RX): 1..31 printable ASCII characters, none of '=', '.' or
// '@', no leading or trailing space (src/control/names.hpp gives the sources).
bool is_valid_channel_label(std::string_view label);
// Turn a host name into a valid device name ("" stays "").
std::string sanitize_device_name(std::string_view name);

// The sink's node.description for a device name: "Dante Transmitter (<name>)". The module
// sets it at load; the SPA node republishes it when the name changes (a rename from a
// controller, or the name saved in dante.state-file at load), unless the user set their own.
std::string node_description_for(std::string_view device_name);
// The receiver source's node.description: "Dante Receiver (<name>)". The module sets it at
// load; the source node republishes it on a rename, as the sink does with the one above.
std::string source_description_for(std::string_view device_name);

}  // namespace dante
