#include "ptp_port_harness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "clock/media_time.hpp"
#include "ptp/foreign_masters.hpp"
#include "ptp/ptp_node.hpp"
#include "ptp/servo_kind.hpp"
#include "ptp/v1_messages.hpp"
#include "ptp/v2_messages.hpp"
#include "ptp_port_script.hpp"

namespace dante::ptp::fuzz {
namespace {

using i128 = dante::i128;

constexpr size_t kMaxRecords = 512;                 // bounds the work per input
constexpr size_t kMaxWakeupsPerAdvance = 512;       // then the shell is "late" once
constexpr size_t kMaxWakeupsPerScript = 8192;       // ... and every advance after this many
constexpr int64_t kStartMono = 5'000'000'000'000;   // 5000 s of uptime
constexpr int64_t kTxFallbackNs = 20'000'000;       // ptp_service.cpp kTxTimestampWaitNs
constexpr int64_t kRefreshNs = 1'000'000'000;       // ptp_service.cpp kRefreshNs
constexpr int64_t kRxBackdateStepNs = 500'000;
constexpr size_t kPendingTxSlots = 8;
constexpr size_t kEchoDepth = 8;
constexpr int64_t kMaxTimerAheadNs = 100 * kNsPerSecond;
constexpr double kMaxRateError = 1e-3;
constexpr int64_t kMaxRxBackdateNs = 7 * kRxBackdateStepNs;
// A rate change re-anchored at a backdated receive instant moves later readings by up to
// 2e-3 of the backdating (see check_after); published times allow that, plus rounding.
constexpr int64_t kPublishedTolNs = 4 + static_cast<int64_t>(2 * kMaxRateError * kMaxRxBackdateNs);
constexpr std::array<int64_t, 4> kAdvanceUnits = {1'000, 1'000'000, 100'000'000, kNsPerSecond};

constexpr ClockIdentity kOurIdentity = {0x00, 0x1d, 0xc1, 0xaa, 0xbb, 0xcc, 0x00, 0x00};

[[noreturn]] void violated(const char* what, long long a = 0, long long b = 0) {
    std::fprintf(stderr, "ptp-port-fuzz: invariant violated: %s (%lld, %lld)\n", what, a, b);
    std::abort();
}

void check(bool ok, const char* what, long long a = 0, long long b = 0) {
    if (!ok) violated(what, a, b);
}

// A leader on the simulated network: its own timescale (base + (1 + ppb) x elapsed),
// path delay and best-master data.
struct Leader {
    ClockIdentity id{};
    uint8_t priority1 = 128;
    uint8_t quality = 248;  // v2 clockClass, v1 stratum
    int64_t ppb = 0;
    int64_t base_ns = 0;    // leader time at kStartMono
    int64_t delay_ns = 50'000;
    uint16_t sync_seq = 0;
    uint16_t other_seq = 0;
    uint16_t last_sync_seq = 0;
    int64_t last_sync_sent = kStartMono;

    [[nodiscard]] int64_t time_at(int64_t mono) const {
        const i128 elapsed = static_cast<i128>(mono) - kStartMono;
        const i128 t = static_cast<i128>(base_ns) + elapsed + elapsed * ppb / 1'000'000'000;
        return static_cast<int64_t>(std::clamp<i128>(t, 0, int64_t{1} << 62));
    }
    [[nodiscard]] PortIdentity port() const { return {id, 1}; }
};

struct Datagram {
    std::array<uint8_t, kMaxPtpMessageSize> bytes{};
    size_t size = 0;
    Channel channel = Channel::general;
};

struct PendingTx {
    uint32_t tag = 0;
    int64_t sent = 0;
};

class Reader {
public:
    explicit Reader(std::span<const uint8_t> data) : data_(data) {}
    bool u8(uint8_t& out) {
        if (at_ >= data_.size()) return false;
        out = data_[at_++];
        return true;
    }
    bool u16(uint16_t& out) {
        uint8_t hi = 0;
        uint8_t lo = 0;
        if (!u8(hi) || !u8(lo)) return false;
        out = static_cast<uint16_t>(hi << 8 | lo);
        return true;
    }
    bool u32(uint32_t& out) {
        uint16_t hi = 0;
        uint16_t lo = 0;
        if (!u16(hi) || !u16(lo)) return false;
        out = static_cast<uint32_t>(hi) << 16 | lo;
        return true;
    }
    [[nodiscard]] bool done() const { return at_ >= data_.size(); }
    std::span<const uint8_t> take(size_t n) {
        n = std::min(n, data_.size() - at_);
        const auto out = data_.subspan(at_, n);
        at_ += n;
        return out;
    }

private:
    std::span<const uint8_t> data_;
    size_t at_ = 0;
};

class Harness {
public:
    Harness(uint8_t setup0, uint8_t setup1) {
        config_.version = (setup0 & setup::v2) != 0 ? PtpVersion::v2 : PtpVersion::v1;
        config_.identity = {kOurIdentity, 1};
        config_.slave_only = (setup0 & setup::slave_only) != 0;
        if ((setup0 & setup::strong) != 0) {
            config_.priority1 = 50;
            config_.v1_preferred = true;
        }
        if ((setup0 & setup::primary) != 0) config_.quality.clock_class = 6;
        config_.log_sync_interval = static_cast<int8_t>(-3 + (setup1 & 3));
        config_.log_announce_interval = static_cast<int8_t>(-1 + ((setup1 >> 2) & 3));
        config_.announce_receipt_timeout = static_cast<uint8_t>(2 + ((setup1 >> 4) & 3));
        const bool v1 = config_.version == PtpVersion::v1;
        for (size_t k = 0; k < leaders_.size(); ++k) {
            Leader& l = leaders_[k];
            l.id = {0x00, 0x1d, 0xc1, static_cast<uint8_t>(0x10 + k), 0x20, 0x30, 0x00, 0x00};
            l.priority1 = std::array<uint8_t, 3>{100, 110, 200}[k];
            l.quality = v1 ? std::array<uint8_t, 3>{2, 3, 6}[k] : 248;
            l.base_ns = static_cast<int64_t>(k + 1) * 1000 * kNsPerSecond + 123'456'789;
        }
        const ServoKind kind = (setup0 & setup::pi_servo) != 0 ? ServoKind::pi : ServoKind::linreg;
        clock_ = std::make_unique<PtpMediaClock>(make_servo(kind), now_);
        node_ = std::make_unique<PtpNode>(config_, *clock_);
        last_media_ = clock_->snapshot().media_ns_at(now_);
        last_generation_ = clock_->snapshot().generation;
        last_check_ = now_;
        carry_out(node_->start(now_), now_);
    }

    void run(Reader& in) {
        for (size_t records = 0; records < kMaxRecords && !in.done(); ++records) {
            uint8_t opcode = 0;
            if (!in.u8(opcode)) return;
            const auto kind = static_cast<Op>(opcode & 0x0F);
            const auto param = static_cast<uint8_t>(opcode >> 4);
            switch (kind) {
                case Op::advance: {
                    uint16_t n = 0;
                    if (!in.u16(n)) return;
                    advance(static_cast<int64_t>(n) * kAdvanceUnits[param & 3]);
                    break;
                }
                case Op::timer:
                    fire_timer(static_cast<PortTimer>(param % kPortTimerCount));
                    break;
                case Op::leader_msg:
                    if (!leader_message(in, param)) return;
                    break;
                case Op::tx_timestamp:
                    if (!tx_timestamp(in, param)) return;
                    break;
                case Op::fault:
                    carry_out(node_->on_fault(now_), now_);
                    break;
                case Op::raw: {
                    uint8_t len = 0;
                    if (!in.u8(len)) return;
                    const auto bytes = in.take(len);
                    deliver(bytes, (param & 1) != 0 ? Channel::general : Channel::event, 0);
                    break;
                }
                case Op::leader_config:
                    if (!leader_config(in)) return;
                    break;
                case Op::echo: {
                    uint8_t index = 0;
                    if (!in.u8(index)) return;
                    if (echo_count_ == 0) break;
                    const Datagram d = echo_[index % std::min(echo_count_, kEchoDepth)];
                    deliver({d.bytes.data(), d.size}, d.channel, 0);
                    break;
                }
                case Op::refresh:
                    clock_->refresh(now_);
                    check_after(now_);
                    break;
                default:
                    break;  // unknown kinds are no-ops, so mutations stay meaningful
            }
        }
    }

    [[nodiscard]] const PortScriptReport& report() const { return report_; }

private:
    // ------------------------------------------------------------------ the shell's clock

    void advance(int64_t delta) {
        const int64_t target = now_ + delta;
        for (size_t wakeups = 0; wakeups < kMaxWakeupsPerAdvance && wakeups_ < kMaxWakeupsPerScript; ++wakeups) {
            const std::optional<int64_t> next = next_wakeup();
            if (!next || *next > target) break;
            now_ = std::max(now_, *next);
            wake();
        }
        now_ = target;
        wake();  // a late shell: everything overdue, once
    }

    [[nodiscard]] std::optional<int64_t> next_wakeup() const {
        std::optional<int64_t> next = last_refresh_ + kRefreshNs;
        for (const auto& d : deadlines_) {
            if (d && *d < *next) next = *d;
        }
        for (const PendingTx& p : pending_tx_) next = std::min(*next, p.sent + kTxFallbackNs);
        return next;
    }

    // What the shell's loop does at each wakeup (ptp_service.cpp loop()).
    void wake() {
        ++wakeups_;
        for (size_t i = 0; i < deadlines_.size(); ++i) {
            if (!deadlines_[i] || *deadlines_[i] > now_) continue;
            deadlines_[i].reset();
            carry_out(node_->on_timer(static_cast<PortTimer>(i), now_), now_);
        }
        if (now_ - last_refresh_ >= kRefreshNs) {
            clock_->refresh(now_);
            last_refresh_ = now_;
            check_after(now_);
        }
        for (size_t i = 0; i < pending_tx_.size();) {
            if (now_ - pending_tx_[i].sent < kTxFallbackNs) {
                ++i;
                continue;
            }
            const PendingTx p = pending_tx_[i];
            pending_tx_.erase(pending_tx_.begin() + static_cast<long>(i));
            report_tx(p.tag, p.sent);
        }
    }

    void fire_timer(PortTimer timer) {
        // Out of turn: the port must ignore a call before the deadline. The shell's own
        // record stays as it is (it fires the real expiry later).
        carry_out(node_->on_timer(timer, now_), now_);
    }

    // ------------------------------------------------------------------ inputs

    void deliver(std::span<const uint8_t> bytes, Channel channel, int64_t backdate) {
        auto& last = last_rx_[static_cast<size_t>(channel)];
        const int64_t rx = std::min(now_, std::max(now_ - backdate, last));
        last = rx;
        carry_out(node_->on_message(bytes, channel, rx), rx);
    }

    void report_tx(uint32_t tag, int64_t tx) {
        if (delay_req_ && delay_req_->tag == tag && !delay_req_->tx) delay_req_->tx = tx;
        carry_out(node_->on_tx_timestamp(tag, tx), tx);
    }

    bool tx_timestamp(Reader& in, uint8_t param) {
        if (param == 15) {
            uint32_t tag = 0;
            if (!in.u32(tag)) return false;
            carry_out(node_->on_tx_timestamp(tag, now_), now_);
            return true;
        }
        uint8_t selector = 0;
        if (!in.u8(selector)) return false;
        if (pending_tx_.empty()) return true;
        const size_t i = selector % pending_tx_.size();
        const PendingTx p = pending_tx_[i];
        pending_tx_.erase(pending_tx_.begin() + static_cast<long>(i));
        report_tx(p.tag, std::min(now_, p.sent + static_cast<int64_t>(param) * 100'000));
        return true;
    }

    bool leader_config(Reader& in) {
        std::array<uint8_t, 6> b{};
        for (uint8_t& x : b) {
            if (!in.u8(x)) return false;
        }
        Leader& l = leaders_[b[0] % leaders_.size()];
        l.priority1 = b[1];
        l.quality = b[2];
        // Rebase at now so a rate change does not move the leader's time retroactively.
        const int64_t t_now = l.time_at(now_);
        l.ppb = static_cast<int64_t>(static_cast<int8_t>(b[3])) * 4'000;
        const i128 elapsed = static_cast<i128>(now_) - kStartMono;
        const i128 jump = static_cast<i128>(static_cast<int8_t>(b[4])) * 100'000;
        l.base_ns = static_cast<int64_t>(std::clamp<i128>(t_now - elapsed - elapsed * l.ppb / 1'000'000'000 + jump,
                                                          -(int64_t{1} << 62), int64_t{1} << 62));
        l.delay_ns = static_cast<int64_t>(b[5]) * 10'000;
        return true;
    }

    bool leader_message(Reader& in, uint8_t param) {
        uint8_t sel = 0;
        if (!in.u8(sel)) return false;
        Leader& l = leaders_[(sel & 3) % leaders_.size()];
        const auto msg = static_cast<LeaderMsg>((sel >> 2) & 7);
        std::array<Datagram, 3> out{};
        const size_t n = build(l, msg, out);
        for (size_t p = 0, patches = sel >> 5; p < patches; ++p) {
            uint8_t pos = 0;
            uint8_t x = 0;
            if (!in.u8(pos) || !in.u8(x)) return false;
            Datagram& d = out[std::min<size_t>(pos >> 7, n == 0 ? 0 : n - 1)];
            if (d.size > 0) d.bytes[(pos & 0x7F) % d.size] ^= x;
        }
        const bool swap = (param & 1) != 0;
        const int64_t backdate = static_cast<int64_t>((param >> 1) & 7) * kRxBackdateStepNs;
        for (size_t i = 0; i < n; ++i) {
            Channel c = out[i].channel;
            if (swap) c = c == Channel::event ? Channel::general : Channel::event;
            deliver({out[i].bytes.data(), out[i].size}, c, backdate);
        }
        return true;
    }

    // ------------------------------------------------------------------ leader messages

    size_t build(Leader& l, LeaderMsg msg, std::array<Datagram, 3>& out) {
        const bool v1 = config_.version == PtpVersion::v1;
        const int64_t sent = now_ - l.delay_ns;
        switch (msg) {
            case LeaderMsg::sync_two_step:
            case LeaderMsg::sync_no_follow_up: {
                out[0] = sync(l, sent, true);
                if (msg == LeaderMsg::sync_no_follow_up) return 1;
                out[1] = follow_up(l);
                return 2;
            }
            case LeaderMsg::sync_one_step: out[0] = sync(l, sent, false); return 1;
            case LeaderMsg::announce: out[0] = v1 ? sync(l, sent, true) : announce(l, sent); return 1;
            case LeaderMsg::announce_and_sync:
                if (v1) {
                    out[0] = sync(l, sent, true);
                    out[1] = follow_up(l);
                    return 2;
                }
                out[0] = announce(l, sent);
                out[1] = sync(l, sent, true);
                out[2] = follow_up(l);
                return 3;
            case LeaderMsg::delay_resp: out[0] = delay_resp(l); return 1;
            case LeaderMsg::follow_up_only: out[0] = follow_up(l); return 1;
            case LeaderMsg::delay_req: out[0] = delay_req(l, sent); return 1;
        }
        return 0;
    }

    template <typename Message, size_t (*Encode)(const Message&, std::span<uint8_t>)>
    static Datagram encoded(const Message& m, Channel channel) {
        Datagram d;
        d.size = Encode(m, d.bytes);
        d.channel = channel;
        check(d.size > 0, "harness could not encode a leader message");
        return d;
    }

    static WireTimestamp v1_time(int64_t ns) {
        const WireTimestamp t = from_ns(ns);
        return {t.seconds & 0xFFFFFFFFu, t.nanoseconds};
    }

    v1::Message v1_header(const Leader& l, v1::Control control, uint16_t sequence) const {
        v1::Message m;
        m.header.subdomain = config_.subdomain;
        m.header.source_uuid = uuid_from_identity(l.id);
        m.header.source_port_id = 1;
        m.header.sequence_id = sequence;
        m.header.control = control;
        return m;
    }

    v1::SyncBody v1_sync_body(const Leader& l, int64_t origin_ns, uint16_t sequence) const {
        v1::SyncBody body;
        body.origin = v1_time(origin_ns);
        body.grandmaster.clock_uuid = uuid_from_identity(l.id);
        body.grandmaster.sequence_id = sequence;
        body.grandmaster.stratum = l.quality;
        body.grandmaster.preferred = l.priority1 < 128;
        body.sync_interval = config_.log_sync_interval;
        body.local_clock_stratum = l.quality;
        body.parent_uuid = uuid_from_identity(l.id);
        body.parent_port_field = 1;
        return body;
    }

    v2::Message v2_header(const Leader& l, v2::MessageType type, uint16_t sequence, int8_t log_interval) const {
        v2::Message m;
        m.header.type = type;
        m.header.domain = config_.domain;
        m.header.source = l.port();
        m.header.sequence_id = sequence;
        m.header.log_message_interval = log_interval;
        return m;
    }

    Datagram sync(Leader& l, int64_t sent, bool two_step) {
        l.last_sync_seq = l.sync_seq++;
        l.last_sync_sent = sent;
        // Two-step: the Sync's own origin is approximate (to the microsecond here).
        const int64_t precise = l.time_at(sent);
        const int64_t origin = two_step ? precise / 1000 * 1000 : precise;
        if (config_.version == PtpVersion::v1) {
            v1::Message m = v1_header(l, v1::Control::sync, l.last_sync_seq);
            if (two_step) m.header.flags = v1::flag::assist;
            m.body = v1_sync_body(l, origin, l.last_sync_seq);
            return encoded<v1::Message, v1::encode>(m, Channel::event);
        }
        v2::Message m = v2_header(l, v2::MessageType::sync, l.last_sync_seq, config_.log_sync_interval);
        if (two_step) m.header.flags = v2::flag::two_step;
        m.body = v2::TimestampBody{from_ns(origin)};
        return encoded<v2::Message, v2::encode>(m, Channel::event);
    }

    Datagram follow_up(Leader& l) const {
        const int64_t precise = l.time_at(l.last_sync_sent);
        if (config_.version == PtpVersion::v1) {
            v1::Message m = v1_header(l, v1::Control::follow_up, l.last_sync_seq);
            m.body = v1::FollowUpBody{l.last_sync_seq, v1_time(precise)};
            return encoded<v1::Message, v1::encode>(m, Channel::general);
        }
        v2::Message m = v2_header(l, v2::MessageType::follow_up, l.last_sync_seq, config_.log_sync_interval);
        m.body = v2::TimestampBody{from_ns(precise)};
        return encoded<v2::Message, v2::encode>(m, Channel::general);
    }

    Datagram announce(Leader& l, int64_t sent) {
        v2::Message m = v2_header(l, v2::MessageType::announce, l.other_seq++, config_.log_announce_interval);
        v2::AnnounceBody a;
        a.origin = from_ns(l.time_at(sent));
        a.priority1 = l.priority1;
        a.quality.clock_class = l.quality;
        a.grandmaster = l.id;
        m.body = a;
        return encoded<v2::Message, v2::encode>(m, Channel::general);
    }

    // The answer to our latest Delay_Req (or to a made-up one, if we sent none).
    Datagram delay_resp(Leader& l) {
        const uint16_t sequence = delay_req_ ? delay_req_->sequence : 0;
        const int64_t t3 = delay_req_ ? delay_req_->tx.value_or(delay_req_->sent) : now_;
        const int64_t receipt = l.time_at(t3 + l.delay_ns);
        if (config_.version == PtpVersion::v1) {
            v1::Message m = v1_header(l, v1::Control::delay_resp, l.other_seq++);
            m.body = v1::DelayRespBody{v1_time(receipt), 1, uuid_from_identity(kOurIdentity), 1, sequence};
            return encoded<v1::Message, v1::encode>(m, Channel::general);
        }
        v2::Message m = v2_header(l, v2::MessageType::delay_resp, sequence, config_.log_min_delay_req_interval);
        m.body = v2::DelayRespBody{from_ns(receipt), config_.identity};
        return encoded<v2::Message, v2::encode>(m, Channel::general);
    }

    Datagram delay_req(Leader& l, int64_t sent) {
        if (config_.version == PtpVersion::v1) {
            v1::Message m = v1_header(l, v1::Control::delay_req, l.other_seq++);
            v1::SyncBody body = v1_sync_body(l, l.time_at(sent), 0);
            body.sync_interval = 0x7F;
            m.body = body;
            return encoded<v1::Message, v1::encode>(m, Channel::event);
        }
        v2::Message m = v2_header(l, v2::MessageType::delay_req, l.other_seq++, 0x7F);
        m.body = v2::TimestampBody{from_ns(l.time_at(sent))};
        return encoded<v2::Message, v2::encode>(m, Channel::event);
    }

    // ------------------------------------------------------------------ outputs and checks

    void carry_out(const ActionList& actions, int64_t event_time) {
        ++report_.events;
        check(!actions.overflowed(), "action list overflowed");
        check(event_time <= now_, "harness: event after now");
        for (const Action& action : actions) {
            if (const auto* send = std::get_if<SendMessage>(&action)) {
                check_sent(*send);
            } else if (const auto* arm = std::get_if<ArmTimer>(&action)) {
                const auto i = static_cast<size_t>(arm->timer);
                check(i < kPortTimerCount, "timer out of range", static_cast<long long>(i));
                if (arm->deadline_mono_ns) {
                    check(*arm->deadline_mono_ns >= event_time, "timer armed in the past",
                          *arm->deadline_mono_ns - event_time);
                    check(*arm->deadline_mono_ns - event_time <= kMaxTimerAheadNs, "timer armed too far ahead",
                          *arm->deadline_mono_ns - event_time);
                }
                deadlines_[i] = arm->deadline_mono_ns;
            } else if (const auto* sample = std::get_if<ClockSample>(&action)) {
                ++report_.clock_samples;
                check(sample->sample_mono_ns <= now_, "clock sample from the future");
            } else if (const auto* changed = std::get_if<StateChanged>(&action)) {
                check(changed->from == port_state_, "state change from a state we were not in",
                      static_cast<long long>(changed->from), static_cast<long long>(port_state_));
                check(changed->to != changed->from, "state change to the same state");
                check(static_cast<uint8_t>(changed->to) <= static_cast<uint8_t>(PortState::master),
                      "state change to an invalid state");
                port_state_ = changed->to;
            } else if (const auto* selected = std::get_if<MasterSelected>(&action)) {
                check(selected->parent != node_->port().config().identity, "selected ourselves as parent");
                check(selected->grandmaster != kOurIdentity, "selected ourselves as grandmaster");
            }
        }
        check_after(event_time);
    }

    void check_sent(const SendMessage& send) {
        ++report_.sent;
        check(send.size > 0 && send.size <= kMaxPtpMessageSize, "sent size", send.size);
        check(send.channel == Channel::event || send.channel == Channel::general, "sent channel");
        const std::span<const uint8_t> bytes = send.data();
        bool delay_req = false;
        uint16_t sequence = 0;
        if (config_.version == PtpVersion::v1) {
            const auto parsed = v1::parse(bytes, config_.subdomain);
            check(parsed.has_value(), "sent v1 message does not parse back");
            check(v1::channel_of(parsed->header.control) == send.channel, "sent v1 message on the wrong channel");
            check(parsed->header.source_uuid == uuid_from_identity(kOurIdentity), "sent v1 message not from us");
            delay_req = parsed->header.control == v1::Control::delay_req;
            sequence = parsed->header.sequence_id;
            check_published(static_cast<size_t>(parsed->header.control), v1_published_time(*parsed));
        } else {
            const auto parsed = v2::parse(bytes, config_.domain);
            check(parsed.has_value(), "sent v2 message does not parse back");
            check(v2::channel_of(parsed->header.type) == send.channel, "sent v2 message on the wrong channel");
            check(parsed->header.source == config_.identity, "sent v2 message not from us");
            delay_req = parsed->header.type == v2::MessageType::delay_req;
            sequence = parsed->header.sequence_id;
            check_published(static_cast<size_t>(parsed->header.type), v2_published_time(*parsed));
        }
        check(!send.timestamp_tag || send.channel == Channel::event, "timestamp asked for a general message");

        Datagram& echo = echo_[echo_count_++ % kEchoDepth];
        std::copy(bytes.begin(), bytes.end(), echo.bytes.begin());
        echo.size = bytes.size();
        echo.channel = send.channel;

        if (!send.timestamp_tag) return;
        if (delay_req) delay_req_ = SentDelayReq{sequence, *send.timestamp_tag, now_, std::nullopt};
        // As the shell: a fixed set of slots, the oldest makes room.
        if (pending_tx_.size() == kPendingTxSlots) pending_tx_.erase(pending_tx_.begin());
        pending_tx_.push_back({*send.timestamp_tag, now_});
    }

    static int64_t v1_published_time(const v1::Message& m) {
        WireTimestamp t{};
        if (const auto* sync = std::get_if<v1::SyncBody>(&m.body)) t = sync->origin;
        if (const auto* follow_up = std::get_if<v1::FollowUpBody>(&m.body)) t = follow_up->precise_origin;
        if (const auto* resp = std::get_if<v1::DelayRespBody>(&m.body)) t = resp->delay_receipt;
        return to_ns(t).value_or(0);
    }
    static int64_t v2_published_time(const v2::Message& m) {
        WireTimestamp t{};
        if (const auto* body = std::get_if<v2::TimestampBody>(&m.body)) t = body->timestamp;
        if (const auto* resp = std::get_if<v2::DelayRespBody>(&m.body)) t = resp->receive_timestamp;
        if (const auto* announce = std::get_if<v2::AnnounceBody>(&m.body)) t = announce->origin;
        return to_ns(t).value_or(0);
    }

    // The times we put on the wire, per message type, never go back while the clock's
    // generation stays the same (others follow them). A v1 seconds field wraps at 2^32.
    void check_published(size_t type, int64_t ns) {
        const uint64_t generation = clock_->snapshot().generation;
        auto& last = published_[type % published_.size()];
        if (last && last->generation == generation) {
            const int64_t back = last->ns - ns;
            const bool wrapped = config_.version == PtpVersion::v1 && back > (int64_t{1} << 31) * kNsPerSecond;
            check(wrapped || back <= kPublishedTolNs, "published time went back without a new generation", back,
                  static_cast<long long>(type));
        }
        last = Published{generation, ns};
    }

    void check_after(int64_t event_time) {
        const PtpPort& port = node_->port();
        const PortState state = port.state();
        check(static_cast<uint8_t>(state) <= static_cast<uint8_t>(PortState::master), "port state invalid");
        check(state == port_state_, "port state differs from its announced changes");
        report_.port_states[static_cast<size_t>(state)] = true;
        const size_t foreign = port.foreign_master_count();
        check(foreign <= ForeignMasterTable::kCapacity, "foreign-master table over capacity",
              static_cast<long long>(foreign));
        report_.max_foreign_masters = std::max(report_.max_foreign_masters, foreign);
        if (state == PortState::slave || state == PortState::uncalibrated) {
            check(port.parent().has_value(), "following nobody");
        }

        const ClockSnapshot s = clock_->snapshot();
        check(static_cast<uint8_t>(s.state) <= static_cast<uint8_t>(ClockState::master), "clock state invalid");
        report_.clock_states[static_cast<size_t>(s.state)] = true;
        check(std::isfinite(s.rate) && std::fabs(s.rate - 1.0) <= kMaxRateError, "clock rate insane",
              static_cast<long long>((s.rate - 1.0) * 1e9));
        // Master both ways: the clock calls itself master exactly while the port leads.
        check((state == PortState::master) == (s.state == ClockState::master), "port and clock disagree on master");
        if (state == PortState::slave) check(s.state == ClockState::locked, "port slave, clock not locked");

        check(s.generation >= last_generation_, "clock generation went back");
        const int64_t media = s.media_ns_at(now_);
        if (s.generation == last_generation_) {
            // A re-anchor at an event instant before now (a backdated timestamp) with a new
            // rate moves media(now) by at most the rate change times the backdating.
            const auto tol = static_cast<int64_t>(4 + 2 * kMaxRateError * static_cast<double>(now_ - event_time));
            const auto ahead = static_cast<int64_t>(
                std::ceil(static_cast<double>(now_ - last_check_) * (1.0 + kMaxRateError)));
            check(media >= last_media_ - tol, "media time went back without a new generation",
                  last_media_ - media, tol);
            check(media <= last_media_ + ahead + tol, "media time jumped ahead without a new generation",
                  media - last_media_, ahead);
        } else {
            ++report_.generation_changes;
        }
        last_generation_ = s.generation;
        last_media_ = media;
        last_check_ = now_;
    }

    struct Published {
        uint64_t generation = 0;
        int64_t ns = 0;
    };
    struct SentDelayReq {
        uint16_t sequence = 0;
        uint32_t tag = 0;
        int64_t sent = 0;
        std::optional<int64_t> tx;
    };

    PortConfig config_{};
    int64_t now_ = kStartMono;
    std::unique_ptr<PtpMediaClock> clock_;
    std::unique_ptr<PtpNode> node_;
    std::array<Leader, 3> leaders_{};

    // The shell's view.
    std::array<std::optional<int64_t>, kPortTimerCount> deadlines_{};
    std::array<int64_t, 2> last_rx_{kStartMono, kStartMono};
    int64_t last_refresh_ = kStartMono;
    size_t wakeups_ = 0;
    std::vector<PendingTx> pending_tx_;
    std::array<Datagram, kEchoDepth> echo_{};
    size_t echo_count_ = 0;
    std::optional<SentDelayReq> delay_req_;
    std::array<std::optional<Published>, 16> published_{};  // by v1 control / v2 messageType

    // What the checks remember.
    PortState port_state_ = PortState::initializing;
    uint64_t last_generation_ = 0;
    int64_t last_media_ = 0;
    int64_t last_check_ = kStartMono;
    PortScriptReport report_{};
};

}  // namespace

PortScriptReport run_port_script(std::span<const uint8_t> script) {
    if (script.size() < 2) return {};
    Harness harness(script[0], script[1]);
    Reader in(script.subspan(2));
    harness.run(in);
    return harness.report();
}

}  // namespace dante::ptp::fuzz
