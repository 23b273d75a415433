#pragma once
// One received Dante flow, sans-I/O: datagrams in, samples into rings by timestamp.
//
// A receiver asks a transmitter for a flow (or joins a multicast bundle) whose packets carry
// `wire_slots` channels; this takes each datagram from that flow's source, checks it against
// the flow's shape (read_audio_packet), and writes its frames into the flow's own rings at
// the packet's media timestamp, one ring channel per wire slot, as S32 full scale (what the
// graph reads: 24-bit audio in the top 24 bits). The graph cycle then reads any channel at
// P - latency; what never arrived, or arrived after that point, reads as silence (TxRings'
// guarantee), never as stale audio.
//
// The rings belong to the flow, not to the device: TxRings stamps blocks across all its
// channels, so two flows writing one ring set would erase each other. One writer: the
// thread that reads the flow's socket.
//
// Counters say what the network did: packets, malformed (not this flow's shape), lost
// (timestamps skipped, in packets of the last size seen), reordered (older than the newest
// seen), late (arrived after its playout instant, media now > ts + latency), out of window
// (a quarter ring or more from media now: never written, see on_datagram()).
//
// on_datagram() allocates nothing and takes no locks: scratch space is sized at
// construction for the largest packet.

#include <cstdint>
#include <span>
#include <vector>

#include "tx/tx_rings.hpp"

namespace dante {

struct RxFlowShape {
    uint32_t wire_slots = 0;         // channels in each packet (1..64)
    uint32_t bytes_per_sample = 3;   // 2, 3 or 4
    uint32_t rate = 48000;
    uint64_t latency_samples = 192;  // a frame is late if media now passes ts + latency at arrival
};

struct RxFlowStats {
    uint64_t packets = 0;
    uint64_t malformed = 0;
    uint64_t lost = 0;
    uint64_t reordered = 0;
    uint64_t late = 0;
    uint64_t out_of_window = 0;  // a quarter ring or more from media now: not written
};

class RxFlowCore {
public:
    // Ring capacity in frames: over a second at 48 kHz, far beyond any latency.
    static constexpr uint32_t kRingFrames = 1u << 16;
    static constexpr uint32_t kMaxSlots = 64;

    // shape.wire_slots must be 1..kMaxSlots (valid() tells).
    explicit RxFlowCore(const RxFlowShape& shape);

    [[nodiscard]] bool valid() const { return valid_; }
    [[nodiscard]] const RxFlowShape& shape() const { return shape_; }

    // One datagram from the flow's source, arrived when the media clock was at sample
    // `media_now`. Returns whether its audio went into the rings.
    bool on_datagram(std::span<const uint8_t> datagram, uint64_t media_now);

    [[nodiscard]] const TxRings& rings() const { return rings_; }
    [[nodiscard]] const RxFlowStats& stats() const { return stats_; }

private:
    RxFlowShape shape_;
    bool valid_ = false;
    TxRings rings_;
    std::vector<int32_t> scratch_;       // wire_slots planes of kMaxFramesPerPacket
    std::vector<const int32_t*> planes_;
    bool have_newest_ = false;
    uint64_t next_expected_ = 0;          // the timestamp after the newest packet's frames
    RxFlowStats stats_;
};

}  // namespace dante
