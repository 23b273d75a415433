#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "flow_request_support.hpp"
#include "flows/flow_control_server.hpp"
#include "flows/multicast_group.hpp"

using namespace dante;
using namespace dante::flowctl;

namespace {

constexpr uint32_t kIface = ipv4(10, 77, 0, 1);
constexpr uint32_t kPeer = ipv4(10, 77, 0, 2);
const Ipv4Endpoint kSender{kPeer, 40000};

FlowServerPolicy policy(uint32_t max_flows = 4) {
    FlowServerPolicy p;
    p.rate = 48000;
    p.channels = 8;
    p.max_flows = max_flows;
    p.subnet = Ipv4Subnet{kIface, 0xFFFFFF00u};
    return p;
}

FlowRequest request(uint16_t port = 5000, uint32_t dest = kPeer) {
    return test::stereo_flow_request(Ipv4Endpoint{dest, port});
}

struct Exchange {
    FlowServerOutput out;
    std::optional<Response> response;
    std::vector<uint8_t> bytes;
};

Exchange send(FlowControlServer& server, std::span<const uint8_t> datagram, Ipv4Endpoint sender = kSender) {
    Exchange ex;
    ex.bytes.resize(64);
    ex.out = server.handle(datagram, sender, ex.bytes);
    ex.bytes.resize(ex.out.response_bytes);
    if (!ex.bytes.empty()) {
        auto decoded = decode_response(ex.bytes);
        if (decoded.response) {
            // The span in the response points into ex.bytes, which outlives this use.
            ex.response = decoded.response;
        }
    }
    return ex;
}

std::vector<uint8_t> encode(const FlowRequest& r, uint16_t seq = 1) {
    std::vector<uint8_t> b(512);
    b.resize(encode_request_flow(seq, r, b));
    return b;
}

Exchange ask(FlowControlServer& server, const FlowRequest& r, Ipv4Endpoint sender = kSender) {
    return send(server, encode(r), sender);
}

uint16_t status_of(const Exchange& ex) { return ex.response ? ex.response->header.status : 0; }

}  // namespace

TEST_CASE("a valid request gets a handle and an add action") {
    FlowControlServer server(policy(), 42);
    const auto ex = ask(server, request());
    REQUIRE(ex.response);
    CHECK(ex.response->header.status == status::ok);
    CHECK(ex.response->header.sequence == 1);
    CHECK(ex.response->header.opcode == 0x0100);
    REQUIRE(ex.response->handle);
    CHECK(ex.out.action.kind == FlowActionKind::add);
    CHECK(ex.out.action.spec.handle == *ex.response->handle);
    CHECK(ex.out.action.spec.fpp == 32);
    CHECK(ex.out.action.spec.bytes_per_sample == 3);
    CHECK(ex.out.action.spec.destination == Ipv4Endpoint{kPeer, 5000});
    CHECK(ex.out.action.spec.slots.count == 2);
    CHECK(server.flow_count() == 1);
}

TEST_CASE("bit depths map to sample sizes") {
    for (auto [bits, bytes] : {std::pair{16u, 2u}, {24u, 3u}, {32u, 4u}}) {
        FlowControlServer server(policy(), 1);
        auto r = request();
        r.bits_per_sample = bits;
        const auto ex = ask(server, r);
        CHECK(status_of(ex) == status::ok);
        CHECK(ex.out.action.spec.bytes_per_sample == bytes);
    }
}

TEST_CASE("each refusal has its status code") {
    FlowControlServer server(policy(), 1);
    auto expect = [&](FlowRequest r, uint16_t code) {
        const auto ex = ask(server, r);
        CHECK(status_of(ex) == code);
        CHECK(ex.out.action.kind == FlowActionKind::none);
    };
    auto r = request();
    r.rate = 44100;
    expect(r, status::rate_mismatch);
    for (uint32_t bits : {0u, 8u, 20u, 33u}) {
        r = request();
        r.bits_per_sample = bits;
        expect(r, status::unsupported_parameters);
    }
    for (uint16_t fpp : {0, 1, 257, 1000}) {
        r = request();
        r.fpp = fpp;
        expect(r, status::unsupported_parameters);
    }
    r = request();
    r.slots.count = 0;
    expect(r, status::unsupported_parameters);
    r = request();
    r.slots.ids[1] = 9;  // we have 8 channels
    expect(r, status::unsupported_parameters);
    r = request();
    r.fpp = 256;  // 9 + 256*2*3 = 1545 bytes > MTU
    expect(r, status::unsupported_parameters);
    CHECK(server.flow_count() == 0);
}

