// PTPv1 codec: hand-built packets at the byte offsets of IEEE 1588-2002
// (docs/protocol.md#ptpv1), byte-exact round trips, and refusal of every kind of malformed input.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "ptp/v1_messages.hpp"
#include "ptp/version_sniff.hpp"

using namespace dante::ptp;

namespace {

void put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {
    p[at] = static_cast<uint8_t>(v >> 8);
    p[at + 1] = static_cast<uint8_t>(v);
}
void put32(std::vector<uint8_t>& p, size_t at, uint32_t v) {
    put16(p, at, static_cast<uint16_t>(v >> 16));
    put16(p, at + 2, static_cast<uint16_t>(v));
}

// A header as a Dante leader sends it: uuid 00:1d:c1:0a:0b:0c, port 1.
std::vector<uint8_t> hand_header(size_t size, uint8_t port_type, uint8_t control, uint16_t sequence, uint8_t flags) {
    std::vector<uint8_t> p(size, 0);
    put16(p, 0, 1);
    put16(p, 2, 1);
    const char* sub = "_DFLT";
    for (size_t i = 0; i < 5; ++i) p[4 + i] = static_cast<uint8_t>(sub[i]);
    p[20] = port_type;
    p[21] = 1;
    const uint8_t uuid[6] = {0x00, 0x1d, 0xc1, 0x0a, 0x0b, 0x0c};
    for (size_t i = 0; i < 6; ++i) p[22 + i] = uuid[i];
    put16(p, 28, 1);
    put16(p, 30, sequence);
    p[32] = control;
    p[35] = flags;
    return p;
}

std::vector<uint8_t> hand_sync() {
    auto p = hand_header(124, 1, 0, 0x1234, 0x08);  // assist: two-step
    put32(p, 40, 1000);                             // origin seconds
    put32(p, 44, 500'000'000);                      // origin ns
    put16(p, 48, 0);                                // epoch
    put16(p, 50, 37);                               // utc offset
    p[53] = 1;
    const uint8_t gm[6] = {0x00, 0x1d, 0xc1, 0x0a, 0x0b, 0x0c};
    for (size_t i = 0; i < 6; ++i) p[54 + i] = gm[i];
    put16(p, 60, 1);
    put16(p, 62, 0x1234);
    p[67] = 4;  // stratum
    p[68] = 'D', p[69] = 'F', p[70] = 'L', p[71] = 'T';
    put16(p, 74, static_cast<uint16_t>(int16_t{-4000}));
    p[77] = 1;  // preferred
    p[79] = 0;
    p[83] = static_cast<uint8_t>(int8_t{-2});
    put16(p, 86, static_cast<uint16_t>(int16_t{-4000}));
    put16(p, 90, 0);
    p[95] = 4;
    p[96] = 'D', p[97] = 'F', p[98] = 'L', p[99] = 'T';
    p[101] = 1;
    for (size_t i = 0; i < 6; ++i) p[102 + i] = gm[i];
    put16(p, 110, 1);
    put16(p, 114, 0);
    put32(p, 116, 0);
    p[123] = 0;
    return p;
}

}  // namespace

TEST_CASE("v1: version sniffing tells v1 from v2 and junk") {
    const std::vector<uint8_t> v1 = hand_sync();
    CHECK(sniff_version(v1) == PtpVersion::v1);
    const std::array<uint8_t, 2> v2{0x00, 0x02};
    CHECK(sniff_version(v2) == PtpVersion::v2);
    const std::array<uint8_t, 2> v2_minor{0x0B, 0x12};
    CHECK(sniff_version(v2_minor) == PtpVersion::v2);
    const std::array<uint8_t, 2> junk{0x47, 0x45};
    CHECK(sniff_version(junk) == PtpVersion::unknown);
    const std::array<uint8_t, 1> tiny{0x00};
    CHECK(sniff_version(tiny) == PtpVersion::unknown);
}

TEST_CASE("v1: a hand-built Dante Sync parses field by field and re-encodes byte-exact") {
    const std::vector<uint8_t> bytes = hand_sync();
    const auto parsed = v1::parse(bytes);
    REQUIRE(parsed.has_value());
    const v1::Message& m = *parsed;
    CHECK(m.header.control == v1::Control::sync);
    CHECK(m.header.sequence_id == 0x1234);
    CHECK(m.header.source_port_id == 1);
    CHECK(m.header.source_uuid == V1Uuid{0x00, 0x1d, 0xc1, 0x0a, 0x0b, 0x0c});
    CHECK((m.header.flags & v1::flag::assist) != 0);
    const auto& sync = std::get<v1::SyncBody>(m.body);
    CHECK(sync.origin == WireTimestamp{1000, 500'000'000});
    CHECK(sync.current_utc_offset == 37);
    CHECK(sync.grandmaster.preferred);
    CHECK(sync.grandmaster.stratum == 4);
    CHECK(sync.grandmaster.variance == -4000);
    CHECK(sync.grandmaster.identifier == v1::kDefaultClockIdentifier);
    CHECK(sync.sync_interval == -2);
    CHECK(sync.local_clock_variance == -4000);
    CHECK(sync.parent_port_field == 1);

    std::array<uint8_t, 200> out{};
    const size_t n = v1::encode(m, out);
    REQUIRE(n == 124);
    CHECK(std::vector<uint8_t>(out.begin(), out.begin() + 124) == bytes);
}

