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
    foreign_.set_message_interval(bmc_interval_ns());
}

int64_t PtpPort::bmc_interval_ns() const {
    return log_interval_to_ns(config_.version == PtpVersion::v1 ? config_.log_sync_interval
                                                                : config_.log_announce_interval);
}

int64_t PtpPort::receipt_timeout_ns() const {
    return static_cast<int64_t>(config_.announce_receipt_timeout < 2 ? 2 : config_.announce_receipt_timeout) *
           bmc_interval_ns();
}

std::optional<PortIdentity> PtpPort::parent() const {
    if (!parent_) return std::nullopt;
    return parent_->sender;
}

ComparisonDataset PtpPort::own_dataset() const {
    ComparisonDataset d;
    if (config_.version == PtpVersion::v1) {
        d.priority1 = config_.v1_preferred ? kV1PreferredPriority1 : kV1DefaultPriority1;
        d.quality = {config_.v1_stratum, 0xFE, v2_variance_from_v1(config_.v1_variance)};
        d.priority2 = 128;
    } else {
        d.priority1 = config_.priority1;
        d.quality = config_.quality;
        d.priority2 = config_.priority2;
    }
    d.grandmaster = config_.identity.clock;
    d.steps_removed = 0;
    d.sender = config_.identity;
    d.receiver = config_.identity;
    return d;
}

// ---------------------------------------------------------------------------- inputs

ActionList PtpPort::start(int64_t now_mono_ns) {
    ActionList out;
    if (state_ == PortState::initializing) enter(PortState::listening, now_mono_ns, out);
    return out;
}

ActionList PtpPort::on_message(std::span<const uint8_t> datagram, Channel channel, int64_t rx_mono_ns) {
    ActionList out;
    ++counters_.received;
    if (state_ == PortState::initializing || state_ == PortState::faulty) return out;
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
            if (following() && parent_) foreign_.forget(parent_->sender);
            decide(now, true, out);
            if (state_ != PortState::master && state_ != PortState::faulty &&
                !deadlines_[static_cast<size_t>(PortTimer::announce_receipt)]) {
                arm(PortTimer::announce_receipt, now + receipt_timeout_ns(), out);
            }
            break;
        case PortTimer::sync:
            if (state_ != PortState::master) break;
            send_sync(now, out);
            rearm_periodic(timer, sync_interval_ns(), due, now, out);
            break;
        case PortTimer::announce:
            if (state_ != PortState::master || config_.version != PtpVersion::v2) break;
            send_announce(now, out);
            rearm_periodic(timer, log_interval_to_ns(config_.log_announce_interval), due, now, out);
            break;
        case PortTimer::delay_req:
            if (!following()) break;
            send_delay_req(now, out);
            rearm_periodic(timer, log_interval_to_ns(config_.log_min_delay_req_interval), due, now, out);
            break;
        case PortTimer::fault_clear:
            if (state_ == PortState::faulty) enter(PortState::listening, now, out);
            break;
    }
    return out;
}

ActionList PtpPort::on_tx_timestamp(uint32_t tag, int64_t tx_mono_ns) {
    ActionList out;
    const auto sequence = static_cast<uint16_t>(tag & 0xFFFF);
    if ((tag & ~0xFFFFu) == kSyncTag) {
        if (state_ == PortState::master && awaiting_sync_tx_ == sequence) {
            awaiting_sync_tx_.reset();
            send_follow_up(sequence, tx_mono_ns, out);
        }
    } else if ((tag & ~0xFFFFu) == kDelayReqTag) {
        if (following() && pending_delay_req_ && pending_delay_req_->sequence == sequence) {
            pending_delay_req_->t3_mono = tx_mono_ns;
        }
    }
    return out;
}

ActionList PtpPort::on_clock_locked(bool locked, int64_t now) {
    ActionList out;
    if (locked && state_ == PortState::uncalibrated) enter(PortState::slave, now, out);
    if (!locked && state_ == PortState::slave) enter(PortState::uncalibrated, now, out);
    return out;
}

