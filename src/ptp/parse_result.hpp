#pragma once
// The outcome of parsing one datagram: a message, or the reason it was refused.
//
// Parsers never throw and never allocate; a refusal is an ordinary value the caller can
// count or log. (std::expected is C++23; this is the small part of it we need.)

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace dante::ptp {

enum class ParseError : uint8_t {
    truncated,            // shorter than the header or the message type's fixed body
    wrong_version,        // not the PTP version this parser reads
    bad_length,           // v2 messageLength disagrees with the datagram or the type
    wrong_domain,         // v2 domainNumber / v1 subdomain is not ours
    unsupported_message,  // a valid type we do not handle (management, peer delay, ...)
    bad_field,            // a field holds a value the standard does not allow
    bad_timestamp,        // nanoseconds out of range
};

std::string_view to_string(ParseError error);

template <typename T>
class ParseResult {
public:
    ParseResult(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
    ParseResult(ParseError error) : error_(error) {}    // NOLINT: implicit by design

    [[nodiscard]] bool has_value() const { return value_.has_value(); }
    explicit operator bool() const { return has_value(); }
    [[nodiscard]] const T& value() const { return *value_; }
    [[nodiscard]] const T& operator*() const { return *value_; }
    [[nodiscard]] const T* operator->() const { return &*value_; }
    // Meaningful only when !has_value().
    [[nodiscard]] ParseError error() const { return error_; }

private:
    std::optional<T> value_;
    ParseError error_ = ParseError::truncated;
};

}  // namespace dante::ptp
