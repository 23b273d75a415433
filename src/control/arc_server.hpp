#pragma once
// ARC (UDP 4440): the routing/control protocol Dante Controller and netaudio use to list a
// device, read its channels and rename things. Sans-I/O: one request datagram and the
// device state in, an optional response datagram and rename effects out. The shell owns
// the socket, applies the effects (state, persistence, mDNS re-registration) and sends.
//
// Opcodes answered (layouts next to each builder in arc_server.cpp):
//   0x1000 channel counts      0x1001 set device name     0x1002 device name
//   0x1003 names (host/factory/board)   0x1100 settings (rate, latency)   0x1101 set latency
//   0x1102 (zeros, as Inferno)
//   0x2000 TX channels (factory names + format, paged)   0x2010 TX user names (paged)
//   0x2013 set TX channel name    0x2200 TX flows
//   0x3000 RX channels and subscriptions (none unless dante.rx.channels)
//   0x3001 set RX channel labels, 0x3010 subscribe, 0x3014 remove: effects
//          (rx_channel_renames, subscription_changes) the shell applies before it answers
//   0x2201 create a multicast TX flow, 0x2202 delete one: parsed here into an effect
//          (create_multicast / delete_flow) with no response; the shell asks the flows
//          side and answers with tx_flow_change_reply()
//   0x3200, 0x3300 (zeros, as Inferno)
// Anything else gets status 0x0022 (kStatusError) and an empty body: a controller learns the
// device is alive but does not know the command, rather than timing out.
// No reply at all for: a datagram whose header is short or whose length field disagrees
// with its size, and a datagram whose status field is not 0 (a response, e.g. our own
// reflected, or something we do not understand; Inferno ignores those too).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/control_header.hpp"
#include "control/device_state.hpp"

