#pragma once
// The receiver's side of flow control for ONE requested unicast flow, sans-I/O: what
// dante-rx does to a transmitter, and what the RX service will do on the device's loop.
//
// It asks for the flow (0x0100, the request naming our audio socket in its 0x0802
// descriptor), retries until an answer or the attempts run out, keeps the granted flow
// alive once audio flows (2 bytes 0x13 0x37 every 250 ms to the audio's source: that is
// the transmitter's flow socket, which expires a flow that hears nothing for 4 s), changes
// its channels (0x0102) and stops it (0x0101). Layouts: docs/protocol.md#flow-control.
//
// Inputs are datagrams, the source of audio packets and the time (ms on any monotonic
// clock); outputs are datagrams to send, each saying from which of the caller's two
// sockets it must leave: requests from the control socket (the transmitter answers to
// it), keepalives from the audio socket (the transmitter's flow socket is connect()ed to
// that address and would drop anything else). The caller sends the outbox after every
// call and wakes at next_deadline_ms().
//
// Replies are hostile input: one counts only if it comes from the endpoint we asked,
// decodes, and carries the sequence number and opcode of the exchange in flight;
// everything else is counted as ignored and changes nothing.
//
// Not real-time: it runs on a control loop (or dante-rx's own). It allocates nothing after
// construction anyway (fixed-size outbox and slot lists), but that is not a promise.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "flows/flow_control_codec.hpp"
#include "net/ipv4.hpp"

namespace dante {

struct FlowRequesterConfig {
    Ipv4Endpoint target;           // the transmitter's flow-control endpoint (UDP 4455)
    flowctl::FlowRequest request;  // destination: our audio socket's own address
    // Each exchange (request, update): this many sends, each awaited this long (what
    // dante-rx's RxOptions default to).
    int64_t reply_timeout_ms = 1000;
    int attempts = 3;
    // Stopping is best effort and must not hold up shutdown: fewer, shorter tries.
    int64_t stop_timeout_ms = 300;
    int stop_attempts = 2;
    int64_t keepalive_interval_ms = 250;  // Inferno's receiver
};

enum class FlowRequesterState : uint8_t {
    idle,        // start() not called yet
    requesting,  // 0x0100 sent, no answer yet
    granted,     // handle() is ours; an update may be in flight
    refused,     // the transmitter answered an error: refused_status()
    no_reply,    // every attempt of the request went unanswered
    stopping,    // 0x0101 sent, no answer yet
    stopped,     // answered, unanswered after its attempts, or stopped before a grant
};
const char* to_string(FlowRequesterState state);

struct FlowRequesterStats {
    uint64_t requests_sent = 0;    // 0x0100 datagrams, retries included
    uint64_t updates_sent = 0;     // 0x0102 datagrams, retries included
    uint64_t stops_sent = 0;       // 0x0101 datagrams, retries included
    uint64_t retries = 0;          // sends after a timeout, of any exchange
    uint64_t keepalives_sent = 0;
    uint64_t replies = 0;          // accepted answers
    uint64_t ignored = 0;          // control datagrams that were not the answer we wait for
    uint64_t updates_abandoned = 0;  // updates never answered (or dropped by stop())
    uint64_t outbox_dropped = 0;   // datagrams lost because the caller left the outbox full
};

// Which of the caller's sockets a datagram leaves from.
enum class RequesterSocket : uint8_t { control, audio };
enum class RequesterDatagramKind : uint8_t { request, update, stop, keepalive };

struct RequesterDatagram {
    RequesterSocket socket = RequesterSocket::control;
    RequesterDatagramKind kind = RequesterDatagramKind::request;
    Ipv4Endpoint to;
    size_t size = 0;
    std::array<uint8_t, flowctl::kMaxPacketBytes> bytes{};

    [[nodiscard]] std::span<const uint8_t> span() const { return {bytes.data(), size}; }
};

class FlowRequester {
public:
    // At most one control datagram and one keepalive come out of a single call.
    static constexpr size_t kOutboxCapacity = 4;

    explicit FlowRequester(FlowRequesterConfig config);

