#pragma once
// The clock page: how one privileged PTP service shares its media clock with any number of
// unprivileged processes on the same host.
//
// Why: PTP's ports 319/320 are below 1024, so a desktop user's PipeWire may not bind them.
// `pipewire-dante-ptp` (tools/pipewire-dante-ptp, run as the systemd unit
// pipewire-dante-ptp@IF.service) runs the built-in engine on an interface and writes its
// clock into a page under /run; every module on that interface maps the page read-only and
// reads the clock from it, lock-free, with no round trip to anyone. Nothing flows the other
// way: a reader cannot make the service do anything.
//
// The file: <runtime dir>/ptp.<netns>.<interface>, where <netns> is the inode of the network
// namespace (two namespaces may both have an "eth0"), one 4 KiB page:
//   ClockPageHeader   magic, layout version, payload size (constant for the file's life)
//   SeqLock<SharedPtpState>   everything else, rewritten by the service at least 50 times a
//                     second (heartbeat_mono_ns tells a reader it is alive)
// A service always starts a new file (written whole, then renamed over the old one), so a
// reader that keeps an old mapping sees a frozen heartbeat, never a half-built page; one
// service per page is enforced with an flock on <file>.lock.
//
// Runtime dir: $PIPEWIRE_DANTE_RUNTIME_DIR if set, else /run/pipewire-dante (the unit's
// RuntimeDirectory).

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "clock/clock_snapshot.hpp"
#include "clock/seqlock.hpp"
#include "ptp/ptp_service.hpp"

namespace dante::ptp {

inline constexpr std::array<char, 8> kClockPageMagic{'D', 'N', 'T', 'P', 'T', 'P', 'C', 'K'};
inline constexpr uint32_t kClockPageLayout = 1;
inline constexpr size_t kClockPageSize = 4096;

// What the service publishes. Trivially copyable, fixed size: it crosses processes.
struct SharedPtpState {
    uint64_t instance = 0;          // random per service start
    int64_t started_mono_ns = 0;    // when that service started
    int64_t heartbeat_mono_ns = 0;  // CLOCK_MONOTONIC of this write
    int32_t pid = 0;
    uint32_t ifindex = 0;
    ClockSnapshot clock{};
    std::array<char, 32> grandmaster{};  // NUL-terminated master_id(), "" when nobody
    uint8_t version = 1;
    uint8_t domain = 0;
    ClockIdentity identity{};
    PtpStatus status{};
};

struct ClockPageHeader {
    std::array<char, 8> magic{};
    uint32_t layout = 0;
    uint32_t payload_size = 0;
};

struct ClockPage {
    ClockPageHeader header;
    SeqLock<SharedPtpState> state;
};
static_assert(sizeof(ClockPage) <= kClockPageSize);

// $PIPEWIRE_DANTE_RUNTIME_DIR, else /run/pipewire-dante.
std::string clock_page_dir();
// The page of `interface` in our network namespace; empty if the namespace is unknowable.
std::string clock_page_path(const std::string& dir, const std::string& interface);

// The service side: creates the page and publishes into it. One per interface.
class ClockPageWriter {
public:
    ~ClockPageWriter();
    ClockPageWriter(const ClockPageWriter&) = delete;
    ClockPageWriter& operator=(const ClockPageWriter&) = delete;

    // Creates `dir` if needed (0755), takes the lock, writes a new page (0644) and renames it
    // into place. Empty with `error` set if any step fails (another service holds the lock).
    static std::unique_ptr<ClockPageWriter> create(const std::string& dir, const std::string& interface,
                                                   std::string& error);

    void publish(const SharedPtpState& state) { page_->state.store(state); }
    [[nodiscard]] const std::string& path() const { return path_; }
    // Removes the page (a clean stop): readers then say the service is not running.
    void withdraw();

private:
    ClockPageWriter() = default;
    std::string path_;
    int lock_fd_ = -1;
    ClockPage* page_ = nullptr;
};

// The reader side: one read-only mapping of one page file.
class ClockPageMapping {
public:
    ~ClockPageMapping();
    ClockPageMapping(const ClockPageMapping&) = delete;
    ClockPageMapping& operator=(const ClockPageMapping&) = delete;

    // Maps `path` read-only after checking it is a regular file of the right size, that only
    // its owner may write it, and that its header is one this build reads. Empty with
    // `error` set otherwise (ENOENT: `missing` is set too).
    static std::unique_ptr<ClockPageMapping> open(const std::string& path, std::string& error, bool& missing);

    // Lock-free; empty only if the writer is mid-write for every attempt (or died there).
    [[nodiscard]] std::optional<SharedPtpState> read(int attempts = 8) const { return page_->state.try_load(attempts); }
    [[nodiscard]] ino_t inode() const { return inode_; }

private:
    ClockPageMapping() = default;
    const ClockPage* page_ = nullptr;
    ino_t inode_ = 0;
};

// A state read from a page is sane enough to drive the graph: a known clock state, a rate
// within 1000 ppm of nominal, a NUL-terminated grandmaster string. `why` says what is wrong.
bool plausible(const SharedPtpState& state, std::string& why);

}  // namespace dante::ptp
