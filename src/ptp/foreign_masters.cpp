#include "ptp/foreign_masters.hpp"

namespace dante::ptp {

void ForeignMasterTable::record(const ComparisonDataset& dataset, int64_t now_ns) {
    Entry* slot = nullptr;
    for (Entry& e : entries_) {
        if (e.used && e.dataset.sender == dataset.sender) slot = &e;
    }
    if (slot == nullptr) {
        // A new master: a free slot, else the one heard from least recently.
        slot = &entries_[0];
        for (Entry& e : entries_) {
            if (!e.used) {
                slot = &e;
                break;
            }
            if (e.arrivals[0] < slot->arrivals[0]) slot = &e;
        }
        *slot = Entry{};
        slot->used = true;
    }
    slot->dataset = dataset;  // the latest message describes the master now
    for (size_t i = slot->arrivals.size() - 1; i > 0; --i) slot->arrivals[i] = slot->arrivals[i - 1];
    slot->arrivals[0] = now_ns;
    if (slot->count < kQualifyingMessages) ++slot->count;
}

int ForeignMasterTable::recent_messages(const Entry& entry, int64_t now_ns) const {
    int recent = 0;
    for (int i = 0; i < entry.count; ++i) {
        if (now_ns - entry.arrivals[static_cast<size_t>(i)] <= window_ns_) ++recent;
    }
    return recent;
}

void ForeignMasterTable::expire(int64_t now_ns) {
    for (Entry& e : entries_) {
        if (!e.used) continue;
        e.count = recent_messages(e, now_ns);  // arrivals are newest first: keep the prefix
        if (e.count == 0) e = Entry{};
    }
}

std::optional<ComparisonDataset> ForeignMasterTable::best(int64_t now_ns) {
    expire(now_ns);
    std::optional<ComparisonDataset> best;
    for (const Entry& e : entries_) {
        if (!e.used || e.count < kQualifyingMessages) continue;
        if (!best || better(e.dataset, *best)) best = e.dataset;
    }
    return best;
}

bool ForeignMasterTable::qualified(const PortIdentity& sender, int64_t now_ns) const {
    for (const Entry& e : entries_) {
        if (e.used && e.dataset.sender == sender) return recent_messages(e, now_ns) >= kQualifyingMessages;
    }
    return false;
}

void ForeignMasterTable::forget(const PortIdentity& sender) {
    for (Entry& e : entries_) {
        if (e.used && e.dataset.sender == sender) e = Entry{};
    }
}

size_t ForeignMasterTable::size() const {
    size_t n = 0;
    for (const Entry& e : entries_) n += e.used ? 1 : 0;
    return n;
}

void ForeignMasterTable::clear() { entries_ = {}; }

}  // namespace dante::ptp
