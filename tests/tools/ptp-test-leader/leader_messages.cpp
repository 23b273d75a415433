#include "leader_messages.hpp"

#include <variant>

#include "ptp/v1_messages.hpp"
#include "ptp/v2_messages.hpp"

namespace dante::ptp_test {
namespace {

using ptp::from_ns;
using ptp::WireTimestamp;

WireTimestamp v1_timestamp(int64_t ns) {
    const WireTimestamp ts = from_ns(ns);
    return {ts.seconds & 0xFFFFFFFFu, ts.nanoseconds};
}

ptp::v1::Header v1_header(const LeaderConfig& config, ptp::v1::Control control, uint16_t sequence) {
    ptp::v1::Header h;
    h.source_uuid = config.uuid;
    h.source_port_id = 1;
    h.sequence_id = sequence;
    h.control = control;
    return h;
}

ptp::v2::Header v2_header(const LeaderConfig& config, ptp::v2::MessageType type, uint16_t sequence) {
    ptp::v2::Header h;
    h.type = type;
    h.domain = config.domain;
    h.source = {config.identity, 1};
    h.sequence_id = sequence;
    return h;
}

}  // namespace

size_t encode_sync(const LeaderConfig& config, uint16_t sequence, int64_t ptp_ns, std::span<uint8_t> out) {
    if (config.version == ptp::PtpVersion::v1) {
        ptp::v1::Message m;
        m.header = v1_header(config, ptp::v1::Control::sync, sequence);
        m.header.flags = ptp::v1::flag::assist;
        ptp::v1::SyncBody body;
        body.origin = v1_timestamp(ptp_ns);
        body.current_utc_offset = config.utc_offset;
        body.grandmaster.clock_uuid = config.uuid;
        body.grandmaster.port_id = 1;
        body.grandmaster.sequence_id = sequence;
        body.grandmaster.stratum = config.v1_stratum;
        body.grandmaster.preferred = config.priority1 < 128;
        body.sync_interval = config.log_sync_interval;
        body.local_clock_stratum = config.v1_stratum;
        body.parent_uuid = config.uuid;
        body.parent_port_field = 1;
        body.utc_reasonable = config.utc_offset_valid;
        m.body = body;
        return ptp::v1::encode(m, out);
    }
    ptp::v2::Message m;
    m.header = v2_header(config, ptp::v2::MessageType::sync, sequence);
    m.header.flags = ptp::v2::flag::two_step;
    m.header.log_message_interval = config.log_sync_interval;
    m.body = ptp::v2::TimestampBody{from_ns(ptp_ns)};
    return ptp::v2::encode(m, out);
}

size_t encode_follow_up(const LeaderConfig& config, uint16_t sequence, int64_t precise_ptp_ns, std::span<uint8_t> out) {
    if (config.version == ptp::PtpVersion::v1) {
        ptp::v1::Message m;
        m.header = v1_header(config, ptp::v1::Control::follow_up, sequence);
        m.body = ptp::v1::FollowUpBody{sequence, v1_timestamp(precise_ptp_ns)};
        return ptp::v1::encode(m, out);
    }
    ptp::v2::Message m;
    m.header = v2_header(config, ptp::v2::MessageType::follow_up, sequence);
    m.header.log_message_interval = config.log_sync_interval;
    m.body = ptp::v2::TimestampBody{from_ns(precise_ptp_ns)};
    return ptp::v2::encode(m, out);
}

size_t encode_announce(const LeaderConfig& config, uint16_t sequence, int64_t ptp_ns, std::span<uint8_t> out) {
    if (config.version != ptp::PtpVersion::v2) return 0;
    ptp::v2::Message m;
    m.header = v2_header(config, ptp::v2::MessageType::announce, sequence);
    m.header.log_message_interval = 0;  // every second
    // PTP timescale (TAI). The UTC offset is only claimed valid when the kernel knows one.
    m.header.flags = ptp::v2::flag::ptp_timescale;
    if (config.utc_offset_valid) m.header.flags |= ptp::v2::flag::utc_offset_valid | ptp::v2::flag::time_traceable;
    ptp::v2::AnnounceBody body;
    body.origin = from_ns(ptp_ns);
    body.current_utc_offset = config.utc_offset;
    body.priority1 = config.priority1;
    // Class 6 (locked to a primary reference) beats every default (248) and slave-only
    // (255) clock, so with a better priority1 this leader wins any election in the lab.
    body.quality = {6, 0x23 /* within 1 us */, 0x4E5D};
    body.priority2 = 128;
    body.grandmaster = config.identity;
    body.steps_removed = 0;
    body.time_source = 0xA0;  // internal oscillator
    m.body = body;
    return ptp::v2::encode(m, out);
}

size_t answer_delay_req(const LeaderConfig& config, std::span<const uint8_t> request, int64_t rx_ptp_ns,
                        std::span<uint8_t> out) {
    if (config.version == ptp::PtpVersion::v1) {
        const auto parsed = ptp::v1::parse(request);
        if (!parsed || parsed.value().header.control != ptp::v1::Control::delay_req) return 0;
        const ptp::v1::Header& req = parsed.value().header;
        ptp::v1::Message m;
        m.header = v1_header(config, ptp::v1::Control::delay_resp, req.sequence_id);
        ptp::v1::DelayRespBody body;
        body.delay_receipt = v1_timestamp(rx_ptp_ns);
        body.requesting_comm_tech = req.source_comm_tech;
        body.requesting_uuid = req.source_uuid;
        body.requesting_port_id = req.source_port_id;
        body.requesting_sequence_id = req.sequence_id;
        m.body = body;
        return ptp::v1::encode(m, out);
    }
    const auto parsed = ptp::v2::parse(request, config.domain);
    if (!parsed || parsed.value().header.type != ptp::v2::MessageType::delay_req) return 0;
    const ptp::v2::Header& req = parsed.value().header;
    ptp::v2::Message m;
    m.header = v2_header(config, ptp::v2::MessageType::delay_resp, req.sequence_id);
    m.header.correction = req.correction;  // 1588-2008 §11.3.2: copied from the Delay_Req
    m.header.log_message_interval = 0;     // the Delay_Req rate we ask for: 1 s
    m.body = ptp::v2::DelayRespBody{from_ns(rx_ptp_ns), req.source};
    return ptp::v2::encode(m, out);
}

}  // namespace dante::ptp_test
