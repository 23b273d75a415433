// IEEE 1588-2002 (PTPv1), as Dante devices speak it: no Announce, the best-master data in
// every Sync, identities as 6-byte UUIDs, 32-bit seconds.
#include "ptp/wire_format.hpp"

namespace dante::ptp {
namespace {

// v1 carries 32-bit seconds.
WireTimestamp to_v1(const WireTimestamp& ts) { return {ts.seconds & 0xFFFFFFFFu, ts.nanoseconds}; }

class V1WireFormat final : public WireFormat {
public:
    explicit V1WireFormat(const PortConfig& config)
        : config_(config), uuid_(uuid_from_identity(config.identity.clock)) {}

    [[nodiscard]] PtpVersion version() const override { return PtpVersion::v1; }
    [[nodiscard]] bool has_announce() const override { return false; }
    [[nodiscard]] int8_t log_bmc_interval() const override { return config_.log_sync_interval; }
    [[nodiscard]] bool class_marks_primary() const override { return false; }

    [[nodiscard]] ComparisonDataset own_dataset() const override {
        ComparisonDataset d;
        d.priority1 = config_.v1_preferred ? kV1PreferredPriority1 : kV1DefaultPriority1;
        d.quality = {config_.v1_stratum, 0xFE, v2_variance_from_v1(config_.v1_variance)};
        d.priority2 = 128;
        d.grandmaster = config_.identity.clock;
        d.steps_removed = 0;
        d.sender = config_.identity;
        d.receiver = config_.identity;
        return d;
    }

    [[nodiscard]] SendMessage sync(uint16_t sequence, const WireTimestamp& origin) const override {
        v1::Message m = with_header(v1::Control::sync, sequence);
        m.header.flags = v1::flag::assist;  // two-step
        v1::SyncBody body;
        body.origin = to_v1(origin);
        body.grandmaster.clock_uuid = uuid_;
        body.grandmaster.port_id = config_.identity.port;
        body.grandmaster.sequence_id = sequence;
        body.grandmaster.stratum = config_.v1_stratum;
        body.grandmaster.variance = config_.v1_variance;
        body.grandmaster.preferred = config_.v1_preferred;
        body.sync_interval = config_.log_sync_interval;
        body.local_clock_variance = config_.v1_variance;
        body.local_steps_removed = 0;
        body.local_clock_stratum = config_.v1_stratum;
        body.parent_uuid = uuid_;
        body.parent_port_field = config_.identity.port;
        m.body = body;
        return encoded(m);
    }

    [[nodiscard]] SendMessage follow_up(uint16_t sequence, const WireTimestamp& precise_origin) const override {
        v1::Message m = with_header(v1::Control::follow_up, sequence);
        m.body = v1::FollowUpBody{sequence, to_v1(precise_origin)};
        return encoded(m);
    }

    [[nodiscard]] SendMessage announce(uint16_t /*sequence*/, const WireTimestamp& /*origin*/) const override {
        return {};
    }

    [[nodiscard]] SendMessage delay_req(uint16_t sequence, const WireTimestamp& origin,
                                        const ParentLink& link) const override {
        v1::Message m = with_header(v1::Control::delay_req, sequence);
        // As statime does: echo the parent's grandmaster block, describe ourselves locally.
        v1::SyncBody body = link.v1_sync.value_or(v1::SyncBody{});
        body.origin = to_v1(origin);
        body.sync_interval = 0x7F;
        body.local_clock_variance = config_.v1_variance;
        body.local_steps_removed = static_cast<uint16_t>(link.parent.steps_removed + 1);
        body.local_clock_stratum = 255;  // 1588-2002: a clock that only follows
        body.parent_uuid = uuid_from_identity(link.parent.sender.clock);
        body.parent_port_field = link.parent.sender.port;
        body.estimated_master_variance = 0;
        body.estimated_master_drift = 0;
        body.utc_reasonable = false;
        m.body = body;
        return encoded(m);
    }

    [[nodiscard]] SendMessage delay_resp(uint16_t sequence, const WireTimestamp& receipt,
                                         const PortIdentity& requester) const override {
        v1::Message m = with_header(v1::Control::delay_resp, sequence);
        m.body = v1::DelayRespBody{to_v1(receipt), 1, uuid_from_identity(requester.clock), requester.port, sequence};
        return encoded(m);
    }

private:
    [[nodiscard]] v1::Message with_header(v1::Control control, uint16_t sequence) const {
        v1::Message m;
        m.header.subdomain = config_.subdomain;
        m.header.source_uuid = uuid_;
        m.header.source_port_id = config_.identity.port;
        m.header.sequence_id = sequence;
        m.header.control = control;
        return m;
    }

    static SendMessage encoded(const v1::Message& m) {
        SendMessage send;
        send.channel = v1::channel_of(m.header.control);
        send.size = static_cast<uint8_t>(v1::encode(m, send.bytes));
        return send;
    }

    PortConfig config_;
    V1Uuid uuid_;
};

}  // namespace

std::unique_ptr<WireFormat> make_v1_wire_format(const PortConfig& config) {
    return std::make_unique<V1WireFormat>(config);
}

}  // namespace dante::ptp
