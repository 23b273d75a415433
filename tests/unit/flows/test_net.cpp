#include <doctest/doctest.h>

#include <vector>

#include <array>

#include "net/interface.hpp"
#include "net/ipv4.hpp"
#include "net/udp_socket.hpp"

using namespace dante;

TEST_CASE("IPv4 parsing is strict") {
    CHECK(parse_ipv4("10.77.0.1") == ipv4(10, 77, 0, 1));
    CHECK(parse_ipv4("255.255.255.255") == 0xFFFFFFFFu);
    CHECK(parse_ipv4("0.0.0.0") == 0u);
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "a.b.c.d",
                            "1.2.3.-4", "1.2.3.0004", "+1.2.3.4"})
        CHECK_FALSE(parse_ipv4(bad));
    CHECK(ipv4_to_string(ipv4(192, 168, 0, 254)) == "192.168.0.254");
}

TEST_CASE("endpoints: optional port, default applied, port 0 refused") {
    CHECK(parse_ipv4_endpoint("10.0.0.1:4455", 1) == Ipv4Endpoint{ipv4(10, 0, 0, 1), 4455});
    CHECK(parse_ipv4_endpoint("10.0.0.1", 4455) == Ipv4Endpoint{ipv4(10, 0, 0, 1), 4455});
    for (const char* bad : {"10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:12a", ":4455", "x:1"})
        CHECK_FALSE(parse_ipv4_endpoint(bad, 4455));
    CHECK_FALSE(parse_ipv4_endpoint("10.0.0.1", 0));
    CHECK(to_string(Ipv4Endpoint{ipv4(1, 2, 3, 4), 80}) == "1.2.3.4:80");
}

TEST_CASE("address classes and subnets") {
    CHECK(is_loopback(ipv4(127, 1, 2, 3)));
    CHECK(is_multicast(ipv4(224, 0, 0, 1)));
    CHECK(is_multicast(ipv4(239, 255, 255, 255)));
    CHECK_FALSE(is_multicast(ipv4(240, 0, 0, 0)));
    CHECK(is_reserved(ipv4(240, 0, 0, 0)));
    CHECK(is_reserved(ipv4(0, 1, 2, 3)));
    const Ipv4Subnet net{ipv4(10, 1, 2, 3), 0xFFFF0000u};
    CHECK(net.contains(ipv4(10, 1, 200, 1)));
    CHECK_FALSE(net.contains(ipv4(10, 2, 0, 1)));
    CHECK(net.is_directed_broadcast(ipv4(10, 1, 255, 255)));
    CHECK(net.is_network_address(ipv4(10, 1, 0, 0)));
    const Ipv4Subnet host{ipv4(10, 1, 2, 3), 0xFFFFFFFFu};
    CHECK_FALSE(host.is_directed_broadcast(ipv4(10, 1, 2, 3)));
}

TEST_CASE("interface lookup: lo has 127.0.0.1/8; unknown names are named in the error") {
    std::string error;
    const auto lo = lookup_interface("lo", error);
    REQUIRE(lo);
    CHECK(lo->subnet.address == ipv4(127, 0, 0, 1));
    CHECK(lo->subnet.netmask == 0xFF000000u);
    CHECK_FALSE(lookup_interface("no-such-if0", error));
    CHECK(error.find("no-such-if0") != std::string::npos);
    CHECK_FALSE(lookup_interface("", error));
    CHECK_FALSE(lookup_interface("an-interface-name-far-too-long", error));
}

