#include "clock/tai_clock.hpp"

#include <sys/timex.h>
#include <time.h>

#include <cstdlib>

#include "util/clock_now.hpp"

namespace dante {
namespace {

class SystemTaiReference final : public ReferenceClock {
public:
    // Read TAI between two MONOTONIC reads and keep the tightest of a few tries: a
    // preemption between the reads would otherwise show up as offset error.
    Pair read_pair() override {
        Pair best{};
        int64_t best_window = INT64_MAX;
        for (int attempt = 0; attempt < 5; ++attempt) {
            const int64_t before = clock_now_ns(CLOCK_MONOTONIC);
            const int64_t tai = clock_now_ns(CLOCK_TAI);
            const int64_t after = clock_now_ns(CLOCK_MONOTONIC);
            if (after - before < best_window) {
                best_window = after - before;
                best = {before + (after - before) / 2, tai};
            }
        }
        return best;
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
