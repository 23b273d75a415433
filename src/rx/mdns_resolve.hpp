#pragma once
// Finding a Dante transmitter by its device name over mDNS / DNS-SD, through the local
// avahi-daemon (libavahi-client), the way a Dante receiver finds one:
//
//   * `_netaudio-arc._udp` instance NAME gives the device's IPv4 address (the A record of
//     its SRV target) and the interface the answer came from;
//   * every `_netaudio-chan._udp` instance `<channel>@NAME` carries the flow-control port
//     in its SRV record (receivers use the SRV port: docs/protocol.md#mdns-and-dns-sd),
//     and the flow format in its TXT (rate, enc, latency_ns, fpp, nchan). We take the
//     first such instance resolved on the same interface with the same address.
//   * A device without any channel instance still has a flow-control port: we derive it
//     from the ARC port as our device derives both from dante.port-base
//     (control_ports_for: ARC 4440 -> Dante's 4455; base P -> ARC P, flow control P+2).
//     That is a guess when a device was given port base 4440 (ARC 4440, flow control
//     4442), which is why the channel SRV comes first.
//
// IPv4 only; only the interface the ARC answer came from. Blocks up to `timeout_ms`.

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dante::rx {

struct ResolvedDevice {
    std::string name;             // as the ARC instance spells it
    std::string interface;        // where the answer came from, e.g. "eth0"
    uint32_t address = 0;         // IPv4, host byte order
    std::string host_name;        // SRV target, e.g. "studio-pc.local"
    uint16_t arc_port = 0;
    uint16_t flow_control_port = 0;
    std::string channel_instance;  // the `_netaudio-chan._udp` instance used; empty: derived port
    // From that channel instance's TXT; 0 when absent.
    uint32_t rate = 0;
    uint32_t encoding_bits = 0;
    uint64_t latency_ns = 0;
};

struct ResolveResult {
    std::optional<ResolvedDevice> device;
    std::string error;  // one sentence naming the device, when `device` is empty
};

// `cancel`, when given and set (from another thread), ends the lookup within 100 ms as
// not found: a device being unloaded does not wait out a lookup's timeout.
ResolveResult resolve_device(const std::string& name, int timeout_ms, const std::atomic<bool>* cancel = nullptr);

// The multicast route to some TX channels, as a Dante receiver finds it
// (docs/protocol.md#mdns-and-dns-sd): each channel's factory-name instance `<NN>@<device>`
// (NN = the 1-based channel number, two digits at least, as our device and Inferno name
// them) is resolved on the device's interface; its TXT `b.<bundle>=<slot>` says which multicast
// bundle carries it and where. When one bundle carries every asked channel (the lowest
// such bundle number, if several do), `<bundle>@<device>._netaudio-bund._udp` is resolved
// for the group (`a.0`, `p.0`) and the format (`nchan`, `enc`/`en`, `fpp`, `latency_ns`).
struct BundleRoute {
    uint16_t bundle = 0;       // the `b.N` number (the transmitter's flow number)
    std::string instance;      // "<bundle>@<device>"
    uint32_t group = 0;        // host byte order
    uint16_t port = 0;
    uint32_t slots = 0;        // `nchan`: channels in each packet
    uint32_t encoding_bits = 0;
    uint32_t fpp = 0;
    uint64_t latency_ns = 0;
    std::vector<uint16_t> slot_of_channel;  // per asked channel: its 1-based slot (0 for channel 0)
};

struct BundleLookup {
    std::optional<BundleRoute> route;
    // Why there is none, in one sentence (no pointer on some channel, no common bundle, the
    // bundle did not resolve or its TXT is unusable).
    std::string why_not;
};

// Channel ids are 1-based (0 = empty slot, not looked up). Blocks up to `timeout_ms`.
BundleLookup resolve_bundle(const ResolvedDevice& device, const std::vector<uint16_t>& channels, int timeout_ms,
                            const std::atomic<bool>* cancel = nullptr);

// The pure steps of resolve_bundle, for tests.
using TxtMap = std::map<std::string, std::string>;  // a TXT record: key -> value
// The `b.<bundle>=<slot>` pointers of a channel's TXT: bundle -> 1-based slot (malformed
// keys or values are skipped).
std::map<uint16_t, uint16_t> bundle_pointers(const TxtMap& txt);
// The lowest-numbered bundle carrying every non-zero channel of `channels`, given each
// one's pointers (`pointers[id]`); sets route.bundle and route.slot_of_channel. False and
// why when there is none.
bool choose_bundle(const std::vector<uint16_t>& channels,
                   const std::map<uint16_t, std::map<uint16_t, uint16_t>>& pointers, BundleRoute& route,
                   std::string& why_not);
// The group, port and format from a bundle's TXT into `route` (whose slot_of_channel must
// fit in `nchan`). False and why when something needed is missing or out of range.
bool read_bundle_txt(const TxtMap& txt, BundleRoute& route, std::string& why_not);

// The 1-based id of each TX channel of `device` named in `names`: the TXT `id` of its
// `<name>@<device>` `_netaudio-chan._udp` instance, resolved on the device's interface (a
// renamed channel is advertised under its new name, with the same id). `ids` gets one per
// name: 0 for a name that did not resolve or has no usable id. Returns "" or why the
// lookup itself failed. Blocks up to `timeout_ms`, less when `cancel` is set (as above).
// `format`, when given, gets what the found channels advertise for their flows.
struct ChannelFlowFormat {
    uint32_t max_channels_per_flow = 0;  // the smallest `nchan` (1..64): channels in one flow; 0 none
    uint32_t encoding_bits = 0;          // `enc` (16, 24 or 32) of the first channel giving one; 0 none
};
std::string resolve_channel_ids(const ResolvedDevice& device, const std::vector<std::string>& names, int timeout_ms,
                                std::vector<uint16_t>& ids, const std::atomic<bool>* cancel = nullptr,
                                ChannelFlowFormat* format = nullptr);

// The id a channel's TXT gives (`id`, 1..65535), or 0.
uint16_t channel_id_of(const TxtMap& txt);

// `<NN>@<device>`: the factory-name channel instance of 1-based channel `id`.
std::string factory_channel_instance(uint16_t id, const std::string& device);

// The flow-control port our device uses next to a given ARC port (see above).
uint16_t flow_control_port_for_arc_port(uint16_t arc_port);

// Case-insensitive (ASCII) comparison, as DNS names compare.
bool dns_name_equal(const std::string& a, const std::string& b);
// Whether `instance` is `<something>@<device>` (a channel instance of that device).
bool is_channel_of(const std::string& instance, const std::string& device);

}  // namespace dante::rx
