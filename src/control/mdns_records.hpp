#pragma once
// The DNS-SD services a Dante transmitter advertises, as data: the Avahi shell registers
// exactly this list (and re-registers it on a rename). Values follow Inferno's
// mdns_server.rs (docs/protocol.md#mdns-and-dns-sd); the version strings and
// `channels=0x6000004d` are protocol constants copied from real devices there, their
// meaning unknown.
//
//   _netaudio-arc._udp   instance <device>      port ARC   TTL 4500 s
//   _netaudio-cmc._udp   instance <device>      port CMC
//   _netaudio-chan._udp  instance <ch>@<device> port flow control, one per TX channel
//                        under its factory name (with TXT `default`), and a second one
//                        under its user label when that differs.
//   _netaudio-bund._udp  instance <flow>@<device> port flow control, one per multicast TX
//                        flow (ARC 0x2201), from DeviceState::tx_flows.
//
// Multicast (docs/protocol.md#mdns-and-dns-sd): a channel carried by a multicast flow gets
// the TXT `b.<flow number>=<1-based slot of the channel in that flow>` on its chan
// instances, and the flow's bundle instance carries `id=<flow number>`, `a.0=<group>`,
// `p.0=<port>`, `nchan=<slots in the flow>`, `enc`/`en`, `fpp=<frames per packet>` (one
// number, unlike the chan `fpp=max,min`) and `latency_ns`. A receiver that reads the `b.`
// pointer resolves `<flow>@<device>._netaudio-bund._udp`, joins the group, and never asks
// us for a flow (Inferno's receiver, mdns_client.rs / channels_subscriber.rs). The bundle
// id is the flow number ARC 0x2200 lists, so what a controller sees and what a receiver
// resolves agree. `nchan` is the slot count, not a cap: Inferno's receiver takes it as the
// number of channels in each packet.
//  - A channel in several multicast flows gets one `b.N` per flow, lowest flow number
//    first (distinct keys, so every pointer is valid; Inferno's receiver takes the first
//    key in its sorted map). A channel twice in one flow points at its first slot.
//  - Empty slots (channel 0) and channel numbers the device does not have get no pointer.
//  - The bundle SRV port is the flow-control port, like the chan instances': receivers
//    read the group from the TXT; what real devices put there is unconfirmed.

#include <cstdint>
#include <string>
#include <vector>

#include "control/control_ports.hpp"
#include "control/device_state.hpp"

namespace dante::control {

inline constexpr const char* kArcServiceType = "_netaudio-arc._udp";
inline constexpr const char* kCmcServiceType = "_netaudio-cmc._udp";
inline constexpr const char* kChannelServiceType = "_netaudio-chan._udp";
inline constexpr const char* kBundleServiceType = "_netaudio-bund._udp";

struct ServiceRecord {
    std::string type;      // e.g. "_netaudio-chan._udp" (the shell appends the domain)
    std::string instance;  // e.g. "01@studio-pc"
    // SRV target host label (".local" is the shell's). All of a device's services share it:
    // netaudio groups services by SRV target. <device name> is our choice (as all of them
    // share one target); what real devices use is unconfirmed.
    std::string host_label;
    uint16_t port = 0;
    uint32_t ttl_seconds = 120;  // Inferno: 4500 for ARC, searchlight's default 120 otherwise
    std::vector<std::string> txt;
};

struct MdnsParams {
    ControlPorts ports;  // control_ports_for(dante.port-base)
    // Frames per packet the flow-control side accepts, advertised as `fpp=max,min`
    // (Inferno: FPP_MAX_ADVERTISED 32, FPP_MIN 2; max first).
    uint16_t fpp_max = 32;
    uint16_t fpp_min = 2;
    uint16_t max_channels_per_flow = 8;  // `nchan` = min(this, TX channel count)
};

// The whole set, in a fixed order: arc, cmc, the chan instances by channel, then one bund
// instance per multicast flow of state.tx_flows by flow number (unicast flows are ignored).
std::vector<ServiceRecord> build_service_records(const DeviceState& state, const MdnsParams& params);

// The 16 lower-case hex digits of a device id (TXT `id`, which netaudio reads as the MAC).
std::string device_id_hex(const DeviceId& id);

}  // namespace dante::control
