#pragma once
// One PTP port (an ordinary clock on one network), version 1 or 2, as a sans-I/O state
// machine: listening / master / slave / uncalibrated / passive / faulty.
//
// Follower: the best qualified foreign master (from Announce in v2, from Sync in v1) is
// followed; each Sync (+ Follow_Up when two-step) gives (t1, t2), each Delay_Req /
// Delay_Resp gives (t3, t4); offset = t2 - t1 - delay, delay = ((t2-t1) + (t4-t3)) / 2
// (end-to-end). Offsets go out as ClockSample actions; the clock's lock state comes back
// through on_clock_locked() and moves uncalibrated -> slave.
// Leader: when no better master is qualified, we lead: Sync + Follow_Up (two-step) every
// sync interval, Announce (v2) every announce interval, Delay_Resp to every Delay_Req.
//
// Times: every input carries monotonic nanoseconds (receive and transmit timestamps
// included). PTP times are read through the Timescale (the media clock) at the moment of
// computing, so a step of the overlay between Sync and Follow_Up cannot skew a result.
//
// Deviation from IEEE 1588's letter, on purpose: when the parent's announce-receipt
// timer expires we go to LISTENING (the media clock holds over) and become master only
// if a second timeout passes with nobody better; a flapping leader does not make every
// follower take over at once, and the media timeline continues through holdover.
//
// Structure: what the port sends is encoded by its WireFormat (wire_format.hpp, one per
// version, chosen at construction); its state is a role::PortRole (port_roles.hpp), a
// variant whose alternative carries that role's data, so a transition drops the old
// role's data by construction.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "ptp/dataset.hpp"
#include "ptp/foreign_masters.hpp"
#include "ptp/parse_result.hpp"
#include "ptp/port_actions.hpp"
#include "ptp/port_config.hpp"
#include "ptp/port_roles.hpp"
#include "ptp/ptp_types.hpp"
#include "ptp/timescale.hpp"
#include "ptp/v1_messages.hpp"
#include "ptp/v2_messages.hpp"
#include "ptp/wire_format.hpp"

namespace dante::ptp {

struct PortCounters {
    uint64_t received = 0;
    uint64_t rejected = 0;  // failed to parse (any reason), other version or other domain
    uint64_t wrong_domain = 0;
    uint64_t from_ourselves = 0;
    uint64_t offsets = 0;
    uint64_t delays = 0;
};

class PtpPort {
public:
    PtpPort(const PortConfig& config, const Timescale& timescale);

    // Leave INITIALIZING for LISTENING.
    ActionList start(int64_t now_mono_ns);
    // A datagram from the event or general socket, with its receive timestamp.
    ActionList on_message(std::span<const uint8_t> datagram, Channel channel, int64_t rx_mono_ns);
    ActionList on_timer(PortTimer timer, int64_t now_mono_ns);
    ActionList on_tx_timestamp(uint32_t tag, int64_t tx_mono_ns);
    // Whether the media clock's servo has locked onto the parent.
    ActionList on_clock_locked(bool locked, int64_t now_mono_ns);
    // The shell lost its socket or interface: FAULTY until fault_clear_ns passes.
    ActionList on_fault(int64_t now_mono_ns);

    [[nodiscard]] PortState state() const { return role::state_of(role_); }
    [[nodiscard]] const PortConfig& config() const { return config_; }
    [[nodiscard]] std::optional<PortIdentity> parent() const;
    [[nodiscard]] std::optional<int64_t> mean_path_delay_ns() const;
    [[nodiscard]] const PortCounters& counters() const { return counters_; }
    // Entries in the foreign-master table (bounded by its capacity), for diagnostics and the fuzz target.
    [[nodiscard]] size_t foreign_master_count() const { return foreign_.size(); }
    [[nodiscard]] ComparisonDataset own_dataset() const;
    [[nodiscard]] int64_t sync_interval_ns() const { return log_interval_to_ns(config_.log_sync_interval); }

private:
    using Follower = role::Follower;
    using Leader = role::Leader;

    // Times decoded from either version, handed to the shared follower/leader logic.
    struct SyncEvent {
        PortIdentity source;
        uint16_t sequence;
        bool two_step;
        int64_t origin_ns;  // with correction; ignored when two-step
        int64_t correction_ns;
    };

    void handle_v1(const v1::Message& m, int64_t rx_mono_ns, ActionList& out);
    void handle_v2(const v2::Message& m, int64_t rx_mono_ns, ActionList& out);

    // Best master.
    void record_foreign(const ComparisonDataset& dataset, int64_t now, ActionList& out);
    void decide(int64_t now, bool receipt_timeout, ActionList& out);
    void follow(const ComparisonDataset& best, int64_t now, ActionList& out);

    // Follower.
    void on_sync(const SyncEvent& sync, int64_t rx_mono_ns, int64_t now, ActionList& out);
    void on_follow_up(const PortIdentity& source, uint16_t sequence, int64_t origin_ns, int64_t now, ActionList& out);
    void on_delay_resp(const PortIdentity& source, const PortIdentity& requester, uint16_t sequence,
                       int64_t receipt_ns);
    void complete_sync(Follower& f, int64_t t1_ns, int64_t t2_mono, int64_t now, ActionList& out);
    void send_delay_req(int64_t now, ActionList& out);

    // Leader.
    void send_sync(int64_t now, ActionList& out);
    void send_follow_up(uint16_t sequence, int64_t tx_mono_ns, ActionList& out);
    void send_announce(int64_t now, ActionList& out);
    void answer_delay_req(const PortIdentity& requester, uint16_t sequence, int64_t rx_mono_ns, ActionList& out);

    // Plumbing.
    void enter(role::PortRole next, int64_t now, ActionList& out);
    void arm(PortTimer timer, int64_t deadline, ActionList& out);
    void cancel(PortTimer timer, ActionList& out);
    void rearm_periodic(PortTimer timer, int64_t interval, int64_t due, int64_t now, ActionList& out);
    static void send(SendMessage message, std::optional<uint32_t> tag, ActionList& out);
    [[nodiscard]] Follower* follower() { return std::get_if<Follower>(&role_); }
    [[nodiscard]] const Follower* follower() const { return std::get_if<Follower>(&role_); }
    [[nodiscard]] Leader* leader() { return std::get_if<Leader>(&role_); }
    // The follower's data if `source` is the parent we follow.
    [[nodiscard]] Follower* follower_of(const PortIdentity& source) {
        Follower* f = follower();
        return f != nullptr && f->parent.sender == source ? f : nullptr;
    }
    [[nodiscard]] bool following() const { return follower() != nullptr; }
    [[nodiscard]] int64_t bmc_interval_ns() const;
    [[nodiscard]] int64_t receipt_timeout_ns() const;

    PortConfig config_;
    const Timescale& timescale_;
    std::unique_ptr<const WireFormat> wire_;
    role::PortRole role_;
    ForeignMasterTable foreign_;
    std::array<std::optional<int64_t>, kPortTimerCount> deadlines_{};
    PortCounters counters_{};

    // Sequence numbers of what we send: per port, not per role (a port that leads again
    // continues where it left off).
    uint16_t sync_sequence_ = 0;
    uint16_t announce_sequence_ = 0;
    uint16_t delay_req_sequence_ = 0;
};

}  // namespace dante::ptp
