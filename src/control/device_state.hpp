#pragma once
// What the control plane serves about the device: a plain snapshot, owned and updated by
// the device's control thread and passed into the sans-I/O cores (ARC, mDNS records,
// CMC/conmon). The cores never change it; they return effects (renames) instead.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dante::control {

using DeviceId = std::array<uint8_t, 8>;

struct TxChannel {
    std::string factory_name;  // "01", "02", ...: fixed, advertised with TXT `default`
    std::string user_name;     // the label users set; equal to factory_name when never renamed
};

// One transmit flow, as the flow-control side (src/flows) reports it for ARC 0x2200; the
// multicast ones are also advertised over mDNS (mdns_records: `_netaudio-bund._udp`).
struct TxFlowSummary {
    uint16_t flow_number = 0;  // 1-based slot
    bool multicast = false;
    uint32_t rate = 0;
    uint16_t encoding_bits = 0;
    uint16_t frames_per_packet = 0;
    std::vector<uint16_t> channels;  // 1-based TX channel numbers, 0 = empty slot
    uint32_t address = 0;  // host order: the receiver (unicast) or the group (multicast)
    uint16_t port = 0;
};

// A receive channel's subscription, as a controller set it with ARC 0x3010: a TX channel
// (by its label) on a TX device (by its name). Empty names: not subscribed.
struct RxSubscription {
    std::string tx_channel;
    std::string tx_device;
    bool operator==(const RxSubscription&) const = default;
    [[nodiscard]] bool empty() const { return tx_channel.empty() && tx_device.empty(); }
};

// ARC 0x3000 subscription status codes (the values Inferno reports; their names are ours).
inline constexpr uint32_t kRxStatusNone = 0;
inline constexpr uint32_t kRxStatusUnresolved = 1;          // TX device not found (yet)
inline constexpr uint32_t kRxStatusInProgress = 8;
inline constexpr uint32_t kRxStatusChannelFormat = 0x10;  // the flow's format does not fit (netaudio's label)
inline constexpr uint32_t kRxStatusReceivingUnicast = 0x01010009;
inline constexpr uint32_t kRxStatusReceivingMulticast = 0x0101000A;

struct RxChannel {
    std::string factory_name;  // "01", "02", ... or its dante.rx.names label: what a reset returns to
    std::string user_name;     // the label users set; equal to factory_name when never renamed
    RxSubscription subscription;
    uint32_t status = kRxStatusNone;  // what the receiving side reports for it
    // dante.rx.subscriptions' entry for this channel: what the state file need not keep (it
    // keeps what a controller changed from it, a removal included).
    RxSubscription default_subscription{};
};

struct DeviceState {
    std::string device_name;          // friendly name: mDNS instances, ARC 0x1002/0x1003
    std::string default_device_name;  // what ARC 0x1001 with no name resets to
    std::string factory_host_name;    // ARC 0x1003 (Inferno: "<short app>-<hex id>")
    std::string board_name = "PipeWire-Dante";  // ARC 0x1003, TXT router_info, conmon
    std::string manufacturer = "pipewire-dante";     // TXT mf, conmon product info
    std::string model_number = "_000000000000000b";  // TXT model (value from Inferno)
    std::string model_name = "PipeWire Dante Transmitter";  // conmon product info (netaudio's "Model")
    DeviceId device_id{};
    uint16_t process_id = 0;
    uint32_t ipv4 = 0;  // host order; CMC registration reply

    std::vector<TxChannel> tx_channels;
    std::vector<RxChannel> rx_channels;  // none unless configured (dante.rx.channels)
    uint32_t rate = 48000;
    uint8_t encoding_bits = 24;  // 16, 24 or 32
    uint8_t pcm_type = 0x0e;     // 0x0e on current devices, 0x04 on old ones (Inferno)
    int64_t latency_ns = 4'000'000;          // advertised (TXT latency_ns, ARC 0x1100); ARC 0x1101 sets it
    int64_t default_latency_ns = 4'000'000;  // dante.latency-ns: what the state file need not keep

    uint16_t max_tx_flows = 32;
    // Refreshed by the control thread for ARC 0x2200 and after every multicast create or
    // delete, so the advertised bundles follow the live multicast flows.
    std::vector<TxFlowSummary> tx_flows;
};

}  // namespace dante::control
