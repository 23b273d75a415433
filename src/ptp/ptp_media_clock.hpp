#pragma once
// The media clock of the built-in PTP engine: an overlay media_ns = f(CLOCK_MONOTONIC)
// steered by a servo from the port's offset measurements. It never touches a system
// clock: the Dante timescale is arbitrary (often the leader's uptime), so it only lives
// here, published through a seqlock for the graph and transmitter threads.
//
// States (dante.clock.state):
//   unsynchronized  nothing to follow yet (the overlay runs at rate 1 from monotonic, so
//                   the port can still convert timestamps)
//   locked          following a leader; the servo has locked
//   holdover        the leader went away, or we switched to a new one and have not locked
//                   yet: keep running at the last rate
//   master          we lead: our timescale is the network's
// The generation increments at every discontinuity: a step, a (re)lock, becoming master.
//
// Threads: every input (on_offset, follow, leader_lost, become_master) and ptp_ns_at()
// come from the one PTP thread; snapshot() and master_id() from anywhere.

#include <memory>
#include <string>

#include "clock/media_clock.hpp"
#include "clock/seqlock.hpp"
#include "ptp/ptp_types.hpp"
#include "ptp/servo.hpp"
#include "ptp/timescale.hpp"

namespace dante::ptp {

class PtpMediaClock final : public MediaClock, public Timescale {
public:
    explicit PtpMediaClock(std::unique_ptr<Servo> servo, int64_t start_mono_ns = 0);

    // MediaClock (any thread).
    [[nodiscard]] ClockSnapshot snapshot() const override { return published_.load(); }
    void update() override {}  // the PTP thread publishes as it measures
    [[nodiscard]] std::string source_name() const override { return "ptp"; }
    [[nodiscard]] std::string master_id() const override;

    // Timescale (PTP thread).
    [[nodiscard]] int64_t ptp_ns_at(int64_t mono_ns) const override { return current_.media_ns_at(mono_ns); }
    [[nodiscard]] double rate() const override { return current_.rate; }

    // Inputs (PTP thread). now_mono_ns is the current monotonic time.

    // A new leader was selected: measurements start over (the frequency estimate stays).
    void follow(const ClockIdentity& grandmaster, int64_t now_mono_ns);
    // One measurement: our overlay minus the leader's time at sample_mono_ns.
    ServoState on_offset(int64_t offset_ns, int64_t sample_mono_ns, int64_t now_mono_ns);
    // The leader went silent: keep the last rate.
    void leader_lost(int64_t now_mono_ns);
    // We lead: continue our overlay as the network's timescale (a fresh one, = monotonic,
    // if we never had one).
    void become_master(const ClockIdentity& ourselves, int64_t now_mono_ns);
    // We no longer lead (a fault, or passive) and follow nobody: run on at our rate, as in
    // holdover, so the published state says nobody is feeding this timescale now.
    void stop_leading(int64_t now_mono_ns);
    // Move the published anchor to now, on the same line (no discontinuity): readers get a
    // recent (media, monotonic) pair even while nothing is measured (master, holdover).
    void refresh(int64_t now_mono_ns) {
        reanchor(now_mono_ns, current_.rate);
        publish();
    }
    // Sample interval, for the servo's gains.
    void set_sample_interval(double seconds) { servo_->set_interval(seconds); }

    [[nodiscard]] ClockState state() const { return current_.state; }
    [[nodiscard]] ServoState servo_state() const { return servo_state_; }

private:
    struct Leader {
        ClockIdentity identity{};
        bool known = false;
    };
    void reanchor(int64_t now_mono_ns, double new_rate);
    void enter(ClockState state);
    void publish() { published_.store(current_); }

    std::unique_ptr<Servo> servo_;
    ServoState servo_state_ = ServoState::unlocked;
    ClockSnapshot current_{};
    SeqLock<ClockSnapshot> published_;
    SeqLock<Leader> leader_;
};

}  // namespace dante::ptp
