#include "clock/usrvclock_clock.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>

#include "util/clock_now.hpp"

namespace dante {
namespace {

// Clocks the kernel timekeeper slews together with CLOCK_MONOTONIC: their rate against it is 1.
bool runs_with_monotonic(int64_t clock_id) {
    return clock_id == CLOCK_MONOTONIC || clock_id == CLOCK_REALTIME || clock_id == CLOCK_TAI ||
           clock_id == CLOCK_BOOTTIME;
}

bool fill_address(const std::string& path, sockaddr_un& address) {
    address = {};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) return false;
    std::memcpy(address.sun_path, path.data(), path.size());
    return true;
}

// Bounded per update, so a server flooding us cannot hold the main loop.
constexpr int kMaxDatagramsPerUpdate = 64;

}  // namespace

UsrvclockClock::UsrvclockClock(std::string server_path, Options options)
    : server_path_(std::move(server_path)), options_(std::move(options)), backoff_ns_(options_.first_backoff_ns) {
    if (options_.client_dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        options_.client_dir = (tmp && *tmp) ? tmp : "/tmp";
    }
    update();
}

UsrvclockClock::~UsrvclockClock() { disconnect(); }

void UsrvclockClock::disconnect() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (!client_path_.empty()) unlink(client_path_.c_str());
    client_path_.clear();
}

void UsrvclockClock::connect_if_due(int64_t now) {
    if (now < next_connect_ns_) return;
    sockaddr_un server{}, own{};
    const std::string path = options_.client_dir + "/dante-usrvclock-client." + std::to_string(getpid()) + "." +
                             std::to_string(connect_counter_++);
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && fill_address(server_path_, server) && fill_address(path, own);
    if (ok) {
        unlink(path.c_str());  // a leftover of a crashed process with our pid
        // The server needs our address to reply to: bind, connect (so only the server can
        // reach this socket), and register with one empty datagram.
        ok = bind(fd, reinterpret_cast<const sockaddr*>(&own), sizeof own) == 0;
        if (ok) client_path_ = path;
        ok = ok && connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) == 0 &&
             send(fd, "", 0, MSG_NOSIGNAL) == 0;
    }
    if (!ok) {
        if (fd >= 0) close(fd);
        if (!client_path_.empty()) unlink(client_path_.c_str());
        client_path_.clear();
        next_connect_ns_ = now + backoff_ns_;
        backoff_ns_ = std::min(backoff_ns_ * 2, options_.max_backoff_ns);
        return;
    }
    fd_ = fd;
    ++stats_.connects;
    last_heard_ns_ = now;
}

void UsrvclockClock::receive(int64_t now) {
    std::array<uint8_t, usrvclock::kMaxDatagramSize + 1> buffer{};
    for (int i = 0; i < kMaxDatagramsPerUpdate && fd_ >= 0; ++i) {
        // MSG_TRUNC: the datagram's real length, so an oversized one is seen as such.
        const ssize_t n = recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            disconnect();  // the server's socket went away under us: register again later
            next_connect_ns_ = now + backoff_ns_;
            return;
        }
        last_heard_ns_ = now;
        const size_t size = std::min(static_cast<size_t>(n), buffer.size());
        const usrvclock::ParseResult parsed = usrvclock::parse(std::span<const uint8_t>(buffer.data(), size));
        if (!parsed.overlay) {
            ++stats_.dropped;
            if (parsed.error == usrvclock::ParseError::truncated)
                ++stats_.truncated;
            else if (parsed.error == usrvclock::ParseError::oversized)
                ++stats_.oversized;
            else
                ++stats_.invalid;
            continue;
        }
        accept(*parsed.overlay, now);
    }
}

void UsrvclockClock::accept(const usrvclock::Overlay& overlay, int64_t now) {
    const auto id = static_cast<clockid_t>(overlay.clock_id);
    if (!underlying_ || underlying_->clock_id() != id) {
        timespec ts{};
        if (clock_gettime(id, &ts) != 0) {  // a clock this kernel does not have
            ++stats_.dropped;
            ++stats_.invalid;
            return;
        }
        underlying_ = std::make_unique<PosixClockReference>(id);
        underlying_rate_.reset();
    }
    overlay_ = overlay;
    last_overlay_ns_ = now;
    backoff_ns_ = options_.first_backoff_ns;
    ++stats_.overlays;
}

void UsrvclockClock::publish(int64_t now) {
    if (!overlay_) return;  // still the initial unsynchronized snapshot
    int64_t mono = 0;
    int64_t underlying = 0;
    if (overlay_->clock_id == CLOCK_MONOTONIC) {
        mono = underlying = clock_now_ns(CLOCK_MONOTONIC);
    } else {
        const ReferenceClock::Pair pair = underlying_->read_pair();
        mono = pair.monotonic_ns;
        underlying = pair.reference_ns;
    }
    const double underlying_rate =
        runs_with_monotonic(overlay_->clock_id) ? 1.0 : underlying_rate_.add(mono, underlying).rate;

    ClockSnapshot next{};
    next.monotonic_ns = mono;
    next.media_ns = overlay_->overlay_ns_at(underlying);
    next.rate = (1.0 + overlay_->freq_scale) * underlying_rate;
    const bool fresh = fd_ >= 0 && now - last_overlay_ns_ <= options_.silence_before_reconnect_ns;
    next.state = fresh ? ClockState::locked : ClockState::holdover;
    if (last_.valid()) {
        next.offset_ns = next.media_ns - last_.media_ns_at(mono);
        const bool stepped = std::llabs(next.offset_ns) > kStepThresholdNs;
        next.generation = last_.generation + ((stepped || next.state != last_.state) ? 1 : 0);
    } else {
        next.generation = last_.generation + 1;
    }
    last_ = next;
    published_.store(next);
}

void UsrvclockClock::update() {
    const int64_t now = monotonic_now_ns();
    if (fd_ < 0) connect_if_due(now);
    if (fd_ >= 0) receive(now);
    if (fd_ >= 0 && now - last_heard_ns_ > options_.silence_before_reconnect_ns) {
        // Silence: the server may have restarted on a new socket that does not know us.
        disconnect();
        next_connect_ns_ = now;
        connect_if_due(now);
    }
    publish(now);
}

}  // namespace dante
