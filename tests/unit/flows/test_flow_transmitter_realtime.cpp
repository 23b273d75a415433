// dante.tx.realtime tells the truth: FlowTransmitter::realtime() is what the kernel says of
// the transmitter thread, not what the real-time request returned.
#include <doctest/doctest.h>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "clock/tai_clock.hpp"
#include "flows/flow_table.hpp"
#include "flows/flow_transmitter.hpp"
#include "tx/tx_rings.hpp"
#include "util/realtime.hpp"

using namespace dante;

namespace {

// Waits (bounded) until the thread has run its start-up, where it records its id.
bool wait_started(const std::atomic<int>& calls) {
    for (int i = 0; i < 500 && calls.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return calls.load() > 0;
}

}  // namespace

TEST_CASE("a request that claims success but changes nothing is reported as not real-time") {
    TxRings rings(2, 1024);
    TaiClock clock(make_system_tai_reference());
    FlowTablePublisher table(4);
    std::atomic<int> calls{0};
    FlowTransmitter transmitter(rings, clock, table, TransmitterSettings{}, 70, [&](int priority) {
        CHECK(priority == 70);
        ++calls;
        return true;  // lies: nothing was asked of the kernel
    });
    transmitter.start();
    REQUIRE(wait_started(calls));
    CHECK(!transmitter.realtime());
    transmitter.stop();
    CHECK(!transmitter.realtime());
}

TEST_CASE("realtime() follows the thread's actual policy when the request works") {
    TxRings rings(2, 1024);
    TaiClock clock(make_system_tai_reference());
    FlowTablePublisher table(4);
    std::atomic<int> calls{0};
    std::atomic<bool> granted{false};
    FlowTransmitter transmitter(rings, clock, table, TransmitterSettings{}, 10, [&](int priority) {
        granted = request_sched_fifo(priority);  // works as root (CAP_SYS_NICE) or within RLIMIT_RTPRIO
        ++calls;
        return granted.load();
    });
    transmitter.start();
    REQUIRE(wait_started(calls));
    CHECK(transmitter.realtime() == granted.load());
    transmitter.stop();
}

TEST_CASE("no request at priority 0") {
    TxRings rings(2, 1024);
    TaiClock clock(make_system_tai_reference());
    FlowTablePublisher table(4);
    std::atomic<int> calls{0};
    FlowTransmitter transmitter(rings, clock, table, TransmitterSettings{}, 0, [&](int) {
        ++calls;
        return true;
    });
    transmitter.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(calls.load() == 0);
    CHECK(!transmitter.realtime());
    transmitter.stop();
}