ActionList PtpPort::on_fault(int64_t now) {
    ActionList out;
    enter(PortState::faulty, now, out);
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
            if (following() && parent_ && parent_->sender == source) {
                arm(PortTimer::announce_receipt, rx_mono_ns + receipt_timeout_ns(), out);
            }
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
            if (state_ == PortState::master) answer_delay_req(source, m.header.sequence_id, rx_mono_ns, out);
            break;
        case v2::MessageType::delay_resp: {
            const auto& d = std::get<v2::DelayRespBody>(m.body);
            const auto receipt = leader_time_ns(d.receive_timestamp);
            if (receipt) on_delay_resp(source, d.requesting, m.header.sequence_id, *receipt - correction, out);
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
            if (following() && parent_ && parent_->sender == source) {
                arm(PortTimer::announce_receipt, rx_mono_ns + receipt_timeout_ns(), out);
            }
            record_foreign(dataset, rx_mono_ns, out);  // may select this sender as our parent
            if (!following() || !parent_ || parent_->sender != source) return;
            parent_v1_sync_ = body;
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
            if (state_ == PortState::master) answer_delay_req(source, m.header.sequence_id, rx_mono_ns, out);
            break;
        case v1::Control::delay_resp: {
            const auto& d = std::get<v1::DelayRespBody>(m.body);
            const auto receipt = leader_time_ns(d.delay_receipt);
            const PortIdentity requester{identity_from_uuid(d.requesting_uuid), d.requesting_port_id};
            if (receipt) on_delay_resp(source, requester, d.requesting_sequence_id, *receipt, out);
            break;
        }
    }
}

// ---------------------------------------------------------------------------- best master

void PtpPort::record_foreign(const ComparisonDataset& dataset, int64_t now, ActionList& out) {
    foreign_.record(dataset, now);
    if (parent_ && parent_->sender == dataset.sender) parent_ = dataset;
    decide(now, false, out);
}

// IEEE 1588-2008 §9.3.3 state decision for an ordinary clock with one port (Erbest is
// then Ebest), plus the receipt-timeout handling described in port.hpp.
void PtpPort::decide(int64_t now, bool receipt_timeout, ActionList& out) {
    if (state_ == PortState::initializing || state_ == PortState::faulty) return;
    const std::optional<ComparisonDataset> best = foreign_.best(now);
    if (!best) {
        if (!receipt_timeout) return;
        if (following() || state_ == PortState::passive) {
            enter(PortState::listening, now, out);  // the media clock holds over
        } else if (state_ == PortState::listening && !config_.slave_only) {
            enter(PortState::master, now, out);
        }
        return;
    }
    if (!config_.slave_only) {
        const ComparisonDataset ours = own_dataset();
        if (better(ours, *best)) {  // M1 / M2
            enter(PortState::master, now, out);
            return;
        }
        // P1: a primary (class <= 127) clock that lost does not follow. v2 only: the v1
        // mapping puts the 1588-2002 stratum (4 for an ordinary clock) in clockClass, where
        // it orders masters correctly but does not mean "primary".
        if (config_.version == PtpVersion::v2 && ours.quality.clock_class <= 127) {
            enter(PortState::passive, now, out);
            return;
        }
    }
    follow(*best, now, out);  // S1
}

void PtpPort::follow(const ComparisonDataset& best, int64_t now, ActionList& out) {
    const bool new_parent = !parent_ || parent_->sender != best.sender || !following();
    parent_ = best;
    if (!new_parent) return;
    reset_measurements();
    out.push(MasterSelected{best.sender, best.grandmaster});
    if (state_ == PortState::uncalibrated) {
        arm(PortTimer::announce_receipt, now + receipt_timeout_ns(), out);
    } else {
        enter(PortState::uncalibrated, now, out);
    }
}

