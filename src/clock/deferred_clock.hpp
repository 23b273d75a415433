#pragma once
// A clock that cannot be opened yet: a PHC the user may not read (/dev/ptp0 is root's on
// most systems), a device that appears later. The sink still loads, so the user's audio is
// never taken down: the clock reads unsynchronized (nothing is sent), problem() says why,
// and update() (main loop) tries to open it again every few seconds. Once open, every call
// goes to the real clock, which lives as long as this one.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "clock/media_clock.hpp"

namespace dante {

class DeferredClock final : public MediaClock {
public:
    // Returns the clock, or nullptr with `error` set.
    using Opener = std::function<std::unique_ptr<MediaClock>(std::string& error)>;
    static constexpr int64_t kRetryNs = 5'000'000'000;

    // Tries once at once, then every `retry_ns` from update(); `name` is the source's name.
    DeferredClock(std::string name, Opener opener, int64_t retry_ns = kRetryNs);

    [[nodiscard]] ClockSnapshot snapshot() const override {
        const MediaClock* open = open_.load(std::memory_order_acquire);
        return open != nullptr ? open->snapshot() : ClockSnapshot{};
    }
    void update() override;
    [[nodiscard]] std::string source_name() const override { return name_; }
    [[nodiscard]] std::string master_id() const override { return owned_ ? owned_->master_id() : std::string{}; }
    [[nodiscard]] std::string problem() const override { return owned_ ? owned_->problem() : problem_; }
    [[nodiscard]] std::string provider() const override { return owned_ ? owned_->provider() : std::string{}; }
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> properties() const override {
        return owned_ ? owned_->properties() : std::vector<std::pair<std::string, std::string>>{};
    }

    [[nodiscard]] bool is_open() const { return owned_ != nullptr; }

private:
    void try_open(int64_t now);

    std::string name_;
    Opener opener_;
    std::unique_ptr<MediaClock> owned_;  // main loop
    std::atomic<const MediaClock*> open_{nullptr};
    std::string problem_;
    int64_t retry_ns_;
    int64_t next_try_ns_ = 0;
};

}  // namespace dante
