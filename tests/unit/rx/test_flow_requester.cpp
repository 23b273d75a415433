// FlowRequester against our own transmitter side: every answer it gets is what
// FlowControlServer says to the bytes it sent, so both ends of the protocol are checked
// against each other rather than against hand-typed bytes.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "flows/flow_control_server.hpp"
#include "rx/flow_requester.hpp"

using namespace dante;
using flowctl::Opcode;

namespace {

constexpr Ipv4Endpoint kTarget{ipv4(10, 0, 0, 1), 4455};
constexpr Ipv4Endpoint kOurControl{ipv4(10, 0, 0, 50), 40000};
constexpr Ipv4Endpoint kOurAudio{ipv4(10, 0, 0, 50), 40001};
constexpr Ipv4Endpoint kFlowSocket{ipv4(10, 0, 0, 1), 51234};  // where the audio comes from

FlowRequesterConfig config(std::vector<uint16_t> channels = {1, 2}) {
    FlowRequesterConfig c;
    c.target = kTarget;
    c.request.rx_device_name = "rx-test";
    c.request.rx_flow_name = "42_1";
    c.request.rate = 48000;
    c.request.bits_per_sample = 24;
    c.request.fpp = 32;
    c.request.slots.assign(channels);
    c.request.destination = kOurAudio;
    return c;
}

FlowServerPolicy policy(uint32_t rate = 48000) {
    FlowServerPolicy p;
    p.rate = rate;
    p.channels = 8;
    p.subnet = Ipv4Subnet{kTarget.address, 0xFFFFFF00u};
    return p;
}

// The requester's outbox taken: the datagrams it asked to send, in order.
std::vector<RequesterDatagram> take(FlowRequester& r) {
    std::vector<RequesterDatagram> out(r.outbox().begin(), r.outbox().end());
    r.clear_outbox();
    return out;
}

// What our transmitter answers to one control datagram from the requester.
std::vector<uint8_t> answer(FlowControlServer& server, const RequesterDatagram& d, FlowServerOutput* output = nullptr) {
    REQUIRE(d.socket == RequesterSocket::control);
    REQUIRE(d.to == kTarget);
    std::array<uint8_t, 256> response{};
    const FlowServerOutput out = server.handle(d.span(), kOurControl, response);
    if (output != nullptr) *output = out;
    return {response.begin(), response.begin() + static_cast<std::ptrdiff_t>(out.response_bytes)};
}

// Requested and granted at t = 0; the outbox is empty afterwards.
void grant(FlowRequester& r, FlowControlServer& server) {
    REQUIRE(r.start(0));
    const auto sent = take(r);
    REQUIRE(sent.size() == 1);
    r.on_control_datagram(answer(server, sent[0]), kTarget, 1);
    REQUIRE(r.state() == FlowRequesterState::granted);
}

}  // namespace

TEST_CASE("flow requester: request, grant, keepalives every 250 ms once audio flows, stop") {
    FlowControlServer server(policy(), 7);
    FlowRequester r(config({2, 1}));
    CHECK(r.state() == FlowRequesterState::idle);
    CHECK_FALSE(r.next_deadline_ms());

    REQUIRE(r.start(0));
    CHECK(r.state() == FlowRequesterState::requesting);
    CHECK_FALSE(r.start(0));  // once only
    auto sent = take(r);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].kind == RequesterDatagramKind::request);
    CHECK(r.next_deadline_ms() == 1000);
    // The transmitter reads back what we asked for, our audio socket as the destination.
    const auto decoded = flowctl::decode_request(sent[0].span());
    REQUIRE(decoded.request);
    CHECK(decoded.request->flow.destination == kOurAudio);
    CHECK(decoded.request->flow.slots.count == 2);
    CHECK(decoded.request->header.sequence == r.in_flight_sequence());

    FlowServerOutput out;
    r.on_control_datagram(answer(server, sent[0], &out), kTarget, 3);
    REQUIRE(out.action.kind == FlowActionKind::add);
    CHECK(r.state() == FlowRequesterState::granted);
    CHECK(r.handle() == out.action.spec.handle);
    CHECK(r.stats().replies == 1);

    // No keepalive before audio: we do not know the flow socket yet.
    r.tick(300);
    CHECK(r.outbox().empty());
    CHECK_FALSE(r.next_deadline_ms());

    r.on_audio_from(kFlowSocket, 400);
    sent = take(r);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].socket == RequesterSocket::audio);
    CHECK(sent[0].kind == RequesterDatagramKind::keepalive);
    CHECK(sent[0].to == kFlowSocket);
    CHECK(std::vector<uint8_t>(sent[0].span().begin(), sent[0].span().end()) == std::vector<uint8_t>{0x13, 0x37});
    CHECK(r.next_deadline_ms() == 650);
    // Later packets (even from elsewhere) do not move the keepalives.
    r.on_audio_from(Ipv4Endpoint{ipv4(10, 0, 0, 9), 1}, 500);
    r.tick(649);
    CHECK(r.outbox().empty());
    for (int64_t t : {650, 900, 1150}) {
        r.tick(t);
        sent = take(r);
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].to == kFlowSocket);
    }
    CHECK(r.stats().keepalives_sent == 4);

    r.stop(1200);
    CHECK(r.state() == FlowRequesterState::stopping);
    sent = take(r);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].kind == RequesterDatagramKind::stop);
    r.on_control_datagram(answer(server, sent[0], &out), kTarget, 1201);
    CHECK(out.action.kind == FlowActionKind::stop);
    CHECK(server.flow_count() == 0);
    CHECK(r.state() == FlowRequesterState::stopped);
    CHECK(r.stop_acknowledged());
    r.tick(5000);  // nothing more, ever
    CHECK(r.outbox().empty());
    CHECK_FALSE(r.next_deadline_ms());
    CHECK(r.stats().ignored == 0);
}

