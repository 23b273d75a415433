#pragma once
// One event loop for the non-real-time network work of a device (issue #12): sockets,
// protocol timers and requests from other threads, all served by one thread that sleeps in
// epoll_wait() until something is due. No polling timeouts: a readable fd, a timerfd
// reaching its deadline or the wake-up eventfd (invoke(), stop()) is the only way it wakes.
//
// Threads: add_fd/remove_fd and the timer calls belong to the loop thread (from a
// callback, or through invoke()/invoke_sync()), or to whoever owns the loop before run()
// and after it returns. invoke(), invoke_sync() and stop() may be called from any thread.
// Callbacks may add or remove any registration, their own included: a removed
// registration never runs again, even when its event is already in the current batch.
//
// Timers are one timerfd each on CLOCK_MONOTONIC with absolute deadlines, so a protocol
// timer (PTP's Sync/Delay_Req/Announce) fires as precisely as a ppoll() timeout did.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dante::io {

class EventLoop {
public:
    using FdCallback = std::function<void(uint32_t events)>;  // EPOLLIN, EPOLLERR, ...
    using TimerCallback = std::function<void()>;
    using TimerId = uint64_t;

    // Throws std::system_error when epoll or the eventfd cannot be created.
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watch `fd` for input (errors are always reported). False if epoll refuses it or the
    // fd is already watched. The loop never closes the fd.
    bool add_fd(int fd, FdCallback callback);
    void remove_fd(int fd);

    // A disarmed timer; 0 if no timerfd could be created.
    TimerId add_timer(TimerCallback callback);
    // Fire at `deadline_ns` (CLOCK_MONOTONIC), then every `period_ns` if not 0. A deadline
    // in the past fires at once. Re-arming replaces the previous deadline.
    void arm_at(TimerId timer, int64_t deadline_ns, int64_t period_ns = 0);
    void arm_in(TimerId timer, int64_t delay_ns, int64_t period_ns = 0);
    void disarm(TimerId timer);
    void remove_timer(TimerId timer);

    // Any thread: run `fn` on the loop thread soon (in the order queued).
    void invoke(std::function<void()> fn);
    // Any thread: run `fn` on the loop thread and wait for it. Inline when called on the
    // loop thread or when no thread runs the loop (then the caller owns it).
    void invoke_sync(const std::function<void()>& fn);

    // Dispatch until stop(). One thread at a time.
    void run();
    // Any thread: run() returns after the callback in progress, at once. A stop() before
    // run() makes the next run() return immediately.
    void stop();
    [[nodiscard]] bool in_loop_thread() const;
    // `runner` is about to call run(): from now on invoke_sync() from other threads waits
    // for it instead of running inline (IoThread, which must not race its own start).
    void expect_runner(std::thread::id runner);

private:
    struct Registration {
        int fd = -1;
        bool timer = false;  // fd is a timerfd owned by the loop
        FdCallback on_fd;
        TimerCallback on_timer;
    };

    uint64_t add_registration(std::shared_ptr<Registration> registration);
    void dispatch(uint64_t id, uint32_t events);
    void run_invoked();

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    uint64_t next_id_ = 1;  // 0 is the wake-up eventfd
    std::unordered_map<uint64_t, std::shared_ptr<Registration>> registrations_;
    std::unordered_map<int, uint64_t> fd_ids_;  // watched fds (not timers) -> registration

    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;  // guards the two below
    std::thread::id loop_thread_{};
    std::vector<std::function<void()>> invoked_;
};

}  // namespace dante::io
