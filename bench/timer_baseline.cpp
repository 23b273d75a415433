// dante-bench-timer: the wake-up error this machine gives any periodic timer, as the
// floor for the Dante driver's numbers in wakeup_jitter.sh. Same mechanism as PipeWire's
// data loop running our node: an absolute CLOCK_MONOTONIC timerfd, waited for in
// epoll_wait, read, then clock_gettime; each deadline computed afresh from the start (no
// accumulation). Run it under the same policy as the data thread (chrt -f 88).
//
// Usage: dante-bench-timer QUANTUM SECONDS     (period = QUANTUM / 48000 s)
// Prints one line: samples, p50/p90/p99/p99.9/max wake error in us, and the policy it had.

#include <sched.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace {

int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s QUANTUM SECONDS\n", argv[0]);
        return 2;
    }
    const int64_t quantum = std::atoll(argv[1]);
    const double seconds = std::atof(argv[2]);
    if (quantum <= 0 || seconds <= 0) return 2;

    const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (tfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
        std::perror("timerfd/epoll");
        return 1;
    }

    const int64_t cycles = static_cast<int64_t>(seconds * 48000.0 / static_cast<double>(quantum));
    std::vector<double> err_us;
    err_us.reserve(static_cast<size_t>(cycles));
    const int64_t start = mono_ns() + 10'000'000;
    for (int64_t k = 1; k <= cycles; ++k) {
        const int64_t deadline = start + k * quantum * 125'000 / 6;  // k * quantum * 1e9 / 48000
        itimerspec spec{};
        spec.it_value.tv_sec = deadline / 1'000'000'000;
        spec.it_value.tv_nsec = deadline % 1'000'000'000;
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, nullptr);
        epoll_event out{};
        while (epoll_wait(ep, &out, 1, -1) != 1) {
        }
        uint64_t expirations = 0;
        if (read(tfd, &expirations, sizeof expirations) < 0) continue;
        err_us.push_back(static_cast<double>(mono_ns() - deadline) / 1000.0);
    }
    std::sort(err_us.begin(), err_us.end());
    auto pct = [&](double p) {
        return err_us[std::min(err_us.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(err_us.size() - 1) + 0.5))];
    };
    const int policy = sched_getscheduler(0);
    sched_param param{};
    sched_getparam(0, &param);
    const size_t over = static_cast<size_t>(std::count_if(err_us.begin(), err_us.end(), [](double e) { return e > 50; }));
    std::printf("timer q%lld: n %zu min %.1f p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f us; >50us %.3f%%; policy %s/%d\n",
                static_cast<long long>(quantum), err_us.size(), err_us.front(), pct(50), pct(90), pct(99), pct(99.9),
                err_us.back(), 100.0 * static_cast<double>(over) / static_cast<double>(err_us.size()),
                policy == SCHED_FIFO ? "SCHED_FIFO" : policy == SCHED_RR ? "SCHED_RR" : "SCHED_OTHER",
                param.sched_priority);
    return 0;
}