TEST_CASE("flow requester: a refusal carries the transmitter's status") {
    FlowControlServer server(policy(44100), 7);
    FlowRequester r(config());
    REQUIRE(r.start(0));
    const auto sent = take(r);
    r.on_control_datagram(answer(server, sent[0]), kTarget, 2);
    CHECK(r.state() == FlowRequesterState::refused);
    CHECK(r.refused_status() == flowctl::status::rate_mismatch);
    CHECK_FALSE(r.next_deadline_ms());
    r.stop(3);  // nothing was granted: nothing to stop
    CHECK(r.state() == FlowRequesterState::stopped);
    CHECK(r.outbox().empty());
}

TEST_CASE("flow requester: retries the same request, then gives up") {
    FlowRequester r(config());
    REQUIRE(r.start(0));
    const auto first = take(r);
    r.tick(999);
    CHECK(r.outbox().empty());
    r.tick(1000);
    auto again = take(r);
    REQUIRE(again.size() == 1);
    CHECK(std::vector<uint8_t>(again[0].span().begin(), again[0].span().end()) ==
          std::vector<uint8_t>(first[0].span().begin(), first[0].span().end()));
    r.tick(2000);
    CHECK(take(r).size() == 1);
    CHECK(r.state() == FlowRequesterState::requesting);
    r.tick(3000);
    CHECK(r.outbox().empty());
    CHECK(r.state() == FlowRequesterState::no_reply);
    CHECK(r.stats().requests_sent == 3);
    CHECK(r.stats().retries == 2);
    // An answer that comes too late changes nothing.
    FlowControlServer server(policy(), 7);
    r.on_control_datagram(answer(server, first[0]), kTarget, 3001);
    CHECK(r.state() == FlowRequesterState::no_reply);
    CHECK(r.stats().ignored == 1);
}

TEST_CASE("flow requester: a stop nobody answers ends after its own, shorter attempts") {
    FlowControlServer server(policy(), 7);
    FlowRequester r(config());
    grant(r, server);
    r.stop(100);
    CHECK(take(r).size() == 1);
    CHECK(r.next_deadline_ms() == 400);
    r.tick(400);
    CHECK(take(r).size() == 1);
    r.tick(700);
    CHECK(r.state() == FlowRequesterState::stopped);
    CHECK_FALSE(r.stop_acknowledged());
    CHECK(r.stats().stops_sent == 2);
}

