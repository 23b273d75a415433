#include "clock/posix_clock_source.hpp"

#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "util/clock_now.hpp"

namespace dante {

PosixClockReference::~PosixClockReference() {
    if (fd_ >= 0) close(fd_);
}

ReferenceClock::Pair PosixClockReference::read_pair() {
    const MonotonicPair pair = read_against_monotonic(id_, 7);
    return {pair.monotonic_ns, pair.other_ns};
}

std::unique_ptr<PosixClockReference> open_phc_reference(const std::string& path, std::string& error) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENODEV || err == ENXIO)
            error = path + ": no such device (is this the NIC's PTP hardware clock? see `ethtool -T IFACE`)";
        else if (err == EACCES || err == EPERM)
            error = path + ": permission denied (the PipeWire user needs read access to the PHC)";
        else
            error = path + ": " + std::strerror(err);
        return nullptr;
    }
    struct stat st{};
    ptp_clock_caps caps{};
    timespec ts{};
    // A PHC is a character device that answers the PTP capabilities ioctl and reads as a clock.
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || ioctl(fd, PTP_CLOCK_GETCAPS, &caps) != 0 ||
        clock_gettime(clockid_of_fd(fd), &ts) != 0) {
        close(fd);
        error = path + ": not a PTP hardware clock";
        return nullptr;
    }
    return std::make_unique<PosixClockReference>(clockid_of_fd(fd), fd);
}

TrackedClock::TrackedClock(std::unique_ptr<ReferenceClock> reference, std::string source_name)
    : reference_(std::move(reference)), name_(std::move(source_name)) {
    update();
}

void TrackedClock::update() {
    const ReferenceClock::Pair pair = reference_->read_pair();
    const RateTracker::Estimate estimate = tracker_.add(pair.monotonic_ns, pair.reference_ns);
    ClockSnapshot next{};
    next.monotonic_ns = estimate.monotonic_ns;
    next.media_ns = estimate.reference_ns;
    next.rate = estimate.rate;
    next.offset_ns = estimate.offset_ns;
    // Until the fit is stable we follow the reference with a provisional rate: usable time,
    // but not yet a lock.
    next.state = (estimate.stable && reference_->disciplined()) ? ClockState::locked : ClockState::free_running;
    const bool first = last_.generation == 0;
    next.generation = first ? 1 : last_.generation + ((estimate.stepped || next.state != last_.state) ? 1 : 0);
    last_ = next;
    published_.store(next);
}

}  // namespace dante
