#pragma once
// IPv4 addresses and endpoints as plain values (host byte order), with the address
// classes the flow-control server must refuse as audio destinations.
//
// Pure: no socket calls, so the server's destination policy unit-tests without a network.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dante {

struct Ipv4Endpoint {
    uint32_t address = 0;  // host byte order: 10.0.0.1 == 0x0A000001
    uint16_t port = 0;
    friend bool operator==(const Ipv4Endpoint&, const Ipv4Endpoint&) = default;
};

constexpr uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | uint32_t{d};
}

std::string ipv4_to_string(uint32_t address);
std::string to_string(const Ipv4Endpoint& endpoint);  // "a.b.c.d:port"

// Strict dotted quad: four decimal parts 0..255, no leading '+', no spaces.
std::optional<uint32_t> parse_ipv4(std::string_view text);
// "a.b.c.d" or "a.b.c.d:port"; a missing port yields default_port. Port 0 is refused.
std::optional<Ipv4Endpoint> parse_ipv4_endpoint(std::string_view text, uint16_t default_port);

constexpr bool is_loopback(uint32_t a) { return (a >> 24) == 127; }
constexpr bool is_multicast(uint32_t a) { return (a >> 28) == 0xE; }
constexpr bool is_unspecified(uint32_t a) { return a == 0; }
constexpr bool is_limited_broadcast(uint32_t a) { return a == 0xFFFFFFFFu; }
// Class E (240/4) is reserved; 0/8 means "this network": neither is a host.
constexpr bool is_reserved(uint32_t a) { return (a >> 28) == 0xF || (a >> 24) == 0; }

// A subnet as an interface holds it.
struct Ipv4Subnet {
    uint32_t address = 0;  // the interface's own address
    uint32_t netmask = 0;  // 0xFFFFFF00 for a /24

    [[nodiscard]] constexpr bool contains(uint32_t a) const { return (a & netmask) == (address & netmask); }
    // The directed broadcast of the subnet (all host bits set). /31 and /32 have none.
    [[nodiscard]] constexpr bool is_directed_broadcast(uint32_t a) const {
        if (netmask >= 0xFFFFFFFEu) return false;
        return contains(a) && (a | netmask) == 0xFFFFFFFFu;
    }
    // The network address itself (all host bits clear). /31 and /32 have none.
    [[nodiscard]] constexpr bool is_network_address(uint32_t a) const {
        if (netmask >= 0xFFFFFFFEu) return false;
        return contains(a) && (a & ~netmask) == 0;
    }
};

}  // namespace dante
