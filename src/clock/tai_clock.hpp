#pragma once
// Media clock = CLOCK_TAI.
//
// For hosts where linuxptp (ptp4l + phc2sys) already disciplines the system clock to the
// network's PTP time. CLOCK_TAI and CLOCK_MONOTONIC are both driven by the kernel's one
// timekeeper and slewed together, so between steps their rate ratio is exactly 1; only
// steps (settimeofday, a leap-second table change, phc2sys stepping) move the offset, and
// each one is a discontinuity that bumps the generation.

#include <memory>

#include "clock/media_clock.hpp"
#include "clock/seqlock.hpp"

namespace dante {

// Where the TAI clock reading comes from: the kernel in production, a script in tests.
class ReferenceClock {
public:
    struct Pair {
        int64_t monotonic_ns;
        int64_t reference_ns;
    };
    virtual ~ReferenceClock() = default;
    virtual Pair read_pair() = 0;
    // Whether something (NTP, phc2sys) disciplines the reference right now.
    virtual bool disciplined() = 0;
};

std::unique_ptr<ReferenceClock> make_system_tai_reference();

class TaiClock final : public MediaClock {
public:
    // An offset change larger than this between two updates is a step, not noise.
    static constexpr int64_t kStepThresholdNs = 100'000;

    explicit TaiClock(std::unique_ptr<ReferenceClock> reference);

    [[nodiscard]] ClockSnapshot snapshot() const override { return published_.load(); }
    void update() override;
    [[nodiscard]] std::string source_name() const override { return "tai"; }

private:
    std::unique_ptr<ReferenceClock> reference_;
    ClockSnapshot last_{};
    SeqLock<ClockSnapshot> published_;
};

}  // namespace dante
