// Role transitions drop the old role's data (port_roles.hpp): nothing measured for one
// parent, and no exchange left pending in one role, is used after the port left it.
#include <doctest/doctest.h>

#include "port_test_support.hpp"
#include "ptp/port.hpp"
#include "ptp/port_roles.hpp"

using namespace dante::ptp;
using namespace port_test;

namespace {

constexpr int64_t kPath = 40'000;

// Listening -> uncalibrated on kLeader, with one path delay measured; returns the time.
int64_t follow_with_delay(PtpPort& port, const FixedTimescale& ts, int64_t start) {
    port.on_message(bytes_of(leader_announce(0)), Channel::general, start);
    port.on_message(bytes_of(leader_announce(1)), Channel::general, start + 1'000'000'000);
    REQUIRE(port.state() == PortState::uncalibrated);
    const int64_t t2 = start + 1'100'000'000;
    v2::Message sync = leader_message(v2::MessageType::sync, 1);
    sync.body = v2::TimestampBody{from_ns(ts.ptp_ns_at(t2 - kPath))};
    port.on_message(bytes_of(sync), Channel::event, t2);
    const auto sends = all<SendMessage>(port.on_timer(PortTimer::delay_req, t2));
    REQUIRE(sends.size() == 1);
    const auto req = v2::parse(sends[0].data(), 0);
    REQUIRE(req.has_value());
    const int64_t t3 = t2 + 1'000;
    port.on_tx_timestamp(*sends[0].timestamp_tag, t3);
    v2::Message resp = leader_message(v2::MessageType::delay_resp, req->header.sequence_id);
    resp.body = v2::DelayRespBody{from_ns(ts.ptp_ns_at(t3 + kPath)), kUs};
    port.on_message(bytes_of(resp), Channel::general, t3 + 2 * kPath);
    REQUIRE(port.mean_path_delay_ns() == kPath);
    return t3 + 2 * kPath;
}

}  // namespace

TEST_CASE("port roles: each role maps to its PortState; uncalibrated and slave are one Follower") {
    role::PortRole r = role::Follower{ComparisonDataset{}};
    CHECK(role::state_of(r) == PortState::uncalibrated);
    std::get<role::Follower>(r).calibrated = true;
    CHECK(role::state_of(r) == PortState::slave);
    r = role::Leader{};
    CHECK(role::state_of(r) == PortState::master);
    r = role::Listening{};
    CHECK(role::state_of(r) == PortState::listening);
    r = role::Passive{};
    CHECK(role::state_of(r) == PortState::passive);
    r = role::Faulty{};
    CHECK(role::state_of(r) == PortState::faulty);
    r = role::Initializing{};
    CHECK(role::state_of(r) == PortState::initializing);
}

TEST_CASE("port roles: a follower that loses its parent drops the parent, the path delay and a pending Sync") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    int64_t now = follow_with_delay(port, ts, 0);

    // A two-step Sync whose Follow_Up will only come after the port has left the role.
    v2::Message sync = leader_message(v2::MessageType::sync, 9);
    sync.header.flags = v2::flag::two_step;
    sync.body = v2::TimestampBody{};
    port.on_message(bytes_of(sync), Channel::event, now);

    // The leader goes quiet for the whole receipt timeout: listening, nothing kept.
    now += 3'000'000'000;
    port.on_timer(PortTimer::announce_receipt, now);
    REQUIRE(port.state() == PortState::listening);
    CHECK_FALSE(port.parent().has_value());
    CHECK_FALSE(port.mean_path_delay_ns().has_value());

