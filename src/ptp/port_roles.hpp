#pragma once
// A PTP port's state as one value: the role it plays and exactly the data that role needs.
// Leaving a role replaces the value, so no measurement, parent or pending exchange of one
// role can leak into the next (nothing to reset by hand; before this, each piece was an
// optional member and every transition had to remember to clear it).
//
// PortState (port_actions.hpp) stays the public name of the state; state_of() maps a role
// to it. uncalibrated and slave are one role, Follower, as they share their data: the
// media clock's lock only flips `calibrated`.

#include <cstdint>
#include <optional>
#include <variant>

#include "ptp/dataset.hpp"
#include "ptp/delay_filter.hpp"
#include "ptp/port_actions.hpp"
#include "ptp/v1_messages.hpp"

namespace dante::ptp::role {

struct Initializing {};
struct Faulty {};
struct Listening {};
struct Passive {};

struct Leader {
    // The Sync whose transmit timestamp we wait for, to send its Follow_Up.
    std::optional<uint16_t> awaiting_sync_tx;
};

struct Follower {
    // A two-step Sync waiting for its Follow_Up.
    struct PendingSync {
        uint16_t sequence = 0;
        int64_t t2_mono = 0;
        int64_t correction_ns = 0;
    };
    // The last complete (t1, t2), for the next path-delay measurement.
    struct SyncPair {
        int64_t t1_ns = 0;
        int64_t t2_mono = 0;
    };
    // Our Delay_Req in flight; t3 once the shell reports its transmit timestamp.
    struct PendingDelayReq {
        uint16_t sequence = 0;
        std::optional<int64_t> t3_mono;
    };

    explicit Follower(const ComparisonDataset& best) : parent(best) {}

    ComparisonDataset parent;  // kept current from its Announces (v1: Syncs)
    bool calibrated = false;   // slave: the media clock has locked onto the parent
    std::optional<PendingSync> pending_sync;
    std::optional<SyncPair> last_sync;
    std::optional<PendingDelayReq> pending_delay_req;
    DelayFilter delay;
    std::optional<v1::SyncBody> parent_v1_sync;  // echoed in our v1 Delay_Req
};

using PortRole = std::variant<Initializing, Faulty, Listening, Passive, Follower, Leader>;

inline PortState state_of(const PortRole& role) {
    if (const Follower* f = std::get_if<Follower>(&role)) {
        return f->calibrated ? PortState::slave : PortState::uncalibrated;
    }
    if (std::holds_alternative<Leader>(role)) return PortState::master;
    if (std::holds_alternative<Listening>(role)) return PortState::listening;
    if (std::holds_alternative<Passive>(role)) return PortState::passive;
    if (std::holds_alternative<Faulty>(role)) return PortState::faulty;
    return PortState::initializing;
}

}  // namespace dante::ptp::role
