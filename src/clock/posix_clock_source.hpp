#pragma once
// Media clock = any kernel clock, tracked against CLOCK_MONOTONIC: `phc:/dev/ptpN`.
//
// linuxptp's ptp4l disciplines a NIC's PTP hardware clock (PHC) to the network's PTP time
// and leaves the system clocks alone. CLOCK_MONOTONIC keeps the kernel's own rate, so the
// PHC runs at a slightly different one: each update() reads a tight (monotonic, reference,
// monotonic) sandwich and a RateTracker fits offset and rate over the recent samples. We
// only ever read the reference clock; nothing here sets or slews any clock.
//
// The reference is any clockid, so the same code path runs against CLOCK_REALTIME or
// CLOCK_TAI in tests on machines without a PHC; a PHC is just one way to get a clockid
// (the kernel's FD_TO_CLOCKID of an open /dev/ptpN).

#include <time.h>

#include <memory>
#include <string>

#include "clock/media_clock.hpp"
#include "clock/rate_tracker.hpp"
#include "clock/seqlock.hpp"
#include "clock/tai_clock.hpp"

namespace dante {

// Reads `id` between two CLOCK_MONOTONIC reads, keeping the tightest of a few tries.
// Owns `fd` (closed on destruction) when the clockid is derived from an open device.
class PosixClockReference final : public ReferenceClock {
public:
    explicit PosixClockReference(clockid_t id, int owned_fd = -1) : id_(id), fd_(owned_fd) {}
    ~PosixClockReference() override;
    PosixClockReference(const PosixClockReference&) = delete;
    PosixClockReference& operator=(const PosixClockReference&) = delete;

    Pair read_pair() override;
    // Whoever disciplines a PHC (ptp4l) is not visible from here: assume it is.
    bool disciplined() override { return true; }
    [[nodiscard]] clockid_t clock_id() const { return id_; }

private:
    clockid_t id_;
    int fd_;
};

// The kernel's FD_TO_CLOCKID: a dynamic posix clock named by an open file descriptor.
constexpr clockid_t clockid_of_fd(int fd) { return static_cast<clockid_t>((~static_cast<unsigned>(fd) << 3) | 3u); }

// Opens a PTP hardware clock read-only. nullptr and a message naming the device and the
// cause (no such device, permission denied, not a PTP hardware clock) on failure.
std::unique_ptr<PosixClockReference> open_phc_reference(const std::string& path, std::string& error);

class TrackedClock final : public MediaClock {
public:
    TrackedClock(std::unique_ptr<ReferenceClock> reference, std::string source_name);

    [[nodiscard]] ClockSnapshot snapshot() const override { return published_.load(); }
    void update() override;
    [[nodiscard]] std::string source_name() const override { return name_; }

private:
    std::unique_ptr<ReferenceClock> reference_;
    std::string name_;
    RateTracker tracker_;
    ClockSnapshot last_{};
    SeqLock<ClockSnapshot> published_;
};

}  // namespace dante
