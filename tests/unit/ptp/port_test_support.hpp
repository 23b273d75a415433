#pragma once
// Shared by the hand-driven port tests: a fixed timescale, two identities, a v2 config
// and helpers to build a leader's messages and pick actions out of an ActionList.
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "ptp/port.hpp"

namespace port_test {

using namespace dante::ptp;

// Our PTP time = monotonic + 1000 s, exactly.
struct FixedTimescale final : Timescale {
    int64_t offset = 1'000'000'000'000;
    [[nodiscard]] int64_t ptp_ns_at(int64_t mono_ns) const override { return mono_ns + offset; }
    [[nodiscard]] double rate() const override { return 1.0; }
};

inline const PortIdentity kUs{{0, 0x1d, 0xc1, 0xff, 0xfe, 0, 0, 0x02}, 1};
inline const PortIdentity kLeader{{0, 0x1d, 0xc1, 0xff, 0xfe, 0, 0, 0x01}, 1};

inline PortConfig v2_config() {
    PortConfig c;
    c.version = PtpVersion::v2;
    c.identity = kUs;
    c.log_sync_interval = -3;
    c.log_announce_interval = 0;
    return c;
}

template <typename T>
std::vector<T> all(const ActionList& actions) {
    std::vector<T> found;
    for (const Action& a : actions) {
        if (const auto* x = std::get_if<T>(&a)) found.push_back(*x);
    }
    return found;
}

inline std::vector<uint8_t> bytes_of(const v2::Message& m) {
    std::array<uint8_t, 128> buf{};
    const size_t n = v2::encode(m, buf);
    REQUIRE(n > 0);
    return {buf.begin(), buf.begin() + static_cast<long>(n)};
}

inline v2::Message leader_message(v2::MessageType type, uint16_t sequence) {
    v2::Message m;
    m.header.type = type;
    m.header.source = kLeader;
    m.header.sequence_id = sequence;
    return m;
}

inline v2::Message leader_announce(uint16_t sequence) {
    v2::Message m = leader_message(v2::MessageType::announce, sequence);
    v2::AnnounceBody a;
    a.priority1 = 100;
    a.grandmaster = kLeader.clock;
    m.body = a;
    return m;
}

}  // namespace port_test