TEST_CASE("v1: Delay_Req, Follow_Up and Delay_Resp round-trip byte-exact at their offsets") {
    SUBCASE("Follow_Up: associated sequence at 42, precise origin at 44") {
        auto bytes = hand_header(52, 2, 2, 0x0001, 0);
        put16(bytes, 42, 0x1234);
        put32(bytes, 44, 1000);
        put32(bytes, 48, 500'000'123);
        const auto parsed = v1::parse(bytes);
        REQUIRE(parsed.has_value());
        const auto& f = std::get<v1::FollowUpBody>(parsed->body);
        CHECK(f.associated_sequence_id == 0x1234);
        CHECK(f.precise_origin == WireTimestamp{1000, 500'000'123});
        std::array<uint8_t, 52> out{};
        REQUIRE(v1::encode(*parsed, out) == 52);
        CHECK(std::vector<uint8_t>(out.begin(), out.end()) == bytes);
    }
    SUBCASE("Delay_Resp: receipt at 40, requester at 49..60") {
        auto bytes = hand_header(60, 2, 3, 0x0002, 0);
        put32(bytes, 40, 77);
        put32(bytes, 44, 999'999'999);
        bytes[49] = 1;
        for (size_t i = 0; i < 6; ++i) bytes[50 + i] = static_cast<uint8_t>(0xA0 + i);
        put16(bytes, 56, 1);
        put16(bytes, 58, 0xBEEF);
        const auto parsed = v1::parse(bytes);
        REQUIRE(parsed.has_value());
        const auto& d = std::get<v1::DelayRespBody>(parsed->body);
        CHECK(d.delay_receipt == WireTimestamp{77, 999'999'999});
        CHECK(d.requesting_uuid == V1Uuid{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5});
        CHECK(d.requesting_port_id == 1);
        CHECK(d.requesting_sequence_id == 0xBEEF);
        std::array<uint8_t, 60> out{};
        REQUIRE(v1::encode(*parsed, out) == 60);
        CHECK(std::vector<uint8_t>(out.begin(), out.end()) == bytes);
    }
    SUBCASE("Delay_Req has the Sync layout on the event port") {
        v1::Message m;
        m.header.control = v1::Control::delay_req;
        m.header.sequence_id = 9;
        v1::SyncBody body;
        body.origin = {5, 6};
        body.sync_interval = 0x7F;
        m.body = body;
        std::array<uint8_t, 124> out{};
        REQUIRE(v1::encode(m, out) == 124);
        CHECK(out[20] == 1);  // event
        CHECK(out[32] == 1);  // control
        const auto parsed = v1::parse(out);
        REQUIRE(parsed.has_value());
        CHECK(*parsed == m);
    }
}

TEST_CASE("v1: malformed input is refused with the right reason") {
    const std::vector<uint8_t> good = hand_sync();

    SUBCASE("every truncation") {
        for (size_t n = 0; n < good.size(); ++n) {
            const auto r = v1::parse(std::span<const uint8_t>(good.data(), n));
            REQUIRE_FALSE(r.has_value());
            CHECK((r.error() == ParseError::truncated || r.error() == ParseError::wrong_version));
        }
    }
    SUBCASE("trailing padding is ignored (v1 has no length field)") {
        auto padded = good;
        padded.resize(200, 0xEE);
        CHECK(v1::parse(padded).has_value());
    }
    SUBCASE("wrong version") {
        auto bad = good;
        bad[1] = 2;
        CHECK(v1::parse(bad).error() == ParseError::wrong_version);
        bad = good;
        bad[3] = 2;  // versionNetwork
        CHECK(v1::parse(bad).error() == ParseError::wrong_version);
    }
    SUBCASE("wrong subdomain") {
        auto bad = good;
        bad[5] = 'A', bad[6] = 'L', bad[7] = 'T', bad[8] = '1';
        CHECK(v1::parse(bad).error() == ParseError::wrong_domain);
    }
    SUBCASE("message type must match the control") {
        auto bad = good;
        bad[20] = 2;  // a Sync claiming to be a general message
        CHECK(v1::parse(bad).error() == ParseError::bad_field);
    }
    SUBCASE("management is unsupported, unknown controls are bad") {
        auto bad = good;
        bad[32] = 4;
        CHECK(v1::parse(bad).error() == ParseError::unsupported_message);
        bad[32] = 9;
        CHECK(v1::parse(bad).error() == ParseError::bad_field);
    }
    SUBCASE("nanoseconds out of range") {
        auto bad = good;
        put32(bad, 44, 1'000'000'000);
        CHECK(v1::parse(bad).error() == ParseError::bad_timestamp);
        put32(bad, 44, 0x80000001);  // negative
        CHECK(v1::parse(bad).error() == ParseError::bad_timestamp);
    }
    SUBCASE("random garbage never parses as a message of ours") {
        uint64_t state = 0x9E3779B97F4A7C15ull;
        int parsed = 0;
        for (int i = 0; i < 5000; ++i) {
            std::vector<uint8_t> junk(static_cast<size_t>(i % 160));
            for (auto& b : junk) {
                state ^= state << 13, state ^= state >> 7, state ^= state << 17;
                b = static_cast<uint8_t>(state);
            }
            if (v1::parse(junk).has_value()) ++parsed;
        }
        CHECK(parsed == 0);
    }
}

TEST_CASE("v1: the encoder refuses small buffers and inconsistent messages") {
    v1::Message m;
    m.body = v1::SyncBody{};
    std::array<uint8_t, 123> small{};
    CHECK(v1::encode(m, small) == 0);
    std::array<uint8_t, 124> out{};
    m.header.control = v1::Control::follow_up;  // body is a Sync body
    CHECK(v1::encode(m, out) == 0);
    m.header.control = v1::Control::sync;
    std::get<v1::SyncBody>(m.body).origin.seconds = uint64_t{1} << 33;  // does not fit v1's u32
    CHECK(v1::encode(m, out) == 0);
}
