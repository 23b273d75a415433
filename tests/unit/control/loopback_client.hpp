#pragma once
// A UDP client on 127.0.0.<host> asking a ControlService on loopback, and a node property
// read from its properties(): shared by the control service's tests.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <string>

#include "config/device_config.hpp"
#include "control_test_support.hpp"

namespace control_test {

inline std::string prop(const dante::ConfigItems& items, const std::string& key) {
    std::string value;
    for (const auto& [k, v] : items)
        if (k == key) value = v;  // the last one wins, as in a node's properties
    return value;
}

// A client socket on 127.0.0.<host>.
struct Client {
    int fd = -1;
    explicit Client(uint8_t host = 1) {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(0x7f000000u | host);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~Client() { close(fd); }
    void send(const Packet& p, uint16_t port) const {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(0x7f000001u);
        sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    Packet receive(int timeout_ms = 1000) const {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return {};
        Packet out(2048);
        const ssize_t n = recv(fd, out.data(), out.size(), 0);
        out.resize(n > 0 ? static_cast<size_t>(n) : 0);
        return out;
    }
    Packet ask(const Packet& p, uint16_t port) const {
        send(p, port);
        return receive();
    }
};

}  // namespace control_test