TEST_CASE("the limits themselves are accepted") {
    FlowControlServer server(policy(), 1);
    auto r = request();
    r.fpp = 2;
    CHECK(status_of(ask(server, r)) == status::ok);
    r = request(5001);
    r.fpp = 256;
    r.slots.count = 1;
    r.slots.ids[0] = 8;  // highest channel id; 9 + 256*3 = 777 bytes
    CHECK(status_of(ask(server, r)) == status::ok);
    r = request(5002);
    r.slots.ids[0] = 0;  // empty slots are fine
    r.slots.ids[1] = 0;
    CHECK(status_of(ask(server, r)) == status::ok);
}

TEST_CASE("destinations: only unicast hosts of our subnet") {
    const FlowServerPolicy p = policy();
    CHECK(destination_allowed({kPeer, 1}, p));
    CHECK(destination_allowed({kIface, 1}, p));  // a receiver on this host, through the interface
    CHECK_FALSE(destination_allowed({kPeer, 0}, p));
    CHECK_FALSE(destination_allowed({ipv4(127, 0, 0, 1), 5000}, p));
    CHECK_FALSE(destination_allowed({ipv4(239, 1, 2, 3), 5000}, p));
    CHECK_FALSE(destination_allowed({ipv4(224, 0, 0, 1), 5000}, p));
    CHECK_FALSE(destination_allowed({ipv4(255, 255, 255, 255), 5000}, p));
    CHECK_FALSE(destination_allowed({ipv4(10, 77, 0, 255), 5000}, p));  // directed broadcast
    CHECK_FALSE(destination_allowed({ipv4(10, 77, 0, 0), 5000}, p));    // network address
    CHECK_FALSE(destination_allowed({ipv4(10, 77, 1, 2), 5000}, p));    // off-subnet
    CHECK_FALSE(destination_allowed({ipv4(8, 8, 8, 8), 5000}, p));
    CHECK_FALSE(destination_allowed({0, 5000}, p));
    CHECK_FALSE(destination_allowed({ipv4(240, 0, 0, 1), 5000}, p));

    FlowServerPolicy lo = p;
    lo.allow_loopback = true;
    CHECK(destination_allowed({ipv4(127, 0, 0, 1), 5000}, lo));
    CHECK_FALSE(destination_allowed({ipv4(239, 1, 2, 3), 5000}, lo));

    // A /31 has no network or broadcast address: both ends are hosts.
    FlowServerPolicy p31 = p;
    p31.subnet = Ipv4Subnet{ipv4(10, 0, 0, 0), 0xFFFFFFFEu};
    CHECK(destination_allowed({ipv4(10, 0, 0, 1), 1}, p31));
    CHECK(destination_allowed({ipv4(10, 0, 0, 0), 1}, p31));

    FlowControlServer server(p, 1);
    for (uint32_t dest : {ipv4(127, 0, 0, 1), ipv4(239, 1, 2, 3), ipv4(10, 77, 0, 255), ipv4(10, 77, 1, 2)})
        CHECK(status_of(ask(server, request(5000, dest))) == status::unsupported_parameters);
    CHECK(server.flow_count() == 0);
}

TEST_CASE("strangers and garbage get no answer") {
    FlowControlServer server(policy(), 1);
    auto ex = ask(server, request(), Ipv4Endpoint{ipv4(192, 168, 1, 5), 4455});
    CHECK(ex.out.ignored_sender);
    CHECK(ex.bytes.empty());
    ex = ask(server, request(), Ipv4Endpoint{ipv4(127, 0, 0, 1), 4455});
    CHECK(ex.bytes.empty());
    const std::vector<uint8_t> junk = {1, 2, 3};
    ex = send(server, junk);
    CHECK(ex.bytes.empty());
    CHECK(ex.out.decode_error == DecodeError::too_short);
}

TEST_CASE("too many flows gives 0x0315; a freed slot is usable again") {
    FlowControlServer server(policy(2), 1);
    const auto a = ask(server, request(5000));
    const auto b = ask(server, request(5001));
    CHECK(status_of(a) == status::ok);
    CHECK(status_of(b) == status::ok);
    CHECK(status_of(ask(server, request(5002))) == status::too_many_flows);
    REQUIRE(a.response->handle);
    CHECK(server.remove(*a.response->handle));
    CHECK_FALSE(server.remove(*a.response->handle));
    const auto c = ask(server, request(5002));
    CHECK(status_of(c) == status::ok);
    REQUIRE(c.response->handle);
    CHECK_FALSE(*c.response->handle == *a.response->handle);

    FlowControlServer none(policy(0), 1);
    CHECK(status_of(ask(none, request())) == status::too_many_flows);
}

