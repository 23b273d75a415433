#pragma once
// The receiving side of a device as a service on an io::EventLoop: subscriptions in
// (rx channel <- tx channel name @ tx device), received audio out, in rings a reader (the
// source node's graph cycle) reads by media position.
//
// For each subscribed tx device, flows of at most 8 of the channels subscribed from it (in
// rx channel order; fewer when the device's channels advertise a smaller `nchan`): what
// Dante transmitters accept in one flow. For each, the resolver (injected, e.g. avahi)
// names the transmitter's flow-control endpoint and channel ids, and a multicast bundle of
// the device that carries them all if there is one.
// With a bundle, a socket joins its group (no request: the transmitter sends it anyway).
// Otherwise a FlowRequester (src/rx/flow_requester.hpp) asks for a unicast flow from a
// control socket, naming an audio socket of the flow's own. Either way an RxFlowCore puts
// each datagram from the device into the flow's rings at its media timestamp. A flow is tried
// again, with backoff (1, 2, 4, 8, then every 10 s), from resolution on when the device is
// not found, the request is refused or unanswered, or audio stops for 2 s (audio_timeout_ms;
// the transmitter restarted or dropped the flow): a transmitter cannot be trusted to tell.
// Requests only come from our own subscriptions, which are capped (at most
// options.rx_channels channels, so at most that many flows): no peer makes us open more.
//
// Threads:
//   - the loop thread ("dante-rx" in a device, real-time when the system allows; a thread
//     of the test's): sockets, timers, resolutions' answers, every flow's state. Per
//     packet batch it allocates nothing, logs nothing and waits for no lock (the status
//     copy is skipped while a reader holds it); a flow starting, failing or ending does
//     allocate and log (a few times per flow, and backed off).
//   - the caller of start()/stop()/set_subscriptions() (the main loop): one thread, not
//     concurrently; each is invoke_sync()ed onto the loop (inline when called on it).
//   - any thread: channel_status(), properties() (a snapshot under a mutex, refreshed by
//     the loop after each batch of packets; never on a real-time path).
//   - ONE real-time reader (the graph cycle): acquire_channels()/release_channels(),
//     wait-free, no allocation, no lock.
//
// Lifetime of the rings the reader sees: the loop publishes an immutable RxChannelTable
// (per rx channel: the rings and ring channel holding it) and never changes a published
// one; a new table replaces it (atomic pointer) whenever a flow is created or ends. Each
// table holds its flows' cores (shared_ptr), so a core lives while any table naming it
// does. Old tables are freed on the loop only once the reader announced a newer table or
// that it holds none (the scheme of src/flows/flow_table.hpp, plus an idle state so a
// paused reader does not keep old tables forever). The reader must not keep the table, or
// pointers from it, past its next acquire_channels() or release_channels().
// Reading rx channel N at media position P, once per cycle:
//   const RxChannelTable& t = rx.acquire_channels();
//   const RxChannelSource& s = t.channels[N - 1];
//   if (s.rings) s.rings->read(s.ring_channel, P, out); else silence
// (TxRings reads whatever did not arrive for exactly P as silence; the loop is its writer.)

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "clock/media_clock.hpp"
#include "config/device_config.hpp"
#include "io/event_loop.hpp"
#include "net/interface.hpp"
#include "net/ipv4.hpp"
#include "rx/rx_flow_core.hpp"
#include "tx/tx_rings.hpp"
#include "util/logger.hpp"

