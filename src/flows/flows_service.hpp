#pragma once
// The flows side of a Dante transmitter, ready to own from the Device: the flow-control
// server on its UDP port and the real-time transmitter, wired together.
//
// start() looks up the interface (DeviceConfig::interface), opens the flow-control socket
// on it (port 4455, or port_base + 2 when dante.port-base is set, as Inferno's alternate
// ports), and starts:
//   - control: the socket served on an io::EventLoop (the device's, "dante-io", shared
//     with the other network services; or, used on its own, a thread of its own,
//     "dante-flows-ctl"): rate-limits each sender, answers requests through
//     FlowControlServer, opens/closes each flow's socket (bound to the interface,
//     connected to the receiver), publishes a new FlowTable; a 100 ms timer removes flows
//     the transmitter reports silent and reclaims old tables;
//   - transmitter: FlowTransmitter (real-time if allowed), its own thread.
// stop() (and the destructor) unregisters from the loop, joins the transmitter and closes
// every socket. The rings, clock and loop must outlive the service.
//
// Multicast flows (ARC 0x2201/0x2202) are created and deleted from another thread, the
// control service's callbacks (the same loop in a device, another thread otherwise, and
// callers of flows() on any thread): the flow registry, the flow sockets and the table writer are guarded
// by one mutex that only these non-real-time callers take (the real-time transmitter never
// does: it reads the published table lock-free). The same mutex gives that thread a
// consistent list of the live flows for ARC 0x2200.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "clock/media_clock.hpp"
#include "config/device_config.hpp"
#include "flows/flow_control_server.hpp"
#include "flows/flow_table.hpp"
#include "flows/flow_transmitter.hpp"
#include "io/event_loop.hpp"
#include "io/io_thread.hpp"
#include "util/rate_limiter.hpp"
#include "net/interface.hpp"
#include "net/udp_socket.hpp"
#include "tx/tx_rings.hpp"

namespace dante {

struct FlowsServiceOptions {
    // Accept loopback receivers (tests on `lo`); refused by default.
    bool allow_loopback = false;
    // Override the flow-control port (0 = ephemeral, for tests); unset = from the config.
    std::optional<uint16_t> control_port;
    int rt_priority = 70;  // real-time priority of the transmitter; <= 0: do not ask
    RealtimeRequest make_realtime;  // how to ask (util/realtime.hpp); empty: SCHED_FIFO directly
    double requests_per_second = 20.0;  // per source
    double request_burst = 40.0;
    uint64_t cookie_seed = 0;  // 0: random
    TransmitterSettings transmitter;  // rate and max_flows are taken from the config
    // The loop serving the flow-control socket (it must outlive the service); null: a
    // thread of its own.
    io::EventLoop* loop = nullptr;
};

// Plain copies of the counters, for node properties.
struct FlowsStats {
    uint64_t active_flows = 0;
    uint64_t packets = 0;
    uint64_t underruns = 0;
    uint64_t send_errors = 0;
    uint64_t rebootstraps = 0;
    uint64_t expired = 0;
    uint64_t requests = 0;         // datagrams answered
    uint64_t rejected = 0;         // answered with an error status
    uint64_t malformed = 0;        // ignored: undecodable or from a stranger
    uint64_t rate_limited = 0;     // ignored: sender over its budget
    std::array<uint64_t, kLateBuckets> late{};
    bool realtime = false;
};

struct MulticastCreate {
    MulticastError error = MulticastError::none;
    bool unavailable = false;  // the interface cannot send multicast, or no socket
    std::string message;       // why, for the log
    FlowSpec spec;             // the new flow when it worked
    [[nodiscard]] bool ok() const { return error == MulticastError::none && !unavailable; }
};

// The flow-control port for a port base (0: Dante's 4455).
uint16_t flow_control_port(uint16_t port_base);

class FlowsService {
public:
    FlowsService(DeviceConfig config, const TxRings& rings, const MediaClock& clock, FlowsServiceOptions options = {});
    ~FlowsService();
    FlowsService(const FlowsService&) = delete;
    FlowsService& operator=(const FlowsService&) = delete;

    // False with a one-sentence `error` if the interface or port is unusable.
    bool start(std::string& error);
    void stop();
    [[nodiscard]] bool running() const { return running_; }

    [[nodiscard]] uint16_t control_port() const { return bound_port_; }
    [[nodiscard]] size_t active_flows() const { return table_.published_size(); }
    [[nodiscard]] FlowsStats stats() const;

    // Any thread (not the transmitter's). The live flows, ordered by slot.
    [[nodiscard]] std::vector<FlowSpec> flows() const;
    // A multicast flow of TX channels `channels` at `fpp` (0: default) in 1-based `slot`
    // (0: any free one), sent to our derived group on the configured interface.
    MulticastCreate create_multicast(uint32_t slot, std::span<const uint16_t> channels, uint32_t fpp);
    // Delete the multicast flow in 1-based `slot`; false if there is none.
    bool delete_multicast(uint32_t slot);
    // dante.flows, dante.tx.packets, ... formatted for the node's properties.
    [[nodiscard]] ConfigItems properties() const;

private:
    void on_control_socket();  // loop thread
    void housekeeping();       // loop thread: expired flows, old tables
    void handle_datagram(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender, int64_t now_ns);
    void publish();  // with mutex_ held

    DeviceConfig config_;
    const TxRings& rings_;
    const MediaClock& clock_;
    FlowsServiceOptions options_;

    std::optional<InterfaceInfo> interface_;
    UdpSocket control_socket_;
    uint16_t bound_port_ = 0;
    // Guards server_, flow_sockets_ and the writer side of table_ once started; taken by
    // the loop thread's flow-control callbacks and by callers of flows()/create_multicast()/delete_multicast().
    mutable std::mutex mutex_;
    std::unique_ptr<FlowControlServer> server_;
    bool accepting_ = false;  // multicast requests are taken between start() and stop()
    std::vector<std::shared_ptr<const UdpSocket>> flow_sockets_;  // by handle.index
    RateLimiter limiter_;
    FlowTablePublisher table_;
    std::unique_ptr<FlowTransmitter> transmitter_;

    std::unique_ptr<io::IoThread> own_thread_;  // standalone only
    io::EventLoop* loop_ = nullptr;             // while running
    io::EventLoop::TimerId housekeeping_timer_ = 0;
    bool running_ = false;  // start()/stop() caller's
    std::atomic<uint64_t> requests_{0}, rejected_{0}, malformed_{0}, rate_limited_{0};
};

}  // namespace dante
