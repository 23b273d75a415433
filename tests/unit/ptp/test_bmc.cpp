// Best-master comparison (IEEE 1588-2008 figures 27/28), the v1 -> v2 mapping, and the
// foreign-master table's qualification and timeout.
#include <doctest/doctest.h>

#include "ptp/dataset.hpp"
#include "ptp/foreign_masters.hpp"

using namespace dante::ptp;

namespace {

ComparisonDataset candidate(uint8_t id_byte) {
    ComparisonDataset d;
    d.grandmaster = {0, 0, 0, 0, 0, 0, 0, id_byte};
    d.sender = {d.grandmaster, 1};
    d.receiver = {{0, 0, 0, 0, 0, 0, 0, 0xEE}, 1};
    return d;
}

}  // namespace

TEST_CASE("BMC: each dataset field decides in the standard's order") {
    ComparisonDataset a = candidate(2);
    ComparisonDataset b = candidate(1);  // b has the lower identity: wins all else equal
    CHECK(compare(a, b) == Comparison::b_better);
    CHECK(compare(b, a) == Comparison::a_better);

    a.priority2 = 127;  // priority2 beats identity
    CHECK(compare(a, b) == Comparison::a_better);
    b.quality.offset_scaled_log_variance = 0x4000;  // variance beats priority2
    CHECK(compare(a, b) == Comparison::b_better);
    a.quality.clock_accuracy = 0x20;  // accuracy beats variance
    CHECK(compare(a, b) == Comparison::a_better);
    b.quality.clock_class = 6;  // class beats accuracy
    CHECK(compare(a, b) == Comparison::b_better);
    a.priority1 = 127;  // priority1 beats everything
    CHECK(compare(a, b) == Comparison::a_better);
    CHECK(better(a, b));
    CHECK_FALSE(better(b, a));
}

TEST_CASE("BMC: the same grandmaster via two paths is decided by topology") {
    ComparisonDataset a = candidate(1);
    ComparisonDataset b = candidate(1);
    b.sender = {{0, 0, 0, 0, 0, 0, 0, 9}, 1};  // a boundary clock relaying the same GM
    SUBCASE("fewer steps removed wins outright when 2+ apart") {
        b.steps_removed = 2;
        CHECK(compare(a, b) == Comparison::a_better);
        CHECK(compare(b, a) == Comparison::b_better);
    }
    SUBCASE("one step apart: by topology, depending on receiver vs sender") {
        b.steps_removed = 1;
        // b's receiver (…EE) > b's sender (…09): a better by topology.
        CHECK(compare(a, b) == Comparison::a_better_by_topology);
        b.receiver = {{0, 0, 0, 0, 0, 0, 0, 1}, 1};  // receiver < sender: a better outright
        CHECK(compare(a, b) == Comparison::a_better);
    }
    SUBCASE("equal steps: the lower sender identity, then the lower receiver port") {
        CHECK(compare(a, b) == Comparison::a_better_by_topology);
        CHECK(compare(b, a) == Comparison::b_better_by_topology);
        ComparisonDataset c = a;
        c.receiver.port = 2;
        CHECK(compare(a, c) == Comparison::a_better_by_topology);
        CHECK(compare(a, a) == Comparison::same);
    }
}

TEST_CASE("BMC: v1 Sync data maps as statime does, and the preferred master wins") {
    v1::Header h;
    h.source_uuid = {0x00, 0x1d, 0xc1, 1, 2, 3};
    h.source_port_id = 1;
    v1::SyncBody s;
    s.grandmaster.clock_uuid = h.source_uuid;
    s.grandmaster.stratum = 4;
    s.grandmaster.variance = -4000;
    s.local_steps_removed = 0;
    const PortIdentity us{{0xAA, 0, 0, 0, 0, 0, 0, 0}, 1};

    ComparisonDataset plain = dataset_from_v1_sync(h, s, us);
    CHECK(plain.priority1 == 128);
    CHECK(plain.priority2 == 128);
    CHECK(plain.quality.clock_class == 4);
    CHECK(plain.quality.clock_accuracy == 0xFE);
    CHECK(plain.quality.offset_scaled_log_variance == 0x8000 - 4000);
    CHECK(plain.grandmaster == ClockIdentity{0x00, 0x1d, 0xc1, 1, 2, 3, 0, 0});
    CHECK(plain.sender == PortIdentity{plain.grandmaster, 1});
    CHECK(plain.receiver == us);

    // A preferred master with a higher identity still wins.
    v1::Header h2 = h;
    h2.source_uuid = {0x00, 0x1d, 0xc1, 9, 9, 9};
    v1::SyncBody preferred = s;
    preferred.grandmaster.clock_uuid = h2.source_uuid;
    preferred.grandmaster.preferred = true;
    const ComparisonDataset pref = dataset_from_v1_sync(h2, preferred, us);
    CHECK(pref.priority1 == 64);
    CHECK(better(pref, plain));

    // Variance ordering survives the mapping: a smaller (more negative) variance is better.
    CHECK(v2_variance_from_v1(-4000) < v2_variance_from_v1(100));
    CHECK(v1_variance_from_v2(v2_variance_from_v1(-4000)) == -4000);
}

TEST_CASE("foreign masters: qualification needs 2 messages in the window; silence expires") {
    constexpr int64_t kInterval = 1'000'000'000;
    ForeignMasterTable table(kInterval);
    const ComparisonDataset worse = candidate(5);
    ComparisonDataset good = candidate(6);
    good.priority1 = 10;

    table.record(good, 0);
    CHECK_FALSE(table.best(0).has_value());  // one message is not enough
    table.record(worse, 100);
    table.record(worse, kInterval);
    REQUIRE(table.best(kInterval).has_value());
    CHECK(table.best(kInterval)->sender == worse.sender);  // good is not qualified yet

    table.record(good, kInterval + 5);
    REQUIRE(table.best(kInterval + 5).has_value());
    CHECK(table.best(kInterval + 5)->sender == good.sender);

    // Two messages more than 4 intervals apart do not qualify.
    ForeignMasterTable sparse(kInterval);
    sparse.record(good, 0);
    sparse.record(good, 5 * kInterval);
    CHECK_FALSE(sparse.best(5 * kInterval).has_value());

    // Silence: after the window, the master is gone.
    CHECK(table.qualified(good.sender, kInterval + 5));
    CHECK_FALSE(table.best(kInterval + 5 + 4 * kInterval + 1).has_value());
    CHECK(table.size() == 0);

    // forget() drops one master at once.
    table.record(good, 0);
    table.record(good, 1);
    table.forget(good.sender);
    CHECK_FALSE(table.best(2).has_value());
}

TEST_CASE("foreign masters: a full table makes room by dropping the stalest entry") {
    ForeignMasterTable table(1'000'000'000);
    for (int i = 0; i < static_cast<int>(ForeignMasterTable::kCapacity); ++i) {
        table.record(candidate(static_cast<uint8_t>(i + 1)), i);
    }
    CHECK(table.size() == ForeignMasterTable::kCapacity);
    const ComparisonDataset newcomer = candidate(200);
    table.record(newcomer, 100);
    table.record(newcomer, 101);
    CHECK(table.size() == ForeignMasterTable::kCapacity);
    CHECK(table.qualified(newcomer.sender, 101));
    CHECK_FALSE(table.qualified(candidate(1).sender, 101));  // heard from first, dropped first
}