namespace dante::control {

inline constexpr uint16_t kArcChannelCounts = 0x1000;
inline constexpr uint16_t kArcSetDeviceName = 0x1001;
inline constexpr uint16_t kArcDeviceName = 0x1002;
inline constexpr uint16_t kArcDeviceNames = 0x1003;
inline constexpr uint16_t kArcDeviceSettings = 0x1100;
inline constexpr uint16_t kArcSetDeviceSettings = 0x1101;
inline constexpr uint16_t kArcDeviceSettings2 = 0x1102;
// Setting codes of a 0x1100 answer / 0x1101 request: (u16 code, u16 absolute offset of a u32).
// netaudio dante/const.py and protocol.py parse_device_settings: 0x8020 sample rate,
// 0x8204 latency, 0x8205 minimum latency, 0x8302 maximum latency. A real device's answer
// (netaudio tests/fixtures/provenance/session_latency_*: 0x1100 read back after a 0x1101)
// also points 0x8301 at the latency a 0x1101 set and 0x8306 at the minimum; its 0x8204 and
// 0x8205 hold a default and the current latency, not what netaudio's names say. We follow
// netaudio's reading for those two (the one controller we can test against).
inline constexpr uint16_t kSettingSampleRate = 0x8020;
inline constexpr uint16_t kSettingLatency = 0x8204;
inline constexpr uint16_t kSettingMinLatency = 0x8205;
inline constexpr uint16_t kSettingLatencySet = 0x8301;
inline constexpr uint16_t kSettingMaxLatency = 0x8302;
inline constexpr uint16_t kSettingMinLatency2 = 0x8306;
// The latency a controller may set (the bounds of dante.latency-ns).
inline constexpr int64_t kMinSettableLatencyNs = 100'000;
inline constexpr int64_t kMaxSettableLatencyNs = 100'000'000;
inline constexpr uint16_t kArcTxChannels = 0x2000;
inline constexpr uint16_t kArcTxChannelNames = 0x2010;
inline constexpr uint16_t kArcSetTxChannelName = 0x2013;
inline constexpr uint16_t kArcTxFlows = 0x2200;
inline constexpr uint16_t kArcCreateTxFlow = 0x2201;
inline constexpr uint16_t kArcDeleteTxFlow = 0x2202;
// Dante's status for "too many TX flows" (flow-control 0x0315); other refusals of
// 0x2201/0x2202 get kStatusError.
inline constexpr uint16_t kStatusTooManyFlows = 0x0315;
// Flow type of a 0x2200 record / 0x2201 request (netaudio FLOW_TYPE_MULTICAST).
inline constexpr uint16_t kFlowTypeUnicast = 0x0001;  // our choice, UNCONFIRMED
inline constexpr uint16_t kFlowTypeMulticast = 0x0002;
// Channels one 0x2201 request may name (more is refused, never truncated).
inline constexpr size_t kMaxCreateFlowChannels = 64;
inline constexpr uint16_t kArcRxChannels = 0x3000;
inline constexpr uint16_t kArcSetRxChannelName = 0x3001;
inline constexpr uint16_t kArcSubscribe = 0x3010;
inline constexpr uint16_t kArcUnsubscribe = 0x3014;
// Records one 0x3010 / 0x3014 / 0x3001 request may carry (netaudio sends at most 16).
inline constexpr size_t kMaxRxRecordsPerRequest = 64;
inline constexpr uint16_t kArc3200 = 0x3200;
inline constexpr uint16_t kArc3300 = 0x3300;

// Replies stay below one Ethernet frame's UDP payload with room to spare; a page that would
// grow past this carries fewer records (and says 0x8112 when more remain).
inline constexpr size_t kMaxArcResponseSize = 1400;

struct ArcOptions {
    // Records per TX page (0x2000/0x2010). The sources disagree: Inferno answers 16 per page;
    // netaudio asks for pages starting at 1, 33, 65... and stops at a page of fewer than 32
    // records (device_parser.py get_tx_channels), so against a 16-per-page device it sees
    // only 16 channels. Real devices answer RX pages of 16 (netaudio fixture
    // lx-dante_get_receivers_response: 0x10 records, status 0x8112); their TX page size is
    // unconfirmed. 32 serves both readers: we always honour the requested start, so a
    // controller that pages by 16 gets overlapping pages, which it overwrites harmlessly.
    uint16_t tx_page_size = 32;
    // Records per RX page (0x3000): 16, as real devices answer (netaudio fixture above).
    uint16_t rx_page_size = 16;
};

struct ChannelRename {
    uint16_t channel_number = 0;  // 1-based
    std::string new_user_name;    // the factory name when the rename is a reset
};

// A parsed 0x2201: what the controller asked for. Never an address: the group is ours.
struct MulticastFlowRequest {
    uint16_t flow_number = 0;        // 1-based slot the controller picked (0: any)
    std::vector<uint16_t> channels;  // 1-based TX channels, 1..kMaxCreateFlowChannels of them
    uint16_t fpp = 0;                // 0: the device's default
};

// A parsed 0x3010 record (or a 0x3014 removal: empty names): RX channel `rx_channel`
// (1-based) is to receive `subscription`.
struct SubscriptionChange {
    uint16_t rx_channel = 0;
    RxSubscription subscription;
};

struct ArcResult {
    std::optional<std::vector<uint8_t>> response;
    // 0x2201 / 0x2202: the shell applies these and answers with tx_flow_change_reply().
    std::optional<MulticastFlowRequest> create_multicast;
    std::optional<uint16_t> delete_flow;  // 1-based flow number
    ControlHeader request_header;         // set with either effect
    std::optional<std::string> device_rename;  // set only when the name really changes
    std::vector<ChannelRename> channel_renames;  // only channels whose label really changes
    std::vector<ChannelRename> rx_channel_renames;          // 0x3001, likewise
    std::vector<SubscriptionChange> subscription_changes;  // 0x3010/0x3014: only real changes
    // 0x1101: the latency to advertise from now on (only when it really changes; within
    // kMinSettableLatencyNs..kMaxSettableLatencyNs).
    std::optional<int64_t> latency_ns;
};

// The answer to a 0x2201/0x2202 once applied: `status` (kStatusOk, kStatusTooManyFlows or
// kStatusError) and an empty body (what real devices put there is UNCONFIRMED; netaudio
// reads only the status).
std::optional<std::vector<uint8_t>> tx_flow_change_reply(const ControlHeader& request, uint16_t status);

ArcResult handle_arc_request(Bytes request, const DeviceState& state, const ArcOptions& options = {});

}  // namespace dante::control