// ---------------------------------------------------------------------------- follower

void PtpPort::on_sync(const SyncEvent& sync, int64_t rx_mono_ns, int64_t now, ActionList& out) {
    if (!following() || !parent_ || sync.source != parent_->sender) return;
    if (sync.two_step) {
        pending_sync_ = PendingSync{sync.sequence, rx_mono_ns, sync.correction_ns};
    } else {
        pending_sync_.reset();
        complete_sync(sync.origin_ns, rx_mono_ns, now, out);
    }
}

void PtpPort::on_follow_up(const PortIdentity& source, uint16_t sequence, int64_t origin_ns, int64_t now,
                           ActionList& out) {
    if (!following() || !parent_ || source != parent_->sender) return;
    if (!pending_sync_ || pending_sync_->sequence != sequence) return;
    const PendingSync sync = *pending_sync_;
    pending_sync_.reset();
    complete_sync(origin_ns + sync.correction_ns, sync.t2_mono, now, out);
}

void PtpPort::complete_sync(int64_t t1_ns, int64_t t2_mono, int64_t now, ActionList& out) {
    // A leader may send any timestamp; one more than ~73 years from ours is garbage, and
    // refusing it keeps every later difference far from int64 overflow.
    if (!within_sane_range(static_cast<i128>(timescale_.ptp_ns_at(t2_mono)) - t1_ns)) return;
    const bool first = !last_sync_;
    last_sync_ = SyncPair{t1_ns, t2_mono};
    // The first (t1, t2) lets us measure the path: ask at once instead of after an interval.
    if (first) arm(PortTimer::delay_req, now, out);
    const std::optional<int64_t> delay = delay_.value();
    if (!delay) return;  // offsets without a path delay would be off by the whole path
    const i128 offset = static_cast<i128>(timescale_.ptp_ns_at(t2_mono)) - t1_ns - *delay;
    if (!within_sane_range(offset)) return;
    ++counters_.offsets;
    out.push(ClockSample{static_cast<int64_t>(offset), *delay, t2_mono});
}

void PtpPort::on_delay_resp(const PortIdentity& source, const PortIdentity& requester, uint16_t sequence,
                            int64_t receipt_ns, ActionList& /*out*/) {
    if (!following() || !parent_ || source != parent_->sender || requester != config_.identity) return;
    if (!pending_delay_req_ || pending_delay_req_->sequence != sequence || !pending_delay_req_->t3_mono) return;
    if (!last_sync_) return;
    // Both local instants are read through the timescale now, so they share one overlay.
    const int64_t t2 = timescale_.ptp_ns_at(last_sync_->t2_mono);
    const int64_t t3 = timescale_.ptp_ns_at(*pending_delay_req_->t3_mono);
    const i128 delay = ((static_cast<i128>(t2) - last_sync_->t1_ns) + (static_cast<i128>(receipt_ns) - t3)) / 2;
    pending_delay_req_.reset();
    if (!within_sane_range(delay)) return;
    delay_.push(static_cast<int64_t>(delay));
    ++counters_.delays;
}

