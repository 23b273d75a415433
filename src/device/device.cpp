#include "device/device.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "clock/posix_clock_source.hpp"
#include "clock/tai_clock.hpp"
#include "clock/usrvclock_clock.hpp"
#include "device/tx_flows_bridge.hpp"
#include "ptp/ptp_service.hpp"

namespace dante {
namespace {

// The clock, and the PTP service when the clock is one (for dante.ptp.*).
std::unique_ptr<MediaClock> make_clock(const DeviceConfig& config, ptp::PtpService*& ptp_service, std::string& error) {
    const ClockSourceConfig& source = config.clock_source;
    switch (source.kind) {
        case ClockSourceKind::tai:
            return std::make_unique<TaiClock>(make_system_tai_reference());
        case ClockSourceKind::ptp: {
            if (config.interface.empty()) {
                error = "dante.clock.source = ptp needs dante.interface: the PTP engine only runs on a named interface";
                return nullptr;
            }
            ptp::PtpServiceOptions options;
            options.interface = config.interface;
            options.version = ptp::ptp_version_from_config(config.ptp_version);
            options.domain = config.ptp_domain;
            options.servo = config.ptp_servo_pi ? ptp::ServoKind::pi : ptp::ServoKind::linreg;
            auto service = std::make_unique<ptp::PtpService>(options);
            std::string why;
            if (!service->start(why)) {
                error = "dante.clock.source = ptp: " + why;
                return nullptr;
            }
            ptp_service = service.get();
            return service;
        }
        case ClockSourceKind::phc: {
            auto phc = open_phc_reference(source.path, error);
            if (!phc) {
                error = "dante.clock.source = \"" + source.describe() + "\": " + error;
                return nullptr;
            }
            return std::make_unique<TrackedClock>(std::move(phc), source.describe());
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

std::unique_ptr<Device> Device::create(DeviceConfig config, std::string& error) {
    ptp::PtpService* ptp_service = nullptr;
    auto clock = make_clock(config, ptp_service, error);
    if (!clock) return nullptr;
    std::unique_ptr<Device> device(new Device(std::move(config), std::move(clock)));
    device->ptp_ = ptp_service;
    if (!device->config_.ring_tap_path.empty()) {
        try {
            device->tap_ = std::make_unique<RingTap>(device->rings_, device->config_.ring_tap_path);
        } catch (const std::exception& e) {
            error = e.what();
            return nullptr;
        }
    }
    if (!device->config_.interface.empty()) {
        // Receivers can subscribe from load to unload; while the graph is idle the
        // transmitter sends silence, so they never see the device vanish.
        device->flows_ = std::make_unique<FlowsService>(device->config_, device->rings_, *device->clock_);
        if (!device->flows_->start(error)) return nullptr;
        // ARC lists the live flows (0x2200) and creates/deletes multicast ones (0x2201/0x2202).
        ControlServiceOptions control_options;
        wire_tx_flows(control_options, *device->flows_, device->config_.rate);
        device->control_ = std::make_unique<ControlService>(device->config_, device->config_.state_file,
                                                            std::move(control_options));
        if (!device->control_->start(error)) return nullptr;
    }
    return device;
}

Device::Device(DeviceConfig config, std::unique_ptr<MediaClock> clock)
    : config_(std::move(config)), clock_(std::move(clock)), rings_(config_.channels, kRingFrames) {}

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
        {"dante.tx.lead-ns", std::to_string(stats_.lead_ns.load(std::memory_order_relaxed))},
        {"dante.tx.latency-ns", std::to_string(config_.latency_ns)},
        {"dante.tx.discontinuities", std::to_string(stats_.discontinuities.load(std::memory_order_relaxed))},
        {"dante.tx.extra-buffers", std::to_string(stats_.extra_buffers.load(std::memory_order_relaxed))},
        {"dante.tx.rate-mismatch", std::to_string(stats_.rate_mismatch.load(std::memory_order_relaxed))},
        {"dante.tx.rate-mismatch-cycles", std::to_string(stats_.rate_mismatch_cycles.load(std::memory_order_relaxed))},
    };
    if (ptp_ != nullptr) {
        const ConfigItems ptp_props = ptp_->properties();
        props.insert(props.end(), ptp_props.begin(), ptp_props.end());
    }
    if (flows_) {
        const ConfigItems flow_props = flows_->properties();
        props.insert(props.end(), flow_props.begin(), flow_props.end());
    } else {
        props.emplace_back("dante.flows", "0");  // no interface named: nothing on the network
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
