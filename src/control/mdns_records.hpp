#pragma once
// The DNS-SD services a Dante transmitter advertises, as data: the Avahi shell registers
// exactly this list (and re-registers it on a rename). Values follow Inferno's
// mdns_server.rs (PROTOCOL-NOTES §1); the version strings and `channels=0x6000004d` are
// protocol constants copied from real devices there, their meaning unknown.
//
//   _netaudio-arc._udp   instance <device>      port ARC   TTL 4500 s
//   _netaudio-cmc._udp   instance <device>      port CMC
//   _netaudio-chan._udp  instance <ch>@<device> port flow control, one per TX channel
//                        under its factory name (with TXT `default`), and a second one
//                        under its user label when that differs.

#include <cstdint>
#include <string>
#include <vector>

#include "control/control_ports.hpp"
#include "control/device_state.hpp"

namespace dante::control {

inline constexpr const char* kArcServiceType = "_netaudio-arc._udp";
inline constexpr const char* kCmcServiceType = "_netaudio-cmc._udp";
inline constexpr const char* kChannelServiceType = "_netaudio-chan._udp";

struct ServiceRecord {
    std::string type;      // e.g. "_netaudio-chan._udp" (the shell appends the domain)
    std::string instance;  // e.g. "01@studio-pc"
    // SRV target host label (".local" is the shell's). All of a device's services share it:
    // netaudio groups services by SRV target. <device name> is PROTOCOL-NOTES' advice; what
    // real devices use is unconfirmed.
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

std::vector<ServiceRecord> build_service_records(const DeviceState& state, const MdnsParams& params);

// The 16 lower-case hex digits of a device id (TXT `id`, which netaudio reads as the MAC).
std::string device_id_hex(const DeviceId& id);

}  // namespace dante::control