void PtpPort::send_delay_req(int64_t now, ActionList& out) {
    if (!following() || !last_sync_) return;
    const uint16_t sequence = delay_req_sequence_++;
    pending_delay_req_ = PendingDelayReq{sequence, std::nullopt};
    const WireTimestamp origin = from_ns(timescale_.ptp_ns_at(now));
    if (config_.version == PtpVersion::v1) {
        v1::Message m;
        m.header.subdomain = config_.subdomain;
        m.header.source_uuid = uuid_from_identity(config_.identity.clock);
        m.header.source_port_id = config_.identity.port;
        m.header.sequence_id = sequence;
        m.header.control = v1::Control::delay_req;
        // As statime does: echo the parent's grandmaster block, describe ourselves locally.
        v1::SyncBody body = parent_v1_sync_.value_or(v1::SyncBody{});
        body.origin = {origin.seconds & 0xFFFFFFFFu, origin.nanoseconds};
        body.sync_interval = 0x7F;
        body.local_clock_variance = config_.v1_variance;
        body.local_steps_removed = static_cast<uint16_t>(parent_->steps_removed + 1);
        body.local_clock_stratum = 255;  // 1588-2002: a clock that only follows
        body.parent_uuid = uuid_from_identity(parent_->sender.clock);
        body.parent_port_field = parent_->sender.port;
        body.estimated_master_variance = 0;
        body.estimated_master_drift = 0;
        body.utc_reasonable = false;
        m.body = body;
        send_v1(m, kDelayReqTag | sequence, out);
    } else {
        v2::Message m;
        m.header.type = v2::MessageType::delay_req;
        m.header.domain = config_.domain;
        m.header.source = config_.identity;
        m.header.sequence_id = sequence;
        m.header.log_message_interval = 0x7F;
        m.body = v2::TimestampBody{origin};
        send_v2(m, kDelayReqTag | sequence, out);
    }
}

// ---------------------------------------------------------------------------- leader

void PtpPort::send_sync(int64_t now, ActionList& out) {
    const uint16_t sequence = sync_sequence_++;
    awaiting_sync_tx_ = sequence;
    // Two-step: this origin is approximate; the Follow_Up carries the transmit timestamp.
    const WireTimestamp origin = from_ns(timescale_.ptp_ns_at(now));
    if (config_.version == PtpVersion::v1) {
        v1::Message m;
        m.header.subdomain = config_.subdomain;
        m.header.source_uuid = uuid_from_identity(config_.identity.clock);
        m.header.source_port_id = config_.identity.port;
        m.header.sequence_id = sequence;
        m.header.control = v1::Control::sync;
        m.header.flags = v1::flag::assist;
        v1::SyncBody body;
        body.origin = {origin.seconds & 0xFFFFFFFFu, origin.nanoseconds};
        body.grandmaster.clock_uuid = m.header.source_uuid;
        body.grandmaster.port_id = config_.identity.port;
        body.grandmaster.sequence_id = sequence;
        body.grandmaster.stratum = config_.v1_stratum;
        body.grandmaster.variance = config_.v1_variance;
        body.grandmaster.preferred = config_.v1_preferred;
        body.sync_interval = config_.log_sync_interval;
        body.local_clock_variance = config_.v1_variance;
        body.local_steps_removed = 0;
        body.local_clock_stratum = config_.v1_stratum;
        body.parent_uuid = m.header.source_uuid;
        body.parent_port_field = config_.identity.port;
        m.body = body;
        send_v1(m, kSyncTag | sequence, out);
    } else {
        v2::Message m;
        m.header.type = v2::MessageType::sync;
        m.header.domain = config_.domain;
        m.header.flags = v2::flag::two_step;
        m.header.source = config_.identity;
        m.header.sequence_id = sequence;
        m.header.log_message_interval = config_.log_sync_interval;
        m.body = v2::TimestampBody{origin};
        send_v2(m, kSyncTag | sequence, out);
    }
}

void PtpPort::send_follow_up(uint16_t sequence, int64_t tx_mono_ns, ActionList& out) {
    const WireTimestamp precise = from_ns(timescale_.ptp_ns_at(tx_mono_ns));
    if (config_.version == PtpVersion::v1) {
        v1::Message m;
        m.header.subdomain = config_.subdomain;
        m.header.source_uuid = uuid_from_identity(config_.identity.clock);
        m.header.source_port_id = config_.identity.port;
        m.header.sequence_id = sequence;
        m.header.control = v1::Control::follow_up;
        m.body = v1::FollowUpBody{sequence, {precise.seconds & 0xFFFFFFFFu, precise.nanoseconds}};
        send_v1(m, std::nullopt, out);
    } else {
        v2::Message m;
        m.header.type = v2::MessageType::follow_up;
        m.header.domain = config_.domain;
        m.header.source = config_.identity;
        m.header.sequence_id = sequence;
        m.header.log_message_interval = config_.log_sync_interval;
        m.body = v2::TimestampBody{precise};
        send_v2(m, std::nullopt, out);
    }
}

