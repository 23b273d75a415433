#include "ptp/dataset.hpp"

#include <tuple>

namespace dante::ptp {
namespace {

// Figure 28: the same grandmaster seen along two paths; the shorter or
// lower-identity path wins.
Comparison compare_topology(const ComparisonDataset& a, const ComparisonDataset& b) {
    if (a.steps_removed > b.steps_removed + 1) return Comparison::b_better;
    if (b.steps_removed > a.steps_removed + 1) return Comparison::a_better;
    if (a.steps_removed > b.steps_removed) {
        // A's message went one hop further. If it came back to us from ourselves (our
        // receiver is the lower identity), B is better outright; otherwise by topology.
        if (a.receiver < a.sender) return Comparison::b_better;
        if (a.receiver > a.sender) return Comparison::b_better_by_topology;
        return Comparison::same;
    }
    if (b.steps_removed > a.steps_removed) {
        if (b.receiver < b.sender) return Comparison::a_better;
        if (b.receiver > b.sender) return Comparison::a_better_by_topology;
        return Comparison::same;
    }
    if (a.sender < b.sender) return Comparison::a_better_by_topology;
    if (b.sender < a.sender) return Comparison::b_better_by_topology;
    if (a.receiver.port < b.receiver.port) return Comparison::a_better_by_topology;
    if (b.receiver.port < a.receiver.port) return Comparison::b_better_by_topology;
    return Comparison::same;
}

}  // namespace

Comparison compare(const ComparisonDataset& a, const ComparisonDataset& b) {
    if (a.grandmaster == b.grandmaster) return compare_topology(a, b);
    // Figure 27: different grandmasters; lower is better at every step, identity last.
    const auto key = [](const ComparisonDataset& d) {
        return std::tie(d.priority1, d.quality.clock_class, d.quality.clock_accuracy,
                        d.quality.offset_scaled_log_variance, d.priority2, d.grandmaster);
    };
    return key(a) < key(b) ? Comparison::a_better : Comparison::b_better;
}

ComparisonDataset dataset_from_announce(const v2::Message& announce, const PortIdentity& receiver) {
    ComparisonDataset d;
    if (const auto* a = std::get_if<v2::AnnounceBody>(&announce.body)) {
        d.priority1 = a->priority1;
        d.quality = a->quality;
        d.priority2 = a->priority2;
        d.grandmaster = a->grandmaster;
        d.steps_removed = a->steps_removed;
    }
    d.sender = announce.header.source;
    d.receiver = receiver;
    return d;
}

ComparisonDataset dataset_from_v1_sync(const v1::Header& header, const v1::SyncBody& sync,
                                       const PortIdentity& receiver) {
    ComparisonDataset d;
    d.priority1 = sync.grandmaster.preferred ? kV1PreferredPriority1 : kV1DefaultPriority1;
    d.quality.clock_class = sync.grandmaster.stratum;
    d.quality.clock_accuracy = 0xFE;  // v1 has no accuracy: "unknown"
    d.quality.offset_scaled_log_variance = v2_variance_from_v1(sync.grandmaster.variance);
    d.priority2 = 128;
    d.grandmaster = identity_from_uuid(sync.grandmaster.clock_uuid);
    d.steps_removed = sync.local_steps_removed;
    d.sender = {identity_from_uuid(header.source_uuid), header.source_port_id};
    d.receiver = receiver;
    return d;
}

}  // namespace dante::ptp
