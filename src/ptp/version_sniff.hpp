#pragma once
// Which PTP version a datagram claims to be, from its first two bytes.
//
// Both versions share UDP ports 319/320, and a Dante network can carry both at once
// (AES67 mode bridges them), so the engine sorts datagrams before parsing:
//   v1 (IEEE 1588-2002): versionPTP is a u16 at offset 0, so bytes 0..1 are 00 01.
//   v2 (IEEE 1588-2008): the low nibble of byte 1 is versionPTP = 2.
// The two never overlap: v1's byte 1 is 0x01.

#include <cstdint>
#include <span>

#include "ptp/ptp_types.hpp"

namespace dante::ptp {

constexpr PtpVersion sniff_version(std::span<const uint8_t> datagram) {
    if (datagram.size() < 2) return PtpVersion::unknown;
    if (datagram[0] == 0x00 && datagram[1] == 0x01) return PtpVersion::v1;
    if ((datagram[1] & 0x0F) == 0x02) return PtpVersion::v2;
    return PtpVersion::unknown;
}

}  // namespace dante::ptp