void PtpPort::send_announce(int64_t now, ActionList& out) {
    const ComparisonDataset ours = own_dataset();
    v2::Message m;
    m.header.type = v2::MessageType::announce;
    m.header.domain = config_.domain;
    m.header.source = config_.identity;
    m.header.sequence_id = announce_sequence_++;
    m.header.log_message_interval = config_.log_announce_interval;
    v2::AnnounceBody body;
    body.origin = from_ns(timescale_.ptp_ns_at(now));
    body.priority1 = ours.priority1;
    body.quality = ours.quality;
    body.priority2 = ours.priority2;
    body.grandmaster = ours.grandmaster;
    body.steps_removed = 0;
    body.time_source = 0xA0;  // internal oscillator: the Dante timescale is arbitrary
    m.body = body;
    send_v2(m, std::nullopt, out);
}

void PtpPort::answer_delay_req(const PortIdentity& requester, uint16_t sequence, int64_t rx_mono_ns,
                               ActionList& out) {
    const WireTimestamp receipt = from_ns(timescale_.ptp_ns_at(rx_mono_ns));
    if (config_.version == PtpVersion::v1) {
        v1::Message m;
        m.header.subdomain = config_.subdomain;
        m.header.source_uuid = uuid_from_identity(config_.identity.clock);
        m.header.source_port_id = config_.identity.port;
        m.header.sequence_id = sequence;
        m.header.control = v1::Control::delay_resp;
        m.body = v1::DelayRespBody{{receipt.seconds & 0xFFFFFFFFu, receipt.nanoseconds},
                                   1,
                                   uuid_from_identity(requester.clock),
                                   requester.port,
                                   sequence};
        send_v1(m, std::nullopt, out);
    } else {
        v2::Message m;
        m.header.type = v2::MessageType::delay_resp;
        m.header.domain = config_.domain;
        m.header.source = config_.identity;
        m.header.sequence_id = sequence;
        m.header.log_message_interval = config_.log_min_delay_req_interval;
        m.body = v2::DelayRespBody{receipt, requester};
        send_v2(m, std::nullopt, out);
    }
}

// ---------------------------------------------------------------------------- plumbing

void PtpPort::enter(PortState next, int64_t now, ActionList& out) {
    if (next == state_) return;
    const PortState previous = state_;
    state_ = next;
    out.push(StateChanged{previous, next});
    if (!following()) {
        parent_.reset();
        reset_measurements();
    }
    if (next != PortState::master) awaiting_sync_tx_.reset();

    switch (next) {
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
            if (config_.version == PtpVersion::v2) arm(PortTimer::announce, now, out);
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

void PtpPort::send_v1(const v1::Message& m, std::optional<uint32_t> tag, ActionList& out) {
    SendMessage send;
    send.channel = v1::channel_of(m.header.control);
    send.size = static_cast<uint8_t>(v1::encode(m, send.bytes));
    send.timestamp_tag = tag;
    if (send.size > 0) out.push(send);
}

void PtpPort::send_v2(const v2::Message& m, std::optional<uint32_t> tag, ActionList& out) {
    SendMessage send;
    send.channel = v2::channel_of(m.header.type);
    send.size = static_cast<uint8_t>(v2::encode(m, send.bytes));
    send.timestamp_tag = tag;
    if (send.size > 0) out.push(send);
}

void PtpPort::reset_measurements() {
    pending_sync_.reset();
    last_sync_.reset();
    pending_delay_req_.reset();
    parent_v1_sync_.reset();
    delay_.clear();
}

}  // namespace dante::ptp