TEST_CASE("the same destination reuses its flow and handle") {
    FlowControlServer server(policy(), 7);
    const auto first = ask(server, request(5000));
    auto again = request(5000);
    const uint16_t ids[] = {3, 4, 5};
    again.slots.assign(ids);
    again.fpp = 16;
    const auto second = ask(server, again);
    REQUIRE(first.response->handle);
    REQUIRE(second.response->handle);
    CHECK(*first.response->handle == *second.response->handle);
    CHECK(second.out.action.kind == FlowActionKind::update);
    CHECK(second.out.action.spec.slots.count == 3);
    CHECK(second.out.action.spec.fpp == 16);
    CHECK(second.out.action.spec.version > first.out.action.spec.version);
    CHECK(server.flow_count() == 1);
    // Another port of the same host is another flow.
    CHECK(ask(server, request(5001)).out.action.kind == FlowActionKind::add);
    CHECK(server.flow_count() == 2);
}

TEST_CASE("stop and update by handle; unknown handles get 0x0103") {
    FlowControlServer server(policy(), 3);
    const auto added = ask(server, request());
    REQUIRE(added.response->handle);
    const FlowHandle h = *added.response->handle;
    std::array<uint8_t, 64> buf{};

    SlotList slots;
    const uint16_t ids[] = {8, 0, 1};
    slots.assign(ids);
    size_t n = encode_update_flow(5, h, slots, buf);
    auto ex = send(server, std::span<const uint8_t>(buf.data(), n));
    CHECK(status_of(ex) == status::ok);
    CHECK(ex.response->header.opcode == 0x0102);
    CHECK(ex.out.action.kind == FlowActionKind::update);
    CHECK(ex.out.action.spec.slots == slots);

    slots.ids[0] = 9;  // beyond our channels
    n = encode_update_flow(6, h, slots, buf);
    CHECK(status_of(send(server, std::span<const uint8_t>(buf.data(), n))) == status::unsupported_parameters);

    const FlowHandle wrong_cookie{h.index, static_cast<uint16_t>(h.cookie + 1)};
    n = encode_update_flow(7, wrong_cookie, slots, buf);
    CHECK(status_of(send(server, std::span<const uint8_t>(buf.data(), n))) == status::flow_not_found);
    n = encode_stop_flow(8, FlowHandle{1000, 0}, buf);
    CHECK(status_of(send(server, std::span<const uint8_t>(buf.data(), n))) == status::flow_not_found);

    n = encode_stop_flow(9, h, buf);
    ex = send(server, std::span<const uint8_t>(buf.data(), n));
    CHECK(status_of(ex) == status::ok);
    CHECK(ex.response->header.opcode == 0x0101);
    CHECK(ex.out.action.kind == FlowActionKind::stop);
    CHECK(ex.out.action.spec.handle == h);
    CHECK(server.flow_count() == 0);
    // Stopped (or expired) flows are gone: 0x0103.
    CHECK(status_of(send(server, std::span<const uint8_t>(buf.data(), n))) == status::flow_not_found);
}

// ---- multicast flows (ARC 0x2201/0x2202 through the flows service)

namespace {
SlotList slot_list(std::initializer_list<uint16_t> ids) {
    SlotList s;
    const std::vector<uint16_t> v(ids);
    s.assign(v);
    return s;
}
}  // namespace

