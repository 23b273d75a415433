#include "io/io_thread.hpp"

#include <pthread.h>

namespace dante::io {

IoThread::IoThread(std::string name) {
    thread_ = std::thread([this, name = std::move(name)] {
        // Linux limits thread names to 15 characters; longer ones are cut, not refused.
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
        loop_.run();
    });
    loop_.expect_runner(thread_.get_id());
}

IoThread::~IoThread() { stop(); }

void IoThread::stop() {
    if (!thread_.joinable()) return;
    loop_.stop();
    thread_.join();
}

}  // namespace dante::io
