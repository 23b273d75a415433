// Wire bytes of everything a port sends, pinned: two ports (v1, and v2) on a simulated
// link in simulated time, each on a fixed timescale, run through listening -> master ->
// (the worse one) uncalibrated -> slave. Every datagram either sends is folded into a
// hash; the first of each (sender, message kind) is also kept whole. The expected values
// were captured from the port before its per-version encoders moved behind WireFormat
// (commit 4af942a), so a refactoring of the port cannot change a byte unnoticed.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptp/port.hpp"

using namespace dante::ptp;

namespace {

struct OffsetTimescale final : Timescale {
    int64_t offset = 0;
    [[nodiscard]] int64_t ptp_ns_at(int64_t mono_ns) const override { return mono_ns + offset; }
    [[nodiscard]] double rate() const override { return 1.0; }
};

struct Trace {
    uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
    size_t count = 0;
    std::map<std::string, std::string> first;  // "<sender>/<kind byte>" -> hex

    void fold(uint8_t b) {
        hash ^= b;
        hash *= 0x100000001b3ull;
    }
    void add(int sender, const SendMessage& m, uint8_t kind) {
        ++count;
        fold(static_cast<uint8_t>(sender));
        fold(static_cast<uint8_t>(m.channel));
        fold(m.timestamp_tag ? 1 : 0);
        if (m.timestamp_tag) {
            for (int s = 0; s < 32; s += 8) fold(static_cast<uint8_t>(*m.timestamp_tag >> s));
        }
        std::string hex;
        for (uint8_t b : m.data()) {
            fold(b);
            char h[3];
            std::snprintf(h, sizeof h, "%02x", b);
            hex += h;
        }
        char key[16];
        std::snprintf(key, sizeof key, "%d/%02x", sender, kind);
        first.emplace(key, hex);
    }
};

// Two ports, port 0 the better master. 1 ms steps; datagrams arrive 50 us after they are
// sent; transmit timestamps are 3 us after the send.
Trace run(PtpVersion version) {
    std::array<PortConfig, 2> configs{};
    std::array<OffsetTimescale, 2> timescales{};
    for (int i = 0; i < 2; ++i) {
        PortConfig& c = configs[static_cast<size_t>(i)];
        c.version = version;
        c.identity.port = 1;
        c.log_sync_interval = -2;
        c.log_announce_interval = 0;
        c.log_min_delay_req_interval = -1;
        c.domain = 3;
        c.subdomain = v1::kDefaultSubdomain;
        if (version == PtpVersion::v2) {
            c.identity.clock = {0x00, 0x1d, 0xc1, 0xff, 0xfe, 0x00, 0x00, static_cast<uint8_t>(0x10 + i)};
            c.priority1 = i == 0 ? 100 : 128;
        } else {
            c.identity.clock = {0x00, 0x1d, 0xc1, 0x00, 0x00, static_cast<uint8_t>(0x10 + i), 0, 0};
            c.v1_preferred = i == 0;
        }
        timescales[static_cast<size_t>(i)].offset = 1'700'000'000'000'000'000 + i * 1'234'567;
    }
    std::vector<std::unique_ptr<PtpPort>> ports;
    for (size_t i = 0; i < 2; ++i) ports.push_back(std::make_unique<PtpPort>(configs[i], timescales[i]));

    struct InFlight {
        int64_t at;
        size_t to;
        Channel channel;
        std::vector<uint8_t> bytes;
    };
    std::vector<InFlight> link;
    std::array<std::array<std::optional<int64_t>, kPortTimerCount>, 2> timers{};
    Trace trace;

    auto apply = [&](auto& self, size_t i, const ActionList& actions, int64_t now) -> void {
        REQUIRE_FALSE(actions.overflowed());
        for (const Action& a : actions) {
            if (const auto* send = std::get_if<SendMessage>(&a)) {
                const uint8_t kind = version == PtpVersion::v2 ? static_cast<uint8_t>(send->bytes[0] & 0x0F)
                                                               : send->bytes[32];
                trace.add(static_cast<int>(i), *send, kind);
                link.push_back({now + 50'000, 1 - i, send->channel, {send->data().begin(), send->data().end()}});
                if (send->timestamp_tag) self(self, i, ports[i]->on_tx_timestamp(*send->timestamp_tag, now + 3'000), now);
            } else if (const auto* arm = std::get_if<ArmTimer>(&a)) {
                timers[i][static_cast<size_t>(arm->timer)] = arm->deadline_mono_ns;
            } else if (std::get_if<ClockSample>(&a) != nullptr) {
                // The media clock would lock after a few samples; one is enough here.
                if (ports[i]->state() == PortState::uncalibrated) self(self, i, ports[i]->on_clock_locked(true, now), now);
            }
        }
    };

    for (size_t i = 0; i < 2; ++i) apply(apply, i, ports[i]->start(static_cast<int64_t>(i) * 7'000'000), 0);
    for (int64_t now = 0; now <= 8'000'000'000; now += 1'000'000) {
        std::vector<InFlight> due;
        std::erase_if(link, [&](InFlight& f) {
            if (f.at > now) return false;
            due.push_back(std::move(f));
            return true;
        });
        for (const InFlight& f : due) apply(apply, f.to, ports[f.to]->on_message(f.bytes, f.channel, f.at), now);
        for (size_t i = 0; i < 2; ++i) {
            for (size_t t = 0; t < kPortTimerCount; ++t) {
                if (timers[i][t] && *timers[i][t] <= now) {
                    timers[i][t].reset();
                    apply(apply, i, ports[i]->on_timer(static_cast<PortTimer>(t), now), now);
                }
            }
        }
    }
    CHECK(ports[0]->state() == PortState::master);
    CHECK(ports[1]->state() == PortState::slave);
    return trace;
}

void check(const Trace& t, size_t count, uint64_t hash, const std::map<std::string, std::string>& first) {
    CHECK(t.count == count);
    CHECK(t.hash == hash);
    CHECK(t.first.size() == first.size());
    for (const auto& entry : first) {  // no structured binding: clang 14 cannot CAPTURE one
        const std::string& key = entry.first;
        CAPTURE(key);
        const auto found = t.first.find(key);
        REQUIRE(found != t.first.end());
        CHECK(found->second == entry.second);
    }
}

}  // namespace

// Keys: "<sender>/<messageType nibble>" (0 sync, 1 delay_req, 8 follow_up, 9 delay_resp,
// b announce).
TEST_CASE("port golden bytes: v2") {
    check(run(PtpVersion::v2), 73, 4174051866079993541ull,
          {
              {"0/00", "0002002c03000200000000000000000000000000001dc1fffe0000100001000000fe00006553f10300000000"},
              {"0/08", "0802002c03000000000000000000000000000000001dc1fffe0000100001000002fe00006553f10300000bb8"},
              {"0/09", "0902003603000000000000000000000000000000001dc1fffe0000100001000003ff00006553f1040ef6b810001dc1fffe0000110001"},
              {"0/0b", "0b02004003000000000000000000000000000000001dc1fffe00001000010000050000006553f1030000000000000064f8feffff80001dc1fffe0000100000a0"},
              {"1/00", "0002002c03000200000000000000000000000000001dc1fffe0000110001000000fe00006553f103007da647"},
              {"1/01", "0102002c03000000000000000000000000000000001dc1fffe00001100010000017f00006553f1040f08cb47"},
              {"1/08", "0802002c03000000000000000000000000000000001dc1fffe0000110001000002fe00006553f103007db1ff"},
              {"1/0b", "0b02004003000000000000000000000000000000001dc1fffe00001100010000050000006553f103007da64700000080f8feffff80001dc1fffe0000110000a0"},
          });
}

// Keys: "<sender>/<control>" (0 sync, 1 delay_req, 2 follow_up, 3 delay_resp).
TEST_CASE("port golden bytes: v1") {
    check(run(PtpVersion::v1), 90, 6057197013706109511ull,
          {
              {"0/00", "000100015f44464c5400000000000000000000000101001dc10000100001000000000008000000006553f1002cb41780000000000001001dc1000010000100000000000444464c540000f06000010000000000fe0000f060000000000000000444464c540001001dc100001000000001000000000000000000000000"},
              {"0/02", "000100015f44464c5400000000000000000000000201001dc1000010000100000200000000000000000000006553f1002cb42338"},
              {"0/03", "000100015f44464c5400000000000000000000000201001dc10000100001000003000000000000006553f101001005900001001dc100001100010000"},
              {"1/00", "000100015f44464c5400000000000000000000000101001dc10000110001000000000008000000006553f1002d31bdc7000000000001001dc1000011000100000000000444464c540000f06000000000000000fe0000f060000000000000000444464c540001001dc100001100000001000000000000000000000000"},
              {"1/01", "000100015f44464c5400000000000000000000000101001dc10000110001000001000000000000006553f101002218c7000000000001001dc1000010000100010000000444464c540000f060000100000000007f0000f06000000001000000ff44464c540001001dc100001000000001000000000000000000000000"},
              {"1/02", "000100015f44464c5400000000000000000000000201001dc1000011000100000200000000000000000000006553f1002d31c97f"},
          });
}
