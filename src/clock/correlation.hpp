#pragma once
// The clock correlation a client reads from the Dante sink node's properties, and the
// conversions it needs to place audio in time.
//
// The node publishes (at most once a second, and at every state change; see "The timing
// contract" in README.md):
//
//     dante.clock.media-ns      media-clock time (ns) at ...
//     dante.clock.monotonic-ns  ... this CLOCK_MONOTONIC instant (one coherent pair)
//     dante.clock.rate          media ns per monotonic ns, printed "%.12f"
//     dante.clock.generation    bumped at every discontinuity: re-anchor on change
//     dante.rate                the device's sample rate (Hz)
//     dante.tx.lead-ns          how far ahead of media now the graph renders
//     dante.tx.latency-ns       the latency advertised to receivers
//
// From those a client computes, with exact integer arithmetic (the rate is parsed from its
// decimal text into a fixed-point value with 18 fractional digits, and every product goes
// through 128-bit integers as media_time.hpp does, so there is no double rounding):
//
//   media_ns_at(m)              = media-ns + (m − monotonic-ns) × rate           (rounded)
//   monotonic_ns_at(t)          = monotonic-ns + (t − media-ns) / rate            (rounded)
//   sample_at(t)                = floor(t × dante.rate / 1e9): the Dante timestamp of the
//                                 sample period containing media time t
//   graph_position_for(T, R)    = sample_at(T − R): the graph position (Dante timestamp)
//                                 at which a sample must be written so that it sounds at
//                                 media time T on a receiver playing with latency R
//                                 (a receiver plays the sample stamped t at t + latency).
//
// Header-only, no PipeWire include: the tools and the unit tests share it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clock/media_time.hpp"

namespace dante {

struct Correlation {
    // Fixed-point scale of `rate_fp`: rate = rate_fp / kRateOne.
    static constexpr int64_t kRateOne = 1'000'000'000'000'000'000;  // 1e18

    int64_t media_ns = 0;        // dante.clock.media-ns
    int64_t monotonic_ns = 0;    // dante.clock.monotonic-ns
    int64_t rate_fp = kRateOne;  // dante.clock.rate × 1e18 (exact for the published text)
    uint32_t rate_hz = 0;        // dante.rate
    uint64_t generation = 0;     // dante.clock.generation
    int64_t lead_ns = 0;         // dante.tx.lead-ns (0 if absent)
    int64_t latency_ns = 0;      // dante.tx.latency-ns (0 if absent)
    std::string state;           // dante.clock.state
    std::string source;          // dante.clock.source

    [[nodiscard]] double rate() const { return static_cast<double>(rate_fp) / static_cast<double>(kRateOne); }

    // ------------------------------------------------------------------ conversions

    // Media time at monotonic instant `mono_ns` (rounded to the nearest ns, halves away
    // from zero).
    [[nodiscard]] int64_t media_ns_at(int64_t mono_ns) const {
        const i128 span = static_cast<i128>(mono_ns) - monotonic_ns;
        return static_cast<int64_t>(media_ns + div_round(span * rate_fp, kRateOne));
    }

    // The monotonic instant at which the media clock reads `media` (rounded).
    [[nodiscard]] int64_t monotonic_ns_at(int64_t media) const {
        const i128 span = static_cast<i128>(media) - media_ns;
        return static_cast<int64_t>(monotonic_ns + div_round(span * kRateOne, rate_fp));
    }

    // Dante timestamp (sample index since the media epoch) of the sample period that
    // contains media time `media` (floor; 0 for media <= 0).
    [[nodiscard]] uint64_t sample_at(int64_t media) const { return media_sample_at(media, rate_hz); }

    // Media time (ns) at which sample `index` starts.
    [[nodiscard]] int64_t media_ns_of(uint64_t index) const { return media_ns_of_sample(index, rate_hz); }

