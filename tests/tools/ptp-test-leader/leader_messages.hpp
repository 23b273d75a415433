#pragma once
// The few messages a two-step grandmaster sends, for either PTP version, encoded with
// the engine's own codecs (so the leader also exercises the encoders).

#include <cstddef>
#include <cstdint>
#include <span>

#include "ptp/ptp_types.hpp"

namespace dante::ptp_test {

struct LeaderConfig {
    ptp::PtpVersion version = ptp::PtpVersion::v2;
    ptp::ClockIdentity identity{};  // v2: EUI-64 from the MAC
    ptp::V1Uuid uuid{};             // v1: the MAC itself
    uint8_t domain = 0;
    uint8_t priority1 = 128;  // v1: below 128 means "preferred"
    uint8_t v1_stratum = 3;   // better than an ordinary free-running v1 clock (4)
    int8_t log_sync_interval = -3;
    int16_t utc_offset = 0;  // TAI - UTC as the kernel knows it
    bool utc_offset_valid = false;
};

size_t encode_sync(const LeaderConfig& config, uint16_t sequence, int64_t ptp_ns, std::span<uint8_t> out);
size_t encode_follow_up(const LeaderConfig& config, uint16_t sequence, int64_t precise_ptp_ns, std::span<uint8_t> out);
size_t encode_announce(const LeaderConfig& config, uint16_t sequence, int64_t ptp_ns, std::span<uint8_t> out);

// The Delay_Resp answering `request` when it is a Delay_Req of our version and domain
// (receipt time `rx_ptp_ns`); 0 for anything else.
size_t answer_delay_req(const LeaderConfig& config, std::span<const uint8_t> request, int64_t rx_ptp_ns,
                        std::span<uint8_t> out);

}  // namespace dante::ptp_test
