#pragma once
// What a PTP port needs to know about the clock it runs on: the PTP time at a local
// (CLOCK_MONOTONIC) instant. The port stamps its outgoing timestamps and interprets
// received ones through this; it never disciplines anything itself.

#include <cstdint>

namespace dante::ptp {

class Timescale {
public:
    virtual ~Timescale() = default;
    [[nodiscard]] virtual int64_t ptp_ns_at(int64_t mono_ns) const = 0;
    // The timescale's rate against monotonic time (to scale local intervals).
    [[nodiscard]] virtual double rate() const = 0;
};

}  // namespace dante::ptp
