#include "net/ipv4.hpp"

#include <charconv>

namespace dante {

std::string ipv4_to_string(uint32_t a) {
    return std::to_string(a >> 24) + '.' + std::to_string((a >> 16) & 0xFF) + '.' + std::to_string((a >> 8) & 0xFF) +
           '.' + std::to_string(a & 0xFF);
}

std::string to_string(const Ipv4Endpoint& endpoint) {
    return ipv4_to_string(endpoint.address) + ':' + std::to_string(endpoint.port);
}

std::optional<uint32_t> parse_ipv4(std::string_view text) {
    uint32_t result = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (text.empty() || text.front() != '.') return std::nullopt;
            text.remove_prefix(1);
        }
        // from_chars accepts no sign and no spaces; limit to three digits so "0001" is refused.
        size_t digits = 0;
        while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
        if (digits == 0 || digits > 3) return std::nullopt;
        unsigned value = 0;
        std::from_chars(text.data(), text.data() + digits, value);
        if (value > 255) return std::nullopt;
        result = (result << 8) | value;
        text.remove_prefix(digits);
    }
    if (!text.empty()) return std::nullopt;
    return result;
}

std::optional<Ipv4Endpoint> parse_ipv4_endpoint(std::string_view text, uint16_t default_port) {
    Ipv4Endpoint endpoint;
    endpoint.port = default_port;
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
        const std::string_view port_text = text.substr(colon + 1);
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
            return std::nullopt;
        endpoint.port = static_cast<uint16_t>(port);
        text = text.substr(0, colon);
    }
    const auto address = parse_ipv4(text);
    if (!address || endpoint.port == 0) return std::nullopt;
    endpoint.address = *address;
    return endpoint;
}

}  // namespace dante
