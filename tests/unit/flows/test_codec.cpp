#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "flow_request_support.hpp"
#include "flows/flow_control_codec.hpp"

using namespace dante;
using namespace dante::flowctl;

namespace {

FlowRequest sample_request() { return test::stereo_flow_request(Ipv4Endpoint{ipv4(10, 0, 0, 2), 5000}); }

// The request above, laid out by hand from docs/protocol.md#flow-control (and Inferno's
// receiver).
const std::vector<uint8_t> kSampleRequestBytes = {
    0x11, 0x02, 0x00, 0x48, 0x00, 0x07, 0x01, 0x00, 0x00, 0x00,  // header: len 72, seq 7, 0x0100
    0x00, 0x34,                                                  // device name at 52
    0x00, 0x00, 0xBB, 0x80,                                      // 48000 Hz
    0x00, 0x00, 0x00, 0x18,                                      // 24 bits
    0x00, 0x01,                                                  // constant 1
    0x00, 0x02,                                                  // 2 slots
    0x00, 0x40,                                                  // descriptor at 64
    0x00, 0x01, 0x00, 0x02,                                      // channels 1, 2
    0x00, 0x20, 0x0A, 0x00, 0x00, 0x02,                          // next record at 0x20, 0x0A00, 0x0002
    0x00, 0x20,                                                  // fpp 32
    0x00, 0x37,                                                  // flow name at 55
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                          // 12 zeros
    'r', 'x', 0, '1', '_', '1', 0,                               // names at 52 and 55
    0, 0, 0, 0, 0,                                               // pad to 64
    0x08, 0x02, 0x13, 0x88, 0x0A, 0x00, 0x00, 0x02,              // 0x0802, port 5000, 10.0.0.2
};

std::vector<uint8_t> encode(const FlowRequest& r, uint16_t seq = 7) {
    std::vector<uint8_t> out(512);
    out.resize(encode_request_flow(seq, r, out));
    return out;
}

}  // namespace

TEST_CASE("request flow encodes byte for byte as Inferno's receiver would") {
    CHECK(encode(sample_request()) == kSampleRequestBytes);
}

TEST_CASE("request flow decodes every field") {
    const auto decoded = decode_request(kSampleRequestBytes);
    REQUIRE(decoded.request);
    const Request& req = *decoded.request;
    CHECK(req.opcode == Opcode::request_flow);
    CHECK(req.header.sequence == 7);
    CHECK(req.flow.rx_device_name == "rx");
    CHECK(req.flow.rx_flow_name == "1_1");
    CHECK(req.flow.rate == 48000);
    CHECK(req.flow.bits_per_sample == 24);
    CHECK(req.flow.fpp == 32);
    CHECK(req.flow.slots.count == 2);
    CHECK(req.flow.slots.ids[0] == 1);
    CHECK(req.flow.slots.ids[1] == 2);
    CHECK(req.flow.destination == Ipv4Endpoint{ipv4(10, 0, 0, 2), 5000});
}

TEST_CASE("request flow round-trips with many slots, empty slots and long names") {
    FlowRequest r = sample_request();
    std::vector<uint16_t> ids;
    for (uint16_t i = 0; i < kMaxSlots; ++i) ids.push_back(i % 3 == 0 ? 0 : i);
    r.slots.assign(ids);
    r.rx_device_name = std::string(kMaxNameBytes, 'd');  // the longest name accepted
    r.rx_flow_name = "";
    const auto bytes = encode(r);
    REQUIRE(!bytes.empty());
    CHECK(bytes.size() % 8 == 0);  // the descriptor sits on a multiple of 8
    const auto decoded = decode_request(bytes);
    REQUIRE(decoded.request);
    CHECK(decoded.request->flow.slots == r.slots);
    CHECK(decoded.request->flow.rx_device_name == r.rx_device_name);
    CHECK(decoded.request->flow.rx_flow_name.empty());
}

TEST_CASE("encoders refuse what they cannot encode") {
    FlowRequest r = sample_request();
    std::array<uint8_t, 40> small{};
    CHECK(encode_request_flow(1, r, small) == 0);
    r.rx_flow_name = std::string("a\0b", 3);
    CHECK(encode(r).empty());
    std::array<uint8_t, 8> tiny{};
    CHECK(encode_stop_flow(1, FlowHandle{1, 2}, tiny) == 0);
    SlotList too_many;
    std::vector<uint16_t> many(kMaxSlots + 1, 1);
    CHECK_FALSE(too_many.assign(many));
    CHECK(too_many.count == 0);
}

