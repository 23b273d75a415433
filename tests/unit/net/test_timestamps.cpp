// Kernel receive timestamps through src/net/timestamps: a datagram sent on 127.0.0.1 to a
// socket that asked for them carries a CLOCK_REALTIME stamp taken between the send and the
// read; control data without one gives nothing.

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>

#include "net/timestamps.hpp"

namespace {

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct LoopbackPair {
    int rx = ::socket(AF_INET, SOCK_DGRAM, 0);
    int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    LoopbackPair() {
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(rx, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
        socklen_t len = sizeof to;
        REQUIRE(::getsockname(rx, reinterpret_cast<sockaddr*>(&to), &len) == 0);
    }
    ~LoopbackPair() {
        ::close(rx);
        ::close(tx);
    }
    // Sends one byte and reads it back with its control data; the stamp found in it.
    std::optional<int64_t> round_trip() const {
        const uint8_t byte = 0x42;
        REQUIRE(::sendto(tx, &byte, 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 1);
        uint8_t got = 0;
        iovec iov{&got, 1};
        alignas(cmsghdr) std::array<uint8_t, 256> control{};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        REQUIRE(::recvmsg(rx, &msg, 0) == 1);
        return dante::software_timestamp_ns(msg);
    }
};

}  // namespace

TEST_CASE("receive timestamps: SO_TIMESTAMPNS stamps a datagram between its send and its read") {
    LoopbackPair pair;
    REQUIRE(dante::enable_receive_timestamps(pair.rx));
    const int64_t before = realtime_ns();
    const std::optional<int64_t> stamp = pair.round_trip();
    const int64_t after = realtime_ns();
    REQUIRE(stamp.has_value());
    CHECK(*stamp >= before);
    CHECK(*stamp <= after);
}

TEST_CASE("receive timestamps: SO_TIMESTAMPING's software stamp is read the same way") {
    LoopbackPair pair;
    CHECK(dante::enable_software_timestamps(pair.rx, false));
    // The kernel turns its receive stamping on in the background when the first socket asks
    // (a deferred static key): the first datagrams after that may come unstamped, as the PTP
    // engine sees at start. One of the first 20, 10 ms apart, is stamped.
    for (int attempt = 0; attempt < 20; ++attempt) {
        const int64_t before = realtime_ns();
        const std::optional<int64_t> stamp = pair.round_trip();
        const int64_t after = realtime_ns();
        if (!stamp) {
            ::usleep(10'000);
            continue;
        }
        CHECK(*stamp >= before);
        CHECK(*stamp <= after);
        return;
    }
    FAIL("no datagram of 20 carried a software receive stamp");
}

TEST_CASE("receive timestamps: a socket that did not ask has none, and no control data reads as none") {
    LoopbackPair pair;
    CHECK_FALSE(pair.round_trip().has_value());
    msghdr empty{};
    CHECK_FALSE(dante::software_timestamp_ns(empty).has_value());
}
