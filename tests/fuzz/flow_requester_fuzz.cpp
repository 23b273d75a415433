// libFuzzer target: a FlowRequester (src/rx/flow_requester.hpp) in any of its states fed a
// script of control replies, audio sources, timer ticks, updates and stops.
//
// Input: byte 0 picks the state reached first, with genuine answers from FlowControlServer
// (0 idle, 1 requesting, 2 granted, 3 granted with audio flowing, 4 an update in flight,
// 5 stopping, 6 refused, 7 no reply). Then records of [u8 op, u8 arg, u16 length, that many
// bytes]; op % 8: 0 a datagram from the transmitter, 1 the same from another endpoint,
// 2 an answer to the exchange in flight with the record's bytes as status and body (arg
// bends its sequence number and opcode), 3 audio from a source, 4 time passes (arg x 10 ms),
// 5 an update (the bytes as u16 channel ids), 6 stop, 7 start.
// Properties: no out-of-bounds access or UB (ASan/UBSan); every control datagram fed is
// counted once, as a reply or as ignored; what it sends is a request our own decoder
// reads, to the target, or a 2-byte keepalive to the audio's source; a granted handle
// never changes; refused, no_reply and stopped are final (but for stop() to stopped);
// a requester in a final state has no deadline and sends nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "flows/flow_control_server.hpp"
#include "rx/flow_requester.hpp"

using namespace dante;
using State = FlowRequesterState;

namespace {

constexpr Ipv4Endpoint kTarget{ipv4(10, 0, 0, 1), 4455};
constexpr Ipv4Endpoint kOurControl{ipv4(10, 0, 0, 50), 40000};
constexpr Ipv4Endpoint kFlowSocket{ipv4(10, 0, 0, 1), 51234};

void require(bool condition) {
    if (!condition) std::abort();
}

bool final_state(State s) { return s == State::refused || s == State::no_reply || s == State::stopped; }

struct Harness {
    FlowServerPolicy policy;
    FlowControlServer server;
    FlowRequester requester;
    int64_t now = 0;
    uint64_t fed = 0;  // control datagrams given to the requester

    explicit Harness(uint32_t server_rate) : policy(make_policy(server_rate)), server(policy, 7), requester(config()) {}

    static FlowServerPolicy make_policy(uint32_t rate) {
        FlowServerPolicy p;
        p.rate = rate;
        p.channels = 8;
        p.subnet = Ipv4Subnet{kTarget.address, 0xFFFFFF00u};
        return p;
    }
    static FlowRequesterConfig config() {
        FlowRequesterConfig c;
        c.target = kTarget;
        c.request.rx_device_name = "fuzz";
        c.request.rx_flow_name = "1_1";
        c.request.rate = 48000;
        c.request.bits_per_sample = 24;
        c.request.fpp = 32;
        const std::array<uint16_t, 2> slots{1, 2};
        c.request.slots.assign(slots);
        c.request.destination = Ipv4Endpoint{kOurControl.address, 40001};
        return c;
    }

    void feed(std::span<const uint8_t> datagram, const Ipv4Endpoint& from) {
        ++fed;
        requester.on_control_datagram(datagram, from, now);
    }

