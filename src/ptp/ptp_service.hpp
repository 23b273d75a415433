#pragma once
// The built-in PTP engine on real sockets: the I/O shell around PtpNode (port state
// machine + PtpMediaClock). It is also the device's MediaClock when dante.clock.source
// is ptp.
//
// start() looks up the interface (its IPv4 address, index and MAC), opens the PTP sockets
// and serves them on an io::EventLoop: the device's ("dante-io", shared with the other
// network services), or, used on its own (tools, tests), a thread of its own, "dante-ptp":
//   event   UDP 319: Sync, Delay_Req (timestamped on receive and transmit)
//   general UDP 320: Follow_Up, Delay_Resp, Announce, ...
// both bound to 0.0.0.0 (multicast needs it) but pinned to the interface: SO_BINDTODEVICE,
// membership of 224.0.1.129 on that interface only, IP_MULTICAST_ALL off (no datagrams
// for groups other sockets joined elsewhere), IP_MULTICAST_IF, TTL 1, loopback off.
// SO_REUSEADDR lets several instances share the ports in one namespace.
//
// Timestamps: SO_TIMESTAMPING software receive and transmit stamps (transmit ones come
// back on the error queue, matched by SOF_TIMESTAMPING_OPT_ID); SO_TIMESTAMPNS on
// receive when SO_TIMESTAMPING is refused; a user-space reading as the last resort
// (counted). Kernel stamps are CLOCK_REALTIME and convert to CLOCK_MONOTONIC by the
// offset sampled as they are processed (kernel_timestamp.hpp). No system clock is ever
// stepped or slewed: the media clock is an overlay on CLOCK_MONOTONIC.
//
// Timing: one timerfd armed at the nearest port timer or transmit-stamp deadline
// (CLOCK_MONOTONIC, absolute), re-armed after everything the service does, so the port's
// timers fire as precisely as the ppoll() timeout that used to carry them. A second,
// periodic timer re-anchors the published snapshot at "now" once a second on the same
// line, so readers always see a recent (media, monotonic) pair. Datagrams larger than any
// PTP message are dropped unread (counted); the parsers bound everything else.
//
// Version: PtpServiceOptions::version, v1 or v2 (config ptp_version 0 = auto means v1,
// what Dante devices speak by default; see ptp_version_from_config()).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clock/media_clock.hpp"
#include "clock/seqlock.hpp"
#include "io/datagram_drain.hpp"
#include "io/event_loop.hpp"
#include "io/io_thread.hpp"
#include "net/udp_socket.hpp"
#include "ptp/clock_identity.hpp"
#include "ptp/port.hpp"
#include "ptp/ptp_media_clock.hpp"
#include "ptp/ptp_node.hpp"
#include "ptp/servo_kind.hpp"

namespace dante::ptp {

struct PtpServiceOptions {
    std::string interface;
    PtpVersion version = PtpVersion::v1;
    uint8_t domain = 0;
    bool slave_only = false;
    // v2: priority1 as sent in Announce. v1 has none: below 128 means "preferred".
    uint8_t priority1 = 128;
    ServoKind servo = ServoKind::linreg;
};

// dante.ptp.version: 0 (auto) -> v1 (Dante's default), 1 -> v1, 2 -> v2.
constexpr PtpVersion ptp_version_from_config(uint8_t configured) {
    return configured == 2 ? PtpVersion::v2 : PtpVersion::v1;
}

// A coherent copy of what the PTP thread knows, for properties and tools.
struct PtpStatus {
    PortState port_state = PortState::initializing;
    int64_t offset_ns = 0;      // last measured offset (ours minus the leader's), before the servo
    int64_t path_delay_ns = 0;  // mean path delay, 0 until measured
    bool has_parent = false;
    PortIdentity parent{};
    // Port counters.
    uint64_t received = 0;
    uint64_t rejected = 0;
    uint64_t wrong_domain = 0;
    uint64_t offsets = 0;
    // Shell counters.
    uint64_t sent = 0;
    uint64_t send_errors = 0;
    uint64_t oversized = 0;             // dropped unread: larger than any PTP message
    uint64_t rx_timestamp_fallbacks = 0;  // no kernel receive stamp: user-space time used
    uint64_t tx_timestamps = 0;           // kernel transmit stamps delivered
    uint64_t tx_timestamp_fallbacks = 0;  // no transmit stamp in time: user-space time used
    uint64_t faults = 0;
};

// dante.ptp.*: version, domain, clock-id, port-state, offset-ns, path-delay-ns, parent-id,
// grandmaster-id, counters. One rendering for the in-process engine and the clock page.
std::vector<std::pair<std::string, std::string>> ptp_properties(PtpVersion version, uint8_t domain,
                                                                const ClockIdentity& identity,
                                                                const PtpStatus& status,
                                                                const std::string& grandmaster);

class PtpService final : public MediaClock {
public:
    // `loop`: the event loop to serve the sockets on (it must outlive the service); null:
    // start() runs a thread of its own.
    explicit PtpService(PtpServiceOptions options, io::EventLoop* loop = nullptr);
    ~PtpService() override;
    PtpService(const PtpService&) = delete;
    PtpService& operator=(const PtpService&) = delete;

