// The PTP shell's pure helpers: clock identity from the MAC, kernel (REALTIME) timestamps
// to CLOCK_MONOTONIC, the configured version.
#include <doctest/doctest.h>

#include "ptp/clock_identity.hpp"
#include "ptp/kernel_timestamp.hpp"
#include "ptp/ptp_service.hpp"

using namespace dante::ptp;

TEST_CASE("v1 identity is the MAC as UUID, v2 the EUI-64 with FF:FE in the middle") {
    const MacAddress mac{0x00, 0x1d, 0xc1, 0x12, 0x34, 0x56};
    const ClockIdentity v1 = clock_identity_from_mac(mac, PtpVersion::v1);
    CHECK(v1 == identity_from_uuid(mac));
    CHECK(uuid_from_identity(v1) == mac);
    const ClockIdentity v2 = clock_identity_from_mac(mac, PtpVersion::v2);
    CHECK(to_string(v2) == "00:1d:c1:ff:fe:12:34:56");
}

TEST_CASE("a realtime stamp converts by the offset at the bracket's midpoint") {
    // REALTIME runs 1000 s ahead of MONOTONIC; the realtime read sat between mono 500 and 700.
    const ClockBracket b{500, 1'000'000'000'600, 700};
    CHECK(b.width_ns() == 200);
    CHECK(b.realtime_minus_monotonic_ns() == 1'000'000'000'000);
    // A packet the kernel stamped 40 us earlier, in REALTIME.
    CHECK(monotonic_from_realtime(1'000'000'000'600 - 40'000, b) == 600 - 40'000);
}

TEST_CASE("the tighter bracket wins: a preempted read does not skew the offset") {
    const ClockBracket clean{1000, 5000 + 1010, 1020};      // offset 5000, width 20
    const ClockBracket preempted{1000, 5000 + 1010, 9000};  // midpoint far off
    CHECK(tighter(clean, preempted).realtime_minus_monotonic_ns() == 5000);
    CHECK(tighter(preempted, clean).realtime_minus_monotonic_ns() == 5000);
    CHECK(preempted.realtime_minus_monotonic_ns() != 5000);
}

TEST_CASE("ptp version auto is v1, Dante's default") {
    CHECK(ptp_version_from_config(0) == PtpVersion::v1);
    CHECK(ptp_version_from_config(1) == PtpVersion::v1);
    CHECK(ptp_version_from_config(2) == PtpVersion::v2);
}