    // Check what the requester wants sent, then answer its control datagrams with the
    // server when `serve` (the answers are fed back at once).
    void flush(bool serve) {
        std::vector<std::vector<uint8_t>> answers;
        for (const RequesterDatagram& d : requester.outbox()) {
            require(d.size > 0 && d.size <= d.bytes.size());
            if (d.socket == RequesterSocket::control) {
                require(d.to == kTarget && d.kind != RequesterDatagramKind::keepalive);
                require(flowctl::decode_request(d.span()).request.has_value());
                if (!serve) continue;
                std::array<uint8_t, 64> out{};
                const size_t n = server.handle(d.span(), kOurControl, out).response_bytes;
                answers.emplace_back(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
            } else {
                require(d.kind == RequesterDatagramKind::keepalive && d.size == 2);
                require(requester.keepalive_destination() && d.to == *requester.keepalive_destination());
            }
        }
        requester.clear_outbox();
        for (const auto& a : answers) feed(a, kTarget);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const unsigned setup = data[0] % 8u;
    Harness h(setup == 6 ? 44100 : 48000);  // 6: the server refuses our rate
    FlowRequester& r = h.requester;
    const std::array<uint16_t, 2> swapped{2, 1};
    if (setup >= 1) {
        r.start(h.now);
        h.flush(setup != 1 && setup != 7);
    }
    if (setup == 7)
        for (int i = 0; i < 4; ++i) h.now += 1000, r.tick(h.now), h.flush(false);
    if (setup == 3) r.on_audio_from(kFlowSocket, h.now), h.flush(false);
    if (setup == 4) r.request_update(swapped, h.now), h.flush(false);
    if (setup == 5) r.stop(h.now), h.flush(false);
    static constexpr State expected[] = {State::idle,    State::requesting, State::granted, State::granted,
                                         State::granted, State::stopping,   State::refused, State::no_reply};
    require(r.state() == expected[setup]);

    std::optional<flowctl::FlowHandle> granted_handle;
    size_t at = 1;
    while (at + 4 <= size) {
        const uint8_t op = data[at];
        const uint8_t arg = data[at + 1];
        const size_t length = (size_t{data[at + 2]} << 8) | data[at + 3];
        at += 4;
        const size_t n = length < size - at ? length : size - at;
        const std::span<const uint8_t> bytes(data + at, n);
        at += n;
        const State before = r.state();
        const FlowRequesterStats stats_before = r.stats();

        switch (op % 8) {
            case 0: h.feed(bytes, kTarget); break;
            case 1: h.feed(bytes, arg & 1 ? Ipv4Endpoint{kTarget.address, 4456} : Ipv4Endpoint{ipv4(10, 0, 0, 2), 4455}); break;
            case 2: {
                // An answer shaped for the exchange in flight, bent by arg.
                flowctl::Header header;
                header.sequence = static_cast<uint16_t>(r.in_flight_sequence().value_or(1) + (arg & 0x3));
                static constexpr uint16_t opcodes[] = {0x0100, 0x0101, 0x0102, 0x0103};
                header.opcode = opcodes[(arg >> 2) & 0x3];
                const uint16_t status = n >= 2 ? static_cast<uint16_t>(bytes[0] << 8 | bytes[1]) : 1;
                std::array<uint8_t, flowctl::kMaxPacketBytes> out{};
                const size_t len = flowctl::encode_response(header, status, bytes.subspan(n >= 2 ? 2 : n), out);
                h.feed(std::span<const uint8_t>(out.data(), len), kTarget);
                break;
            }
            case 3: r.on_audio_from(Ipv4Endpoint{ipv4(10, 0, 0, arg), 50000}, h.now); break;
            case 4:
                h.now += int64_t{arg} * 10;
                r.tick(h.now);
                break;
            case 5: {
                std::vector<uint16_t> ids(n / 2);
                for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
                r.request_update(ids, h.now);
                break;
            }
            case 6: r.stop(h.now); break;
            case 7: require(!r.start(h.now) || before == State::idle); break;
        }
        h.flush(false);

        const State after = r.state();
        if (final_state(before)) require(after == before || after == State::stopped);
        if (after == State::granted || after == State::stopping) {
            if (!granted_handle) granted_handle = r.handle();
            require(r.handle() == *granted_handle);
        }
        if (final_state(after)) require(!r.next_deadline_ms() && !r.in_flight_sequence());
        const FlowRequesterStats& st = r.stats();
        require(st.replies + st.ignored == h.fed);
        require(st.requests_sent >= stats_before.requests_sent && st.keepalives_sent >= stats_before.keepalives_sent);
        require(st.outbox_dropped == 0);  // flushed after every call: never full
    }
    return 0;
}
