#include "ptp_port_seeds.hpp"

#include "ptp_port_script.hpp"

namespace dante::ptp::fuzz {
namespace {

// Dante's rates: Sync at 4 Hz, Announce every 2 s, timeout after 3 announce intervals.
constexpr uint8_t kIntervals = setup::intervals(-2, 1, 3);
constexpr uint16_t kSyncGapMs = 250;

// Leader k runs `rounds` sync intervals (an Announce with every fourth Sync).
void lead(ScriptWriter& w, uint8_t k, int rounds) {
    for (int i = 0; i < rounds; ++i) w.leader_round(k, kSyncGapMs, i % 4 == 0);
}

// 12 s of a healthy leader 0 running 4 ppm fast with a 50 us path: lock.
ScriptWriter locked_follower(uint8_t setup0) {
    ScriptWriter w(setup0, kIntervals);
    w.configure(0, 100, (setup0 & setup::v2) != 0 ? 248 : 2, 1, 0, 5);
    lead(w, 0, 48);
    return w;
}

std::string suffix(uint8_t setup0) {
    std::string s = (setup0 & setup::v2) != 0 ? "_v2" : "_v1";
    if ((setup0 & setup::pi_servo) != 0) s += "_pi";
    return s;
}

}  // namespace

std::vector<PortSeed> port_seed_scripts() {
    std::vector<PortSeed> seeds;
    for (const uint8_t version : {uint8_t{0}, setup::v2}) {
        for (const uint8_t servo : {uint8_t{0}, setup::pi_servo}) {
            const uint8_t base = version | servo;
            seeds.push_back({"follower_lock" + suffix(base), locked_follower(base).bytes(),
                             {PortState::listening, PortState::uncalibrated, PortState::slave},
                             {ClockState::locked},
                             1});
        }

        // Locked, then the leader goes silent: LISTENING with the clock in holdover, then
        // (nobody better) MASTER; then the leader comes back and we follow it again.
        {
            ScriptWriter w = locked_follower(version);
            w.advance_s(5);
            w.advance_s(10);
            lead(w, 0, 24);
            seeds.push_back({"leader_loss" + suffix(version), w.bytes(),
                             {PortState::slave, PortState::listening, PortState::master, PortState::uncalibrated},
                             {ClockState::locked, ClockState::holdover, ClockState::master},
                             1});
        }
        // Slave-only: the same loss holds over in LISTENING and never leads.
        {
            ScriptWriter w = locked_follower(version | setup::slave_only);
            w.advance_s(30);
            seeds.push_back({"holdover_slave_only" + suffix(version), w.bytes(),
                             {PortState::slave, PortState::listening},
                             {ClockState::locked, ClockState::holdover},
                             1});
        }
        // Two leaders (and a third, worse than us): we follow the best, it fails, we
        // switch to the second; a step of the second's timescale on the way.
        {
            ScriptWriter w(version, kIntervals);
            for (int i = 0; i < 40; ++i) {
                w.leader_round(0, 0, i % 4 == 0);
                w.leader(1, i % 4 == 0 ? LeaderMsg::announce_and_sync : LeaderMsg::sync_two_step);
                if (i % 4 == 0) w.leader(2, LeaderMsg::announce_and_sync);
                w.advance_ms(kSyncGapMs);
            }
            w.configure(1, 110, version != 0 ? 248 : 3, -2, 50, 3);
            for (int i = 0; i < 60; ++i) w.leader_round(1, kSyncGapMs, i % 4 == 0);
            seeds.push_back({"two_leaders" + suffix(version), w.bytes(),
                             {PortState::uncalibrated, PortState::slave},
                             {ClockState::locked},
                             3});
        }
        // We are the better clock: MASTER at once; Sync + Follow_Up as our transmit stamps
        // come back, a follower's Delay_Req answered, our own datagrams looped back.
        {
            ScriptWriter w(version | setup::strong, kIntervals);
            for (int i = 0; i < 24; ++i) {
                w.leader(0, i % 4 == 0 ? LeaderMsg::announce_and_sync : LeaderMsg::sync_two_step);
                w.tx_timestamp(0, 2);
                w.leader(2, LeaderMsg::delay_req);
                w.echo(static_cast<uint8_t>(i));
                w.advance_ms(kSyncGapMs);
            }
            w.advance_s(6);
            seeds.push_back({"become_master" + suffix(version), w.bytes(),
                             {PortState::listening, PortState::master},
                             {ClockState::master},
                             1});
        }
        // A fault while locked: FAULTY, then back to LISTENING and the leader again.
        {
            ScriptWriter w = locked_follower(version);
            w.fault();
            w.advance_s(5);
            lead(w, 0, 24);
            seeds.push_back({"fault" + suffix(version), w.bytes(),
                             {PortState::slave, PortState::faulty, PortState::listening, PortState::uncalibrated},
                             {ClockState::locked, ClockState::holdover},
                             1});
        }
    }
    // v2 only: a primary clock (class 6) that loses on priority1 is PASSIVE.
    {
        ScriptWriter w(setup::v2 | setup::primary, kIntervals);
        lead(w, 0, 24);
        seeds.push_back({"passive_v2", w.bytes(), {PortState::passive}, {}, 1});
    }
    // A hostile leader: out-of-range times, wrong domain, truncated and patched messages.
    for (const uint8_t version : {uint8_t{0}, setup::v2}) {
        ScriptWriter w = locked_follower(version);
        for (int i = 0; i < 8; ++i) {
            w.leader_patched(0, LeaderMsg::sync_one_step, {static_cast<uint8_t>(40 + i), 0xFF});
            w.leader_patched(0, LeaderMsg::announce_and_sync, {static_cast<uint8_t>(0x80 | (34 + i)), 0x80});
            w.leader_patched(0, LeaderMsg::delay_resp, {4, 0x01, 36, 0x40});
            w.raw_bytes({op(Op::raw), 3, 0x02, 0x00, 0x00});
            w.advance_ms(kSyncGapMs);
        }
        w.configure(0, 100, version != 0 ? 248 : 2, 127, -128, 255);
        lead(w, 0, 16);
        seeds.push_back({"hostile" + suffix(version), w.bytes(), {PortState::slave}, {ClockState::locked}, 1});
    }
    return seeds;
}

}  // namespace dante::ptp::fuzz
