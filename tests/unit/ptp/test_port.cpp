// The port state machine driven by hand: exact messages in, exact actions out.
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "port_test_support.hpp"
#include "ptp/port.hpp"

using namespace dante::ptp;
using namespace port_test;

TEST_CASE("port: listening, two announces from a better master -> uncalibrated, then E2E offset and delay exactly") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    ActionList out = port.start(0);
    CHECK(port.state() == PortState::listening);
    REQUIRE(all<ArmTimer>(out).size() == 1);
    CHECK(all<ArmTimer>(out)[0].timer == PortTimer::announce_receipt);
    CHECK(all<ArmTimer>(out)[0].deadline_mono_ns == 3'000'000'000);

    out = port.on_message(bytes_of(leader_announce(0)), Channel::general, 100);
    CHECK(port.state() == PortState::listening);  // not qualified yet
    out = port.on_message(bytes_of(leader_announce(1)), Channel::general, 1'000'000'100);
    CHECK(port.state() == PortState::uncalibrated);
    REQUIRE(all<MasterSelected>(out).size() == 1);
    CHECK(all<MasterSelected>(out)[0].parent == kLeader);
    REQUIRE(port.parent().has_value());

    // The leader's clock is ours + 500 us exactly; the path is 40 us each way.
    const int64_t leader_ahead = 500'000;
    const int64_t path = 40'000;
    auto leader_time = [&](int64_t our_mono) { return ts.ptp_ns_at(our_mono) + leader_ahead; };

    // Two-step Sync sent at our mono 2 s - path, received at 2 s.
    const int64_t t2 = 2'000'000'000;
    v2::Message sync = leader_message(v2::MessageType::sync, 7);
    sync.header.flags = v2::flag::two_step;
    sync.body = v2::TimestampBody{from_ns(leader_time(t2 - path) - 123)};  // approximate: ignored
    out = port.on_message(bytes_of(sync), Channel::event, t2);
    CHECK(all<ClockSample>(out).empty());
    v2::Message follow_up = leader_message(v2::MessageType::follow_up, 7);
    follow_up.header.correction = 2 * 65536;  // 2 ns of residence time
    follow_up.body = v2::TimestampBody{from_ns(leader_time(t2 - path) - 2)};
    out = port.on_message(bytes_of(follow_up), Channel::general, t2 + 1'000);
    REQUIRE(all<ArmTimer>(out).size() == 1);  // the first Delay_Req goes out at once
    CHECK(all<ArmTimer>(out)[0].timer == PortTimer::delay_req);
    CHECK(all<ClockSample>(out).empty());  // no path delay yet: no offset

    out = port.on_timer(PortTimer::delay_req, t2 + 1'000);
    const auto sends = all<SendMessage>(out);
    REQUIRE(sends.size() == 1);
    CHECK(sends[0].channel == Channel::event);
    REQUIRE(sends[0].timestamp_tag.has_value());
    const auto delay_req = v2::parse(sends[0].data(), 0);
    REQUIRE(delay_req.has_value());
    CHECK(delay_req->header.type == v2::MessageType::delay_req);
    CHECK(delay_req->header.source == kUs);

    const int64_t t3 = t2 + 10'000;
    port.on_tx_timestamp(*sends[0].timestamp_tag, t3);
    v2::Message resp = leader_message(v2::MessageType::delay_resp, delay_req->header.sequence_id);
    resp.body = v2::DelayRespBody{from_ns(leader_time(t3 + path)), kUs};
    out = port.on_message(bytes_of(resp), Channel::general, t3 + 2 * path);
    REQUIRE(port.mean_path_delay_ns().has_value());
    CHECK(*port.mean_path_delay_ns() == path);

    // The next Sync yields the offset: ours - leader's = -500 us.
    const int64_t t2b = t2 + 125'000'000;
    v2::Message one_step = leader_message(v2::MessageType::sync, 8);
    one_step.body = v2::TimestampBody{from_ns(leader_time(t2b - path))};
    out = port.on_message(bytes_of(one_step), Channel::event, t2b);
    const auto samples = all<ClockSample>(out);
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].offset_ns == -leader_ahead);
    CHECK(samples[0].mean_path_delay_ns == path);
    CHECK(samples[0].sample_mono_ns == t2b);

    out = port.on_clock_locked(true, t2b);
    CHECK(port.state() == PortState::slave);
    CHECK(port.counters().offsets == 1);
    CHECK(port.counters().delays == 1);
}

TEST_CASE("port: leads when nobody is there; Sync/Follow_Up/Announce and Delay_Resp") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    // A timer firing early, or one that was never armed, does nothing.
    CHECK(port.on_timer(PortTimer::announce_receipt, 1'000).empty());
    CHECK(port.on_timer(PortTimer::sync, 5'000'000'000).empty());

    ActionList out = port.on_timer(PortTimer::announce_receipt, 3'000'000'000);
    CHECK(port.state() == PortState::master);
    bool sync_armed = false, announce_armed = false;
    for (const ArmTimer& t : all<ArmTimer>(out)) {
        sync_armed |= t.timer == PortTimer::sync && t.deadline_mono_ns == 3'000'000'000;
        announce_armed |= t.timer == PortTimer::announce && t.deadline_mono_ns == 3'000'000'000;
    }
    CHECK(sync_armed);
    CHECK(announce_armed);

    out = port.on_timer(PortTimer::sync, 3'000'000'000);
    auto sends = all<SendMessage>(out);
    REQUIRE(sends.size() == 1);
    const auto sync = v2::parse(sends[0].data(), 0);
    REQUIRE(sync.has_value());
    CHECK(sync->header.type == v2::MessageType::sync);
    CHECK((sync->header.flags & v2::flag::two_step) != 0);
    REQUIRE(sends[0].timestamp_tag.has_value());
    REQUIRE(all<ArmTimer>(out).size() == 1);
    CHECK(all<ArmTimer>(out)[0].deadline_mono_ns == 3'125'000'000);  // phase kept

    const uint32_t sync_tag = *sends[0].timestamp_tag;
    out = port.on_tx_timestamp(sync_tag, 3'000'000'777);
    sends = all<SendMessage>(out);
    REQUIRE(sends.size() == 1);
    const auto follow_up = v2::parse(sends[0].data(), 0);
    REQUIRE(follow_up.has_value());
    CHECK(follow_up->header.type == v2::MessageType::follow_up);
    CHECK(follow_up->header.sequence_id == sync->header.sequence_id);
    CHECK(to_ns(std::get<v2::TimestampBody>(follow_up->body).timestamp) == ts.ptp_ns_at(3'000'000'777));
    CHECK(port.on_tx_timestamp(sync_tag, 3'000'000'999).empty());  // a duplicate report sends nothing

    out = port.on_timer(PortTimer::announce, 3'000'000'000);
    sends = all<SendMessage>(out);
    REQUIRE(sends.size() == 1);
    const auto announce = v2::parse(sends[0].data(), 0);
    REQUIRE(announce.has_value());
    CHECK(std::get<v2::AnnounceBody>(announce->body).grandmaster == kUs.clock);

    v2::Message req;
    req.header.type = v2::MessageType::delay_req;
    req.header.source = kLeader;  // any follower
    req.header.sequence_id = 42;
    req.body = v2::TimestampBody{};
    out = port.on_message(bytes_of(req), Channel::event, 3'500'000'000);
    sends = all<SendMessage>(out);
    REQUIRE(sends.size() == 1);
    const auto resp = v2::parse(sends[0].data(), 0);
    REQUIRE(resp.has_value());
    CHECK(resp->header.sequence_id == 42);
    const auto& body = std::get<v2::DelayRespBody>(resp->body);
    CHECK(body.requesting == kLeader);
    CHECK(to_ns(body.receive_timestamp) == ts.ptp_ns_at(3'500'000'000));
}

TEST_CASE("port: ignores itself, other domains, other versions and the wrong socket") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    v2::Message own = leader_announce(0);
    own.header.source = kUs;
    port.on_message(bytes_of(own), Channel::general, 1);
    CHECK(port.counters().from_ourselves == 1);

    v2::Message other_domain = leader_announce(0);
    other_domain.header.domain = 5;
    port.on_message(bytes_of(other_domain), Channel::general, 1);
    CHECK(port.counters().wrong_domain == 1);

    port.on_message(bytes_of(leader_announce(0)), Channel::event, 1);  // announce on 319
    const std::array<uint8_t, 4> v1_bytes{0, 1, 0, 1};
    port.on_message(v1_bytes, Channel::event, 1);
    CHECK(port.counters().rejected == 3);
    CHECK(port.state() == PortState::listening);
}

TEST_CASE("port: a fault parks the port, the fault-clear timer brings it back to listening") {
    FixedTimescale ts;
    PtpPort port(v2_config(), ts);
    port.start(0);
    ActionList out = port.on_fault(10);
    CHECK(port.state() == PortState::faulty);
    CHECK(port.on_message(bytes_of(leader_announce(0)), Channel::general, 20).empty());
    CHECK(port.on_timer(PortTimer::announce_receipt, 3'000'000'000).empty());  // cancelled
    out = port.on_timer(PortTimer::fault_clear, 10 + 4'000'000'000);
    CHECK(port.state() == PortState::listening);
}

TEST_CASE("port: a v2 primary clock (class <= 127) that loses goes passive, not slave") {
    FixedTimescale ts;
    PortConfig c = v2_config();
    c.quality.clock_class = 6;
    c.priority1 = 128;
    PtpPort port(c, ts);
    port.start(0);
    port.on_message(bytes_of(leader_announce(0)), Channel::general, 1);
    port.on_message(bytes_of(leader_announce(1)), Channel::general, 2);
    CHECK(port.state() == PortState::passive);
}
