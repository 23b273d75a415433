#pragma once
// A simulated PTP network for tests: nodes (a PtpNode + its media clock + a local
// monotonic clock with its own frequency error and epoch) exchanging datagrams over one
// multicast link with a fixed delay plus deterministic jitter, driven by simulated true
// time. Transmit timestamps are reported at the send instant, as hardware would.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "ptp/pi_servo.hpp"
#include "ptp/servo_kind.hpp"
#include "ptp/ptp_node.hpp"

namespace sim {

using namespace dante::ptp;

struct NodeSpec {
    std::string name;
    PortConfig config;
    double frequency_error = 0.0;  // +100e-6: this node's monotonic clock runs 100 ppm fast
    int64_t mono_epoch_ns = 0;     // its monotonic reading at true time 0
    int64_t start_true_ns = 0;
    ServoKind servo = ServoKind::linreg;
};

struct Node {
    NodeSpec spec;
    std::unique_ptr<PtpMediaClock> clock;
    std::unique_ptr<PtpNode> ptp;
    std::array<std::optional<int64_t>, kPortTimerCount> timers{};  // monotonic deadlines
    bool started = false;
    bool silent = false;  // cut off the link: sends nothing, hears nothing
    uint64_t sent = 0;

    [[nodiscard]] int64_t mono_at(int64_t true_ns) const {
        return spec.mono_epoch_ns + static_cast<int64_t>(std::llround(static_cast<double>(true_ns) * (1.0 + spec.frequency_error)));
    }
    // The first true instant at which the monotonic clock has reached `mono`.
    [[nodiscard]] int64_t true_at(int64_t mono) const {
        auto t = static_cast<int64_t>(std::floor(static_cast<double>(mono - spec.mono_epoch_ns) / (1.0 + spec.frequency_error)));
        while (mono_at(t) < mono) ++t;
        return t;
    }
    [[nodiscard]] int64_t media_at_true(int64_t true_ns) const { return clock->snapshot().media_ns_at(mono_at(true_ns)); }
    [[nodiscard]] PortState state() const { return ptp->port().state(); }
    [[nodiscard]] dante::ClockState clock_state() const { return clock->snapshot().state; }
};

// The link's timestamps are exact to its 200 ns of jitter and transmit stamps are taken at
// the send instant: hardware-like timestamps, for which the PI loop's default gains are
// linuxptp's own.
inline std::unique_ptr<Servo> make_sim_servo(ServoKind kind) { return make_servo(kind); }

class Network {
public:
    int64_t link_delay_ns = 100'000;
    int64_t jitter_ns = 200;  // uniform extra delay per datagram, deterministic
    bool overflowed = false;

    Node& add(NodeSpec spec) {
        auto node = std::make_unique<Node>();
        node->spec = std::move(spec);
        node->clock = std::make_unique<PtpMediaClock>(make_sim_servo(node->spec.servo), node->mono_at(0));
        node->ptp = std::make_unique<PtpNode>(node->spec.config, *node->clock);
        nodes_.push_back(std::move(node));
        return *nodes_.back();
    }

    [[nodiscard]] int64_t now() const { return now_; }

    // A fault reported by a node's shell (a socket error), now.
    void fault(Node& node) {
        for (size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].get() == &node) apply(i, node.ptp->on_fault(node.mono_at(now_)));
        }
    }

    // Runs until true time `end`, calling `each_ms` (if given) every simulated millisecond.
    template <typename F>
    void run_until(int64_t end, F&& each_ms) {
        int64_t next_tick = (now_ / 1'000'000 + 1) * 1'000'000;
        for (;;) {
            const int64_t next = std::min({next_event(), next_tick, end});
            now_ = next;
            if (next == next_tick) {
                each_ms(now_);
                next_tick += 1'000'000;
            }
            if (next == end) break;
            step();
        }
    }
    void run_until(int64_t end) {
        run_until(end, [](int64_t) {});
    }

