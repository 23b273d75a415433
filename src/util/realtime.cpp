#include "util/realtime.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace dante {

bool request_sched_fifo(int priority) {
    sched_param param{};
    param.sched_priority = std::clamp(priority, sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO));
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
}

pid_t current_thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

bool thread_is_realtime(pid_t tid) {
    if (tid <= 0) return false;
    const int policy = sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK;
    return policy == SCHED_FIFO || policy == SCHED_RR;
}

}  // namespace dante
