#include "device/device.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "clock/deferred_clock.hpp"
#include "clock/posix_clock_source.hpp"
#include "clock/tai_clock.hpp"
#include "clock/usrvclock_clock.hpp"
#include "device/rx_bridge.hpp"
#include "device/tx_flows_bridge.hpp"
#include "ptp/ptp_service.hpp"
#include "ptp/shared_ptp_clock.hpp"

namespace dante {
namespace {

// The clock for dante.clock.source. With ptp: the pipewire-dante-ptp service of the
// interface when one runs (it shares one clock between every process on the host, and it is
// how an unprivileged PipeWire gets PTP at all); else the engine in this process, which
// needs the privilege to bind ports 319/320; else, so that the user's audio is never taken
// down, the service's clock page before the service exists: the sink loads unsynchronized,
// says why in dante.clock.problem, and locks by itself once the service starts.
std::unique_ptr<MediaClock> make_clock(const DeviceConfig& config, io::EventLoop* loop, std::string& error) {
    const ClockSourceConfig& source = config.clock_source;
    switch (source.kind) {
        case ClockSourceKind::tai:
            return std::make_unique<TaiClock>(make_system_tai_reference());
        case ClockSourceKind::ptp: {
            if (config.interface.empty()) {
                error = "dante.clock.source = ptp needs dante.interface: the PTP engine only runs on a named interface";
                return nullptr;
            }
            const std::string page_dir = ptp::clock_page_dir();
            const ptp::SharedPtpClock::Expectation expected{config.ptp_version, config.ptp_domain};
            if (ptp::SharedPtpClock::service_running(config.interface, page_dir))
                return std::make_unique<ptp::SharedPtpClock>(config.interface, page_dir, std::string{}, expected);
            ptp::PtpServiceOptions options;
            options.interface = config.interface;
            options.version = ptp::ptp_version_from_config(config.ptp_version);
            options.domain = config.ptp_domain;
            options.servo = config.ptp_servo_pi ? ptp::ServoKind::pi : ptp::ServoKind::linreg;
            auto service = std::make_unique<ptp::PtpService>(options, loop);
            std::string why;
            if (service->start(why)) return service;
            return std::make_unique<ptp::SharedPtpClock>(config.interface, page_dir, why, expected);
        }
        case ClockSourceKind::phc: {
            // A PHC this process may not open yet (a user and /dev/ptp0) leaves the sink
            // loaded and unsynchronized, retrying, rather than refusing it.
            const std::string path = source.path;
            const std::string name = source.describe();
            return std::make_unique<DeferredClock>(name, [path, name](std::string& why) -> std::unique_ptr<MediaClock> {
                auto phc = open_phc_reference(path, why);
                if (!phc) return nullptr;
                return std::make_unique<TrackedClock>(std::move(phc), name);
            });
        }
        case ClockSourceKind::usrvclock:
            // The server may start after us: the clock registers (and re-registers) on its own.
            return std::make_unique<UsrvclockClock>(source.path);
    }
    error = "dante.clock.source: unknown kind";  // unreachable: the config parser knows every kind
    return nullptr;
}

std::string format_rate(double rate) {
    char text[32];
    std::snprintf(text, sizeof text, "%.12f", rate);
    return text;
}

}  // namespace

std::unique_ptr<Device> Device::create(DeviceConfig config, std::string& error, DeviceHost host) {
    // Nothing on the network without an interface (and PTP needs one): no loop either.
    auto io = config.interface.empty() ? nullptr : std::make_unique<io::IoThread>("dante-io");
    auto clock = make_clock(config, io ? &io->loop() : nullptr, error);
    if (!clock) return nullptr;
    std::unique_ptr<Device> device(new Device(std::move(config), std::move(io), std::move(clock)));
    if (!device->config_.ring_tap_path.empty()) {
        try {
            device->tap_ = std::make_unique<RingTap>(device->rings_, device->config_.ring_tap_path);
        } catch (const std::exception& e) {
            error = e.what();
            return nullptr;
        }
    }
    device->log_ = host.log;
    if (!device->config_.interface.empty()) {
        // Watched from before the services bind: the state they start with is the one
        // dante.net.problem compares later changes against.
        Device* self = device.get();
        device->link_ = std::make_unique<LinkWatcher>(
            device->io_->loop(), device->config_.interface,
            [self](const InterfaceState& before, const InterfaceState& now) {
                self->network_.changed(now);
                // Losing the link or the address is a warning (audio stops reaching the
                // network); getting it back is news.
                const bool worse = !now.carrier || now.address() != before.address();
                self->log_.write(worse ? LogLevel::warn : LogLevel::info, "net",
                                 describe_change(self->config_.interface, before, now));
            });
        if (!device->link_->start(error)) return nullptr;

        // Receivers can subscribe from load to unload; while the graph is idle the
        // transmitter sends silence, so they never see the device vanish.
        FlowsServiceOptions flow_options;
        const RealtimeRequest rx_realtime = host.make_realtime;  // the receive thread asks too
        flow_options.make_realtime = std::move(host.make_realtime);
        flow_options.loop = &device->io_->loop();
        device->flows_ =
            std::make_unique<FlowsService>(device->config_, device->rings_, *device->clock_, std::move(flow_options));
        // ARC lists the live flows (0x2200) and creates/deletes multicast ones (0x2201/0x2202).
        ControlServiceOptions control_options;
        control_options.loop = &device->io_->loop();
        control_options.log = host.log;
        wire_tx_flows(control_options, *device->flows_, device->config_.rate);
        if (device->config_.rx_channels > 0) {
            // The receiving side runs on a real-time thread of its own ("dante-rx"), asked
            // for as the transmitter's is: its audio then waits on nothing the control
            // plane or PTP do on "dante-io", and the receive latency can stay small.
            device->rx_io_ = std::make_unique<io::IoThread>("dante-rx");
            device->rx_io_->loop().invoke_sync([&] {
                if (rx_realtime) rx_realtime(kRxPriority);
                else request_sched_fifo(kRxPriority);
                device->rx_thread_ = current_thread_id();
            });
            device->resolver_ = std::make_unique<rx::AvahiTxResolver>(rx::AvahiTxResolverOptions{.log = host.log});
            RxServiceOptions rx_options;
            rx_options.device_name = device->config_.device_name;
            rx_options.rx_channels = device->config_.rx_channels;
            rx_options.rate = device->config_.rate;
            rx_options.format = device->config_.format;
            rx_options.latency_ns = device->config_.rx_latency_ns;
            rx_options.log = host.log;
            device->rx_ = std::make_unique<RxService>(InterfaceInfo{}, *device->clock_, *device->resolver_,
                                                      device->rx_io_->loop(), std::move(rx_options));
            wire_rx(control_options, *device->rx_);
        }
        // conmon clock status (0x0020): the media clock's state, leader and last offset.
        control_options.clock_status = [clock = device->clock_.get()] {
            const ClockSnapshot snap = clock->snapshot();
            control::ClockStatus status;
            if (snap.state == ClockState::master) status.role = control::ClockRole::leader;
            else if (snap.state == ClockState::locked || snap.state == ClockState::holdover)
                status.role = control::ClockRole::follower;
            status.leader_id = control::device_id_from_hex(clock->master_id());
            status.offset_ns = snap.offset_ns;
            return status;
        };
        device->control_ = std::make_unique<ControlService>(device->config_, device->config_.state_file,
                                                            std::move(control_options));
        // The state is read on the loop, where the watcher writes it, and handed to
        // network_ there: a change that comes while the services start is then seen as a
        // change. An interface without an address yet (a boot-time drop-in before the
        // network is up, or one that does not exist yet) leaves the device loaded and
        // waiting: follow_network() starts the services once it has one.
        InterfaceState at_load;
        device->io_->loop().invoke_sync([&] {
            at_load = device->link_->state();
            device->network_.start(at_load);
        });
        if (at_load.address() != 0) {
            if (!device->start_services(error)) return nullptr;
        } else {
            device->log_.write(LogLevel::warn, "net",
                               device->config_.interface + ": no IPv4 address yet (" + describe_link(at_load) +
                                   "): the control plane and flows start once it has one");
        }
    }
    return device;
}

bool Device::start_services(std::string& error) {
    if (!flows_->start(error)) return false;
    // Multicast flows are the device's configuration (a controller made them), not a
    // receiver's session: they come back on the new address, with its derived groups,
    // before the control plane starts and advertises them. Unicast flows ended with the
    // old address; their receivers ask again.
    for (const FlowSpec& spec : carried_multicast_) {
        const MulticastCreate made = flows_->create_multicast(spec.handle.index + 1, spec.slots.span(), spec.fpp);
        if (!made.ok())
            log_.write(LogLevel::warn, "flows", "multicast flow " + std::to_string(spec.handle.index + 1) +
                                                    " not re-created on the new address: " + made.message);
    }
    carried_multicast_.clear();
    if (rx_) {
        // Before the control plane: it hands the subscriptions over as it starts.
        const std::optional<InterfaceInfo> iface = lookup_interface(config_.interface, error);
        if (!iface) return false;
        rx_->set_interface(*iface);
        if (!rx_->start(error)) return false;
    }
    return control_->start(error);
}

// Reverse order: nothing on ARC asks the flows for anything while they stop.
void Device::stop_services() {
    control_->stop();
    if (rx_) rx_->stop();  // its transmitters see each flow end (0x0101)
    for (const FlowSpec& spec : flows_->flows())
        if (spec.multicast) carried_multicast_.push_back(spec);
    flows_->stop();
}

void Device::follow_network() {
    if (!link_) return;
    const std::optional<InterfaceState> target = network_.pending_move();
    if (!target) return;
    const std::string& name = config_.interface;
    stop_services();
    std::string error;
    if (target->address() != 0) {
        const bool ok = (ptp_ == nullptr || ptp_->rebind(error)) && start_services(error);
        if (!ok) {
            stop_services();  // half started is not started: the next call retries from stopped
            if (error.empty()) error = "unknown error";
        }
    }
    if (!network_.moved(*target, error)) return;  // the same failure as a second ago
    if (!error.empty())
        log_.write(LogLevel::warn, "net", name + ": cannot move the device to " + describe_address(*target) + ": " + error);
    else if (target->address() != 0)
        log_.write(LogLevel::info, "net", name + ": the device now answers and sends on " + describe_address(*target));
    else
        log_.write(LogLevel::warn, "net", name + ": no IPv4 address: the control plane and flows stopped until one comes");
}

Device::Device(DeviceConfig config, std::unique_ptr<io::IoThread> io, std::unique_ptr<MediaClock> clock)
    : config_(std::move(config)),
      io_(std::move(io)),
      clock_(std::move(clock)),
      ptp_(dynamic_cast<ptp::PtpService*>(clock_.get())),
      rings_(config_.channels, kRingFrames),
      network_(config_.interface) {}

ConfigItems Device::properties() const {
    const ClockSnapshot snap = clock_->snapshot();
    ConfigItems props{
        {"dante.device-name", config_.device_name},
        {"dante.rate", std::to_string(config_.rate)},
        {"dante.format", std::string(to_string(config_.format))},
        {"dante.interface", config_.interface},
        {"dante.clock.source", clock_->source_name()},
        {"dante.clock.state", std::string(to_string(snap.state))},
        {"dante.clock.media-ns", std::to_string(snap.media_ns)},
        {"dante.clock.monotonic-ns", std::to_string(snap.monotonic_ns)},
        {"dante.clock.rate", format_rate(snap.rate)},
        {"dante.clock.generation", std::to_string(snap.generation)},
        {"dante.clock.offset-ns", std::to_string(snap.offset_ns)},
        {"dante.clock.master-id", clock_->master_id()},
        {"dante.clock.provider", clock_->provider()},
        {"dante.clock.problem", clock_->problem()},
        {"dante.tx.lead-ns", std::to_string(stats_.lead_ns.load(std::memory_order_relaxed))},
        {"dante.tx.latency-ns", std::to_string(config_.latency_ns)},
        {"dante.tx.discontinuities", std::to_string(stats_.discontinuities.load(std::memory_order_relaxed))},
        {"dante.tx.extra-buffers", std::to_string(stats_.extra_buffers.load(std::memory_order_relaxed))},
        {"dante.tx.starts", std::to_string(stats_.starts.load(std::memory_order_relaxed))},
        {"dante.tx.rate-mismatch", std::to_string(stats_.rate_mismatch.load(std::memory_order_relaxed))},
        {"dante.tx.rate-mismatch-cycles", std::to_string(stats_.rate_mismatch_cycles.load(std::memory_order_relaxed))},
    };
    const ConfigItems clock_props = clock_->properties();
    props.insert(props.end(), clock_props.begin(), clock_props.end());
    if (flows_) {
        const ConfigItems flow_props = flows_->properties();
        props.insert(props.end(), flow_props.begin(), flow_props.end());
    } else {
        props.emplace_back("dante.flows", "0");  // no interface named: nothing on the network
    }
    if (rx_) {
        props.emplace_back("dante.rx.latency-ns", std::to_string(config_.rx_latency_ns));
        props.emplace_back("dante.rx.realtime", thread_is_realtime(rx_thread_) ? "true" : "false");
        const ConfigItems rx_props = rx_->properties();
        props.insert(props.end(), rx_props.begin(), rx_props.end());
    }
    if (link_) {
        const ConfigItems net_props = network_.properties();
        props.insert(props.end(), net_props.begin(), net_props.end());
    }
    if (control_) {
        for (auto& entry : control_->properties()) {
            // (not a structured binding: clang < 16 cannot capture one in the lambda)
            auto& [key, value] = entry;
            const std::string& name = entry.first;
            auto same = std::find_if(props.begin(), props.end(), [&](const auto& item) { return item.first == name; });
            if (same != props.end())
                same->second = std::move(value);  // dante.device-name after a rename over the network
            else
                props.emplace_back(std::move(key), std::move(value));
        }
    }
    return props;
}

}  // namespace dante