namespace dante {

// A multicast bundle of the tx device that carries every channel asked for (its TXT
// points at it, as Dante devices advertise one): received by joining its group, with no
// request to the transmitter.
struct TxMulticast {
    Ipv4Endpoint group;
    uint32_t slots = 0;             // channels in each packet
    uint32_t bytes_per_sample = 0;  // the bundle's encoding
    std::vector<uint16_t> slot_of_channel;  // one per asked name: its 1-based slot, 0 not carried
};

// What a resolver answers for one tx device: where its flow control listens, and the
// 1-based id of each channel asked for (0: no channel of that name); with a bundle, the
// flow is received from its group instead of requested.
struct TxResolution {
    Ipv4Endpoint flow_control;
    std::vector<uint16_t> channel_ids;  // one per asked name, in the same order
    uint32_t max_channels_per_flow = 0;  // the channels' `nchan`: 0 when not advertised
    uint32_t encoding_bits = 0;          // their `enc` (16, 24, 32): asked for in it; 0: options.format
    std::optional<TxMulticast> multicast;
};

// Channels we ask for in one unicast flow at most: what Inferno and our own transmitter
// advertise as `nchan` (min(8, TX channels)); a device advertising less gets smaller flows.
inline constexpr uint32_t kMaxChannelsPerRxFlow = 8;

// Finds a transmitter by name. resolve() must not block the loop (the real one, over
// avahi, answers from avahi's thread); `done` is called exactly once, on any thread,
// inline or later, with nullopt for "not found". Calls after RxService::stop() returned
// are ignored, so a late answer is harmless (the resolver itself must outlive the service).
class TxResolver {
public:
    using Done = std::function<void(std::optional<TxResolution>)>;
    virtual ~TxResolver() = default;
    virtual void resolve(const std::string& tx_device, const std::vector<std::string>& tx_channels, Done done) = 0;
};

enum class RxChannelState : uint8_t {
    none,          // not subscribed
    unresolved,    // the device (or this channel name on it) was not found; retrying
    resolving,     // asking the resolver
    requesting,    // flow requested, no audio yet
    receiving,     // audio arrives
    no_flow,       // refused (other than format) or unanswered, or audio stopped; retrying
    wrong_format,  // refused for rate or format (0x0301, 0x0302); retrying
};
const char* to_string(RxChannelState state);

struct RxChannelStatus {
    RxChannelState state = RxChannelState::none;
    bool multicast = false;  // the current attempt joins the device's bundle (else a unicast flow)
    uint64_t flow = 0;       // which of our flows carries it: the counters below are that flow's
    std::string tx_channel;
    std::string tx_device;
    // The flow's counters (every attempt since the subscription), shared by its channels.
    uint64_t packets = 0;
    uint64_t lost = 0;
    uint64_t late = 0;
    uint64_t malformed = 0;
};

// One entry of the table the real-time reader sees.
struct RxChannelSource {
    const TxRings* rings = nullptr;  // null: nothing received for this channel (read silence)
    uint32_t ring_channel = 0;       // the channel of `rings` holding it
};

struct RxChannelTable {
    uint64_t generation = 0;
    std::array<RxChannelSource, kMaxRxChannels> channels{};  // index: rx channel - 1
    std::vector<std::shared_ptr<const RxFlowCore>> cores;    // keeps the rings above alive
};

struct RxServiceOptions {
    std::string device_name = "pipewire-dante";  // our name in requests (rx_device_name)
    uint32_t rx_channels = kMaxRxChannels;       // subscriptions beyond are ignored
    uint32_t rate = 48000;
    SampleFormat format = SampleFormat::s24;  // asked for unless the transmitter advertises its `enc`
    uint32_t fpp = 0;                   // 0: as dante-rx picks (1400 bytes of audio per packet, 2..32 frames)
    int64_t latency_ns = 4'000'000;     // for RxFlowCore's "late" counter
    int64_t audio_timeout_ms = 2000;    // no audio for this long: ask again
    int64_t resolve_timeout_ms = 5000;  // a resolver that has not answered by then: retry
    int64_t backoff_min_ms = 1000;
    int64_t backoff_max_ms = 10'000;
    int64_t reply_timeout_ms = 1000;  // FlowRequester: per attempt
    int attempts = 3;
    Logger log;
};

class RxService {
public:
    // `loop`, `clock` and `resolver` must outlive the service. `iface`: our address
    // (sockets are bound to it).
    RxService(InterfaceInfo iface, const MediaClock& clock, TxResolver& resolver, io::EventLoop& loop,
              RxServiceOptions options = {});
    ~RxService();
    RxService(const RxService&) = delete;
    RxService& operator=(const RxService&) = delete;