TEST_CASE("stop and update requests: exact bytes and round trip") {
    std::array<uint8_t, 64> out{};
    const FlowHandle h{0x01020304, 0xABCD};
    const size_t n = encode_stop_flow(9, h, out);
    const std::vector<uint8_t> stop(out.begin(), out.begin() + static_cast<long>(n));
    CHECK(stop == std::vector<uint8_t>{0x11, 0x02, 0x00, 0x10, 0x00, 0x09, 0x01, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03,
                                       0x04, 0xAB, 0xCD});
    auto decoded = decode_request(stop);
    REQUIRE(decoded.request);
    CHECK(decoded.request->opcode == Opcode::stop_flow);
    CHECK(decoded.request->handle == h);

    SlotList slots;
    const uint16_t ids[] = {3, 0, 4};
    slots.assign(ids);
    const size_t m = encode_update_flow(10, h, slots, out);
    const std::vector<uint8_t> update(out.begin(), out.begin() + static_cast<long>(m));
    CHECK(update == std::vector<uint8_t>{0x11, 0x02, 0x00, 0x18, 0x00, 0x0A, 0x01, 0x02, 0x00, 0x00, 0x01, 0x02,
                                         0x03, 0x04, 0xAB, 0xCD, 0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04});
    decoded = decode_request(update);
    REQUIRE(decoded.request);
    CHECK(decoded.request->opcode == Opcode::update_flow);
    CHECK(decoded.request->handle == h);
    CHECK(decoded.request->slots == slots);
}

TEST_CASE("responses echo the request and carry the handle") {
    const auto req = decode_request(kSampleRequestBytes);
    REQUIRE(req.request);
    std::array<uint8_t, 6> body{};
    store_handle(body.data(), FlowHandle{5, 0x1234});
    std::array<uint8_t, 64> out{};
    const size_t n = encode_response(req.request->header, status::ok, body, out);
    const std::vector<uint8_t> bytes(out.begin(), out.begin() + static_cast<long>(n));
    CHECK(bytes == std::vector<uint8_t>{0x11, 0x02, 0x00, 0x10, 0x00, 0x07, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                        0x05, 0x12, 0x34});
    const auto resp = decode_response(bytes);
    REQUIRE(resp.response);
    CHECK(resp.response->header.status == status::ok);
    CHECK(resp.response->header.sequence == 7);
    REQUIRE(resp.response->handle);
    CHECK(*resp.response->handle == FlowHandle{5, 0x1234});

    for (uint16_t code : {status::flow_not_found, status::rate_mismatch, status::unsupported_parameters,
                          status::too_many_flows}) {
        const size_t e = encode_response(req.request->header, code, {}, out);
        const auto err = decode_response(std::span<const uint8_t>(out.data(), e));
        REQUIRE(err.response);
        CHECK(err.response->header.status == code);
        CHECK_FALSE(err.response->handle);
        CHECK(err.response->body.empty());
    }
}

TEST_CASE("response decoding rejects a request, a short OK and a bad header") {
    CHECK(decode_response(kSampleRequestBytes).error == DecodeError::not_a_request);
    const std::vector<uint8_t> short_ok = {0x11, 0x02, 0x00, 0x0C, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00};
    CHECK(decode_response(short_ok).error == DecodeError::too_short);
    std::vector<uint8_t> bad = short_ok;
    bad[0] = 0x12;
    CHECK(decode_response(bad).error == DecodeError::bad_start_code);
}