TEST_CASE("flow requester: answers from elsewhere, to another exchange or garbage are ignored") {
    FlowControlServer server(policy(), 7);
    FlowRequester r(config());
    REQUIRE(r.start(0));
    const auto sent = take(r);
    const std::vector<uint8_t> genuine = answer(server, sent[0]);
    REQUIRE(!genuine.empty());
    const auto header = flowctl::decode_response(genuine).response->header;
    const std::array<uint8_t, flowctl::kHandleBytes> handle_body{0, 0, 0, 0, 0, 1};

    std::vector<std::vector<uint8_t>> wrong;
    auto respond = [&](flowctl::Header h, uint16_t status) {
        std::array<uint8_t, 64> out{};
        const size_t n = flowctl::encode_response(h, status, handle_body, out);
        wrong.emplace_back(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    };
    auto other_sequence = header;
    other_sequence.sequence = static_cast<uint16_t>(header.sequence + 1);
    respond(other_sequence, flowctl::status::ok);
    auto other_opcode = header;
    other_opcode.opcode = static_cast<uint16_t>(Opcode::stop_flow);
    respond(other_opcode, flowctl::status::ok);
    wrong.emplace_back(sent[0].span().begin(), sent[0].span().end());  // our own request echoed
    wrong.emplace_back(genuine.begin(), genuine.end() - 1);  // truncated
    wrong.emplace_back();                                    // empty
    for (const auto& d : wrong) r.on_control_datagram(d, kTarget, 5);
    // The genuine answer, from the right address but another port, or from another host.
    r.on_control_datagram(genuine, Ipv4Endpoint{kTarget.address, 4456}, 5);
    r.on_control_datagram(genuine, Ipv4Endpoint{ipv4(10, 0, 0, 2), kTarget.port}, 5);
    CHECK(r.state() == FlowRequesterState::requesting);
    CHECK(r.stats().ignored == wrong.size() + 2);

    r.on_control_datagram(genuine, kTarget, 6);
    CHECK(r.state() == FlowRequesterState::granted);
    // The same answer again (a retry's) is ignored, and changes nothing.
    r.on_control_datagram(genuine, kTarget, 7);
    CHECK(r.stats().ignored == wrong.size() + 3);
    CHECK(r.state() == FlowRequesterState::granted);
}

TEST_CASE("flow requester: channel updates, one at a time, the newest waiting one wins") {
    FlowControlServer server(policy(), 7);
    FlowRequester r(config({1, 2}));
    grant(r, server);

    const std::array<uint16_t, 2> swapped{2, 1};
    REQUIRE(r.request_update(swapped, 10));
    auto sent = take(r);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].kind == RequesterDatagramKind::update);
    CHECK(r.update_in_flight());
    // Two more while the first is in flight: only the last is sent, after the answer.
    const std::array<uint16_t, 2> first_wait{3, 3};
    const std::array<uint16_t, 2> bad{1, 9};  // channel 9 of 8: refused with 0x0302
    REQUIRE(r.request_update(first_wait, 11));
    REQUIRE(r.request_update(bad, 12));
    CHECK(r.outbox().empty());

    FlowServerOutput out;
    r.on_control_datagram(answer(server, sent[0], &out), kTarget, 13);
    CHECK(out.action.kind == FlowActionKind::update);
    CHECK(server.flows()[0].slots.ids[0] == 2);
    CHECK(r.update_status() == flowctl::status::ok);
    sent = take(r);  // the waiting one goes out at once
    REQUIRE(sent.size() == 1);
    r.on_control_datagram(answer(server, sent[0]), kTarget, 14);
    CHECK(r.update_status() == flowctl::status::unsupported_parameters);
    CHECK(r.state() == FlowRequesterState::granted);  // the flow is as it was
    CHECK(server.flows()[0].slots.ids[0] == 2);
    CHECK(r.stats().updates_sent == 2);
    CHECK(r.stats().updates_abandoned == 1);
    CHECK_FALSE(r.update_in_flight());

    // An unanswered update gives up after its attempts; the flow stays granted.
    REQUIRE(r.request_update(swapped, 100));
    for (int64_t t : {1100, 2100, 3100}) r.tick(t);
    CHECK(r.update_status() == 0);
    CHECK(r.state() == FlowRequesterState::granted);
    CHECK(r.stats().updates_sent == 5);
}

TEST_CASE("flow requester: what cannot be asked is refused before anything is sent") {
    auto c = config();
    c.request.rx_device_name = std::string(64, 'x');  // longer than a name may be
    FlowRequester r(c);
    CHECK_FALSE(r.start(0));
    CHECK(r.state() == FlowRequesterState::idle);
    CHECK(r.outbox().empty());
    CHECK_FALSE(r.request_update(std::vector<uint16_t>(65, 1), 0));
}
