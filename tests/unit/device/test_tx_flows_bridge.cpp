// ARC 0x2200/0x2201/0x2202 wired to a live FlowsService, as the Device wires them: both
// services on the loopback interface with real sockets and threads. A flow asked for on the
// flow-control port must show up in a 0x2200 reply (bytes as documented in arc_server.cpp
// and as netaudio's query_tx_flows parses them) and vanish once stopped. Multicast creation
// is refused on `lo` (no multicast there), so nothing here leaves the host.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "control/control_service.hpp"
#include "device/tx_flows_bridge.hpp"
#include "flows/flow_control_codec.hpp"
#include "flows/flows_service.hpp"
#include "hex_bytes.hpp"
#include "locked_test_clock.hpp"

using namespace dante;

namespace {

using Packet = std::vector<uint8_t>;


struct Client {
    int fd = -1;
    uint16_t port = 0;
    Client() {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(0x7f000001u);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~Client() { close(fd); }
    Packet ask(const Packet& p, uint16_t to_port) const {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(to_port);
        to.sin_addr.s_addr = htonl(0x7f000001u);
        sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        // Skip audio packets of the flow (they come to this socket too): wait for a reply
        // that echoes the request's opcode.
        const int64_t deadline = monotonic_now_ns() + 2'000'000'000;
        while (monotonic_now_ns() < deadline) {
            pollfd pfd{fd, POLLIN, 0};
            if (poll(&pfd, 1, 200) <= 0) continue;
            Packet out(2048);
            const ssize_t n = recv(fd, out.data(), out.size(), 0);
            if (n >= 10 && out[6] == p[6] && out[7] == p[7] && out[4] == p[4] && out[5] == p[5]) {
                out.resize(static_cast<size_t>(n));
                return out;
            }
        }
        return {};
    }
};

Packet arc(uint16_t opcode, Packet body, uint16_t sequence) {
    Packet p{0x27, 0xff, 0, static_cast<uint8_t>(10 + body.size()), static_cast<uint8_t>(sequence >> 8),
             static_cast<uint8_t>(sequence), static_cast<uint8_t>(opcode >> 8), static_cast<uint8_t>(opcode), 0, 0};
    for (uint8_t b : body) p.push_back(b);  // (insert() trips GCC 12's -Warray-bounds here)
    return p;
}

uint16_t status(const Packet& reply) { return reply.size() >= 10 ? static_cast<uint16_t>((reply[8] << 8) | reply[9]) : 0; }

}  // namespace

TEST_CASE("ARC 0x2200 lists the flows FlowsService serves; 0x2201/0x2202 reach it") {
    DeviceConfig config;
    config.device_name = "bridge";
    config.interface = std::string("lo");  // (assigning a literal: GCC 12 -O3 false positive)
    config.channels = 4;
    config.max_flows = 4;
    config.port_base = static_cast<uint16_t>(33000 + (getpid() % 2000) * 4);
    test::LockedTestClock clock;
    TxRings rings(config.channels, 1u << 16);

    FlowsServiceOptions flow_options;
    flow_options.allow_loopback = true;
    flow_options.control_port = 0;
    flow_options.rt_priority = 0;
    FlowsService flows(config, rings, clock, flow_options);
    std::string error;
    REQUIRE_MESSAGE(flows.start(error), error);

    ControlServiceOptions control_options;
    control_options.mdns = false;
    wire_tx_flows(control_options, flows, config.rate);
    ControlService control(config, "", control_options);
    REQUIRE_MESSAGE(control.start(error), error);
    const uint16_t arc_port = control.ports().arc;

    Client client;
    Packet reply = client.ask(arc(0x2200, {0, 0}, 1), arc_port);
    CHECK(test::to_hex(reply) == "27ff 000c 0001 2200 0001 0400");  // 4 slots, none in use

    // A receiver asks for channels 3 and 1 at fpp 16, 24 bits, to the client's port.
    flowctl::FlowRequest request;
    request.rx_device_name = "rx";
    request.rx_flow_name = "1_1";
    request.rate = config.rate;
    request.bits_per_sample = 24;
    request.fpp = 16;
    const uint16_t ids[] = {3, 1};
    request.slots.assign(ids);
    request.destination = Ipv4Endpoint{ipv4(127, 0, 0, 1), client.port};
    Packet datagram(512);
    datagram.resize(flowctl::encode_request_flow(7, request, datagram));
    const Packet granted = client.ask(datagram, flows.control_port());
    const auto decoded = flowctl::decode_response(granted);
    REQUIRE(decoded.response);
    REQUIRE(decoded.response->handle);
    const flowctl::FlowHandle handle = *decoded.response->handle;

    // The record, field by field as arc_server.cpp documents it (netaudio reads number,
    // type, rate, encoding, fpp, count, channels; the destination sits where it skips).
    reply = client.ask(arc(0x2200, {0, 0}, 2), arc_port);
    const uint16_t number = static_cast<uint16_t>(handle.index + 1);
    char expected[256];
    std::snprintf(expected, sizeof expected,
                  "27ff 002c 0002 2200 0001 0401 %04x 0010 %04x 0001 0000 bb80 0018 0010 0802 %04x 7f00 0001 0000 "
                  "0002 0003 0001",
                  number, number, client.port);
    CHECK(test::to_hex(reply) == expected);

    // Multicast on `lo` is refused (no MULTICAST flag): an ARC error, and no new flow.
    Packet create{0x01, 0x01, 0x00, 0x10, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0};
    reply = client.ask(arc(0x2201, create, 3), arc_port);
    CHECK(test::to_hex(reply) == "27ff 000a 0003 2201 0022");
    // Unknown channel: refused before any socket is opened.
    create[23] = 9;
    CHECK(status(client.ask(arc(0x2201, create, 4), arc_port)) == 0x0022);
    // Deleting the unicast flow's slot over ARC is refused: only multicast flows go that way.
    Packet del{0, 1, 0, 0, static_cast<uint8_t>(number >> 8), static_cast<uint8_t>(number)};
    CHECK(status(client.ask(arc(0x2202, del, 5), arc_port)) == 0x0022);
    CHECK(flows.flows().size() == 1);

    // Stopped by the receiver: gone from the list.
    datagram.resize(64);
    datagram.resize(flowctl::encode_stop_flow(8, handle, datagram));
    CHECK(status(client.ask(datagram, flows.control_port())) == flowctl::status::ok);
    reply = client.ask(arc(0x2200, {0, 0}, 6), arc_port);
    CHECK(test::to_hex(reply) == "27ff 000c 0006 2200 0001 0400");

    control.stop();
    flows.stop();
}

TEST_CASE("summaries and statuses of the bridge") {
    FlowSpec spec;
    spec.handle = flowctl::FlowHandle{4, 1};
    spec.destination = Ipv4Endpoint{ipv4(239, 255, 0, 132), 4321};
    spec.fpp = 32;
    spec.bytes_per_sample = 4;
    const uint16_t ids[] = {1, 2};
    spec.slots.assign(ids);
    spec.multicast = true;
    const control::TxFlowSummary s = summarize_flow(spec, 96000);
    CHECK(s.flow_number == 5);
    CHECK(s.multicast);
    CHECK(s.rate == 96000);
    CHECK(s.encoding_bits == 32);
    CHECK(s.frames_per_packet == 32);
    CHECK(s.channels == std::vector<uint16_t>{1, 2});
    CHECK(s.address == ipv4(239, 255, 0, 132));
    CHECK(s.port == 4321);

    MulticastCreate r;
    CHECK(arc_status_of(r) == control::kStatusOk);
    r.error = MulticastError::too_many_flows;
    CHECK(arc_status_of(r) == control::kStatusTooManyFlows);
    r.error = MulticastError::bad_fpp;
    CHECK(arc_status_of(r) == control::kStatusError);
    r.error = MulticastError::none;
    r.unavailable = true;
    CHECK(arc_status_of(r) == control::kStatusError);
}
