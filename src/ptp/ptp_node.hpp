#pragma once
// One PTP port wired to the media clock it drives: the sans-I/O unit the engine thread
// (the shell: sockets, timers, timestamps) runs. Every input returns the port's actions;
// the clock-facing ones (ClockSample, MasterSelected, state changes) are already applied
// to the media clock here and stay in the list only for logging. The shell carries out
// SendMessage and ArmTimer.

#include <span>

#include "ptp/port.hpp"
#include "ptp/ptp_media_clock.hpp"

namespace dante::ptp {

class PtpNode {
public:
    PtpNode(const PortConfig& config, PtpMediaClock& clock);

    ActionList start(int64_t now_mono_ns);
    ActionList on_message(std::span<const uint8_t> datagram, Channel channel, int64_t rx_mono_ns);
    ActionList on_timer(PortTimer timer, int64_t now_mono_ns);
    ActionList on_tx_timestamp(uint32_t tag, int64_t tx_mono_ns);
    ActionList on_fault(int64_t now_mono_ns);

    [[nodiscard]] const PtpPort& port() const { return port_; }
    [[nodiscard]] PtpMediaClock& clock() { return clock_; }

private:
    ActionList apply(const ActionList& from_port, int64_t now_mono_ns);

    PtpMediaClock& clock_;
    PtpPort port_;
};

}  // namespace dante::ptp
