#include "clock/deferred_clock.hpp"

#include "util/clock_now.hpp"

namespace dante {

DeferredClock::DeferredClock(std::string name, Opener opener, int64_t retry_ns)
    : name_(std::move(name)), opener_(std::move(opener)), retry_ns_(retry_ns) {
    try_open(monotonic_now_ns());
}

void DeferredClock::try_open(int64_t now) {
    std::string error;
    auto clock = opener_(error);
    if (!clock) {
        problem_ = "dante.clock.source = " + name_ + ": " + error + " (retrying every " +
                   std::to_string(retry_ns_ / 1'000'000'000) + " s)";
        next_try_ns_ = now + retry_ns_;
        return;
    }
    clock->update();
    owned_ = std::move(clock);
    problem_.clear();
    open_.store(owned_.get(), std::memory_order_release);
}

void DeferredClock::update() {
    if (owned_) {
        owned_->update();
        return;
    }
    const int64_t now = monotonic_now_ns();
    if (now >= next_try_ns_) try_open(now);
}

}  // namespace dante
