// libFuzzer target: the flow-control request parser and the server's validation.
//
// Each input is one datagram. It goes through decode_request, decode_response, and a
// long-lived FlowControlServer (so the registry fills up, reuses and frees flows across
// inputs). Properties checked beyond "no crash, no sanitizer report":
//   - a decoded 0x0100 request re-encodes and decodes to the same fields;
//   - a response is produced only for decodable requests, echoes their sequence number,
//     and decodes itself;
//   - the registry never holds more than max_flows flows, and every flow in it passed
//     validation (rate, fpp, depth, channel ids, destination).

#include <array>
#include <cstdio>
#include <vector>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "flows/flow_control_codec.hpp"
#include "flows/flow_control_server.hpp"

using namespace dante;

namespace {

// Aborts (the fuzzer's signal) naming the broken invariant's line.
void require_at(bool ok, int line) {
    if (!ok) {
        std::fprintf(stderr, "flows_control_fuzz: invariant at line %d broken\n", line);
        std::abort();
    }
}
#define require(ok) require_at((ok), __LINE__)

FlowControlServer& server() {
    static FlowControlServer instance(
        [] {
            FlowServerPolicy p;
            p.rate = 48000;
            p.channels = 8;
            p.max_flows = 4;
            p.subnet = Ipv4Subnet{ipv4(10, 77, 0, 1), 0xFFFFFF00u};
            return p;
        }(),
        99);
    return instance;
}

}  // namespace

static void check_datagram(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> datagram(data, size);
    const auto decoded = flowctl::decode_request(datagram);
    require(decoded.request.has_value() == (decoded.error == flowctl::DecodeError::none));
    if (decoded.request && decoded.request->opcode == flowctl::Opcode::request_flow) {
        std::array<uint8_t, 4096> buffer{};
        const auto& flow = decoded.request->flow;
        const size_t n = flowctl::encode_request_flow(decoded.request->header.sequence, flow, buffer);
        if (n != 0) {
            const auto again = flowctl::decode_request(std::span<const uint8_t>(buffer.data(), n));
            require(again.request.has_value());
            const auto& f2 = again.request->flow;
            require(f2.rate == flow.rate && f2.bits_per_sample == flow.bits_per_sample && f2.fpp == flow.fpp &&
                    f2.slots == flow.slots && f2.destination == flow.destination &&
                    f2.rx_device_name == flow.rx_device_name && f2.rx_flow_name == flow.rx_flow_name);
        }
    }
    (void)flowctl::decode_response(datagram);

    std::array<uint8_t, 64> response{};
    const Ipv4Endpoint sender{ipv4(10, 77, 0, static_cast<uint8_t>(2 + size % 3)), 4455};
    const auto out = server().handle(datagram, sender, response);
    if (out.response_bytes != 0) {
        require(decoded.request.has_value());
        const auto r = flowctl::decode_response(std::span<const uint8_t>(response.data(), out.response_bytes));
        require(r.response.has_value());
        require(r.response->header.sequence == decoded.request->header.sequence);
    }
    const auto& policy = server().policy();
    const auto flows = server().flows();
    require(flows.size() <= policy.max_flows && flows.size() == server().flow_count());
    for (const FlowSpec& f : flows) {
        require(f.fpp >= kMinFramesPerPacket && f.fpp <= kMaxRequestFramesPerPacket);
        require(f.bytes_per_sample >= 2 && f.bytes_per_sample <= 4);
        require(f.slots.count >= 1);
        for (uint16_t id : f.slots.span()) require(id <= policy.channels);
        require(destination_allowed(f.destination, policy));
    }
}

// Each input as it is, and again with its length field made consistent, so that most
// mutations get past the header check into the body parser and the server's validation.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    check_datagram(data, size);
    if (size >= 4 && size <= 0xFFFF) {
        std::vector<uint8_t> fixed(data, data + size);
        fixed[2] = static_cast<uint8_t>(size >> 8);
        fixed[3] = static_cast<uint8_t>(size & 0xFF);
        check_datagram(fixed.data(), fixed.size());
    }
    return 0;
}
