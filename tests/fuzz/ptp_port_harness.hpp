#pragma once
// Runs one event script (ptp_port_script.hpp) against a PtpNode (port + media clock +
// servo) the way the shell (ptp_service.cpp) would drive it, checking invariants after
// every event; a violation prints what broke and aborts, which the fuzzer reports.
//
// What the simulated shell guarantees, as the real one does:
//  - "now" never goes backwards; timers fire at or after their deadline, never twice per
//    arming; overdue transmit timestamps are reported after 20 ms with the send time;
//  - a receive timestamp is at most now, at most 3.5 ms old, and never earlier than the
//    previous one on the same socket (the kernel stamps each socket in arrival order;
//    the event and general sockets may interleave);
//  - a transmit timestamp is between the send and now.
// Invariants checked after every event:
//  - the action list did not overflow; every state change starts from the current state;
//    the port's state and the clock's state are valid enums, and agree (port master ->
//    clock master, port slave -> clock locked);
//  - the foreign-master table stays within its capacity;
//  - every datagram we send parses back with our own codec, on the right channel, from
//    our identity, within the size limit, and only event messages ask for a timestamp;
//  - every time we publish (origin, precise origin, receipt) never goes back, per message
//    type, while the clock's generation stays the same;
//  - every timer deadline is at or after the instant of the event that armed it, and at
//    most 100 s ahead;
//  - the clock's rate is finite and within 1e-3 of 1; the generation never decreases;
//    while it stays the same, media time at the shell's now never goes back and never
//    runs ahead of (1 + 1e-3) x the elapsed time: any step must come with a new
//    generation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dante::ptp::fuzz {

struct PortScriptReport {
    std::array<bool, 7> port_states{};   // reached, indexed by PortState
    std::array<bool, 5> clock_states{};  // reached, indexed by ClockState
    size_t max_foreign_masters = 0;
    size_t events = 0;
    size_t clock_samples = 0;
    size_t sent = 0;
    size_t generation_changes = 0;
};

PortScriptReport run_port_script(std::span<const uint8_t> script);

}  // namespace dante::ptp::fuzz
