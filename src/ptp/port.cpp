#include "ptp/port.hpp"

#include "clock/media_time.hpp"
#include "ptp/version_sniff.hpp"

namespace dante::ptp {
namespace {

using i128 = dante::i128;

// Bound on any offset or path delay we accept (2^61 ns, ~73 years): far beyond anything
// real, and small enough that sums and differences of two such values fit an int64.
constexpr int64_t kSaneLimitNs = int64_t{1} << 61;
constexpr bool within_sane_range(i128 v) { return v > -kSaneLimitNs && v < kSaneLimitNs; }

// A received timestamp as nanoseconds, if below 2^62 (year 2116 on a TAI timescale), so
// our overlay, which will follow it, keeps a century of int64 headroom.
std::optional<int64_t> leader_time_ns(const WireTimestamp& ts) {
    const std::optional<int64_t> ns = to_ns(ts);
    if (!ns || *ns >= (int64_t{1} << 62)) return std::nullopt;
    return ns;
}

// Transmit-timestamp tags: what was sent in the high half, its sequence id in the low.
constexpr uint32_t kSyncTag = 1u << 16;
constexpr uint32_t kDelayReqTag = 2u << 16;

// v1 identities are 6-byte UUIDs; inside the engine they become zero-padded clock
// identities, so our own identity must be seen the same way or we would not recognise
// our own looped-back messages.
PortIdentity effective_identity(const PortConfig& config) {
    if (config.version != PtpVersion::v1) return config.identity;
    return {identity_from_uuid(uuid_from_identity(config.identity.clock)), config.identity.port};
}

}  // namespace

std::string_view to_string(PortState state) {
    switch (state) {
        case PortState::initializing: return "initializing";
        case PortState::faulty: return "faulty";
        case PortState::listening: return "listening";
        case PortState::passive: return "passive";
        case PortState::uncalibrated: return "uncalibrated";
        case PortState::slave: return "slave";
        case PortState::master: return "master";
    }
    return "unknown";
}

std::string_view to_string(PortTimer timer) {
    switch (timer) {
        case PortTimer::announce_receipt: return "announce-receipt";
        case PortTimer::sync: return "sync";
        case PortTimer::announce: return "announce";
        case PortTimer::delay_req: return "delay-req";
        case PortTimer::fault_clear: return "fault-clear";
    }
    return "unknown";
}

PtpPort::PtpPort(const PortConfig& config, const Timescale& timescale)
    : config_(config), timescale_(timescale), foreign_(1) {
    config_.identity = effective_identity(config);
    wire_ = make_wire_format(config_);
    foreign_.set_message_interval(bmc_interval_ns());
}

int64_t PtpPort::bmc_interval_ns() const { return log_interval_to_ns(wire_->log_bmc_interval()); }

int64_t PtpPort::receipt_timeout_ns() const {
    return static_cast<int64_t>(config_.announce_receipt_timeout < 2 ? 2 : config_.announce_receipt_timeout) *
           bmc_interval_ns();
}

std::optional<PortIdentity> PtpPort::parent() const {
    const Follower* f = follower();
    if (f == nullptr) return std::nullopt;
    return f->parent.sender;
}

std::optional<int64_t> PtpPort::mean_path_delay_ns() const {
    const Follower* f = follower();
    if (f == nullptr) return std::nullopt;
    return f->delay.value();
}

ComparisonDataset PtpPort::own_dataset() const { return wire_->own_dataset(); }

// ---------------------------------------------------------------------------- inputs

ActionList PtpPort::start(int64_t now_mono_ns) {
    ActionList out;
    if (state() == PortState::initializing) enter(role::Listening{}, now_mono_ns, out);
    return out;
}

ActionList PtpPort::on_message(std::span<const uint8_t> datagram, Channel channel, int64_t rx_mono_ns) {
    ActionList out;
    ++counters_.received;
    if (state() == PortState::initializing || state() == PortState::faulty) return out;
    if (sniff_version(datagram) != config_.version) {
        ++counters_.rejected;
        return out;
    }
    if (config_.version == PtpVersion::v1) {
        const auto parsed = v1::parse(datagram, config_.subdomain);
        if (!parsed || v1::channel_of(parsed->header.control) != channel) {
            ++counters_.rejected;
            if (!parsed && parsed.error() == ParseError::wrong_domain) ++counters_.wrong_domain;
            return out;
        }
        handle_v1(*parsed, rx_mono_ns, out);
    } else {
        const auto parsed = v2::parse(datagram, config_.domain);
        if (!parsed || v2::channel_of(parsed->header.type) != channel) {
            ++counters_.rejected;
            if (!parsed && parsed.error() == ParseError::wrong_domain) ++counters_.wrong_domain;
            return out;
        }
        handle_v2(*parsed, rx_mono_ns, out);
    }
    return out;
}

ActionList PtpPort::on_timer(PortTimer timer, int64_t now) {
    ActionList out;
    auto& deadline = deadlines_[static_cast<size_t>(timer)];
    if (!deadline || now < *deadline) return out;  // cancelled, re-armed later, or early
    const int64_t due = *deadline;
    deadline.reset();

    switch (timer) {
        case PortTimer::announce_receipt:
            // The parent has been silent for the whole timeout: it is gone, whatever the
            // foreign-master window still remembers of it.
            if (const Follower* f = follower()) foreign_.forget(f->parent.sender);
            decide(now, true, out);
            if (state() != PortState::master && state() != PortState::faulty &&
                !deadlines_[static_cast<size_t>(PortTimer::announce_receipt)]) {
                arm(PortTimer::announce_receipt, now + receipt_timeout_ns(), out);
            }
            break;
        case PortTimer::sync:
            if (state() != PortState::master) break;
            send_sync(now, out);
            rearm_periodic(timer, sync_interval_ns(), due, now, out);
            break;
        case PortTimer::announce:
            if (state() != PortState::master || !wire_->has_announce()) break;
            send_announce(now, out);
            rearm_periodic(timer, log_interval_to_ns(config_.log_announce_interval), due, now, out);
            break;
        case PortTimer::delay_req:
            if (!following()) break;
            send_delay_req(now, out);
            rearm_periodic(timer, log_interval_to_ns(config_.log_min_delay_req_interval), due, now, out);
            break;
        case PortTimer::fault_clear:
            if (state() == PortState::faulty) enter(role::Listening{}, now, out);
            break;
    }
    return out;
}

ActionList PtpPort::on_tx_timestamp(uint32_t tag, int64_t tx_mono_ns) {
    ActionList out;
    const auto sequence = static_cast<uint16_t>(tag & 0xFFFF);
    if ((tag & ~0xFFFFu) == kSyncTag) {
        Leader* l = leader();
        if (l != nullptr && l->awaiting_sync_tx == sequence) {
            l->awaiting_sync_tx.reset();
            send_follow_up(sequence, tx_mono_ns, out);
        }
    } else if ((tag & ~0xFFFFu) == kDelayReqTag) {
        Follower* f = follower();
        if (f != nullptr && f->pending_delay_req && f->pending_delay_req->sequence == sequence) {
            f->pending_delay_req->t3_mono = tx_mono_ns;
        }
    }
    return out;
}

ActionList PtpPort::on_clock_locked(bool locked, int64_t now) {
    ActionList out;
    // The follower's data carries over: the same parent, only calibrated or not.
    if (const Follower* f = follower(); f != nullptr && f->calibrated != locked) {
        Follower next = *f;
        next.calibrated = locked;
        enter(std::move(next), now, out);
    }
    return out;
}

ActionList PtpPort::on_fault(int64_t now) {
    ActionList out;
    enter(role::Faulty{}, now, out);
    foreign_.clear();
    return out;
}

// ---------------------------------------------------------------------------- per version

void PtpPort::handle_v2(const v2::Message& m, int64_t rx_mono_ns, ActionList& out) {
    const PortIdentity& source = m.header.source;
    if (source == config_.identity) {
        ++counters_.from_ourselves;
        return;
    }
    const int64_t correction = v2::correction_ns(m.header);
    switch (m.header.type) {
        case v2::MessageType::announce: {
            const auto& a = std::get<v2::AnnounceBody>(m.body);
            // 255 steps: the standard's "too far away"; our own identity: a loop.
            if (a.steps_removed >= 255 || a.grandmaster == config_.identity.clock) return;
            if (follower_of(source) != nullptr) arm(PortTimer::announce_receipt, rx_mono_ns + receipt_timeout_ns(), out);
            record_foreign(dataset_from_announce(m, config_.identity), rx_mono_ns, out);
            break;
        }
        case v2::MessageType::sync: {
            const auto origin = leader_time_ns(std::get<v2::TimestampBody>(m.body).timestamp);
            if (!origin) return;
            const bool two_step = (m.header.flags & v2::flag::two_step) != 0;
            on_sync({source, m.header.sequence_id, two_step, *origin + correction, correction}, rx_mono_ns,
                    rx_mono_ns, out);
            break;
        }
        case v2::MessageType::follow_up: {
            const auto origin = leader_time_ns(std::get<v2::TimestampBody>(m.body).timestamp);
            if (origin) on_follow_up(source, m.header.sequence_id, *origin + correction, rx_mono_ns, out);
            break;
        }
        case v2::MessageType::delay_req:
            if (state() == PortState::master) answer_delay_req(source, m.header.sequence_id, rx_mono_ns, out);
            break;
        case v2::MessageType::delay_resp: {
            const auto& d = std::get<v2::DelayRespBody>(m.body);
            const auto receipt = leader_time_ns(d.receive_timestamp);
            if (receipt) on_delay_resp(source, d.requesting, m.header.sequence_id, *receipt - correction);
            break;
        }
    }
}

void PtpPort::handle_v1(const v1::Message& m, int64_t rx_mono_ns, ActionList& out) {
    const PortIdentity source{identity_from_uuid(m.header.source_uuid), m.header.source_port_id};
    if (source == config_.identity) {
        ++counters_.from_ourselves;
        return;
    }
    switch (m.header.control) {
        case v1::Control::sync: {
            const auto& body = std::get<v1::SyncBody>(m.body);
            const ComparisonDataset dataset = dataset_from_v1_sync(m.header, body, config_.identity);
            if (dataset.steps_removed >= 255 || dataset.grandmaster == config_.identity.clock) return;
            if (follower_of(source) != nullptr) arm(PortTimer::announce_receipt, rx_mono_ns + receipt_timeout_ns(), out);
            record_foreign(dataset, rx_mono_ns, out);  // may select this sender as our parent
            Follower* f = follower_of(source);
            if (f == nullptr) return;
            f->parent_v1_sync = body;
            const auto origin = leader_time_ns(body.origin);
            if (!origin) return;
            on_sync({source, m.header.sequence_id, (m.header.flags & v1::flag::assist) != 0, *origin, 0},
                    rx_mono_ns, rx_mono_ns, out);
            break;
        }
        case v1::Control::follow_up: {
            const auto& f = std::get<v1::FollowUpBody>(m.body);
            const auto origin = leader_time_ns(f.precise_origin);
            if (origin) on_follow_up(source, f.associated_sequence_id, *origin, rx_mono_ns, out);
            break;
        }
        case v1::Control::delay_req:
            if (state() == PortState::master) answer_delay_req(source, m.header.sequence_id, rx_mono_ns, out);
            break;
        case v1::Control::delay_resp: {
            const auto& d = std::get<v1::DelayRespBody>(m.body);
            const auto receipt = leader_time_ns(d.delay_receipt);
            const PortIdentity requester{identity_from_uuid(d.requesting_uuid), d.requesting_port_id};
            if (receipt) on_delay_resp(source, requester, d.requesting_sequence_id, *receipt);
            break;
        }
    }
}

// ---------------------------------------------------------------------------- best master

void PtpPort::record_foreign(const ComparisonDataset& dataset, int64_t now, ActionList& out) {
    foreign_.record(dataset, now);
    if (Follower* f = follower_of(dataset.sender)) f->parent = dataset;
    decide(now, false, out);
}

// IEEE 1588-2008 §9.3.3 state decision for an ordinary clock with one port (Erbest is
// then Ebest), plus the receipt-timeout handling described in port.hpp.
void PtpPort::decide(int64_t now, bool receipt_timeout, ActionList& out) {
    if (state() == PortState::initializing || state() == PortState::faulty) return;
    const std::optional<ComparisonDataset> best = foreign_.best(now);
    if (!best) {
        if (!receipt_timeout) return;
        if (following() || state() == PortState::passive) {
            enter(role::Listening{}, now, out);  // the media clock holds over
        } else if (state() == PortState::listening && !config_.slave_only) {
            enter(Leader{}, now, out);
        }
        return;
    }
    if (!config_.slave_only) {
        const ComparisonDataset ours = own_dataset();
        if (better(ours, *best)) {  // M1 / M2
            enter(Leader{}, now, out);
            return;
        }
        // P1: a primary (class <= 127) clock that lost does not follow. v2 only: the v1
        // mapping puts the 1588-2002 stratum (4 for an ordinary clock) in clockClass, where
        // it orders masters correctly but does not mean "primary".
        if (wire_->class_marks_primary() && ours.quality.clock_class <= 127) {
            enter(role::Passive{}, now, out);
            return;
        }
    }
    follow(*best, now, out);  // S1
}

void PtpPort::follow(const ComparisonDataset& best, int64_t now, ActionList& out) {
    if (Follower* f = follower_of(best.sender)) {
        f->parent = best;
        return;
    }
    // A new parent: measurements start over, in a fresh Follower.
    out.push(MasterSelected{best.sender, best.grandmaster});
    if (state() == PortState::uncalibrated) {
        role_ = Follower{best};
        arm(PortTimer::announce_receipt, now + receipt_timeout_ns(), out);
    } else {
        enter(Follower{best}, now, out);
    }
}

// ---------------------------------------------------------------------------- follower

void PtpPort::on_sync(const SyncEvent& sync, int64_t rx_mono_ns, int64_t now, ActionList& out) {
    Follower* f = follower_of(sync.source);
    if (f == nullptr) return;
    if (sync.two_step) {
        f->pending_sync = Follower::PendingSync{sync.sequence, rx_mono_ns, sync.correction_ns};
    } else {
        f->pending_sync.reset();
        complete_sync(*f, sync.origin_ns, rx_mono_ns, now, out);
    }
}

void PtpPort::on_follow_up(const PortIdentity& source, uint16_t sequence, int64_t origin_ns, int64_t now,
                           ActionList& out) {
    Follower* f = follower_of(source);
    if (f == nullptr || !f->pending_sync || f->pending_sync->sequence != sequence) return;
    const Follower::PendingSync sync = *f->pending_sync;
    f->pending_sync.reset();
    complete_sync(*f, origin_ns + sync.correction_ns, sync.t2_mono, now, out);
}

void PtpPort::complete_sync(Follower& f, int64_t t1_ns, int64_t t2_mono, int64_t now, ActionList& out) {
    // A leader may send any timestamp; one more than ~73 years from ours is garbage, and
    // refusing it keeps every later difference far from int64 overflow.
    if (!within_sane_range(static_cast<i128>(timescale_.ptp_ns_at(t2_mono)) - t1_ns)) return;
    const bool first = !f.last_sync;
    f.last_sync = Follower::SyncPair{t1_ns, t2_mono};
    // The first (t1, t2) lets us measure the path: ask at once instead of after an interval.
    if (first) arm(PortTimer::delay_req, now, out);
    const std::optional<int64_t> delay = f.delay.value();
    if (!delay) return;  // offsets without a path delay would be off by the whole path
    const i128 offset = static_cast<i128>(timescale_.ptp_ns_at(t2_mono)) - t1_ns - *delay;
    if (!within_sane_range(offset)) return;
    ++counters_.offsets;
    out.push(ClockSample{static_cast<int64_t>(offset), *delay, t2_mono});
}

void PtpPort::on_delay_resp(const PortIdentity& source, const PortIdentity& requester, uint16_t sequence,
                            int64_t receipt_ns) {
    Follower* f = follower_of(source);
    if (f == nullptr || requester != config_.identity) return;
    if (!f->pending_delay_req || f->pending_delay_req->sequence != sequence || !f->pending_delay_req->t3_mono) return;
    if (!f->last_sync) return;
    // Both local instants are read through the timescale now, so they share one overlay.
    const int64_t t2 = timescale_.ptp_ns_at(f->last_sync->t2_mono);
    const int64_t t3 = timescale_.ptp_ns_at(*f->pending_delay_req->t3_mono);
    const i128 delay = ((static_cast<i128>(t2) - f->last_sync->t1_ns) + (static_cast<i128>(receipt_ns) - t3)) / 2;
    f->pending_delay_req.reset();
    if (!within_sane_range(delay)) return;
    f->delay.push(static_cast<int64_t>(delay));
    ++counters_.delays;
}

void PtpPort::send_delay_req(int64_t now, ActionList& out) {
    Follower* f = follower();
    if (f == nullptr || !f->last_sync) return;
    const uint16_t sequence = delay_req_sequence_++;
    f->pending_delay_req = Follower::PendingDelayReq{sequence, std::nullopt};
    const WireTimestamp origin = from_ns(timescale_.ptp_ns_at(now));
    send(wire_->delay_req(sequence, origin, ParentLink{f->parent, f->parent_v1_sync}), kDelayReqTag | sequence, out);
}

// ---------------------------------------------------------------------------- leader

void PtpPort::send_sync(int64_t now, ActionList& out) {
    Leader* l = leader();
    if (l == nullptr) return;
    const uint16_t sequence = sync_sequence_++;
    l->awaiting_sync_tx = sequence;
    // Two-step: this origin is approximate; the Follow_Up carries the transmit timestamp.
    send(wire_->sync(sequence, from_ns(timescale_.ptp_ns_at(now))), kSyncTag | sequence, out);
}

void PtpPort::send_follow_up(uint16_t sequence, int64_t tx_mono_ns, ActionList& out) {
    send(wire_->follow_up(sequence, from_ns(timescale_.ptp_ns_at(tx_mono_ns))), std::nullopt, out);
}

void PtpPort::send_announce(int64_t now, ActionList& out) {
    send(wire_->announce(announce_sequence_++, from_ns(timescale_.ptp_ns_at(now))), std::nullopt, out);
}

void PtpPort::answer_delay_req(const PortIdentity& requester, uint16_t sequence, int64_t rx_mono_ns,
                               ActionList& out) {
    send(wire_->delay_resp(sequence, from_ns(timescale_.ptp_ns_at(rx_mono_ns)), requester), std::nullopt, out);
}

// ---------------------------------------------------------------------------- plumbing

// Replaces the role (and so drops every piece of the old role's data), reports the change
// and sets the timers the new state runs on.
void PtpPort::enter(role::PortRole next, int64_t now, ActionList& out) {
    const PortState previous = state();
    const PortState to = role::state_of(next);
    if (to == previous) return;
    role_ = std::move(next);
    out.push(StateChanged{previous, to});

    switch (to) {
        case PortState::initializing: break;
        case PortState::listening:
        case PortState::passive:
            cancel(PortTimer::sync, out);
            cancel(PortTimer::announce, out);
            cancel(PortTimer::delay_req, out);
            cancel(PortTimer::fault_clear, out);
            arm(PortTimer::announce_receipt, now + receipt_timeout_ns(), out);
            break;
        case PortState::uncalibrated:
        case PortState::slave:
            cancel(PortTimer::sync, out);
            cancel(PortTimer::announce, out);
            cancel(PortTimer::fault_clear, out);
            if (!deadlines_[static_cast<size_t>(PortTimer::announce_receipt)] || previous == PortState::master) {
                arm(PortTimer::announce_receipt, now + receipt_timeout_ns(), out);
            }
            break;
        case PortState::master:
            cancel(PortTimer::announce_receipt, out);
            cancel(PortTimer::delay_req, out);
            cancel(PortTimer::fault_clear, out);
            arm(PortTimer::sync, now, out);
            if (wire_->has_announce()) arm(PortTimer::announce, now, out);
            break;
        case PortState::faulty:
            cancel(PortTimer::announce_receipt, out);
            cancel(PortTimer::sync, out);
            cancel(PortTimer::announce, out);
            cancel(PortTimer::delay_req, out);
            arm(PortTimer::fault_clear, now + config_.fault_clear_ns, out);
            break;
    }
}

void PtpPort::arm(PortTimer timer, int64_t deadline, ActionList& out) {
    deadlines_[static_cast<size_t>(timer)] = deadline;
    out.push(ArmTimer{timer, deadline});
}

void PtpPort::cancel(PortTimer timer, ActionList& out) {
    auto& deadline = deadlines_[static_cast<size_t>(timer)];
    if (!deadline) return;
    deadline.reset();
    out.push(ArmTimer{timer, std::nullopt});
}

// Periodic timers keep their phase (due + interval) unless the shell was late by more
// than an interval, in which case we skip ahead instead of bursting to catch up.
void PtpPort::rearm_periodic(PortTimer timer, int64_t interval, int64_t due, int64_t now, ActionList& out) {
    int64_t next = due + interval;
    if (next <= now) next = now + interval;
    arm(timer, next, out);
}

void PtpPort::send(SendMessage message, std::optional<uint32_t> tag, ActionList& out) {
    message.timestamp_tag = tag;
    if (message.size > 0) out.push(message);
}

}  // namespace dante::ptp
