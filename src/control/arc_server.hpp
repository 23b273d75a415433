#pragma once
// ARC (UDP 4440): the routing/control protocol Dante Controller and netaudio use to list a
// device, read its channels and rename things. Sans-I/O: one request datagram and the
// device state in, an optional response datagram and rename effects out. The shell owns
// the socket, applies the effects (state, persistence, mDNS re-registration) and sends.
//
// Opcodes answered (layouts next to each builder in arc_server.cpp):
//   0x1000 channel counts      0x1001 set device name     0x1002 device name
//   0x1003 names (host/factory/board)   0x1100, 0x1102 settings (zeros, as Inferno)
//   0x2000 TX channels (factory names + format, paged)   0x2010 TX user names (paged)
//   0x2013 set TX channel name    0x2200 TX flows    0x3000 RX channels (none: a TX device)
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
inline constexpr uint16_t kArcDeviceSettings2 = 0x1102;
inline constexpr uint16_t kArcTxChannels = 0x2000;
inline constexpr uint16_t kArcTxChannelNames = 0x2010;
inline constexpr uint16_t kArcSetTxChannelName = 0x2013;
inline constexpr uint16_t kArcTxFlows = 0x2200;
inline constexpr uint16_t kArcRxChannels = 0x3000;
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
};

struct ChannelRename {
    uint16_t channel_number = 0;  // 1-based
    std::string new_user_name;    // the factory name when the rename is a reset
};

struct ArcResult {
    std::optional<std::vector<uint8_t>> response;
    std::optional<std::string> device_rename;  // set only when the name really changes
    std::vector<ChannelRename> channel_renames;  // only channels whose label really changes
};

ArcResult handle_arc_request(Bytes request, const DeviceState& state, const ArcOptions& options = {});

}  // namespace dante::control
