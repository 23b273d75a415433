#pragma once
// The flow transmitter's decisions, sans-I/O: which packets are due at a monotonic
// instant, with which timestamps, and when to wake next. The real-time thread
// (flow_transmitter.hpp) runs it with real sockets and a real clock; tests run it with a
// fake clock and a fake PacketIo.
//
// Pacing (docs/protocol.md#audio-packets): each flow keeps next_ts, the media-clock
// sample index of its next packet. It starts at the next multiple of fpp after media now; a
// packet stamped next_ts is due when the media clock reaches next_ts, i.e. at the
// monotonic instant snapshot.monotonic_ns_at(media_ns_of_sample(next_ts)). Each pass
// sends every due packet of every flow and advances next_ts by fpp. A flow re-bootstraps
// when it lags media now by more than max_lag (the thread was starved: better a gap than
// a burst of stale packets), when media now is far behind it (the clock stepped back),
// and when the clock's generation changes with a step: a new generation whose media now is
// still where the flow's next packet expects it (a re-lock or becoming master, which move
// no sample) keeps the flow's timestamps, so its receivers lose nothing.
//
// A packet whose send fails is dropped (next_ts still advances): audio that missed its
// moment is worthless later, and a receiver that went away must not freeze the others.
// A flow's due packets go out together (PacketIo::send_batch, up to kMaxBatch at once):
// in the steady state that is one packet per flow per pass (all flows share the fpp
// grid), after a late wake-up the whole catch-up burst in one system call.
//
// Keepalives: a receiver sends something back to the flow's socket about every 250 ms;
// a flow with nothing heard for keepalive_timeout stops sending and is reported once on
// the `expired` queue, for the control thread to remove it. Multicast flows are never
// polled and never expire.
//
// Real-time safe: run() allocates nothing and takes no locks (the runtime array is sized
// at construction).

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "clock/clock_snapshot.hpp"
#include "flows/flow_table.hpp"
#include "flows/packet_writer.hpp"
#include "tx/tx_rings.hpp"
#include "util/spsc_queue.hpp"

namespace dante {

// What the core needs from the world, per flow.
class PacketIo {
public:
    virtual ~PacketIo() = default;
    // Send one datagram on the flow's socket; true if it all went out.
    virtual bool send(const FlowEntry& flow, std::span<const uint8_t> packet) = 0;
    // Send several datagrams on the flow's socket, in order (the socket I/O does it in one
    // sendmmsg()); sent[i] = whether packets[i] all went out. A failed one does not stop
    // the others. By default one send() each.
    virtual void send_batch(const FlowEntry& flow, std::span<const std::span<const uint8_t>> packets,
                            std::span<bool> sent) {
        for (size_t i = 0; i < packets.size(); ++i) sent[i] = send(flow, packets[i]);
    }
    // Drain whatever the receiver sent to the flow's socket; true if anything arrived.
    virtual bool poll_keepalive(const FlowEntry& flow) = 0;
};

struct TransmitterSettings {
    uint32_t rate = 48000;
    size_t max_flows = 32;
    int64_t keepalive_timeout_ns = 4'000'000'000;   // Inferno's KEEPALIVE_TIMEOUT_SECONDS
    int64_t keepalive_poll_ns = 20'000'000;         // how often sockets are checked for keepalives
    int64_t max_wait_ns = 10'000'000;               // longest sleep: picks up new tables and stop requests
    uint64_t max_lag_samples = 0;                   // 0: rate / 10 (100 ms)
    uint64_t max_ahead_samples = 0;                 // 0: rate (1 s): the clock stepped back
    uint32_t dither_seed = 0x1234567u;
};

// Send lateness (send instant - due instant) histogram bucket upper bounds, in ns; the
// last bucket is everything above the last bound.
inline constexpr std::array<int64_t, 6> kLateBucketBoundsNs{100'000, 250'000, 500'000, 1'000'000, 2'000'000, 5'000'000};
inline constexpr size_t kLateBuckets = kLateBucketBoundsNs.size() + 1;

struct TransmitterCounters {
    std::atomic<uint64_t> packets{0};       // sent
    std::atomic<uint64_t> underruns{0};     // packets carrying silence the rings did not hold
    std::atomic<uint64_t> send_errors{0};   // dropped by the kernel (receiver gone, buffer full)
    std::atomic<uint64_t> rebootstraps{0};  // lag, clock step or generation change
    std::atomic<uint64_t> expired{0};       // flows that stopped hearing keepalives
    std::atomic<uint64_t> active{0};        // flows sending at the last pass
    std::array<std::atomic<uint64_t>, kLateBuckets> late{};
};

using ExpiredQueue = SpscQueue<flowctl::FlowHandle, 64>;

class TransmitterCore {
public:
    TransmitterCore(const TxRings& rings, const TransmitterSettings& settings, TransmitterCounters& counters,
                    ExpiredQueue& expired);

    // One pass at monotonic instant now_ns: sends what is due, polls keepalives, expires
    // silent flows. Returns the monotonic instant to wake at next (never later than
    // now_ns + max_wait_ns).
    int64_t run(const FlowTable& table, const ClockSnapshot& clock, int64_t now_ns, PacketIo& io);

    // The next packet timestamp of a flow (tests); nullopt if it has none yet.
    [[nodiscard]] std::optional<uint64_t> next_timestamp(const flowctl::FlowHandle& handle) const;

private:
    struct Runtime {
        bool known = false;
        uint16_t cookie = 0;
        uint32_t version = 0;
        uint32_t fpp = 0;
        bool bootstrapped = false;
        bool check_continuity = false;  // the clock's generation changed since the last pass
        bool expired = false;
        bool reported = false;
        uint64_t next_ts = 0;
        int64_t last_heard_ns = 0;
        int64_t last_poll_ns = 0;
    };

    void record_lateness(int64_t late_ns);
    void flush(const FlowEntry& entry, const ClockSnapshot& clock, int64_t now_ns, PacketIo& io);

    const TxRings& rings_;
    TransmitterSettings settings_;
    TransmitterCounters& counters_;
    ExpiredQueue& expired_;
    std::vector<Runtime> runtime_;  // indexed by handle.index
    // Up to kMaxBatch built packets of one flow, waiting for flush(): their bytes packed
    // in packet_ (at least one packet of the largest kind fits), their timestamps.
    static constexpr size_t kMaxBatch = 32;
    std::vector<uint8_t> packet_;
    size_t batch_bytes_ = 0;
    size_t batch_size_ = 0;
    std::array<std::span<const uint8_t>, kMaxBatch> batch_{};
    std::array<uint64_t, kMaxBatch> batch_ts_{};
    std::array<bool, kMaxBatch> batch_sent_{};
    DitherSource dither_;
    uint64_t clock_generation_ = 0;
    bool have_generation_ = false;
};

}  // namespace dante
