// The PTP port fuzz target's seed scripts reach the depths they were written for (lock,
// holdover, master, passive, several foreign masters), with every invariant of the
// harness checked on the way; if a change to the engine stops a seed short, the fuzzer
// would silently start from shallower states, so it fails here instead.
#include <doctest/doctest.h>

#include <string>

#include "../../fuzz/ptp_port_harness.hpp"
#include "../../fuzz/ptp_port_seeds.hpp"

using namespace dante;
using namespace dante::ptp;
using namespace dante::ptp::fuzz;

TEST_CASE("port fuzz seeds reach their states") {
    const auto seeds = port_seed_scripts();
    CHECK(seeds.size() >= 10);
    for (const PortSeed& seed : seeds) {
        CAPTURE(seed.name);
        const PortScriptReport report = run_port_script(seed.script);
        for (const PortState state : seed.port_states) {
            CAPTURE(std::string(to_string(state)));
            CHECK(report.port_states[static_cast<size_t>(state)]);
        }
        for (const ClockState state : seed.clock_states) {
            CAPTURE(std::string(to_string(state)));
            CHECK(report.clock_states[static_cast<size_t>(state)]);
        }
        CHECK(report.max_foreign_masters >= seed.min_foreign_masters);
        CHECK(report.events > 10);
    }
}

TEST_CASE("port fuzz harness: truncated and empty scripts are harmless") {
    const auto seeds = port_seed_scripts();
    REQUIRE(!seeds.empty());
    const auto& script = seeds.front().script;
    for (size_t n = 0; n < script.size(); n += 7) {
        (void)run_port_script(std::span<const uint8_t>(script.data(), n));
    }
}
