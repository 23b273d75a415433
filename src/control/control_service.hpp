#pragma once
// The control plane of a Dante transmitter, ready to own from the Device: the I/O shell
// around the sans-I/O cores (arc_server, cmc_server, conmon, mdns_records,
// device_state_store) and the mDNS publisher (the built-in responder or avahi-daemon,
// dante.mdns).
//
// start() looks up the interface (DeviceConfig::interface) and opens three UDP sockets on
// its IPv4 address, ports from control_ports_for(dante.port-base):
//   ARC (4440)   requests from controllers: names, channel lists, renames
//   CMC (8800)   controller registration
//   info (8700)  board/product info requests; also the source of the conmon multicasts:
//                heartbeat every second to 224.0.0.233:8708, board and product info to
//                224.0.0.231:8702 at start and on request (TTL 1, out of the interface)
// served on an io::EventLoop: the device's ("dante-io", shared with PTP, flow control and
// the built-in mDNS responder), or, used on its own (tests), a thread of its own
// ("dante-control"). A timerfd at conmon's next heartbeat is the only timer; nothing polls.
// Every datagram passes a per-source-address RateLimiter before anything looks at it; the
// cores refuse what they cannot parse, so hostile input costs a bounded amount of work.
//
// The loop thread owns the DeviceState: the configured name and channels ("01".."NN"), the
// format (rate, encoding from audio.format, latency), device id = the interface's MAC + 0000
// (as the LX-DANTE in netaudio's captures; 0000 + IPv4 + 0000 as Inferno when the interface
// has no MAC), the RX channels (dante.rx.channels: labels from dante.rx.names, subscriptions
// from dante.rx.subscriptions), then the names, latency, RX labels and subscriptions saved in
// the state file (dante.state-file), if any: what a controller changed later wins.
// RX subscriptions are handed to the receiving side (options.rx_subscriptions), whose
// state 0x3000 reports (options.rx_status); without one a subscribed channel is reported
// unresolved (kRxStatusUnresolved), never as receiving.
// Settings requests on the info port (netaudio: interface 0x0013, clock 0x0021, AES67 0x1006)
// are answered by multicast like the info; other well-formed ones count as unsupported. A rename that
// the ARC core accepts is applied before the reply, saved (atomically, when a state file is
// configured) and re-advertised over mDNS (RX labels and subscriptions are saved only: they
// are not in the mDNS records). So is a multicast flow created or deleted over ARC (0x2201/0x2202):
// the loop thread re-reads the flows and publishes the bundle services with the set, never
// the transmitter's real-time thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "config/device_config.hpp"
#include "control/arc_server.hpp"
#include "control/mdns_publisher.hpp"
#include "control/cmc_server.hpp"
#include "control/conmon.hpp"
#include "control/control_ports.hpp"
#include "control/device_state.hpp"
#include "io/event_loop.hpp"
#include "io/io_thread.hpp"
#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "util/rate_limiter.hpp"
#include "util/logger.hpp"

namespace dante {

struct ControlServiceOptions {
    // Where the service (and its mDNS publisher) say what goes wrong: the host's log.
    Logger log;
    // Advertise over mDNS (dante.mdns picks the built-in responder or avahi-daemon). Off:
    // nothing is advertised (tests).
    bool mdns = true;
    double requests_per_second = 50.0;  // per source address, all three ports together
    double request_burst = 100.0;
    // The device's TX flows for ARC 0x2200, called on the loop thread per request.
    // Unset: no flows are listed.
    std::function<std::vector<control::TxFlowSummary>()> tx_flows;
    // ARC 0x2201 / 0x2202, called on the loop thread; each returns the ARC status to
    // answer (kStatusOk, kStatusTooManyFlows, kStatusError). Unset: refused (kStatusError).
    std::function<uint16_t(const control::MulticastFlowRequest&)> create_multicast_flow;
    std::function<uint16_t(uint16_t flow_number)> delete_tx_flow;
    // The media clock as conmon's clock status (0x0020) reports it, called on the loop
    // thread per request. Unset: no role, no leader.
    std::function<control::ClockStatus()> clock_status;
    // The receiving side, when there is one (dante.rx.channels). rx_subscriptions: every
    // subscription as it is now, called on the loop thread once the service started and
    // after each change a controller made. rx_status: the ARC 0x3000 status of one RX
    // channel (1-based), called on the loop thread per 0x3000 request and on the caller's
    // thread by properties(). Unset: a subscribed channel reports kRxStatusUnresolved.
    std::function<void(std::vector<RxSubscriptionConfig>)> rx_subscriptions;
    std::function<uint32_t(uint16_t rx_channel)> rx_status;
    // The loop serving the sockets and the built-in mDNS responder (it must outlive the
    // service); null: a thread of its own. The callbacks above run on it.
    io::EventLoop* loop = nullptr;
};

// Plain copies of the counters, for node properties.
struct ControlStats {
    uint64_t requests = 0;      // datagrams that passed the rate limiter
    uint64_t replies = 0;       // datagrams answered
    uint64_t rejected = 0;      // answered with an error status
    uint64_t malformed = 0;     // ignored: not a well-formed request
    uint64_t unsupported = 0;   // well-formed requests we do not implement (no answer)
    uint64_t rate_limited = 0;  // dropped: sender over its budget
    uint64_t renames = 0;       // requests applying device, TX or RX channel renames or latency changes
    uint64_t subscriptions = 0;  // requests applying RX subscription changes (ARC 0x3010, 0x3014)
    uint64_t heartbeats = 0;    // conmon multicasts sent
    uint64_t send_errors = 0;
    uint64_t save_errors = 0;
};

// dante.rx.subscriptions as published: the subscribed RX channels in the shape of the arg
// of that name, each with its status, e.g.
//   [ { rx = 2 tx-channel = "01" tx-device = "stage-box" status = unresolved } ]
std::string describe_rx_subscriptions(const std::vector<control::RxChannel>& channels);

class ControlService {
public:
    ControlService(DeviceConfig config, std::string state_file, ControlServiceOptions options = {});
    ~ControlService();
    ControlService(const ControlService&) = delete;
    ControlService& operator=(const ControlService&) = delete;

