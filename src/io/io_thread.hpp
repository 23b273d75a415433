#pragma once
// An EventLoop running on a thread of its own, named for `top` and the like ("dante-io"
// for a device's loop; a service used on its own passes its historical name). The thread
// starts in the constructor and is stopped and joined by stop() or the destructor, at once:
// stop() wakes the loop through its eventfd.

#include <string>
#include <thread>

#include "io/event_loop.hpp"

namespace dante::io {

class IoThread {
public:
    explicit IoThread(std::string name = "dante-io");
    ~IoThread();
    IoThread(const IoThread&) = delete;
    IoThread& operator=(const IoThread&) = delete;

    [[nodiscard]] EventLoop& loop() { return loop_; }
    // Idempotent. Work queued with invoke() before it still runs.
    void stop();

private:
    EventLoop loop_;
    std::thread thread_;
};

}  // namespace dante::io
