#include "ptp/ptp_node.hpp"

namespace dante::ptp {

PtpNode::PtpNode(const PortConfig& config, PtpMediaClock& clock) : clock_(clock), port_(config, clock) {
    clock_.set_sample_interval(static_cast<double>(port_.sync_interval_ns()) * 1e-9);
}

ActionList PtpNode::start(int64_t now) { return apply(port_.start(now), now); }

ActionList PtpNode::on_message(std::span<const uint8_t> datagram, Channel channel, int64_t rx_mono_ns) {
    return apply(port_.on_message(datagram, channel, rx_mono_ns), rx_mono_ns);
}

ActionList PtpNode::on_timer(PortTimer timer, int64_t now) { return apply(port_.on_timer(timer, now), now); }

ActionList PtpNode::on_tx_timestamp(uint32_t tag, int64_t tx_mono_ns) {
    return apply(port_.on_tx_timestamp(tag, tx_mono_ns), tx_mono_ns);
}

ActionList PtpNode::on_fault(int64_t now) { return apply(port_.on_fault(now), now); }

ActionList PtpNode::apply(const ActionList& from_port, int64_t now) {
    ActionList out;
    for (const Action& action : from_port) {
        out.push(action);
        if (const auto* sample = std::get_if<ClockSample>(&action)) {
            const ServoState servo = clock_.on_offset(sample->offset_ns, sample->sample_mono_ns, now);
            // The port moves between uncalibrated and slave on the servo's say-so.
            out.append(apply(port_.on_clock_locked(servo == ServoState::locked, now), now));
        } else if (const auto* selected = std::get_if<MasterSelected>(&action)) {
            clock_.follow(selected->grandmaster, now);
        } else if (const auto* changed = std::get_if<StateChanged>(&action)) {
            const bool was_following = changed->from == PortState::slave || changed->from == PortState::uncalibrated;
            if (changed->to == PortState::master) {
                clock_.become_master(port_.config().identity.clock, now);
            } else if (was_following && changed->to != PortState::slave && changed->to != PortState::uncalibrated) {
                clock_.leader_lost(now);
            } else if (changed->from == PortState::master && changed->to != PortState::slave &&
                       changed->to != PortState::uncalibrated) {
                clock_.stop_leading(now);  // (to a leader: MasterSelected re-points the clock)
            }
        }
    }
    return out;
}

}  // namespace dante::ptp
