#pragma once
// Command-line pieces the PTP tools share (dante-ptp, pipewire-dante-ptp): whole numbers in
// a range, and the engine's options, each spelt and checked the same way in both.

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "ptp/ptp_service.hpp"
#include "ptp/servo_kind.hpp"

namespace dante::tools {

// A whole decimal number in [min, max], nothing else.
inline bool parse_long(std::string_view text, long min, long max, long& out) {
    if (text.empty()) return false;
    const std::string s(text);
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (end == nullptr || *end != '\0' || v < min || v > max) return false;
    out = v;
    return true;
}

// One of --interface, --version (1, 2, or auto where `allow_auto`), --domain, --servo:
// nullopt if `arg` is none of them; else "" when applied to `options`, or the message for
// a bad value.
inline std::optional<std::string> apply_ptp_option(std::string_view arg, std::string_view value,
                                                   ptp::PtpServiceOptions& options, bool allow_auto) {
    long n = 0;
    if (arg == "--interface") {
        options.interface = std::string(value);
    } else if (arg == "--version") {
        if (allow_auto && value == "auto") {
            options.version = ptp::ptp_version_from_config(0);
        } else if (parse_long(value, 1, 2, n)) {
            options.version = ptp::ptp_version_from_config(static_cast<uint8_t>(n));
        } else {
            return allow_auto ? "bad --version (1, 2 or auto)" : "bad --version (1 or 2)";
        }
    } else if (arg == "--domain") {
        if (!parse_long(value, 0, 255, n)) return "bad --domain (0 to 255)";
        options.domain = static_cast<uint8_t>(n);
    } else if (arg == "--servo") {
        const auto kind = ptp::parse_servo_kind(value);
        if (!kind) return "bad --servo (linreg or pi)";
        options.servo = *kind;
    } else {
        return std::nullopt;
    }
    return std::string{};
}

}  // namespace dante::tools