private:
    struct Delivery {
        int64_t at;
        uint64_t order;  // FIFO among equal times
        size_t to;
        Channel channel;
        SendMessage message;
        bool operator>(const Delivery& o) const { return at != o.at ? at > o.at : order > o.order; }
    };

    int64_t next_event() const {
        int64_t next = INT64_MAX;
        if (!deliveries_.empty()) next = deliveries_.top().at;
        for (const auto& n : nodes_) {
            if (!n->started) {
                next = std::min(next, n->spec.start_true_ns);
                continue;
            }
            for (const auto& t : n->timers) {
                if (t) next = std::min(next, n->true_at(*t));
            }
        }
        return next;
    }

    // Handles everything due at now_.
    void step() {
        for (size_t i = 0; i < nodes_.size(); ++i) {
            Node& n = *nodes_[i];
            if (!n.started && n.spec.start_true_ns <= now_) {
                n.started = true;
                apply(i, n.ptp->start(n.mono_at(now_)));
            }
        }
        while (!deliveries_.empty() && deliveries_.top().at <= now_) {
            const Delivery d = deliveries_.top();
            deliveries_.pop();
            Node& n = *nodes_[d.to];
            if (n.silent || !n.started) continue;
            apply(d.to, n.ptp->on_message(d.message.data(), d.channel, n.mono_at(now_)));
        }
        for (size_t i = 0; i < nodes_.size(); ++i) {
            Node& n = *nodes_[i];
            if (!n.started) continue;
            for (size_t t = 0; t < kPortTimerCount; ++t) {
                if (n.timers[t] && n.true_at(*n.timers[t]) <= now_) {
                    n.timers[t].reset();
                    apply(i, n.ptp->on_timer(static_cast<PortTimer>(t), n.mono_at(now_)));
                }
            }
        }
    }

    void apply(size_t from, const ActionList& actions) {
        overflowed = overflowed || actions.overflowed();
        Node& n = *nodes_[from];
        for (const Action& a : actions) {
            if (const auto* timer = std::get_if<ArmTimer>(&a)) {
                n.timers[static_cast<size_t>(timer->timer)] = timer->deadline_mono_ns;
            } else if (const auto* send = std::get_if<SendMessage>(&a)) {
                if (n.silent) continue;
                ++n.sent;
                for (size_t to = 0; to < nodes_.size(); ++to) {
                    if (to == from) continue;
                    deliveries_.push({now_ + link_delay_ns + next_jitter(), order_++, to, send->channel, *send});
                }
                if (send->timestamp_tag) apply(from, n.ptp->on_tx_timestamp(*send->timestamp_tag, n.mono_at(now_)));
            }
        }
    }

    int64_t next_jitter() {
        if (jitter_ns <= 0) return 0;
        rng_ ^= rng_ << 13, rng_ ^= rng_ >> 7, rng_ ^= rng_ << 17;
        return static_cast<int64_t>(rng_ % static_cast<uint64_t>(jitter_ns + 1));
    }

    std::vector<std::unique_ptr<Node>> nodes_;
    std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> deliveries_;
    int64_t now_ = 0;
    uint64_t order_ = 0;
    uint64_t rng_ = 0x853C49E6748FEA9Bull;
};

inline PortConfig make_config(PtpVersion version, uint8_t last_byte) {
    PortConfig c;
    c.version = version;
    c.identity.clock = {0x00, 0x1d, 0xc1, 0x00, 0x00, last_byte, 0, 0};
    if (version == PtpVersion::v2) c.identity.clock = {0x00, 0x1d, 0xc1, 0xff, 0xfe, 0x00, 0x00, last_byte};
    c.identity.port = 1;
    c.log_sync_interval = -3;
    c.log_announce_interval = 0;
    c.log_min_delay_req_interval = -1;
    return c;
}

inline constexpr int64_t kSecond = 1'000'000'000;

}  // namespace sim
