#pragma once
// Our PTP clock identity, derived from the interface's MAC address.
//
// v1 (IEEE 1588-2002) identifies a clock by a 6-byte UUID, which is the MAC itself; the
// engine carries it as an 8-byte identity right-padded with zeros (identity_from_uuid).
// v2 (IEEE 1588-2008, 7.5.2.2.2) builds an EUI-64 from the EUI-48 by inserting FF:FE
// between the OUI and the device part, as linuxptp does.

#include <array>
#include <cstdint>

#include "ptp/ptp_types.hpp"

namespace dante::ptp {

using MacAddress = std::array<uint8_t, 6>;

constexpr ClockIdentity v2_identity_from_mac(const MacAddress& mac) {
    return {mac[0], mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]};
}

constexpr ClockIdentity clock_identity_from_mac(const MacAddress& mac, PtpVersion version) {
    if (version == PtpVersion::v2) return v2_identity_from_mac(mac);
    return {mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0};  // = identity_from_uuid(mac)
}

}  // namespace dante::ptp
