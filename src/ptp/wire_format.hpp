#pragma once
// One PTP version's wire format as the port sees it: the messages a port sends, encoded
// from version-neutral values, and the few facts about the version that the best-master
// logic needs (whether Announce exists, which interval carries the best-master data, our
// own dataset in that version's terms). The port picks one at construction
// (make_wire_format) and never branches on the version per message again.
//
// Receiving stays per version in the port (handle_v1 / handle_v2): the two versions do not
// carry the same things in the same messages (v1's Sync is also its Announce).

#include <cstdint>
#include <memory>
#include <optional>

#include "ptp/dataset.hpp"
#include "ptp/port_actions.hpp"
#include "ptp/port_config.hpp"
#include "ptp/ptp_types.hpp"
#include "ptp/v1_messages.hpp"

namespace dante::ptp {

// What a follower's Delay_Req says about the leader it follows.
struct ParentLink {
    const ComparisonDataset& parent;
    // The parent's last v1 Sync: a v1 Delay_Req echoes its grandmaster block (ignored by v2).
    const std::optional<v1::SyncBody>& v1_sync;
};

class WireFormat {
public:
    virtual ~WireFormat() = default;

    [[nodiscard]] virtual PtpVersion version() const = 0;
    // v2 announces a master in Announce; v1 has none: every Sync carries that data.
    [[nodiscard]] virtual bool has_announce() const = 0;
    // The log2 interval at which a master's best-master data arrives (Announce or Sync).
    [[nodiscard]] virtual int8_t log_bmc_interval() const = 0;
    // Our dataset as a candidate leader, as the other ports of this version compare it.
    [[nodiscard]] virtual ComparisonDataset own_dataset() const = 0;
    // Whether clockClass <= 127 means a primary clock (state decision P1). Not in v1: its
    // mapping puts the 1588-2002 stratum there, which orders masters but means no such thing.
    [[nodiscard]] virtual bool class_marks_primary() const = 0;

    // Each returns the datagram and its channel; size 0 if the version has no such message.
    // Two-step Sync: `origin` is approximate, the Follow_Up carries the transmit time.
    [[nodiscard]] virtual SendMessage sync(uint16_t sequence, const WireTimestamp& origin) const = 0;
    [[nodiscard]] virtual SendMessage follow_up(uint16_t sequence, const WireTimestamp& precise_origin) const = 0;
    [[nodiscard]] virtual SendMessage announce(uint16_t sequence, const WireTimestamp& origin) const = 0;
    [[nodiscard]] virtual SendMessage delay_req(uint16_t sequence, const WireTimestamp& origin,
                                                const ParentLink& parent) const = 0;
    [[nodiscard]] virtual SendMessage delay_resp(uint16_t sequence, const WireTimestamp& receipt,
                                                 const PortIdentity& requester) const = 0;
};

// `config` as the port uses it (a v1 identity already reduced to its UUID).
std::unique_ptr<WireFormat> make_v1_wire_format(const PortConfig& config);
std::unique_ptr<WireFormat> make_v2_wire_format(const PortConfig& config);
inline std::unique_ptr<WireFormat> make_wire_format(const PortConfig& config) {
    return config.version == PtpVersion::v1 ? make_v1_wire_format(config) : make_v2_wire_format(config);
}

}  // namespace dante::ptp