TEST_CASE("multicast groups: 239.255/16, unique per device of a /23 and per flow, never SSDP/SLP") {
    CHECK(multicast_group_for(ipv4(10, 77, 0, 1), 0) == ipv4(239, 255, 0, 128));
    CHECK(multicast_group_for(ipv4(10, 77, 0, 1), 5) == ipv4(239, 255, 0, 133));
    CHECK(multicast_group_for(ipv4(10, 77, 1, 253), 127) == ipv4(239, 255, 254, 255));  // the highest group
    std::vector<uint32_t> seen;
    for (uint32_t host = 0; host < 512; ++host) {
        // Every host of 10.1.0.0/23 (0 and 511 are its network and broadcast addresses).
        if (host == 0 || host == 511) continue;
        for (uint32_t flow : {0u, 1u, 64u, 127u}) {
            const uint32_t g = multicast_group_for(ipv4(10, 1, 0, 0) + host, flow);
            CHECK(is_multicast(g));
            CHECK((g >> 16) == 0xEFFFu);
            CHECK(is_derived_multicast_group(g));
            CHECK(g != ipv4(239, 255, 255, 250));
            CHECK(g != ipv4(239, 255, 255, 253));
            seen.push_back(g);
        }
    }
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

TEST_CASE("a multicast flow: our derived group, port 4321, device encoding, counts toward max_flows") {
    FlowServerPolicy p = policy(3);
    p.multicast_bytes_per_sample = 4;
    FlowControlServer server(p, 7);
    const MulticastAdd a = server.add_multicast(2, slot_list({3, 4}), 0);
    REQUIRE(a.error == MulticastError::none);
    CHECK(a.spec.multicast);
    CHECK(a.spec.handle.index == 1);
    CHECK(a.spec.destination == Ipv4Endpoint{multicast_group_for(kIface, 1), 4321});
    CHECK(a.spec.fpp == kDefaultMulticastFramesPerPacket);
    CHECK(a.spec.bytes_per_sample == 4);
    CHECK(a.spec.slots == slot_list({3, 4}));
    CHECK(server.flow_count() == 1);

    // Slot taken, then any slot: the next free one; then a unicast flow takes the last.
    CHECK(server.add_multicast(2, slot_list({1}), 0).error == MulticastError::bad_slot);
    const MulticastAdd b = server.add_multicast(0, slot_list({1}), 16);
    REQUIRE(b.error == MulticastError::none);
    CHECK(b.spec.fpp == 16);
    CHECK(b.spec.handle.index != 1);
    const auto bytes = encode(request(6000));
    CHECK(send(server, bytes).out.status == status::ok);
    CHECK(server.flow_count() == 3);
    CHECK(server.add_multicast(0, slot_list({1}), 0).error == MulticastError::too_many_flows);
    CHECK(server.add_multicast(3, slot_list({1}), 0).error == MulticastError::too_many_flows);
    // And a unicast request now finds no slot either.
    CHECK(send(server, encode(request(6001))).out.status == status::too_many_flows);

    // A receiver cannot stop or re-channel a multicast flow by its handle.
    std::array<uint8_t, 64> buffer{};
    const size_t n = encode_stop_flow(9, a.spec.handle, buffer);
    CHECK(send(server, std::span<const uint8_t>(buffer.data(), n)).out.status == status::flow_not_found);
    const size_t m = encode_update_flow(10, a.spec.handle, slot_list({1}), buffer);
    CHECK(send(server, std::span<const uint8_t>(buffer.data(), m)).out.status == status::flow_not_found);

    // Delete by slot: only multicast flows; the unicast one's slot is refused.
    CHECK(server.remove_multicast(2).has_value());
    CHECK_FALSE(server.remove_multicast(2).has_value());
    uint32_t unicast_slot = 0;
    for (const FlowSpec& f : server.flows())
        if (!f.multicast) unicast_slot = f.handle.index + 1;
    REQUIRE(unicast_slot != 0);
    CHECK_FALSE(server.remove_multicast(unicast_slot).has_value());
    CHECK_FALSE(server.remove_multicast(0).has_value());
    CHECK_FALSE(server.remove_multicast(99).has_value());
    CHECK(server.flow_count() == 2);
}

TEST_CASE("multicast refusals: unknown channels, bad fpp, bad slot") {
    FlowControlServer server(policy(4), 7);
    CHECK(server.add_multicast(0, slot_list({}), 0).error == MulticastError::bad_channels);
    CHECK(server.add_multicast(0, slot_list({9}), 0).error == MulticastError::bad_channels);  // 8 channels
    CHECK(server.add_multicast(0, slot_list({0, 1}), 0).error == MulticastError::bad_channels);
    CHECK(server.add_multicast(0, slot_list({1, 2, 3, 4, 5, 6, 7, 8, 1}), 0).error == MulticastError::bad_channels);
    CHECK(server.add_multicast(0, slot_list({1}), 1).error == MulticastError::bad_fpp);
    CHECK(server.add_multicast(0, slot_list({1}), 257).error == MulticastError::bad_fpp);
    // 8 channels x 3 bytes x 64 frames = 1545 bytes: over the MTU.
    CHECK(server.add_multicast(0, slot_list({1, 2, 3, 4, 5, 6, 7, 8}), 64).error == MulticastError::bad_fpp);
    CHECK(server.add_multicast(5, slot_list({1}), 0).error == MulticastError::bad_slot);
    CHECK(server.flow_count() == 0);
    CHECK(server.add_multicast(0, slot_list({1, 2, 3, 4, 5, 6, 7, 8}), 2).error == MulticastError::none);
    CHECK(server.add_multicast(4, slot_list({8}), 256).error == MulticastError::none);  // 9 + 256 x 3 bytes fits
}