TEST_CASE("request decoding rejects every malformation") {
    auto with = [](auto&& edit) {
        std::vector<uint8_t> b = kSampleRequestBytes;
        edit(b);
        return decode_request(b).error;
    };
    auto set16 = [](std::vector<uint8_t>& b, size_t at, uint16_t v) {
        b[at] = static_cast<uint8_t>(v >> 8);
        b[at + 1] = static_cast<uint8_t>(v);
    };

    CHECK(decode_request(std::span<const uint8_t>(kSampleRequestBytes.data(), 9)).error == DecodeError::too_short);
    // Every truncation: the length field no longer matches.
    for (size_t n = 10; n < kSampleRequestBytes.size(); ++n) {
        std::vector<uint8_t> b(kSampleRequestBytes.begin(), kSampleRequestBytes.begin() + static_cast<long>(n));
        CHECK(decode_request(b).error == DecodeError::too_short);
    }
    // Truncations with a consistent length field: caught by the body checks.
    for (size_t n = 10; n < kSampleRequestBytes.size(); ++n) {
        std::vector<uint8_t> b(kSampleRequestBytes.begin(), kSampleRequestBytes.begin() + static_cast<long>(n));
        set16(b, 2, static_cast<uint16_t>(n));
        CHECK_FALSE(decode_request(b).request);
    }
    CHECK(with([](auto& b) { b.push_back(0); }) == DecodeError::length_mismatch);
    CHECK(with([](auto& b) { b.resize(kMaxPacketBytes + 1); }) == DecodeError::too_long);
    CHECK(with([](auto& b) { b[1] = 0x03; }) == DecodeError::bad_start_code);
    CHECK(with([&](auto& b) { set16(b, 8, 1); }) == DecodeError::not_a_request);
    CHECK(with([&](auto& b) { set16(b, 6, 0x0103); }) == DecodeError::unknown_opcode);
    CHECK(with([&](auto& b) { set16(b, 22, kMaxSlots + 1); }) == DecodeError::bad_slot_count);
    CHECK(with([&](auto& b) { set16(b, 22, 20); }) == DecodeError::too_short);  // body shorter than 20 slots
    CHECK(with([&](auto& b) { set16(b, 10, 0x0010); }) == DecodeError::bad_string);   // into the fixed fields
    CHECK(with([&](auto& b) { set16(b, 10, 0x0048); }) == DecodeError::bad_string);   // past the end
    CHECK(with([&](auto& b) { set16(b, 38, 0x0100); }) == DecodeError::bad_string);   // flow name past the end
    CHECK(with([&](auto& b) { set16(b, 24, 0x0041); }) == DecodeError::bad_descriptor);  // runs off the end
    CHECK(with([&](auto& b) { set16(b, 24, 0x0020); }) == DecodeError::bad_descriptor);  // inside fixed fields
    CHECK(with([&](auto& b) { b[64] = 0x09; }) == DecodeError::bad_descriptor);          // not 0x0802
    // Unterminated string: make the last name run into the descriptor and end of packet.
    CHECK(with([&](auto& b) {
              set16(b, 38, 0x0040 + 7);  // flow name at the descriptor's last byte (0x02), no NUL after
          }) == DecodeError::bad_string);

    // Stop: exactly a handle.
    std::vector<uint8_t> stop = {0x11, 0x02, 0x00, 0x0F, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5};
    CHECK(decode_request(stop).error == DecodeError::too_short);
    stop = {0x11, 0x02, 0x00, 0x11, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7};
    CHECK(decode_request(stop).error == DecodeError::bad_body_size);
    // Update: count beyond the body, or beyond the cap.
    std::vector<uint8_t> update = {0x11, 0x02, 0x00, 0x14, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00,
                                   1,    2,    3,    4,    5,    6,    0x00, 0x02, 0x00, 0x01};
    CHECK(decode_request(update).error == DecodeError::too_short);
    update[16] = 0x01;
    update[17] = 0x00;
    CHECK(decode_request(update).error == DecodeError::bad_slot_count);
    update[16] = 0;
    update[17] = 1;
    CHECK(decode_request(update).request);
}

TEST_CASE("decode errors have names") {
    for (int e = 0; e <= static_cast<int>(DecodeError::bad_body_size); ++e)
        CHECK(to_string(static_cast<DecodeError>(e)) != "?");
}

TEST_CASE("codec: receiver names longer than a label are refused (found by libFuzzer)") {
    // Two overlapping 770-byte "names" decoded fine, then re-encoded past one datagram.
    flowctl::FlowRequest flow;
    flow.rate = 48000;
    flow.bits_per_sample = 24;
    flow.fpp = 32;
    uint16_t ids[] = {1};
    flow.slots.assign(ids);
    flow.destination = {ipv4(10, 77, 0, 2), 5000};
    flow.rx_flow_name = "1_1";
    std::array<uint8_t, 2048> buffer{};
    flow.rx_device_name = std::string(flowctl::kMaxNameBytes, 'a');
    size_t n = flowctl::encode_request_flow(7, flow, buffer);
    REQUIRE(n != 0);
    CHECK(flowctl::decode_request(std::span<const uint8_t>(buffer.data(), n)).request.has_value());
    // One byte longer: the encoder refuses it, and so does the decoder when it arrives.
    flow.rx_device_name = std::string(flowctl::kMaxNameBytes + 1, 'a');
    CHECK(flowctl::encode_request_flow(7, flow, buffer) == 0);
    flow.rx_device_name = std::string(flowctl::kMaxNameBytes, 'a');
    n = flowctl::encode_request_flow(7, flow, buffer);
    std::vector<uint8_t> hostile(buffer.begin(), buffer.begin() + static_cast<long>(n));
    // Turn the NUL after the 63-byte name into one more letter: the name runs into the
    // flow name, 67 bytes long, and must be refused.
    const auto nul = std::find(hostile.begin() + 10 + 40, hostile.end(), uint8_t{0});
    REQUIRE(nul != hostile.end());
    *nul = 'a';
    const auto decoded = flowctl::decode_request(hostile);
    CHECK(!decoded.request.has_value());
    CHECK(decoded.error == flowctl::DecodeError::bad_string);
}
