#include <doctest/doctest.h>

#include <map>
#include <string>
#include <unordered_map>

#include "clock/correlation.hpp"

using namespace dante;

namespace {

// A node's properties as a client sees them: media time is 2026 as TAI ns.
std::map<std::string, std::string> sample_props() {
    return {
        {"dante.clock.media-ns", "1795000000000000000"},
        {"dante.clock.monotonic-ns", "5000000000"},
        {"dante.clock.rate", "1.000010000000"},  // the media clock runs 10 ppm fast
        {"dante.clock.generation", "3"},
        {"dante.clock.state", "locked"},
        {"dante.clock.source", "tai"},
        {"dante.rate", "48000"},
        {"dante.tx.lead-ns", "22333333"},
        {"dante.tx.latency-ns", "1000000"},
    };
}

Correlation sample_correlation() {
    std::string error;
    auto c = Correlation::from_props(sample_props(), &error);
    REQUIRE_MESSAGE(c.has_value(), error);
    return *c;
}

}  // namespace

TEST_CASE("correlation: built from the node's properties") {
    const Correlation c = sample_correlation();
    CHECK(c.media_ns == 1'795'000'000'000'000'000);
    CHECK(c.monotonic_ns == 5'000'000'000);
    CHECK(c.rate_fp == 1'000'010'000'000'000'000);
    CHECK(c.rate() == doctest::Approx(1.00001));
    CHECK(c.rate_hz == 48000);
    CHECK(c.generation == 3);
    CHECK(c.lead_ns == 22'333'333);
    CHECK(c.latency_ns == 1'000'000);
    CHECK(c.state == "locked");
    CHECK(c.source == "tai");

    // Any map type with find(): the same from an unordered_map.
    const auto source = sample_props();
    std::unordered_map<std::string, std::string> unordered(source.begin(), source.end());
    auto u = Correlation::from_props(unordered);
    REQUIRE(u.has_value());
    CHECK(u->media_ns == c.media_ns);
}

TEST_CASE("correlation: missing or malformed properties are refused with a reason") {
    for (const char* key : {"dante.clock.media-ns", "dante.clock.monotonic-ns", "dante.clock.rate", "dante.rate"}) {
        auto props = sample_props();
        props.erase(key);
        std::string error;
        CHECK_FALSE(Correlation::from_props(props, &error).has_value());
        CHECK(error.find(key) != std::string::npos);
        props.insert_or_assign(key, std::string("x12"));  // (assigning a literal: GCC 12 -O3 -Wrestrict false positive)
        CHECK_FALSE(Correlation::from_props(props).has_value());
    }
    auto props = sample_props();
    props.insert_or_assign("dante.rate", std::string("0"));
    CHECK_FALSE(Correlation::from_props(props).has_value());
    // optional keys default
    props = sample_props();
    props.erase("dante.tx.lead-ns");
    props.erase("dante.clock.generation");
    auto c = Correlation::from_props(props);
    REQUIRE(c.has_value());
    CHECK(c->lead_ns == 0);
    CHECK(c->generation == 0);
}

TEST_CASE("correlation: the rate text parses exactly") {
    int64_t fp = 0;
    CHECK(Correlation::parse_rate("1.000012300000", fp));
    CHECK(fp == 1'000'012'300'000'000'000);
    CHECK(Correlation::parse_rate("0.999990000000", fp));
    CHECK(fp == 999'990'000'000'000'000);
    CHECK(Correlation::parse_rate("1", fp));
    CHECK(fp == Correlation::kRateOne);
    CHECK(Correlation::parse_rate("1.0000000000000000019", fp));  // 19th digit truncated
    CHECK(fp == 1'000'000'000'000'000'001);
    for (const char* bad : {"", "1.", ".5", "abc", "10.0", "-1.0", "0.0", "1.00x", "1e-5"})
        CHECK_FALSE(Correlation::parse_rate(bad, fp));
    int64_t v = 0;
    CHECK(Correlation::parse_int("-42", v));
    CHECK(v == -42);
    CHECK(Correlation::parse_int("9223372036854775807", v));
    CHECK_FALSE(Correlation::parse_int("9223372036854775808", v));
    CHECK_FALSE(Correlation::parse_int("-", v));
    CHECK_FALSE(Correlation::parse_int("1.5", v));
}

TEST_CASE("correlation: media time from a monotonic instant, and back, worked numbers") {
    const Correlation c = sample_correlation();
    const int64_t media0 = 1'795'000'000'000'000'000;
    // One monotonic second later at 10 ppm fast: 1 s + 10 us of media time.
    CHECK(c.media_ns_at(6'000'000'000) == media0 + 1'000'010'000);
    CHECK(c.media_ns_at(4'000'000'000) == media0 - 1'000'010'000);
    CHECK(c.media_ns_at(5'000'000'000) == media0);
    CHECK(c.monotonic_ns_at(media0 + 1'000'010'000) == 6'000'000'000);
    CHECK(c.monotonic_ns_at(media0 - 1'000'010'000) == 4'000'000'000);
    // 1 us of monotonic time is 1.00001 us of media time: 1000.01 ns rounds to 1000.
    CHECK(c.media_ns_at(5'000'001'000) == media0 + 1000);
    // A day later: 86400 s × 1.00001 = 86400.864 s; no overflow, exact.
    CHECK(c.media_ns_at(5'000'000'000 + 86'400'000'000'000) == media0 + 86'400'864'000'000);
}

TEST_CASE("correlation: rounding is to nearest, halves away from zero") {
    auto props = sample_props();
    props["dante.clock.rate"] = "1.0000000005";  // 0.5 ppb fast
    const Correlation c = *Correlation::from_props(props);
    const int64_t media0 = c.media_ns;
    CHECK(c.media_ns_at(5'000'000'001) == media0 + 1);                  // 1.0000000005
    CHECK(c.media_ns_at(6'000'000'000) == media0 + 1'000'000'001);      // 1e9 + 0.5 -> up
    CHECK(c.media_ns_at(4'000'000'000) == media0 - 1'000'000'001);      // -(1e9 + 0.5) -> down
    CHECK(c.monotonic_ns_at(media0 + 1'000'000'001) == 6'000'000'000);  // 1e9+1 / rate = 1e9 + 0.4999..
}

TEST_CASE("correlation: sample indices and the graph position for a presentation time") {
    const Correlation c = sample_correlation();
    // 2026 in TAI seconds × 48000: far beyond 32 bits, exact.
    CHECK(c.sample_at(1'795'000'000'000'000'000) == 86'160'000'000'000ULL);
    CHECK(c.sample_at(1'795'000'000'000'020'833) == 86'160'000'000'000ULL);  // still inside sample 0
    CHECK(c.sample_at(1'795'000'000'000'020'834) == 86'160'000'000'001ULL);  // sample 1 starts at 20833.3
    CHECK(c.media_ns_of(86'160'000'000'001ULL) == 1'795'000'000'000'020'834);
    CHECK(c.sample_at(-5) == 0);

    // To sound at media second S on a receiver with 1 ms latency, write it 48 samples
    // before S × 48000.
    const int64_t s = 1'795'000'010;
    const int64_t t = s * 1'000'000'000;
    CHECK(c.graph_position_for(t, 1'000'000) == static_cast<uint64_t>(s) * 48000 - 48);
    CHECK(c.graph_position_for(t, 1'500'000) == static_cast<uint64_t>(s) * 48000 - 72);
    // 1 ms + 1 ns is 48.000048 samples: the sample must go out one earlier (floor).
    CHECK(c.graph_position_for(t, 1'000'001) == static_cast<uint64_t>(s) * 48000 - 49);
    CHECK(c.graph_position_for(t, 0) == static_cast<uint64_t>(s) * 48000);
    // With the node's own advertised latency.
    CHECK(c.graph_position_for(t, c.latency_ns) == static_cast<uint64_t>(s) * 48000 - 48);
}
