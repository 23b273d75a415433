#pragma once
// A clock servo: turns offset measurements into a rate (and, rarely, a step) for the
// clock being disciplined. Interchangeable like linuxptp's servos (pi, linreg, ...).
//
// Here the disciplined clock is never a system clock: it is the media-clock overlay
// media = f(CLOCK_MONOTONIC). So "rate" is the overlay's absolute rate (media ns per
// monotonic ns) and "step" an amount to subtract from the overlay, both applied by the
// caller (PtpMediaClock) right after sample() returns.

#include <cstdint>
#include <optional>
#include <string_view>

namespace dante::ptp {

enum class ServoState : uint8_t {
    unlocked,  // gathering samples (first ones after start or reset)
    jump,      // this sample asks for a step; locked from the next one
    locked,    // tracking: rate corrections only
};

std::string_view to_string(ServoState state);

struct ServoOutput {
    double rate = 1.0;                  // set the overlay to this rate, from this sample on
    std::optional<int64_t> step_ns;     // if set: subtract this from the overlay now
    ServoState state = ServoState::unlocked;
};

class Servo {
public:
    virtual ~Servo() = default;
    // offset_ns: our clock minus the master's, measured at local instant local_ns
    // (monotonic). Samples come in local-time order.
    virtual ServoOutput sample(int64_t offset_ns, int64_t local_ns) = 0;
    // Forget the measurement history (new master, or after holdover); keeps the frequency
    // estimate, so a re-lock starts from the last known rate.
    virtual void reset() = 0;
    // The interval between samples, for gains that depend on it.
    virtual void set_interval(double seconds) = 0;
    // The rate the servo would apply now with no new information (for holdover).
    [[nodiscard]] virtual double rate() const = 0;
};

}  // namespace dante::ptp
