#include "clock/tai_clock.hpp"

#include <sys/timex.h>
#include <time.h>

#include <cstdlib>

#include "util/clock_now.hpp"

namespace dante {
namespace {

class SystemTaiReference final : public ReferenceClock {
public:
    Pair read_pair() override {
        const MonotonicPair pair = read_against_monotonic(CLOCK_TAI, 5);
        return {pair.monotonic_ns, pair.other_ns};
    }

    bool disciplined() override {
        timex tx{};
        const int state = adjtimex(&tx);
        return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
    }
};

}  // namespace

std::unique_ptr<ReferenceClock> make_system_tai_reference() { return std::make_unique<SystemTaiReference>(); }

TaiClock::TaiClock(std::unique_ptr<ReferenceClock> reference) : reference_(std::move(reference)) { update(); }

void TaiClock::update() {
    const ReferenceClock::Pair pair = reference_->read_pair();
    ClockSnapshot next{};
    next.monotonic_ns = pair.monotonic_ns;
    next.media_ns = pair.reference_ns;
    next.rate = 1.0;
    next.state = reference_->disciplined() ? ClockState::locked : ClockState::free_running;
    if (last_.generation == 0) {
        next.generation = 1;
    } else {
        const int64_t moved = pair.reference_ns - last_.media_ns_at(pair.monotonic_ns);
        next.offset_ns = moved;
        const bool stepped = std::llabs(moved) > kStepThresholdNs;
        next.generation = last_.generation + ((stepped || next.state != last_.state) ? 1 : 0);
    }
    last_ = next;
    published_.store(next);
}

}  // namespace dante
