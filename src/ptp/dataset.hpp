#pragma once
// Best-master comparison (IEEE 1588-2008 §9.3.4, figures 27 and 28).
//
// Both versions feed the same comparison: v2 from Announce messages, v1 from the
// grandmaster fields every Sync carries, mapped onto v2 terms the way statime's
// inferno-dev branch does (priority1 64 if the v1 master is "preferred" else 128,
// priority2 128, clockClass from the v1 stratum, identity from the v1 UUID).

#include <cstdint>

#include "ptp/ptp_types.hpp"
#include "ptp/v1_messages.hpp"
#include "ptp/v2_messages.hpp"

namespace dante::ptp {

// What the comparison looks at, for one candidate master as seen through one of our ports.
struct ComparisonDataset {
    uint8_t priority1 = 128;
    ClockQuality quality{};
    uint8_t priority2 = 128;
    ClockIdentity grandmaster{};
    uint16_t steps_removed = 0;
    PortIdentity sender{};    // the port that sent the message (equals ours for our own dataset)
    PortIdentity receiver{};  // our port that received it
    bool operator==(const ComparisonDataset&) const = default;
};

enum class Comparison : int8_t {
    a_better = 2,
    a_better_by_topology = 1,
    same = 0,  // identical datasets: the standard's "error-1/error-2" (a message seen twice)
    b_better_by_topology = -1,
    b_better = -2,
};

Comparison compare(const ComparisonDataset& a, const ComparisonDataset& b);

// True when a beats b, by quality or by topology.
inline bool better(const ComparisonDataset& a, const ComparisonDataset& b) {
    return static_cast<int8_t>(compare(a, b)) > 0;
}

// The dataset a v2 Announce describes, as received on `receiver`.
ComparisonDataset dataset_from_announce(const v2::Message& announce, const PortIdentity& receiver);

// The dataset a v1 Sync describes (its grandmaster block), as received on `receiver`.
ComparisonDataset dataset_from_v1_sync(const v1::Header& header, const v1::SyncBody& sync,
                                       const PortIdentity& receiver);

// v1 variance is a signed log-variance; v2's offsetScaledLogVariance is the same quantity
// offset by 0x8000 so it compares as unsigned. (statime casts instead, which would rank
// every negative variance worse than every positive one.)
constexpr uint16_t v2_variance_from_v1(int16_t v1_variance) {
    return static_cast<uint16_t>(static_cast<int32_t>(v1_variance) + 0x8000);
}
constexpr int16_t v1_variance_from_v2(uint16_t v2_variance) {
    return static_cast<int16_t>(static_cast<int32_t>(v2_variance) - 0x8000);
}
inline constexpr uint8_t kV1PreferredPriority1 = 64;
inline constexpr uint8_t kV1DefaultPriority1 = 128;

}  // namespace dante::ptp
