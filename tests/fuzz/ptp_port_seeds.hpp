#pragma once
// The seed scripts of the PTP port fuzz target (ptp_port_script.hpp), each with the states
// it must reach: the corpus generator writes them out, and a unit test replays them so a
// change that stops a seed from reaching its depth (and so blinds the fuzzer) is noticed.

#include <cstdint>
#include <string>
#include <vector>

#include "clock/clock_snapshot.hpp"
#include "ptp/port_actions.hpp"

namespace dante::ptp::fuzz {

struct PortSeed {
    std::string name;
    std::vector<uint8_t> script;
    std::vector<PortState> port_states;    // each reached at some point
    std::vector<ClockState> clock_states;  // each reached at some point
    size_t min_foreign_masters = 0;        // the table held this many at once
};

std::vector<PortSeed> port_seed_scripts();

}  // namespace dante::ptp::fuzz
