// EventLoop and IoThread on the real kernel objects: timers, fds, invoke and stop.
#include <doctest/doctest.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "io/event_loop.hpp"
#include "io/io_thread.hpp"

using dante::io::EventLoop;
using dante::io::IoThread;

namespace {

int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void signal(int fd) {
    const uint64_t one = 1;
    REQUIRE(write(fd, &one, sizeof one) == sizeof one);
}

}  // namespace

TEST_CASE("one-shot timers fire in deadline order, not arming order, and on time") {
    EventLoop loop;
    std::vector<int> order;
    std::vector<int64_t> late;
    const int64_t start = now_ns();
    const int64_t deadlines[3] = {start + 30'000'000, start + 10'000'000, start + 20'000'000};
    for (int i = 0; i < 3; ++i) {
        const auto id = loop.add_timer([&, i] {
            order.push_back(i);
            late.push_back(now_ns() - deadlines[i]);
            if (order.size() == 3) loop.stop();
        });
        REQUIRE(id != 0);
        loop.arm_at(id, deadlines[i]);
    }
    loop.run();
    CHECK(order == std::vector<int>{1, 2, 0});
    for (int64_t l : late) {
        CHECK(l >= 0);          // never early
        CHECK(l < 50'000'000);  // and not a polling period late (generous for loaded CI)
    }
}

TEST_CASE("a periodic timer repeats until disarmed; a disarmed or removed timer stays silent") {
    EventLoop loop;
    int ticks = 0, silent = 0;
    EventLoop::TimerId periodic = 0;
    periodic = loop.add_timer([&] {
        if (++ticks == 3) {
            loop.disarm(periodic);
            loop.arm_in(loop.add_timer([&] { loop.stop(); }), 30'000'000);
        }
    });
    const auto disarmed = loop.add_timer([&] { ++silent; });
    const auto removed = loop.add_timer([&] { ++silent; });
    loop.arm_in(periodic, 1'000'000, 5'000'000);
    loop.arm_in(disarmed, 2'000'000);
    loop.arm_in(removed, 2'000'000);
    loop.disarm(disarmed);
    loop.remove_timer(removed);
    loop.run();
    CHECK(ticks == 3);
    CHECK(silent == 0);
}

TEST_CASE("re-arming a timer replaces its deadline; a past deadline fires at once") {
    EventLoop loop;
    int64_t fired_at = 0;
    const auto id = loop.add_timer([&] {
        fired_at = now_ns();
        loop.stop();
    });
    loop.arm_in(id, 10'000'000'000);  // far away...
    const int64_t start = now_ns();
    loop.arm_at(id, start - 1'000'000);  // ...replaced by one already past
    loop.run();
    CHECK(fired_at - start < 50'000'000);
}

TEST_CASE("a readable fd runs its callback; removing it inside its own callback is safe") {
    EventLoop loop;
    const int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    const int b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int a_calls = 0, b_calls = 0;
    REQUIRE(loop.add_fd(a, [&](uint32_t) {
        ++a_calls;
        loop.remove_fd(a);  // its own registration, while running
        loop.remove_fd(b);  // and another one whose event may be in the same batch
        loop.arm_in(loop.add_timer([&] { loop.stop(); }), 20'000'000);
    }));
    REQUIRE(loop.add_fd(b, [&](uint32_t) { ++b_calls; }));
    CHECK_FALSE(loop.add_fd(a, [](uint32_t) {}));  // already watched
    signal(a);
    signal(b);
    loop.run();
    // b may have run before a in the batch, but never after a removed it, and a only once
    // although it is still readable.
    CHECK(a_calls == 1);
    CHECK(b_calls <= 1);
    close(a);
    close(b);
}

TEST_CASE("invoke runs on the loop thread, in order, from other threads") {
    IoThread io("dante-io-test");
    std::promise<std::thread::id> loop_id;
    io.loop().invoke([&] { loop_id.set_value(std::this_thread::get_id()); });
    const std::thread::id id = loop_id.get_future().get();
    CHECK(id != std::this_thread::get_id());

    std::vector<int> seen;
    std::thread producer([&] {
        for (int i = 0; i < 100; ++i) io.loop().invoke([&seen, i] { seen.push_back(i); });
    });
    producer.join();
    bool on_loop = false;
    io.loop().invoke_sync([&] { on_loop = io.loop().in_loop_thread(); });
    CHECK(on_loop);
    CHECK(seen.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(seen[static_cast<size_t>(i)] == i);
}

TEST_CASE("IoThread names its thread") {
    IoThread io("dante-io");
    std::string name;
    io.loop().invoke_sync([&] {
        char text[16] = {};
        pthread_getname_np(pthread_self(), text, sizeof text);
        name = text;
    });
    CHECK(name == "dante-io");
}

TEST_CASE("stop is immediate: no polling period, even with nothing armed") {
    IoThread io;
    io.loop().invoke_sync([] {});  // the loop is asleep in epoll_wait with no deadline
    const auto start = std::chrono::steady_clock::now();
    io.stop();
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < std::chrono::milliseconds(20));
}

TEST_CASE("stop before run makes run return at once; invoke_sync runs inline when no thread runs the loop") {
    EventLoop loop;
    bool ran = false;
    loop.invoke_sync([&] { ran = true; });
    CHECK(ran);
    loop.stop();
    loop.run();  // returns
    // And the loop can run again afterwards.
    loop.arm_in(loop.add_timer([&] { loop.stop(); }), 1'000'000);
    loop.run();
}

TEST_CASE("work invoked before stop still runs; invoke_sync from the loop thread runs inline") {
    IoThread io;
    std::atomic<int> count{0};
    io.loop().invoke_sync([&] {
        io.loop().invoke_sync([&] { ++count; });  // no deadlock
        io.loop().invoke([&] { ++count; });
        io.loop().stop();
    });
    io.stop();
    CHECK(count == 2);
}

TEST_CASE("invoke_sync runs its function exactly once, however fast the loop answers") {
    IoThread io;
    int runs = 0;
    for (int i = 0; i < 2000; ++i) io.loop().invoke_sync([&] { ++runs; });
    CHECK(runs == 2000);
}
