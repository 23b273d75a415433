// IEEE 1588-2008 (PTPv2): Announce carries the best-master data; one-byte domain.
#include "ptp/wire_format.hpp"

namespace dante::ptp {
namespace {

class V2WireFormat final : public WireFormat {
public:
    explicit V2WireFormat(const PortConfig& config) : config_(config) {}

    [[nodiscard]] PtpVersion version() const override { return PtpVersion::v2; }
    [[nodiscard]] bool has_announce() const override { return true; }
    [[nodiscard]] int8_t log_bmc_interval() const override { return config_.log_announce_interval; }
    [[nodiscard]] bool class_marks_primary() const override { return true; }

    [[nodiscard]] ComparisonDataset own_dataset() const override {
        ComparisonDataset d;
        d.priority1 = config_.priority1;
        d.quality = config_.quality;
        d.priority2 = config_.priority2;
        d.grandmaster = config_.identity.clock;
        d.steps_removed = 0;
        d.sender = config_.identity;
        d.receiver = config_.identity;
        return d;
    }

    [[nodiscard]] SendMessage sync(uint16_t sequence, const WireTimestamp& origin) const override {
        v2::Message m = with_header(v2::MessageType::sync, sequence, config_.log_sync_interval);
        m.header.flags = v2::flag::two_step;
        m.body = v2::TimestampBody{origin};
        return encoded(m);
    }

    [[nodiscard]] SendMessage follow_up(uint16_t sequence, const WireTimestamp& precise_origin) const override {
        v2::Message m = with_header(v2::MessageType::follow_up, sequence, config_.log_sync_interval);
        m.body = v2::TimestampBody{precise_origin};
        return encoded(m);
    }

    [[nodiscard]] SendMessage announce(uint16_t sequence, const WireTimestamp& origin) const override {
        const ComparisonDataset ours = own_dataset();
        v2::Message m = with_header(v2::MessageType::announce, sequence, config_.log_announce_interval);
        v2::AnnounceBody body;
        body.origin = origin;
        body.priority1 = ours.priority1;
        body.quality = ours.quality;
        body.priority2 = ours.priority2;
        body.grandmaster = ours.grandmaster;
        body.steps_removed = 0;
        body.time_source = 0xA0;  // internal oscillator: the Dante timescale is arbitrary
        m.body = body;
        return encoded(m);
    }

    [[nodiscard]] SendMessage delay_req(uint16_t sequence, const WireTimestamp& origin,
                                        const ParentLink& /*parent*/) const override {
        v2::Message m = with_header(v2::MessageType::delay_req, sequence, 0x7F);
        m.body = v2::TimestampBody{origin};
        return encoded(m);
    }

    [[nodiscard]] SendMessage delay_resp(uint16_t sequence, const WireTimestamp& receipt,
                                         const PortIdentity& requester) const override {
        v2::Message m = with_header(v2::MessageType::delay_resp, sequence, config_.log_min_delay_req_interval);
        m.body = v2::DelayRespBody{receipt, requester};
        return encoded(m);
    }

private:
    [[nodiscard]] v2::Message with_header(v2::MessageType type, uint16_t sequence, int8_t log_interval) const {
        v2::Message m;
        m.header.type = type;
        m.header.domain = config_.domain;
        m.header.source = config_.identity;
        m.header.sequence_id = sequence;
        m.header.log_message_interval = log_interval;
        return m;
    }

    static SendMessage encoded(const v2::Message& m) {
        SendMessage send;
        send.channel = v2::channel_of(m.header.type);
        send.size = static_cast<uint8_t>(v2::encode(m, send.bytes));
        return send;
    }

    PortConfig config_;
};

}  // namespace

std::unique_ptr<WireFormat> make_v2_wire_format(const PortConfig& config) {
    return std::make_unique<V2WireFormat>(config);
}

}  // namespace dante::ptp