    // It comes back: a fresh follower. The old Follow_Up completes nothing (no first
    // (t1, t2), so no Delay_Req at once) and there is no path delay until it is measured.
    port.on_message(bytes_of(leader_announce(2)), Channel::general, now + 1);
    port.on_message(bytes_of(leader_announce(3)), Channel::general, now + 1'000'000'000);
    REQUIRE(port.state() == PortState::uncalibrated);
    CHECK_FALSE(port.mean_path_delay_ns().has_value());
    v2::Message follow_up = leader_message(v2::MessageType::follow_up, 9);
    follow_up.body = v2::TimestampBody{from_ns(ts.ptp_ns_at(now))};
    const ActionList out = port.on_message(bytes_of(follow_up), Channel::general, now + 1'000'000'001);
    CHECK(out.empty());
    CHECK(port.counters().offsets == 0);
}

TEST_CASE("port roles: a Delay_Resp for a Delay_Req of a previous role is not measured") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    const int64_t now = follow_with_delay(port, ts, 0);
    // A second Delay_Req, transmitted, then the port faults before its answer comes.
    const auto sends = all<SendMessage>(port.on_timer(PortTimer::delay_req, now + 1'000'000'000));
    REQUIRE(sends.size() == 1);
    const auto req = v2::parse(sends[0].data(), 0);
    REQUIRE(req.has_value());
    port.on_tx_timestamp(*sends[0].timestamp_tag, now + 1'000'001'000);
    port.on_fault(now + 1'000'002'000);
    REQUIRE(port.state() == PortState::faulty);
    port.on_timer(PortTimer::fault_clear, now + 6'000'000'000);
    REQUIRE(port.state() == PortState::listening);
    follow_with_delay(port, ts, now + 6'000'000'000);  // the same leader again: one delay
    const uint64_t delays = port.counters().delays;

    v2::Message resp = leader_message(v2::MessageType::delay_resp, req->header.sequence_id);
    resp.body = v2::DelayRespBody{from_ns(ts.ptp_ns_at(now + 1'000'001'000 + kPath)), kUs};
    port.on_message(bytes_of(resp), Channel::general, now + 9'000'000'000);
    CHECK(port.counters().delays == delays);
}

TEST_CASE("port roles: the clock's lock moves uncalibrated <-> slave and keeps the follower's data") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    const int64_t now = follow_with_delay(port, ts, 0);
    ActionList out = port.on_clock_locked(true, now);
    CHECK(port.state() == PortState::slave);
    REQUIRE(all<StateChanged>(out).size() == 1);
    CHECK(port.mean_path_delay_ns() == kPath);
    out = port.on_clock_locked(false, now + 1);
    CHECK(port.state() == PortState::uncalibrated);
    CHECK(all<MasterSelected>(out).empty());
    CHECK(port.parent() == kLeader);
    CHECK(port.mean_path_delay_ns() == kPath);
    CHECK(port.on_clock_locked(false, now + 2).empty());  // no change, no action
}

TEST_CASE("port roles: a Sync's transmit timestamp that arrives after the port stopped leading sends no Follow_Up") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    port.on_timer(PortTimer::announce_receipt, 3'000'000'000);
    REQUIRE(port.state() == PortState::master);
    const auto sends = all<SendMessage>(port.on_timer(PortTimer::sync, 3'000'000'000));
    REQUIRE(sends.size() == 1);
    const uint32_t tag = *sends[0].timestamp_tag;

    // A better master appears: we follow it; then it vanishes and we lead again.
    port.on_message(bytes_of(leader_announce(0)), Channel::general, 3'100'000'000);
    port.on_message(bytes_of(leader_announce(1)), Channel::general, 4'000'000'000);
    REQUIRE(port.state() == PortState::uncalibrated);
    CHECK(all<SendMessage>(port.on_tx_timestamp(tag, 4'000'000'001)).empty());
    port.on_timer(PortTimer::announce_receipt, 7'000'000'000);
    REQUIRE(port.state() == PortState::listening);
    port.on_timer(PortTimer::announce_receipt, 10'000'000'000);
    REQUIRE(port.state() == PortState::master);
    CHECK(all<SendMessage>(port.on_tx_timestamp(tag, 10'000'000'001)).empty());

    // The new role's own Sync still gets its Follow_Up, with the next sequence number.
    const auto next = all<SendMessage>(port.on_timer(PortTimer::sync, 10'000'000'000));
    REQUIRE(next.size() == 1);
    CHECK((*next[0].timestamp_tag & 0xFFFFu) == ((tag & 0xFFFFu) + 1));
    CHECK(all<SendMessage>(port.on_tx_timestamp(*next[0].timestamp_tag, 10'000'000'002)).size() == 1);
}