    // Send the request. False (and still idle) if called twice or the request cannot be
    // encoded (more than 64 slots, a name longer than 63 bytes or with a NUL in it).
    bool start(int64_t now_ms);
    // A datagram that arrived on the control socket from `from`.
    void on_control_datagram(std::span<const uint8_t> datagram, const Ipv4Endpoint& from, int64_t now_ms);
    // An audio packet of this flow arrived from `source`. The first one after the grant
    // names where keepalives go and sends the first at once.
    void on_audio_from(const Ipv4Endpoint& source, int64_t now_ms);
    // Timers: retries, giving up, keepalives. Call at next_deadline_ms() (earlier is harmless).
    void tick(int64_t now_ms);
    // Change the flow's channels (same slot count, as the transmitter expects). Sent now,
    // or when the exchange in flight (the request included) ends; a newer call replaces a
    // waiting one. False when neither requesting nor granted, or with more than 64 ids.
    bool request_update(std::span<const uint16_t> channels, int64_t now_ms);
    // Stop the flow: 0x0101 if one was granted, else straight to stopped. An update in
    // flight is dropped. Idempotent.
    void stop(int64_t now_ms);

    [[nodiscard]] std::optional<int64_t> next_deadline_ms() const;
    [[nodiscard]] std::span<const RequesterDatagram> outbox() const { return {outbox_.data(), outbox_count_}; }
    void clear_outbox() { outbox_count_ = 0; }

    [[nodiscard]] FlowRequesterState state() const { return state_; }
    [[nodiscard]] const flowctl::FlowHandle& handle() const { return handle_; }
    [[nodiscard]] uint16_t refused_status() const { return refused_status_; }
    // The latest update's answer (0: none yet, or it went unanswered).
    [[nodiscard]] uint16_t update_status() const { return update_status_; }
    [[nodiscard]] bool update_in_flight() const { return in_flight_ && in_flight_->opcode == flowctl::Opcode::update_flow; }
    [[nodiscard]] uint16_t stop_status() const { return stop_status_; }
    [[nodiscard]] bool stop_acknowledged() const { return stop_status_ == flowctl::status::ok; }
    [[nodiscard]] std::optional<Ipv4Endpoint> keepalive_destination() const { return audio_source_; }
    // The sequence number of the exchange awaiting an answer (tests, fuzzing).
    [[nodiscard]] std::optional<uint16_t> in_flight_sequence() const {
        return in_flight_ ? std::optional<uint16_t>(in_flight_->sequence) : std::nullopt;
    }
    [[nodiscard]] const FlowRequesterStats& stats() const { return stats_; }
    [[nodiscard]] const FlowRequesterConfig& config() const { return config_; }

private:
    // The one exchange awaiting its answer: its datagram is kept for the retries.
    struct Exchange {
        flowctl::Opcode opcode = flowctl::Opcode::request_flow;
        uint16_t sequence = 0;
        int sends_left = 0;
        int64_t timeout_ms = 0;
        int64_t deadline_ms = 0;
        RequesterDatagram datagram;
    };

    bool begin_exchange(flowctl::Opcode opcode, const flowctl::SlotList* slots, int64_t now_ms);
    void send_in_flight(int64_t now_ms);
    void give_up(int64_t now_ms);
    void send_pending_update(int64_t now_ms);
    void push(const RequesterDatagram& datagram);

    FlowRequesterConfig config_;
    FlowRequesterState state_ = FlowRequesterState::idle;
    uint16_t sequence_ = 0;
    std::optional<Exchange> in_flight_;
    std::optional<flowctl::SlotList> pending_update_;
    flowctl::FlowHandle handle_;
    uint16_t refused_status_ = 0;
    uint16_t update_status_ = 0;
    uint16_t stop_status_ = 0;
    std::optional<Ipv4Endpoint> audio_source_;
    int64_t next_keepalive_ms_ = 0;
    std::array<RequesterDatagram, kOutboxCapacity> outbox_{};
    size_t outbox_count_ = 0;
    FlowRequesterStats stats_;
};

}  // namespace dante
