#pragma once
// Where a multicast TX flow is sent: a group in 239.255.0.0/16 (the administratively
// scoped block Dante uses for its multicast audio) and UDP port 4321 (Dante's multicast
// audio port per integrator guides; Inferno's newer code calls it MEDIA_PORT; value
// checked against third-party network guides, not against a device capture).
//
// Dante hardware picks a random 239.255.x.y and probes for collisions; we derive the group
// instead, so it is never taken from a request and needs no probing:
//   low 16 bits = d * 128 + flow index,   d = (low 9 bits of the device's IPv4) mod 510
// Flow indices are < 128 (dante.max-flows <= 128). Within one /23 (so within any /24),
// every host has its own d, so two devices never derive the same group; the groups stay in
// 239.255.0.0 .. 239.255.254.255, away from 239.255.255.250 (SSDP) and .253 (SLP).
// Devices on a larger subnet whose addresses agree in their low 9 bits would collide: a
// documented limit.
//
// Pure: unit-tested without a network.

#include <cstdint>

#include "net/ipv4.hpp"

namespace dante {

inline constexpr uint16_t kMulticastAudioPort = 4321;
inline constexpr uint32_t kMulticastGroupBase = ipv4(239, 255, 0, 0);
inline constexpr uint32_t kMaxMulticastFlowIndex = 127;

constexpr uint32_t multicast_group_for(uint32_t device_address, uint32_t flow_index) {
    const uint32_t device = (device_address & 0x1FFu) % 510u;
    return kMulticastGroupBase | (device << 7) | (flow_index & kMaxMulticastFlowIndex);
}

// Whether `address` is a group this scheme can produce (anything else is never a target).
constexpr bool is_derived_multicast_group(uint32_t address) {
    return (address & 0xFFFF0000u) == kMulticastGroupBase && (address & 0xFFFFu) < 510u * 128u;
}

}  // namespace dante