    // False with a one-sentence `error` if the interface or a port is unusable. A missing
    // avahi-daemon is not an error (dante.mdns.state says "unavailable").
    bool start(std::string& error);
    void stop();
    [[nodiscard]] bool running() const { return running_; }

    [[nodiscard]] const control::ControlPorts& ports() const { return ports_; }
    [[nodiscard]] std::string device_name() const;
    [[nodiscard]] ControlStats stats() const;
    // dante.control.*, dante.mdns.*, and dante.device-name when it differs from the config.
    [[nodiscard]] ConfigItems properties() const;

private:
    void begin();                  // loop thread: register, first conmon multicasts
    void end();                    // loop thread: unregister
    void on_socket(size_t index);  // 0 ARC, 1 CMC, 2 info
    void beat();                   // conmon's due multicasts, timer re-armed at the next heartbeat
    void handle_arc(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender);
    void handle_cmc(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender);
    void handle_info(std::span<const uint8_t> datagram, int64_t now_ns);
    void send_multicasts(const std::vector<control::Datagram>& datagrams);
    void send_reply(const UdpSocket& socket, const std::vector<uint8_t>& reply, const Ipv4Endpoint& to);
    void apply_renames(const control::ArcResult& result);
    void advertise();  // (re)publish build_service_records(state_) over mDNS
    void persist();
    void rx_changed();  // loop thread: hand the subscriptions over, copy them for properties()
    [[nodiscard]] uint32_t rx_status(uint16_t rx_channel, const control::RxSubscription& subscription) const;

    DeviceConfig config_;
    std::string state_file_;
    ControlServiceOptions options_;

    std::optional<InterfaceInfo> interface_;
    control::ControlPorts ports_;
    UdpSocket arc_socket_, cmc_socket_, info_socket_;
    RateLimiter limiter_;

    // Owned by the loop thread once started.
    control::DeviceState state_;
    control::CmcIdentity cmc_identity_;
    std::unique_ptr<control::ConmonPublisher> conmon_;
    std::unique_ptr<control::MdnsPublisher> mdns_;

    mutable std::mutex status_mutex_;  // guards the strings below (read by properties())
    std::string current_name_;
    std::string state_error_;
    std::vector<control::RxChannel> rx_channels_;  // state_'s, for dante.rx.subscriptions

    std::atomic<int64_t> latency_ns_{0};  // the advertised latency (ARC 0x1101 may change it)
    std::unique_ptr<io::IoThread> own_thread_;  // standalone only
    io::EventLoop* loop_ = nullptr;             // while running
    io::EventLoop::TimerId heartbeat_timer_ = 0;
    bool running_ = false;  // start()/stop() caller's
    control::InterfaceStatus interface_status_;
    std::atomic<uint64_t> requests_{0}, replies_{0}, rejected_{0}, malformed_{0}, unsupported_{0}, rate_limited_{0},
        renames_{0}, subscriptions_{0},
        heartbeats_{0}, send_errors_{0}, save_errors_{0};
};

}  // namespace dante
