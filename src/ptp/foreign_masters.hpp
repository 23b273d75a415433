#pragma once
// The foreign-master table of one port (IEEE 1588-2008 §9.3.2.4).
//
// Every Announce (v2) or Sync (v1) from another master is recorded here. A master becomes
// a candidate for the best-master comparison only once it is *qualified*: at least
// kQualifyingMessages messages within the window (4 announce intervals), which keeps a
// single stray or a master that just went away from flipping the election. Entries with no
// message within the window are dropped. Fixed capacity, no allocation: a Dante subnet
// has few masters, and when the table is full the stalest entry makes room.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "ptp/dataset.hpp"

namespace dante::ptp {

class ForeignMasterTable {
public:
    static constexpr size_t kCapacity = 16;
    static constexpr int kQualifyingMessages = 2;  // FOREIGN_MASTER_THRESHOLD
    static constexpr int kWindowIntervals = 4;     // FOREIGN_MASTER_TIME_WINDOW

    explicit ForeignMasterTable(int64_t message_interval_ns) : window_ns_(kWindowIntervals * message_interval_ns) {}

    void set_message_interval(int64_t message_interval_ns) { window_ns_ = kWindowIntervals * message_interval_ns; }

    // Records one message from dataset.sender at local time now_ns.
    void record(const ComparisonDataset& dataset, int64_t now_ns);

    // Drops messages older than the window, and entries left with none.
    void expire(int64_t now_ns);

    // The best qualified master (Erbest), after expiring stale messages.
    [[nodiscard]] std::optional<ComparisonDataset> best(int64_t now_ns);

    // Drops one master (its silence was noticed by the announce-receipt timer).
    void forget(const PortIdentity& sender);

    [[nodiscard]] bool qualified(const PortIdentity& sender, int64_t now_ns) const;
    [[nodiscard]] size_t size() const;
    void clear();

private:
    struct Entry {
        bool used = false;
        ComparisonDataset dataset{};
        // Arrival times of the latest messages; only kQualifyingMessages matter.
        std::array<int64_t, kQualifyingMessages> arrivals{};
        int count = 0;  // valid arrivals, most recent first
    };
    [[nodiscard]] int recent_messages(const Entry& entry, int64_t now_ns) const;

    std::array<Entry, kCapacity> entries_{};
    int64_t window_ns_;
};

}  // namespace dante::ptp