    // False with a one-sentence `error` if the interface or a socket is unusable.
    bool start(std::string& error);
    void stop();
    [[nodiscard]] bool running() const { return running_; }
    // The interface's address changed (or came back): new sockets on it, the port and the
    // servo kept as they are, so a follower stays locked through a renumbering instead of
    // starting over. Not on the loop thread. False with `error` as start().
    bool rebind(std::string& error);
    [[nodiscard]] uint64_t rebinds() const { return rebinds_.load(std::memory_order_relaxed); }

    // MediaClock (any thread).
    [[nodiscard]] ClockSnapshot snapshot() const override { return clock_.snapshot(); }
    void update() override {}  // the PTP thread publishes as it measures
    [[nodiscard]] std::string source_name() const override { return "ptp"; }
    [[nodiscard]] std::string master_id() const override { return clock_.master_id(); }
    [[nodiscard]] std::string provider() const override { return "in-process"; }

    [[nodiscard]] PtpStatus status() const { return status_.load(); }
    [[nodiscard]] const PtpServiceOptions& options() const { return options_; }
    [[nodiscard]] ClockIdentity identity() const { return identity_; }
    // dante.ptp.* (see ptp_properties()).
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> properties() const override;

private:
    struct PendingTx {
        uint32_t key = 0;  // SOF_TIMESTAMPING_OPT_ID counter of the send
        uint32_t tag = 0;
        int64_t sent_mono_ns = 0;
        bool active = false;
    };

    void begin();    // loop thread: register, start the port
    void end();      // loop thread: unregister
    void service();  // loop thread: due timers, expired stamps, status, re-arm
    void carry_out(const ActionList& actions);
    void send(const SendMessage& message);
    void receive(const UdpSocket& socket, Channel channel);
    void on_event_socket(uint32_t events);
    void on_general_socket(uint32_t events);
    void drain_error_queue();
    void take_tx_timestamp(msghdr& msg);  // one message of the error queue
    void on_datagram(const io::ReceivedDatagram& datagram, Channel channel);
    void expire_tx_timestamps(int64_t now);
    void fire_timers(int64_t now);
    void fault(int64_t now);
    void publish_status();
    [[nodiscard]] std::optional<int64_t> nearest_deadline() const;

    PtpServiceOptions options_;
    ClockIdentity identity_{};
    PtpMediaClock clock_;
    std::unique_ptr<PtpNode> node_;  // built in start(), once the identity is known
    UdpSocket event_socket_, general_socket_;
    bool kernel_tx_timestamps_ = false;

    // PTP thread only.
    std::array<std::optional<int64_t>, kPortTimerCount> deadlines_{};
    std::array<PendingTx, 8> pending_tx_{};
    uint32_t event_sends_ = 0;  // the kernel's OPT_ID counter, mirrored
    PtpStatus working_{};

    SeqLock<PtpStatus> status_;
    io::EventLoop* external_loop_ = nullptr;
    std::unique_ptr<io::IoThread> own_thread_;  // standalone only
    io::EventLoop* loop_ = nullptr;             // while running
    io::EventLoop::TimerId port_timer_ = 0, refresh_timer_ = 0;
    bool running_ = false;  // start()/stop() caller's
    std::atomic<uint64_t> rebinds_{0};
};

}  // namespace dante::ptp
