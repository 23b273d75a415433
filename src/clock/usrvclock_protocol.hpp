#pragma once
// The usrvclock wire format: one datagram = one clock overlay.
//
// usrvclock is the small protocol through which Inferno's statime fork shares the PTP time
// it follows with Inferno (and now with us). statime never steers a system clock in that
// mode: it keeps a virtual "overlay" clock defined over a kernel clock and publishes it.
// Where each fact comes from (our summary, no upstream code copied):
//
//  * Layout, checks, native byte order: usrvclock-rs `lib.rs` (gitlab.com/lumifaza/usrvclock-rs,
//    crate `usrvclock` 0.1.x, pinned by teodly/inferno `inferno_aoip/Cargo.toml` and by the
//    statime fork's `statime-linux/Cargo.toml`): `ClockOverlay::decode` and `Server::send`.
//    40 bytes, every field in the host's native byte order (server and client share a host):
//        0  2  magic 'V' 'C'
//        2  2  u16 major version (1; anything else is refused)
//        4  2  u16 minor version (0; not checked)
//        6  2  u16 flags, bit 0 must be set (a client that sees it clear is "too old")
//        8  8  i64 clock_id: the kernel clockid the overlay is defined over
//       16  8  i64 last_sync: underlying-clock ns of the last servo update
//       24  8  i64 shift: ns added to the underlying clock
//       32  8  f64 freq_scale: fractional rate correction (+ = the overlay runs faster)
//  * The mapping: `ClockOverlay::underlying_to_overlay_ns` in the same file, and statime's
//    `statime/src/overlay_clock.rs` (`OverlayClock::time_from_underlying`, branch inferno-dev
//    of github teodly/statime):  overlay(u) = u + shift + round((u - last_sync) * freq_scale).
//  * Which clock: statime's `statime-linux/src/main.rs` (inferno-dev, `actual_main`, the
//    usrvclock exporter) publishes clock_id = CLOCK_TAI; later statime versions can base the
//    overlay on CLOCK_MONOTONIC_RAW instead, so we honour whatever clock_id says.
//
// Upstream reads into a 40-byte buffer and ignores anything longer (a newer minor version may
// append fields); we accept datagrams up to kMaxDatagramSize for the same reason and count
// anything larger as oversized. We also refuse what upstream would accept but we cannot use:
// a dynamic clockid (negative: a file descriptor in the *server's* process, meaningless here)
// and a non-finite or absurd freq_scale.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dante::usrvclock {

inline constexpr size_t kOverlaySize = 40;
inline constexpr size_t kMaxDatagramSize = 256;
inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;
inline constexpr uint16_t kFlagValid = 1;
// More than 1 % of rate correction is no PTP servo output we can believe.
inline constexpr double kMaxFreqScale = 0.01;
// Static kernel clock ids are small (CLOCK_REALTIME = 0 ... CLOCK_TAI = 11).
inline constexpr int64_t kMaxStaticClockId = 15;

struct Overlay {
    int64_t clock_id = 0;
    int64_t last_sync = 0;
    int64_t shift = 0;
    double freq_scale = 0.0;

    // Overlay time at underlying-clock time u (ns). Wrapping like upstream: the clock is a
    // 64-bit ns counter that may start anywhere.
    [[nodiscard]] int64_t overlay_ns_at(int64_t underlying_ns) const;
    bool operator==(const Overlay&) const = default;
};

enum class ParseError : uint8_t { truncated, oversized, bad_magic, bad_version, bad_flags, bad_clock, bad_rate };
std::string_view to_string(ParseError error);

struct ParseResult {
    std::optional<Overlay> overlay;
    ParseError error = ParseError::truncated;  // meaningful when overlay is empty
};

// Bounds-checked: any byte sequence of any length is safe to pass.
ParseResult parse(std::span<const uint8_t> datagram);

// The 40-byte datagram a server sends (tests, the fuzz target's round trip).
void encode(const Overlay& overlay, std::span<uint8_t, kOverlaySize> out);

}  // namespace dante::usrvclock
