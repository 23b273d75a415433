// Lateness of a wake-up at an absolute CLOCK_MONOTONIC deadline (issue #12): ppoll() with
// the remaining time as its timeout, as the PTP thread waited for its port timers before,
// against io::EventLoop's timerfd, as they wait now. 300 of each, alternating, 10 ms apart.
#include <poll.h>
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <vector>
#include "io/event_loop.hpp"
static int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}
int main() {
    const int64_t period = 10'000'000;
    std::vector<int64_t> a, b;
    dante::io::EventLoop loop;
    int64_t deadline = 0;
    auto id = loop.add_timer([&] {
        b.push_back(now_ns() - deadline);
        loop.stop();
    });
    for (int i = 0; i < 300; ++i) {
        // ppoll
        deadline = now_ns() + period;
        for (;;) {
            const int64_t wait = deadline - now_ns();
            if (wait <= 0) break;
            const timespec t{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
            ppoll(nullptr, 0, &t, nullptr);
        }
        a.push_back(now_ns() - deadline);
        // timerfd
        deadline = now_ns() + period;
        loop.arm_at(id, deadline);
        loop.run();
    }
    for (auto* v : {&a, &b}) {
        std::sort(v->begin(), v->end());
        std::printf("%s: lateness median %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
                    v == &a ? "ppoll  " : "timerfd", (*v)[150] / 1e3, (*v)[270] / 1e3, (*v)[297] / 1e3,
                    v->back() / 1e3);
    }
}
