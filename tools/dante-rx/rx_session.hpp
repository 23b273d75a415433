#pragma once
// dante-rx's receiving logic as a library, so the loopback end-to-end test can drive it.
//
// It does what Inferno's receiver does to a transmitter (docs/protocol.md#flow-control):
// sends a 0x0100 flow request from an ephemeral socket with its own IPv4 and audio port
// in the 0x0802 descriptor, receives the audio packets, sends the 2-byte keepalive
// 0x13 0x37 every 250 ms to the packets' source address, and stops the flow (0x0101)
// when done (those exchanges are src/rx/flow_requester's; this carries its datagrams).
// It records the samples by timestamp and the statistics a test needs.
//
// Or, given a multicast bundle (RxOptions::multicast, found over mDNS through the channels'
// `b.N` TXT, docs/protocol.md#mdns-and-dns-sd), what a Dante receiver does then: joins
// the group on the interface and takes its channels from their slots in the bundle's
// packets, without a single request to the transmitter (no flow request, keepalive or
// stop).

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clock/media_clock.hpp"
#include "flows/flow_control_codec.hpp"
#include "net/ipv4.hpp"

namespace dante::rx {

// A multicast bundle to receive from instead of asking for a flow.
struct MulticastSource {
    Ipv4Endpoint group;     // `a.0`:`p.0`
    uint32_t slots = 0;     // `nchan`: channels in each packet
    uint32_t fpp = 0;       // `fpp`
    uint16_t bundle = 0;    // the flow number (`b.N`), for the stats
    // Per RxOptions::channels entry: its 1-based slot in the bundle (0: none, recorded as silence).
    std::vector<uint16_t> slot_of_channel;
};

struct RxOptions {
    Ipv4Endpoint target;                  // the transmitter's flow-control endpoint
    // Set: receive this bundle on `interface` (required) instead; target.address still
    // names the transmitter (datagrams from any other source are ignored).
    std::optional<MulticastSource> multicast;
    // Talk to it through this interface only (its IPv4 address, SO_BINDTODEVICE when
    // allowed), e.g. the one its mDNS answer came from. Empty: wherever the kernel routes.
    std::string interface;
    std::vector<uint16_t> channels;       // 1-based TX channel ids, one per slot (0 = empty slot)
    double seconds = 1.0;                 // audio to record, from the first packet's timestamp
    uint32_t bits = 24;                   // 16, 24 or 32
    uint32_t fpp = 0;                     // 0: as Inferno's receiver, min(32, 1400 / (slots x bytes))
    uint32_t rate = 48000;
    std::string device_name = "dante-rx";  // the RX device name in the request
    // Arrival time in the media clock's time base (ns). Default: the kernel's receive time
    // (SO_TIMESTAMPNS) moved to CLOCK_TAI, which is the media clock when the sink runs with
    // dante.clock.source = tai on the same kernel; CLOCK_TAI when read, if the kernel gives
    // no stamp. Set: this clock, read when the packet is read.
    std::function<int64_t()> arrival_clock;
    // Or the network's media clock (dante-rx --clock ptp: its own PTP follower): the kernel's
    // receive stamp is moved to CLOCK_MONOTONIC and read on this clock's correlation. A real
    // receiver judges arrival on the PTP time it follows, not on any system clock.
    const MediaClock* media_clock = nullptr;
    const std::atomic<bool>* interrupted = nullptr;  // set (e.g. by SIGINT) to stop early
    int reply_timeout_ms = 1000;
    int attempts = 3;
    int first_packet_timeout_ms = 3000;
    // Optional channel change (0x0102) while receiving: update_after seconds after the
    // first packet, to update_channels (same slot count). update_after < 0: none.
    double update_after = -1;
    std::vector<uint16_t> update_channels;
    // Called once the transmitter granted the flow (e.g. to print the handle).
    std::function<void(const flowctl::FlowHandle&)> on_granted;
};

struct RxResult {
    bool ok = false;
    std::string error;
    uint16_t refused_status = 0;  // the transmitter's error status, if it refused
    flowctl::FlowHandle handle;   // unicast only
    bool multicast = false;       // received a multicast bundle (no flow was asked for)
    uint16_t bundle = 0;          // its flow number
    uint32_t wire_slots = 0;      // channels in each packet (= channels.size() for unicast)
    Ipv4Endpoint local;           // our audio socket (multicast: the group)
    Ipv4Endpoint source;          // where the audio came from
    uint32_t rate = 0, bits = 0, fpp = 0;
    std::vector<uint16_t> channels;
    uint64_t first_timestamp = 0;   // media sample index of samples' first frame
    uint64_t frames = 0;            // frames in the window (seconds x rate)
    std::vector<int32_t> samples;   // frames x slots, interleaved, sign-extended wire values
    uint64_t packets = 0;           // audio packets received (all)
    uint64_t lost = 0;              // packets of the window never received
    uint64_t duplicated = 0;
    uint64_t reordered = 0;         // arrived after a later-stamped one
    uint64_t malformed = 0;         // not a whole number of frames, or shorter than a header
    uint64_t keepalives_sent = 0;
    bool stop_acknowledged = false;
    std::vector<int64_t> lateness_ns;  // arrival - media time of the packet's timestamp
    uint64_t kernel_stamped = 0;        // packets whose arrival is the kernel's receive time
    // The optional 0x0102 update: whether it was sent, the answer's status (0: none), and
    // the highest timestamp received before it was sent.
    bool update_sent = false;
    uint16_t update_status = 0;
    uint64_t update_sent_after_timestamp = 0;
};

// fpp Inferno's receiver would ask for.
uint32_t default_fpp(size_t slots, uint32_t bits);

RxResult run_receiver(const RxOptions& options);

// 16/24/32-bit PCM WAV of the recorded window.
bool write_wav(const std::string& path, const RxResult& result, std::string& error);

struct Percentiles {
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
};
Percentiles lateness_us(const RxResult& result);

nlohmann::json stats_json(const RxResult& result);

}  // namespace dante::rx
