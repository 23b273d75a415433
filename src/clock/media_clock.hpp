#pragma once
// The interface every clock source (TAI, built-in PTP, PHC, usrvclock) implements.
//
// snapshot() is the real-time side: lock-free, no syscalls beyond what a seqlock read
// costs, callable from the graph cycle and the transmitter. update() is the maintenance
// side, called from a non-real-time thread (the main loop) to refresh the correlation.

#include <string>
#include <utility>
#include <vector>

#include "clock/clock_snapshot.hpp"

namespace dante {

class MediaClock {
public:
    virtual ~MediaClock() = default;

    [[nodiscard]] virtual ClockSnapshot snapshot() const = 0;

    // Re-measure the correlation. Never called from a real-time thread.
    virtual void update() = 0;

    // "tai", "ptp", "phc:/dev/ptp0", ... as published in dante.clock.source.
    [[nodiscard]] virtual std::string source_name() const = 0;

    // Identity of whoever we follow ("" when nobody), for dante.clock.master-id.
    [[nodiscard]] virtual std::string master_id() const { return {}; }

    // Main-loop side. Why the clock cannot be used right now, for dante.clock.problem and one
    // log line; "" while it can.
    [[nodiscard]] virtual std::string problem() const { return {}; }
    // Who keeps this clock: "in-process", "pipewire-dante-ptp@eth0 (pid 42)", ... for
    // dante.clock.provider; "" for clocks that are simply read from the kernel.
    [[nodiscard]] virtual std::string provider() const { return {}; }
    // Source-specific node properties (dante.ptp.* for the PTP clocks).
    [[nodiscard]] virtual std::vector<std::pair<std::string, std::string>> properties() const { return {}; }
};

}  // namespace dante