    // Starts serving the subscriptions set so far. False with one sentence if the options
    // are unusable.
    bool start(std::string& error);
    // Stops every flow (a best-effort 0x0101 each), closes every socket. The reader may go
    // on reading (silence); the destructor frees every table, so the reader must have
    // stopped before the service is destroyed.
    void stop();
    [[nodiscard]] bool running() const { return running_; }
    // The interface (address) flows are bound to from the next start(): the device moved.
    // Only while stopped. The reader may keep reading across stop() and start(): the tables
    // it may hold are freed only once it moved on (see above), and read silence meanwhile.
    void set_interface(InterfaceInfo iface) { iface_ = std::move(iface); }

    // Replaces every subscription. Channels whose device and tx channel did not change
    // keep their flow (unless another channel of the same device changed: that device's
    // flow is asked again with the new set). Entries with rx_channel outside
    // 1..options.rx_channels, or a second one for a channel, are ignored (counted).
    void set_subscriptions(std::vector<RxSubscriptionConfig> subscriptions);

    // Any thread. rx_channel is 1-based; beyond the count: state none.
    [[nodiscard]] RxChannelStatus channel_status(uint32_t rx_channel) const;
    [[nodiscard]] size_t active_flows() const;
    // dante.rx.flows, dante.rx.packets, ... and dante.rx.channel-status (per channel).
    [[nodiscard]] ConfigItems properties() const;

    // The ONE real-time reader. The table stays valid until this thread's next
    // acquire_channels() or release_channels(). Wait-free.
    const RxChannelTable& acquire_channels();
    // The reader holds no table any more (a paused node), so the loop may free them all.
    void release_channels();

    static constexpr uint64_t kReaderIdle = UINT64_MAX;

private:
    struct Flow;
    struct Link;
    struct Member {
        uint16_t rx_channel = 0;
        std::string tx_channel;
        bool operator==(const Member&) const = default;
    };

    void apply_subscriptions();                      // loop
    void begin_resolve(Flow& flow, int64_t now_ms);  // loop
    void on_resolved(uint64_t flow_id, uint64_t attempt, std::optional<TxResolution> answer);
    void open_flow(Flow& flow, const TxResolution& answer, int64_t now_ms);
    void join_bundle(Flow& flow, const TxResolution& answer, int64_t now_ms);
    void on_control(Flow& flow);
    void on_audio(Flow& flow);
    void on_timer();
    void advance(Flow& flow, int64_t now_ms);
    void fail(Flow& flow, RxChannelState why, int64_t now_ms, const std::string& message);
    void close_flow(Flow& flow, int64_t now_ms);  // stop the requester, drop sockets and core
    static void send_outbox(Link& link);
    void rearm();
    void publish_table();
    void reclaim_tables();
    void refresh_status();  // copy flow states and counters into status_

    InterfaceInfo iface_;
    const MediaClock& clock_;
    TxResolver& resolver_;
    io::EventLoop& loop_;
    RxServiceOptions options_;
    bool running_ = false;

    // Loop thread only.
    std::vector<RxSubscriptionConfig> wanted_;  // set_subscriptions() hands them over on the loop
    std::map<std::string, uint32_t> channels_per_flow_;  // by tx device: a smaller `nchan` it advertised
    std::vector<std::unique_ptr<Flow>> flows_;
    std::vector<std::unique_ptr<Flow>> stopping_;  // sending their 0x0101, sockets still open
    uint64_t next_flow_id_ = 1;
    io::EventLoop::TimerId timer_ = 0;
    int64_t timestamp_offset_ns_ = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC, for kernel stamps

    // Answers of resolutions may come from any thread after stop(): they check this first.
    struct Liveness {
        std::mutex mutex;
        bool alive = false;
    };
    std::shared_ptr<Liveness> liveness_;

    // The reader's table (see the header comment).
    std::atomic<const RxChannelTable*> current_{nullptr};
    std::atomic<uint64_t> reader_gen_{kReaderIdle};
    std::unique_ptr<const RxChannelTable> owned_current_;
    std::vector<std::unique_ptr<const RxChannelTable>> retired_;
    uint64_t next_generation_ = 1;

    mutable std::mutex status_mutex_;
    std::array<RxChannelStatus, kMaxRxChannels> status_{};
    size_t active_flows_ = 0;
    uint64_t ignored_subscriptions_ = 0;
    uint64_t requests_ = 0;
    uint64_t retries_ = 0;
};

}  // namespace dante
