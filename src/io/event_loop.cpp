#include "io/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <system_error>

#include "util/clock_now.hpp"

namespace dante::io {
namespace {

constexpr uint64_t kWakeId = 0;
constexpr int kEventsPerWait = 32;

timespec to_timespec(int64_t ns) {
    if (ns < 0) ns = 0;
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

EventLoop::EventLoop() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        const int err = errno;
        close(epoll_fd_);
        throw std::system_error(err, std::generic_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
        const int err = errno;
        close(wake_fd_);
        close(epoll_fd_);
        throw std::system_error(err, std::generic_category(), "epoll_ctl");
    }
}

EventLoop::~EventLoop() {
    for (auto& [id, registration] : registrations_)
        if (registration->timer) close(registration->fd);
    close(wake_fd_);
    close(epoll_fd_);
}

uint64_t EventLoop::add_registration(std::shared_ptr<Registration> registration) {
    const uint64_t id = next_id_++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, registration->fd, &ev) != 0) return 0;
    registrations_.emplace(id, std::move(registration));
    return id;
}

bool EventLoop::add_fd(int fd, FdCallback callback) {
    if (fd < 0 || fd_ids_.count(fd) != 0) return false;
    auto registration = std::make_shared<Registration>();
    registration->fd = fd;
    registration->on_fd = std::move(callback);
    const uint64_t id = add_registration(std::move(registration));
    if (id == 0) return false;
    fd_ids_.emplace(fd, id);
    return true;
}

void EventLoop::remove_fd(int fd) {
    const auto it = fd_ids_.find(fd);
    if (it == fd_ids_.end()) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    registrations_.erase(it->second);  // a running callback keeps itself alive (dispatch's copy)
    fd_ids_.erase(it);
}

EventLoop::TimerId EventLoop::add_timer(TimerCallback callback) {
    const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return 0;
    auto registration = std::make_shared<Registration>();
    registration->fd = fd;
    registration->timer = true;
    registration->on_timer = std::move(callback);
    const uint64_t id = add_registration(std::move(registration));
    if (id == 0) close(fd);
    return id;
}

void EventLoop::arm_at(TimerId timer, int64_t deadline_ns, int64_t period_ns) {
    const auto it = registrations_.find(timer);
    if (it == registrations_.end() || !it->second->timer) return;
    itimerspec spec{};
    // An all-zero it_value would disarm: the earliest representable deadline fires at once.
    spec.it_value = deadline_ns > 0 ? to_timespec(deadline_ns) : timespec{0, 1};
    spec.it_interval = to_timespec(period_ns);
    timerfd_settime(it->second->fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::arm_in(TimerId timer, int64_t delay_ns, int64_t period_ns) {
    arm_at(timer, monotonic_now_ns() + std::max<int64_t>(delay_ns, 0), period_ns);
}

void EventLoop::disarm(TimerId timer) {
    const auto it = registrations_.find(timer);
    if (it == registrations_.end() || !it->second->timer) return;
    const itimerspec spec{};
    timerfd_settime(it->second->fd, 0, &spec, nullptr);
    // An expiry already counted but not yet read would still wake us: drop it.
    uint64_t expirations = 0;
    (void)!read(it->second->fd, &expirations, sizeof expirations);
}

void EventLoop::remove_timer(TimerId timer) {
    const auto it = registrations_.find(timer);
    if (it == registrations_.end() || !it->second->timer) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
    close(it->second->fd);
    registrations_.erase(it);
}

void EventLoop::invoke(std::function<void()> fn) {
    {
        std::lock_guard lock(mutex_);
        invoked_.push_back(std::move(fn));
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
}

void EventLoop::invoke_sync(const std::function<void()>& fn) {
    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool done = false;
    bool here = false;  // ours to run: no other thread runs the loop
    {
        std::lock_guard lock(mutex_);
        here = loop_thread_ == std::thread::id{} || loop_thread_ == std::this_thread::get_id();
        if (!here) {
            invoked_.push_back([&] {
                fn();
                std::lock_guard done_lock(done_mutex);
                done = true;
                done_cv.notify_one();
            });
            const uint64_t one = 1;
            (void)!write(wake_fd_, &one, sizeof one);
        }
    }
    if (here) {
        fn();  // outside the lock: fn may invoke()
        return;
    }
    std::unique_lock done_lock(done_mutex);
    done_cv.wait(done_lock, [&] { return done; });
}

void EventLoop::stop() {
    stop_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
}

bool EventLoop::in_loop_thread() const {
    std::lock_guard lock(mutex_);
    return loop_thread_ == std::this_thread::get_id();
}

void EventLoop::expect_runner(std::thread::id runner) {
    std::lock_guard lock(mutex_);
    loop_thread_ = runner;
}

void EventLoop::run_invoked() {
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(invoked_);
    }
    for (auto& fn : batch) fn();
}

void EventLoop::dispatch(uint64_t id, uint32_t events) {
    const auto it = registrations_.find(id);
    if (it == registrations_.end()) return;  // removed by an earlier callback of this batch
    const std::shared_ptr<Registration> registration = it->second;
    if (registration->timer) {
        uint64_t expirations = 0;
        // Nothing to read: disarmed or re-armed since the expiry was reported.
        if (read(registration->fd, &expirations, sizeof expirations) != sizeof expirations) return;
        registration->on_timer();
    } else {
        registration->on_fd(events);
    }
}

void EventLoop::run() {
    {
        std::lock_guard lock(mutex_);
        loop_thread_ = std::this_thread::get_id();
    }
    std::array<epoll_event, kEventsPerWait> events{};
    while (!stop_.load(std::memory_order_acquire)) {
        const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) continue;  // EINTR
        for (int i = 0; i < n && !stop_.load(std::memory_order_acquire); ++i) {
            if (events[static_cast<size_t>(i)].data.u64 == kWakeId) {
                uint64_t value = 0;
                (void)!read(wake_fd_, &value, sizeof value);
                run_invoked();
            } else {
                dispatch(events[static_cast<size_t>(i)].data.u64, events[static_cast<size_t>(i)].events);
            }
        }
    }
    {
        std::lock_guard lock(mutex_);
        loop_thread_ = std::thread::id{};
    }
    // Whatever was queued before we stopped still runs (invoke_sync() callers wait on it);
    // from here on invoke_sync() runs inline.
    run_invoked();
    stop_.store(false, std::memory_order_release);
}

}  // namespace dante::io
