#pragma once
// The Dante transmitter device: one per sink node, alive as long as the node.
//
// It owns the media clock, the TX rings, the flows (flow-control server and transmitter),
// the receiving side (RX flows into rings, when dante.rx.channels is set) and the control
// plane (ARC, CMC, conmon, mDNS), and stops them in reverse order: control, receiving,
// flows, rings, clock, then the event loop they all ran on
// (docs/architecture.md#ownership-and-lifetimes). One io::IoThread ("dante-io") serves
// every non-real-time socket and timer of the device: PTP (when the engine runs here),
// flow control, ARC/CMC/conmon, the built-in mDNS responder and the interface watcher
// (rtnetlink: link and address changes, published as dante.net.*). The receiving side has
// a real-time one of its own ("dante-rx"), as the transmitter has.
// The SPA node drives the graph from it and publishes its properties; nothing here knows
// about PipeWire.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "clock/media_clock.hpp"
#include "config/device_config.hpp"
#include "control/control_service.hpp"
#include "device/network_status.hpp"
#include "flows/flows_service.hpp"
#include "io/io_thread.hpp"
#include "net/link_watcher.hpp"
#include "ptp/ptp_service.hpp"
#include "rx/avahi_tx_resolver.hpp"
#include "rx/rx_service.hpp"
#include "tx/ring_tap.hpp"
#include "tx/tx_rings.hpp"
#include "util/logger.hpp"
#include "util/realtime.hpp"

namespace dante {

// Written by the graph's data thread (relaxed atomics), read by the main loop to publish.
struct DriverStats {
    std::atomic<uint64_t> cycles{0};
    std::atomic<uint64_t> discontinuities{0};
    std::atomic<int64_t> lead_ns{0};
    std::atomic<int64_t> last_wake_late_ns{0};
    std::atomic<uint64_t> extra_buffers{0};  // buffers beyond one per driver cycle, dropped
    std::atomic<bool> driving{false};
    std::atomic<uint64_t> starts{0};  // times the graph started the node (PipeWire pauses it for some changes)
    // While driving: the graph's rate when it is not the Dante rate (clock.force-rate), 0
    // otherwise; and the cycles whose audio was refused for it.
    std::atomic<uint32_t> rate_mismatch{0};
    std::atomic<uint64_t> rate_mismatch_cycles{0};
};

// What the host process lends the device. Inside PipeWire: its thread utilities, so the
// transmitter gets real-time priority the way PipeWire's own threads do (rtkit on a desktop).
struct DeviceHost {
    RealtimeRequest make_realtime;  // empty: SCHED_FIFO directly
    Logger log;                     // inside PipeWire: the plugin's spa_log; empty: stderr
};

class Device {
public:
    // Ring capacity in frames: over a second at 48 kHz, far beyond lead + latency.
    static constexpr uint32_t kRingFrames = 1u << 16;

    // Returns nullptr and sets `error` if the configuration cannot run on this build or
    // this machine (an unavailable clock source, an uncreatable tap file).
    static std::unique_ptr<Device> create(DeviceConfig config, std::string& error, DeviceHost host = {});

    [[nodiscard]] const DeviceConfig& config() const { return config_; }
    [[nodiscard]] const MediaClock& clock() const { return *clock_; }
    [[nodiscard]] TxRings& rings() { return rings_; }
    [[nodiscard]] RingTap* tap() { return tap_.get(); }
    [[nodiscard]] DriverStats& stats() { return stats_; }
    // The receiving side, null unless dante.rx.channels > 0 and an interface is named.
    [[nodiscard]] RxService* receiver() { return rx_.get(); }

    // Main loop, about once a second: re-measure the clock correlation.
    void update_clock() { clock_->update(); }

    // Main loop, about once a second: when the interface's address is no longer the one the
    // services are bound to, move them: the control plane and the flows are stopped
    // (receivers see their flows end, mDNS says goodbye) and started again on the new
    // address (records re-published, sockets rebound), the in-process PTP engine rebinds
    // its sockets and keeps its lock. No address: they stay stopped until one comes, as at
    // a load before the network is up. A failed start is retried on the next call.
    void follow_network();

    // The dante.* node properties of the timing contract, formatted for publication.
    [[nodiscard]] ConfigItems properties() const;

private:
    Device(DeviceConfig config, std::unique_ptr<io::IoThread> io, std::unique_ptr<MediaClock> clock);
    bool start_services(std::string& error);
    void stop_services();  // keeps the multicast flows in carried_multicast_ for the next start

    DeviceConfig config_;
    std::unique_ptr<io::IoThread> io_;   // first member: destroyed (stopped) after every service on it
    std::unique_ptr<MediaClock> clock_;  // ptp: the PtpService, or a service's SharedPtpClock
    ptp::PtpService* ptp_ = nullptr;     // clock_, when it is the in-process PTP engine
    TxRings rings_;
    std::unique_ptr<RingTap> tap_;
    std::unique_ptr<FlowsService> flows_;  // stopped before the rings and clock it reads
    // The receiving side (dante.rx.channels > 0): subscriptions from the control plane,
    // transmitters found through avahi-daemon, served on its own real-time thread. The
    // thread and the resolver outlive the service.
    static constexpr int kRxPriority = 70;  // as the transmitter's (FlowsServiceOptions::rt_priority)
    std::unique_ptr<io::IoThread> rx_io_;
    pid_t rx_thread_ = 0;
    std::unique_ptr<rx::AvahiTxResolver> resolver_;
    std::unique_ptr<RxService> rx_;
    std::unique_ptr<ControlService> control_;  // ARC/CMC/conmon/mDNS; stopped before the flows
    DriverStats stats_;
    Logger log_;
    NetworkStatus network_;
    std::vector<FlowSpec> carried_multicast_;  // main thread: multicast flows across a move
    // Last member: stopped first, so its callback never outlives what it writes to.
    std::unique_ptr<LinkWatcher> link_;
};

}  // namespace dante