TEST_CASE("sockets on lo: bind, connect, send, receive") {
    std::string error;
    const auto lo = lookup_interface("lo", error);
    REQUIRE(lo);
    auto server = open_udp_on_interface(*lo, BindOptions{}, error);
    REQUIRE_MESSAGE(server, error);
    const auto server_at = server->local_endpoint();
    REQUIRE(server_at);
    CHECK(server_at->address == ipv4(127, 0, 0, 1));
    CHECK(server_at->port != 0);

    auto client = open_udp(Ipv4Endpoint{ipv4(127, 0, 0, 1), 0}, error);
    REQUIRE(client);
    REQUIRE(connect_udp(*client, *server_at, error));
    const std::array<uint8_t, 3> hello{1, 2, 3};
    CHECK(client->send(hello) == 3);
    REQUIRE(server->wait_readable(1000));
    std::array<uint8_t, 2> small{};
    Ipv4Endpoint from;
    CHECK(server->recv_from(small, &from) == 3);  // MSG_TRUNC: the real size
    CHECK(from == *client->local_endpoint());
    CHECK_FALSE(server->wait_readable(0));
    std::array<uint8_t, 8> buf{};
    CHECK(server->recv_from(buf, nullptr) < 0);  // non-blocking, nothing queued

    // A busy port is a clear error.
    BindOptions same;
    same.port = server_at->port;
    CHECK_FALSE(open_udp_on_interface(*lo, same, error));
    CHECK(error.find("127.0.0.1") != std::string::npos);
}

TEST_CASE("default gateway from /proc/net/route text") {
    // Two interfaces; veth0's default route via 10.77.0.254, eth0's via 192.168.1.1 (the
    // kernel prints the network-order u32 as host-order hex, so 192.168.1.1 is 0101A8C0).
    const char* table =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
        "veth0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "veth0\t00000000\tFE004D0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
    CHECK(default_gateway_from_route_table(table, "eth0") == ipv4(192, 168, 1, 1));
    CHECK(default_gateway_from_route_table(table, "veth0") == ipv4(10, 77, 0, 254));
    CHECK(default_gateway_from_route_table(table, "lo") == 0u);
    CHECK(default_gateway_from_route_table("Iface\n", "eth0") == 0u);
    CHECK(default_gateway_from_route_table("Iface\neth0 00000000 zz 0003\neth0 x\n", "eth0") == 0u);
}

TEST_CASE("interface details of loopback: no MAC, not dynamic") {
    const InterfaceDetails details = lookup_interface_details("lo", ipv4(127, 0, 0, 1));
    CHECK_FALSE(details.mac);
    CHECK_FALSE(details.dynamic);
    CHECK(lookup_interface_details("no-such-if0", 0).gateway == 0u);
}

TEST_CASE("send_batch on lo: one sendmmsg, in order; a datagram that fails is skipped, the rest still go") {
    std::string error;
    const auto lo = lookup_interface("lo", error);
    REQUIRE(lo);
    auto server = open_udp_on_interface(*lo, BindOptions{}, error);
    REQUIRE_MESSAGE(server, error);
    auto client = open_udp(Ipv4Endpoint{ipv4(127, 0, 0, 1), 0}, error);
    REQUIRE(client);
    REQUIRE(connect_udp(*client, *server->local_endpoint(), error));

    // 40 datagrams of distinct sizes; #5 and #39 are too big for UDP (EMSGSIZE).
    std::vector<std::vector<uint8_t>> data;
    for (size_t i = 0; i < 40; ++i) data.emplace_back(i == 5 || i == 39 ? 70000 : 10 + i, static_cast<uint8_t>(i));
    std::vector<std::span<const uint8_t>> packets(data.begin(), data.end());
    std::array<bool, 40> sent{};
    CHECK(client->send_batch(packets, sent) == 38);
    for (size_t i = 0; i < 40; ++i) CHECK(sent[i] == (i != 5 && i != 39));
    std::array<uint8_t, 256> buf{};
    for (size_t i = 0; i < 40; ++i) {
        if (i == 5 || i == 39) continue;
        REQUIRE(server->wait_readable(1000));
        CHECK(server->recv_from(buf, nullptr) == static_cast<ssize_t>(10 + i));
        CHECK(buf[0] == i);
    }
    CHECK_FALSE(server->wait_readable(0));
    // The first one failing, and a batch of one.
    std::array<bool, 2> two{};
    const std::array<std::span<const uint8_t>, 2> bad_first{packets[5], packets[0]};
    CHECK(client->send_batch(bad_first, two) == 1);
    CHECK_FALSE(two[0]);
    CHECK(two[1]);
    REQUIRE(server->wait_readable(1000));
    CHECK(server->recv_from(buf, nullptr) == 10);
}