    // The graph position (Dante timestamp) to write a sample at so that it sounds at media
    // time `presentation_media_ns` on a receiver with latency `receiver_latency_ns`.
    [[nodiscard]] uint64_t graph_position_for(int64_t presentation_media_ns, int64_t receiver_latency_ns) const {
        return sample_at(presentation_media_ns - receiver_latency_ns);
    }

    // ------------------------------------------------------------------ parsing

    // Build from the node's properties (any map of string → string with find()/end(),
    // e.g. std::map<std::string, std::string>). Requires media-ns, monotonic-ns, rate and
    // dante.rate; the others default. On failure returns nullopt and says why in *error.
    template <typename Map>
    static std::optional<Correlation> from_props(const Map& props, std::string* error = nullptr) {
        auto get = [&](const char* key) -> std::optional<std::string_view> {
            auto it = props.find(key);
            if (it == props.end()) return std::nullopt;
            return std::string_view(it->second);
        };
        auto fail = [&](std::string why) -> std::optional<Correlation> {
            if (error) *error = std::move(why);
            return std::nullopt;
        };
        Correlation c;
        const auto media = get("dante.clock.media-ns");
        const auto mono = get("dante.clock.monotonic-ns");
        const auto rate = get("dante.clock.rate");
        const auto hz = get("dante.rate");
        if (!media || !parse_int(*media, c.media_ns)) return fail("missing or bad dante.clock.media-ns");
        if (!mono || !parse_int(*mono, c.monotonic_ns)) return fail("missing or bad dante.clock.monotonic-ns");
        if (!rate || !parse_rate(*rate, c.rate_fp)) return fail("missing or bad dante.clock.rate");
        int64_t rate_hz = 0;
        if (!hz || !parse_int(*hz, rate_hz) || rate_hz <= 0 || rate_hz > 1'000'000)
            return fail("missing or bad dante.rate");
        c.rate_hz = static_cast<uint32_t>(rate_hz);
        int64_t value = 0;
        if (auto g = get("dante.clock.generation"); g && parse_int(*g, value) && value >= 0)
            c.generation = static_cast<uint64_t>(value);
        if (auto l = get("dante.tx.lead-ns"); l && parse_int(*l, value)) c.lead_ns = value;
        if (auto l = get("dante.tx.latency-ns"); l && parse_int(*l, value)) c.latency_ns = value;
        if (auto s = get("dante.clock.state")) c.state = std::string(*s);
        if (auto s = get("dante.clock.source")) c.source = std::string(*s);
        return c;
    }

    // A decimal integer with optional leading '-', fitting int64.
    static bool parse_int(std::string_view text, int64_t& out) {
        bool negative = false;
        if (!text.empty() && text.front() == '-') {
            negative = true;
            text.remove_prefix(1);
        }
        if (text.empty() || text.size() > 19) return false;
        u128 value = 0;
        for (char c : text) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + static_cast<u128>(c - '0');
        }
        if (value > static_cast<u128>(INT64_MAX)) return false;
        out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
        return true;
    }

    // "1.000012300000" → 1000012300000000000 (rate × 1e18). Digits past the 18th decimal
    // are ignored (truncated). Must be positive and below 9.
    static bool parse_rate(std::string_view text, int64_t& out) {
        const size_t dot = text.find('.');
        const std::string_view whole = text.substr(0, dot);
        std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
        if (whole.size() != 1 || whole[0] < '0' || whole[0] > '8') return false;
        if (dot != std::string_view::npos && frac.empty()) return false;
        int64_t value = (whole[0] - '0') * kRateOne;
        int64_t scale = kRateOne / 10;
        for (char c : frac) {
            if (c < '0' || c > '9') return false;
            value += (c - '0') * scale;  // scale reaches 0 past 18 digits: truncated
            scale /= 10;
        }
        if (value <= 0) return false;
        out = value;
        return true;
    }

private:
    // num / den rounded to nearest, halves away from zero (den > 0).
    static i128 div_round(i128 num, i128 den) {
        return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
    }
};

}  // namespace dante
