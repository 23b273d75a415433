#pragma once
// The event-script language of the PTP port fuzz target (ptp_port_fuzz.cpp), shared with
// the seed-corpus generator so both agree on every byte.
//
// A script is a 2-byte setup, then records until the input ends (a truncated record is
// ignored):
//   setup[0]  bit 0: PTPv2 (else v1)     bit 1: slave-only       bit 2: PI servo (else linreg)
//             bit 3: we are a strong master candidate (priority1 50, or v1 "preferred")
//             bit 4: v2, our clockClass is 6 (a primary clock: loses -> PASSIVE)
//   setup[1]  bits 0-1: logSyncInterval -3 + n    bits 2-3: logAnnounceInterval -1 + n
//             bits 4-5: announceReceiptTimeout 2 + n
//   records   [op][operands...], op = kind | param << 4 (see Op)
//
// Simulated leaders (three, k = 0..2) keep their own timescale, priority and path delay;
// the harness builds their messages with the project's codecs, so they are valid unless
// the script patches them.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace dante::ptp::fuzz {

enum class Op : uint8_t {
    // [u16 big-endian n]: the shell sleeps n * unit (param & 3: 1 us, 1 ms, 100 ms, 1 s),
    // firing every timer that falls due on the way at its deadline, reporting overdue
    // transmit timestamps (after 20 ms, as the shell's fallback) and refreshing the clock
    // every second of the way.
    advance = 0,
    // Fire timer (param % 5) now, due or not (the port must ignore early calls).
    timer = 1,
    // [sel] [patch count bits 5-7 of sel] [(pos, xor)...]: a leader's message, valid, then
    // patched. sel bits 0-1: leader (3 = the last one again, 0); bits 2-4: LeaderMsg.
    // param bit 0: deliver on the other channel; param bits 1-3: receive timestamp
    // backdated by n * 500 us (never before the previous one on that channel).
    leader_msg = 2,
    // [tag selector]: report the transmit timestamp of a pending tagged send (selector
    // indexes the pending list) at param * 100 us after it was sent (capped at now); if
    // param = 15, a bogus tag: [u32 tag] follows.
    tx_timestamp = 3,
    // The shell lost its socket.
    fault = 4,
    // [len] [bytes...]: an arbitrary datagram, on channel param & 1.
    raw = 5,
    // [k] [priority1] [class or stratum] [rate int8: n * 4 ppm] [jump int8: n * 100 us]
    // [delay: n * 10 us]: reconfigure leader k (k % 3).
    leader_config = 6,
    // Loop one of our own recent datagrams back (multicast loopback): [index].
    echo = 7,
    // The shell's periodic re-anchor of the published clock.
    refresh = 8,
};

enum class LeaderMsg : uint8_t {
    sync_two_step = 0,  // Sync with the two-step flag, then its Follow_Up
    sync_one_step = 1,
    announce = 2,       // v1: a Sync (v1 carries the best-master data in Sync)
    delay_resp = 3,     // answers our latest Delay_Req
    follow_up_only = 4, // a Follow_Up for the leader's latest Sync (duplicate / late)
    sync_no_follow_up = 5,
    delay_req = 6,      // the leader, as a follower, asks us (we answer if master)
    announce_and_sync = 7,
};

inline constexpr uint8_t op(Op kind, uint8_t param = 0) {
    return static_cast<uint8_t>(static_cast<uint8_t>(kind) | (param << 4));
}

// Builds scripts for the seed corpus and the tests.
class ScriptWriter {
public:
    ScriptWriter(uint8_t setup0, uint8_t setup1) : bytes_{setup0, setup1} {}

    ScriptWriter& advance_us(uint16_t n) { return advance(0, n); }
    ScriptWriter& advance_ms(uint16_t n) { return advance(1, n); }
    ScriptWriter& advance_s(uint16_t n) { return advance(3, n); }
    ScriptWriter& timer(uint8_t which) { return raw_bytes({op(Op::timer, which)}); }
    ScriptWriter& leader(uint8_t k, LeaderMsg msg, uint8_t param = 0) {
        return raw_bytes({op(Op::leader_msg, param), static_cast<uint8_t>(k | (static_cast<uint8_t>(msg) << 2))});
    }
    ScriptWriter& leader_patched(uint8_t k, LeaderMsg msg, std::initializer_list<uint8_t> pos_xor) {
        const auto patches = static_cast<uint8_t>(pos_xor.size() / 2);
        raw_bytes({op(Op::leader_msg),
                   static_cast<uint8_t>(k | (static_cast<uint8_t>(msg) << 2) | (patches << 5))});
        for (uint8_t b : pos_xor) bytes_.push_back(b);
        return *this;
    }
    ScriptWriter& tx_timestamp(uint8_t selector, uint8_t late_100us = 0) {
        return raw_bytes({op(Op::tx_timestamp, late_100us), selector});
    }
    ScriptWriter& fault() { return raw_bytes({op(Op::fault)}); }
    ScriptWriter& configure(uint8_t k, uint8_t priority1, uint8_t quality, int8_t rate_4ppm, int8_t jump_100us,
                            uint8_t delay_10us) {
        return raw_bytes({op(Op::leader_config), k, priority1, quality, static_cast<uint8_t>(rate_4ppm),
                          static_cast<uint8_t>(jump_100us), delay_10us});
    }
    ScriptWriter& echo(uint8_t index) { return raw_bytes({op(Op::echo), index}); }
    ScriptWriter& refresh() { return raw_bytes({op(Op::refresh)}); }

    // One interval of a healthy leader k: (Announce +) Sync + Follow_Up, our pending
    // transmit stamp, the Delay_Resp to our latest Delay_Req, then `gap_ms` of time.
    ScriptWriter& leader_round(uint8_t k, uint16_t gap_ms, bool with_announce = true) {
        leader(k, with_announce ? LeaderMsg::announce_and_sync : LeaderMsg::sync_two_step);
        tx_timestamp(0, 1);
        leader(k, LeaderMsg::delay_resp);
        return advance_ms(gap_ms);
    }

    ScriptWriter& raw_bytes(std::initializer_list<uint8_t> b) {
        // Byte by byte: GCC 12 at -O3 misreads vector::insert of a short list as an
        // out-of-bounds memcpy (-Warray-bounds false positive).
        for (uint8_t x : b) bytes_.push_back(x);
        return *this;
    }
    [[nodiscard]] const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    ScriptWriter& advance(uint8_t unit, uint16_t n) {
        return raw_bytes({op(Op::advance, unit), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n & 0xFF)});
    }
    std::vector<uint8_t> bytes_;
};

namespace setup {
inline constexpr uint8_t v2 = 1u << 0;
inline constexpr uint8_t slave_only = 1u << 1;
inline constexpr uint8_t pi_servo = 1u << 2;
inline constexpr uint8_t strong = 1u << 3;
inline constexpr uint8_t primary = 1u << 4;
// setup[1] for logSyncInterval -2 (4 Hz, Dante's), announce 1 s... see the header comment.
inline constexpr uint8_t intervals(int8_t log_sync, int8_t log_announce, uint8_t receipt_timeout) {
    return static_cast<uint8_t>(((log_sync + 3) & 3) | (((log_announce + 1) & 3) << 2) |
                                (((receipt_timeout - 2) & 3) << 4));
}
}  // namespace setup

}  // namespace dante::ptp::fuzz
