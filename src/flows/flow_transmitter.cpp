#include "flows/flow_transmitter.hpp"

#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "util/clock_now.hpp"

namespace dante {
namespace {

void sleep_until(int64_t deadline_ns) {
    timespec ts{};
    ts.tv_sec = deadline_ns / 1'000'000'000;
    ts.tv_nsec = deadline_ns % 1'000'000'000;
    // EINTR just ends the sleep early; the loop recomputes what is due.
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

class SocketIo final : public PacketIo {
public:
    bool send(const FlowEntry& flow, std::span<const uint8_t> packet) override {
        if (!flow.socket) return false;
        const ssize_t n = ::send(flow.socket->fd(), packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        return n == static_cast<ssize_t>(packet.size());
    }

    void send_batch(const FlowEntry& flow, std::span<const std::span<const uint8_t>> packets,
                    std::span<bool> sent) override {
        if (!flow.socket) {
            std::fill(sent.begin(), sent.end(), false);
            return;
        }
        flow.socket->send_batch(packets, sent);
    }

    bool poll_keepalive(const FlowEntry& flow) override {
        if (!flow.socket) return false;
        bool heard = false;
        // Bounded: a flood on one socket must not hold up the others.
        for (int i = 0; i < 16; ++i) {
            const ssize_t n = ::recv(flow.socket->fd(), buffer_, sizeof buffer_, MSG_DONTWAIT | MSG_TRUNC);
            if (n < 0) {
                // ECONNREFUSED reports an earlier ICMP port-unreachable: not a keepalive.
                if (errno == ECONNREFUSED) continue;
                break;
            }
            heard = true;
        }
        return heard;
    }

private:
    uint8_t buffer_[64];
};

}  // namespace

FlowTransmitter::FlowTransmitter(const TxRings& rings, const MediaClock& clock, FlowTablePublisher& table,
                                 const TransmitterSettings& settings, int rt_priority, RealtimeRequest make_realtime)
    : clock_(clock),
      table_(table),
      rt_priority_(rt_priority),
      make_realtime_(make_realtime ? std::move(make_realtime) : RealtimeRequest(request_sched_fifo)),
      core_(rings, settings, counters_, expired_) {}

FlowTransmitter::~FlowTransmitter() { stop(); }

void FlowTransmitter::start() {
    if (thread_.joinable()) return;
    stop_.store(false, std::memory_order_release);
    thread_ = std::thread([this] { loop(); });
}

void FlowTransmitter::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    thread_.join();
    tid_.store(0, std::memory_order_release);  // a dead thread's id may be reused
}

void FlowTransmitter::loop() {
    pthread_setname_np(pthread_self(), "dante-flows-tx");
    tid_.store(current_thread_id(), std::memory_order_release);
    // Once, before the loop: the request may be a D-Bus round trip to rtkit.
    if (rt_priority_ > 0) make_realtime_(rt_priority_);

    SocketIo io;
    while (!stop_.load(std::memory_order_acquire)) {
        const FlowTable& table = table_.acquire();
        const ClockSnapshot snapshot = clock_.snapshot();
        const int64_t wake = core_.run(table, snapshot, monotonic_now_ns(), io);
        sleep_until(wake);
    }
}

}  // namespace dante
