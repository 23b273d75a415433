#pragma once
// A media clock for tests of the flows and control services: locked, rate 1, 1000 s ahead
// of CLOCK_MONOTONIC at construction. Real time passes on it, so a transmitter paced by it
// sends as it would on a locked network clock.

#include <string>

#include "clock/media_clock.hpp"
#include "util/clock_now.hpp"

namespace dante::test {

class LockedTestClock final : public MediaClock {
public:
    LockedTestClock() {
        snap_.monotonic_ns = monotonic_now_ns();
        snap_.media_ns = 1'000'000'000'000;
        snap_.rate = 1.0;
        snap_.generation = 1;
        snap_.state = ClockState::locked;
    }
    [[nodiscard]] ClockSnapshot snapshot() const override { return snap_; }
    void update() override {}
    [[nodiscard]] std::string source_name() const override { return "test"; }
    [[nodiscard]] int64_t media_now() const { return snap_.media_ns_at(monotonic_now_ns()); }

private:
    ClockSnapshot snap_;
};

}  // namespace dante::test
