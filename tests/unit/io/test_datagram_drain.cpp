// The shared datagram drain on loopback sockets: batches, real sizes, queued ICMP errors.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

#include "io/datagram_drain.hpp"

using namespace dante::io;

namespace {

struct Socket {
    int fd = -1;
    uint16_t port = 0;
    Socket() {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
    }
    ~Socket() { close(fd); }
    void send_to(uint16_t to, size_t size) const {
        std::vector<uint8_t> bytes(size, 0xab);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(to);
        REQUIRE(sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
                static_cast<ssize_t>(size));
    }
};

}  // namespace

TEST_CASE("drains at most one batch, with each datagram's source and real size") {
    Socket rx, tx;
    for (int i = 0; i < 10; ++i) tx.send_to(rx.port, 10 + static_cast<size_t>(i));
    std::array<uint8_t, 64> payload{};
    const DrainBuffers buffers{payload, {}, 0};
    std::vector<size_t> sizes;
    CHECK(drain_datagrams(
              rx.fd, buffers,
              [&](const ReceivedDatagram& d) {
                  sizes.push_back(d.size);
                  CHECK(d.source_address == INADDR_LOOPBACK);
                  CHECK(d.source_port == tx.port);
                  CHECK_FALSE(d.truncated);
              },
              4) == 4);
    CHECK(sizes == std::vector<size_t>{10, 11, 12, 13});
    CHECK(drain_datagrams(rx.fd, buffers, [&](const ReceivedDatagram& d) { sizes.push_back(d.size); }) == 6);
    CHECK(drain_datagrams(rx.fd, buffers, [](const ReceivedDatagram&) {}) == 0);  // EAGAIN: empty
}

TEST_CASE("an oversized datagram is reported truncated, with its real size") {
    Socket rx, tx;
    tx.send_to(rx.port, 300);
    std::array<uint8_t, 100> payload{};
    const DrainBuffers buffers{payload, {}, 0};
    int seen = 0;
    drain_datagrams(rx.fd, buffers, [&](const ReceivedDatagram& d) {
        ++seen;
        CHECK(d.truncated);
        CHECK(d.size == 300);
        CHECK(d.bytes.size() == 100);
    });
    CHECK(seen == 1);
}

TEST_CASE("a queued ECONNREFUSED is consumed and the datagrams behind it still come") {
    Socket rx;
    uint16_t dead_port = 0;
    {
        Socket gone;
        dead_port = gone.port;
    }
    // Connected to a port nobody listens on: the ICMP port unreachable comes back as
    // ECONNREFUSED on the next receive.
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(dead_port);
    REQUIRE(connect(rx.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    const uint8_t byte = 1;
    REQUIRE(send(rx.fd, &byte, 1, 0) == 1);
    usleep(20'000);
    // Now someone takes that port and sends to us.
    const int peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(bind(peer, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(rx.port);
    const std::array<uint8_t, 5> five{};
    REQUIRE(sendto(peer, five.data(), five.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 5);
    std::array<uint8_t, 64> payload{};
    const DrainBuffers buffers{payload, {}, 0};
    int seen = 0;
    drain_datagrams(rx.fd, buffers, [&](const ReceivedDatagram& d) {
        ++seen;
        CHECK(d.size == 5);
    });
    CHECK(seen == 1);
    close(peer);
}
