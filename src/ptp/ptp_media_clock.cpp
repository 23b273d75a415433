#include "ptp/ptp_media_clock.hpp"

namespace dante::ptp {

PtpMediaClock::PtpMediaClock(std::unique_ptr<Servo> servo, int64_t start_mono_ns) : servo_(std::move(servo)) {
    current_.media_ns = start_mono_ns;
    current_.monotonic_ns = start_mono_ns;
    current_.rate = 1.0;
    current_.state = ClockState::unsynchronized;
    publish();
}

std::string PtpMediaClock::master_id() const {
    const Leader leader = leader_.load();
    return leader.known ? to_string(leader.identity) : std::string{};
}

void PtpMediaClock::reanchor(int64_t now_mono_ns, double new_rate) {
    // Continuous at `now`: the new rate applies from here on, the past stays as it was.
    current_.media_ns = current_.media_ns_at(now_mono_ns);
    current_.monotonic_ns = now_mono_ns;
    current_.rate = new_rate;
}

void PtpMediaClock::enter(ClockState state) {
    if (current_.state == state) return;
    current_.state = state;
    // Re-lock, becoming master: clients re-anchor. Going to holdover is not a discontinuity.
    if (state == ClockState::locked || state == ClockState::master) ++current_.generation;
}

void PtpMediaClock::follow(const ClockIdentity& grandmaster, int64_t now_mono_ns) {
    servo_->reset();
    servo_state_ = ServoState::unlocked;
    leader_.store({grandmaster, true});
    // Until we lock onto the new leader, run on: at the last rate if we had a timescale.
    reanchor(now_mono_ns, current_.rate);
    if (current_.state == ClockState::locked || current_.state == ClockState::master) enter(ClockState::holdover);
    publish();
}

ServoState PtpMediaClock::on_offset(int64_t offset_ns, int64_t sample_mono_ns, int64_t now_mono_ns) {
    const ServoOutput out = servo_->sample(offset_ns, sample_mono_ns);
    servo_state_ = out.state;
    reanchor(now_mono_ns, out.rate);
    current_.offset_ns = offset_ns;
    if (out.step_ns) {
        current_.media_ns -= *out.step_ns;
        current_.offset_ns = 0;
        ++current_.generation;
    }
    if (out.state == ServoState::locked) enter(ClockState::locked);
    publish();
    return out.state;
}

void PtpMediaClock::leader_lost(int64_t now_mono_ns) {
    // Hold the servo's frequency estimate, not the last applied rate: that one carries the
    // last sample's proportional correction, with software timestamps several ppm of
    // noise that holdover would integrate into a drift for as long as it lasts.
    const double held_rate = servo_state_ == ServoState::locked ? servo_->rate() : current_.rate;
    servo_->reset();
    servo_state_ = ServoState::unlocked;
    reanchor(now_mono_ns, held_rate);
    if (current_.state == ClockState::locked) enter(ClockState::holdover);
    publish();
}

void PtpMediaClock::become_master(const ClockIdentity& ourselves, int64_t now_mono_ns) {
    servo_->reset();
    servo_state_ = ServoState::unlocked;
    leader_.store({ourselves, true});
    reanchor(now_mono_ns, current_.rate);
    current_.offset_ns = 0;
    enter(ClockState::master);
    publish();
}

void PtpMediaClock::stop_leading(int64_t now_mono_ns) {
    if (current_.state != ClockState::master) return;
    reanchor(now_mono_ns, current_.rate);
    enter(ClockState::holdover);  // same line: no new generation
    publish();
}

}  // namespace dante::ptp
