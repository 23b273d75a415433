#pragma once
// What a PTP port is configured with: its version, identity and domain, its own dataset as
// a candidate leader, and its message intervals. Shared by the port and its WireFormat.

#include <cstdint>

#include "ptp/ptp_types.hpp"
#include "ptp/v1_messages.hpp"

namespace dante::ptp {

struct PortConfig {
    PtpVersion version = PtpVersion::v1;
    PortIdentity identity{};  // v1: the clock identity's first 6 bytes are the UUID (MAC)
    uint8_t domain = 0;                               // v2
    v1::Subdomain subdomain = v1::kDefaultSubdomain;  // v1

    // Our own dataset, as a candidate leader.
    uint8_t priority1 = 128;  // v2 (v1: derived from v1_preferred)
    uint8_t priority2 = 128;
    ClockQuality quality{};   // v2 (v1: class from v1_stratum, variance from v1_variance)
    bool v1_preferred = false;
    uint8_t v1_stratum = 4;
    int16_t v1_variance = -4000;
    bool slave_only = false;

    int8_t log_sync_interval = -2;
    int8_t log_announce_interval = 1;  // v2 only: v1 carries the best-master data in Sync
    int8_t log_min_delay_req_interval = 0;
    uint8_t announce_receipt_timeout = 3;  // in announce intervals (v1: sync intervals)
    int64_t fault_clear_ns = 4'000'000'000;
};

}  // namespace dante::ptp
