#pragma once
// The media clock of a pipewire-dante-ptp service, read from its clock page
// (ptp/clock_page.hpp): what a desktop user's unprivileged PipeWire runs on.
//
// snapshot() (any thread, real-time safe) reads the page through its seqlock: a few loads,
// no system call, no lock; the graph and the transmitter see each servo correction as soon
// as the service writes it. update() (main loop, about once a second) does everything
// else: maps the page when it appears, follows a restarted service to its new page,
// notices a service that stopped writing, and says why the clock is not usable.
//
// States: unsynchronized while there is no page (the sink loads and waits; it locks by
// itself when the service starts); the service's own state while it writes; holdover on
// the last line when its heartbeat stops (the same as a leader going silent). A new service
// instance is a new timescale: our generation moves past every one published before.
//
// A page replaced under us stays mapped until the next update(), so a reader that picked
// up the old mapping just before the switch finishes its few loads on valid memory.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "clock/media_clock.hpp"
#include "clock/seqlock.hpp"
#include "ptp/clock_page.hpp"

namespace dante::ptp {

// What the sink's config asks of the PTP clock: a service that runs another version or
// domain is still used (it is what the network has), but dante.clock.problem says so.
struct PtpExpectation {
    uint8_t version = 0;  // 0: any (auto)
    uint8_t domain = 0;
};

class SharedPtpClock final : public MediaClock {
public:
    // A heartbeat older than this means the service stopped (it writes every 20 ms).
    static constexpr int64_t kStaleNs = 1'000'000'000;

    using Expectation = PtpExpectation;

    // `why_not_in_process`: why this process does not run PTP itself, for the message
    // shown while no service is there ("" when nobody tried).
    SharedPtpClock(std::string interface, std::string dir, std::string why_not_in_process = {},
                   Expectation expected = {});
    ~SharedPtpClock() override;
    SharedPtpClock(const SharedPtpClock&) = delete;
    SharedPtpClock& operator=(const SharedPtpClock&) = delete;

    // Whether a live service publishes a page for `interface` (main loop, at creation).
    static bool service_running(const std::string& interface, const std::string& dir);

    [[nodiscard]] ClockSnapshot snapshot() const override;
    void update() override;
    [[nodiscard]] std::string source_name() const override { return "ptp"; }
    [[nodiscard]] std::string master_id() const override;
    [[nodiscard]] std::string problem() const override { return problem_; }
    [[nodiscard]] std::string provider() const override { return provider_; }
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> properties() const override;

    [[nodiscard]] const std::string& page_path() const { return path_; }

private:
    struct Mapping {
        std::unique_ptr<ClockPageMapping> page;
        uint64_t generation_offset = 0;  // added to the page's generations
    };

    [[nodiscard]] ClockSnapshot convert(const Mapping& mapping, const SharedPtpState& state) const;
    void map_if_new(int64_t now);
    std::string unit_name() const;

    std::string interface_;
    std::string path_;
    std::string why_not_in_process_;
    Expectation expected_;

    // Read by snapshot() from any thread.
    std::atomic<const Mapping*> current_{nullptr};
    std::atomic<bool> stale_{false};
    SeqLock<ClockSnapshot> fallback_;  // the last good snapshot, if a page read fails

    // Main loop only.
    std::unique_ptr<Mapping> owned_;    // what current_ points to
    std::unique_ptr<Mapping> retired_;  // the one before, freed at the next update()
    SharedPtpState last_state_{};
    bool have_state_ = false;
    uint64_t last_generation_ = 0;
    std::string problem_;
    std::string provider_ = "none";
};

}  // namespace dante::ptp
