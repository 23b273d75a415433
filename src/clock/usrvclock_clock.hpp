#pragma once
// Media clock = the overlay a usrvclock server publishes: `usrvclock:PATH`.
//
// For hosts that already run Inferno's statime fork (virtual-system-clock + usrvclock-export):
// statime follows the network's PTP leader and publishes, as a clock overlay, how to turn a
// kernel clock's reading into PTP time; Inferno reads the same socket, so both can run side
// by side on one statime. The wire format and its sources are in usrvclock_protocol.hpp.
//
// Transport (usrvclock-rs `lib.rs`: `Server::new`, `Server::send`, `AsyncClient::start`,
// `client_socket_path`): the server binds a datagram unix socket at PATH. A client binds a
// datagram socket of its own at a path (upstream: usrvclock-client.PID.N in the temp dir),
// connects it to PATH and sends one empty datagram; the server picks up that address on its
// next send and from then on sends every overlay update there (statime: whenever its servo
// adjusts the overlay; the library asks servers for at least one per second). The server
// forgets a client whose socket is gone. A client never hears that the server went away
// (unix datagram sockets carry no hang-up), so after a silence we re-register, with backoff.
//
// All I/O happens in update() (main loop, non-blocking); snapshot() is the seqlock read.
// States: unsynchronized until the first overlay; locked while overlays keep coming;
// holdover when they stop (we keep extrapolating the last overlay, which stays a valid
// mapping of the kernel clock to PTP time until the leader's clock drifts away from it).
//
// Conversion: the overlay is a function of the kernel clock it names, u -> overlay(u). Each
// update reads a tight (MONOTONIC, u, MONOTONIC) sandwich (no sandwich when u is MONOTONIC
// itself) and publishes media_ns = overlay(u) at that monotonic instant. Its rate against
// MONOTONIC is (1 + freq_scale) times du/dmono: exactly 1 for CLOCK_REALTIME, CLOCK_TAI,
// CLOCK_BOOTTIME and MONOTONIC (one kernel timekeeper slews them together), measured with
// a RateTracker for any other clock (CLOCK_MONOTONIC_RAW runs at the unslewed rate). A step
// of the underlying clock (settimeofday on CLOCK_REALTIME) shows as a jump until statime
// re-exports; any jump over kStepThresholdNs bumps the generation. (Inferno additionally
// shifts its media clock 0.5 ms into the past in its own media_clock.rs; that is Inferno's
// transmit policy, not part of the protocol, and not applied here.)

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "clock/media_clock.hpp"
#include "clock/posix_clock_source.hpp"
#include "clock/rate_tracker.hpp"
#include "clock/seqlock.hpp"
#include "clock/usrvclock_protocol.hpp"

namespace dante {

class UsrvclockClock final : public MediaClock {
public:
    struct Options {
        int64_t silence_before_reconnect_ns = 3'000'000'000;  // upstream servers send >= 1/s
        int64_t first_backoff_ns = 250'000'000;               // upstream client retries every 250 ms
        int64_t max_backoff_ns = 8'000'000'000;
        std::string client_dir;  // where our reply socket lives: empty = $TMPDIR or /tmp
    };
    static constexpr int64_t kStepThresholdNs = 100'000;

    struct Stats {
        uint64_t overlays = 0;   // accepted messages
        uint64_t dropped = 0;    // malformed messages, all causes
        uint64_t truncated = 0;  // shorter than an overlay
        uint64_t oversized = 0;  // longer than kMaxDatagramSize
        uint64_t invalid = 0;    // right size, wrong content (magic, version, flags, values)
        uint64_t connects = 0;   // registrations sent to the server
    };

    UsrvclockClock(std::string server_path, Options options);
    explicit UsrvclockClock(std::string server_path) : UsrvclockClock(std::move(server_path), Options{}) {}
    ~UsrvclockClock() override;
    UsrvclockClock(const UsrvclockClock&) = delete;
    UsrvclockClock& operator=(const UsrvclockClock&) = delete;

    [[nodiscard]] ClockSnapshot snapshot() const override { return published_.load(); }
    void update() override;
    [[nodiscard]] std::string source_name() const override { return "usrvclock:" + server_path_; }

    // Main-loop side only (the thread that calls update()).
    [[nodiscard]] Stats stats() const { return stats_; }
    [[nodiscard]] std::optional<usrvclock::Overlay> overlay() const { return overlay_; }

private:
    void connect_if_due(int64_t now);
    void disconnect();
    void receive(int64_t now);
    void accept(const usrvclock::Overlay& overlay, int64_t now);
    void publish(int64_t now);

    std::string server_path_;
    Options options_;
    int fd_ = -1;
    std::string client_path_;
    unsigned connect_counter_ = 0;
    int64_t next_connect_ns_ = 0;
    int64_t backoff_ns_ = 0;
    int64_t last_heard_ns_ = 0;    // last datagram of any kind, or the registration: silence timer
    int64_t last_overlay_ns_ = 0;  // last accepted overlay: locked vs holdover

    std::optional<usrvclock::Overlay> overlay_;
    std::unique_ptr<PosixClockReference> underlying_;  // reads overlay_->clock_id
    RateTracker underlying_rate_;                      // only for clocks not slewed with MONOTONIC
    Stats stats_{};
    ClockSnapshot last_{};
    SeqLock<ClockSnapshot> published_;
};

}  // namespace dante
