#pragma once
// The transmitter's side of flow control, sans-I/O: a request datagram and its sender in,
// a response datagram and a flow-table action out.
//
// It owns the registry of flows (handle, destination, format, slots) and decides who may
// have one. Policy, in the order checked:
//   - requests from anybody who is not a host on our subnet are ignored (no answer);
//   - 0x0301 when the requested rate is not ours;
//   - 0x0302 (documented in flow_control_codec.hpp) for a bit depth other than 16/24/32,
//     fpp outside 2..256, no slots, a channel id above our channel count, an audio packet
//     that would not fit the MTU, or a destination that is not a unicast host of our
//     subnet (never loopback, unless the policy allows it for tests; never multicast,
//     broadcast, the network address, 0.0.0.0, 240/4, or port 0);
//   - a request to a destination ip:port that already has a flow updates that flow and
//     returns its handle (Inferno does the same: a receiver that lost our answer asks
//     again, and must not get a second stream to the same socket);
//   - 0x0315 when all max_flows slots are taken.
// Stop and update name a flow by handle; an unknown or expired one gets 0x0103, and so does
// a multicast flow (those are created and deleted only over ARC, never by a receiver).
//
// Multicast flows (add_multicast/remove_multicast, driven by ARC 0x2201/0x2202) live in the
// same registry: they share the max_flows slots with unicast flows, and their destination
// is always multicast_group_for(our address, slot index):4321, never anything a request says.
// Malformed datagrams are ignored (no answer), as Inferno does.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "flows/flow_control_codec.hpp"
#include "flows/flow_spec.hpp"
#include "net/ipv4.hpp"

namespace dante {

struct FlowServerPolicy {
    uint32_t rate = 48000;
    uint32_t channels = 2;   // TX channels: valid ids are 1..channels
    uint32_t max_flows = 32;
    Ipv4Subnet subnet;       // the interface's address and netmask
    bool allow_loopback = false;  // tests on `lo` only
    // Ethernet MTU 1500 - IPv4 header 20 - UDP header 8: audio packets must not fragment.
    size_t max_audio_packet_bytes = 1472;
    // Multicast flows carry the device's own encoding (audio.format).
    uint32_t multicast_bytes_per_sample = 3;
};

// Multicast flows: at most this many channels (Dante's usual per-flow limit, and what
// fits one packet at fpp 32 in S32), and this fpp when the request names none.
inline constexpr uint16_t kMaxMulticastChannels = 8;
inline constexpr uint32_t kDefaultMulticastFramesPerPacket = 32;

enum class MulticastError : uint8_t {
    none,
    bad_channels,   // no channels, too many, or an id that is 0 or above our channel count
    bad_fpp,        // outside 2..256, or the packet would not fit the MTU
    bad_slot,       // a requested slot outside 1..max_flows, or already in use
    too_many_flows, // every slot is taken
};

struct MulticastAdd {
    MulticastError error = MulticastError::none;
    FlowSpec spec;  // the new flow when error == none
};

inline constexpr uint32_t kMinFramesPerPacket = 2;
inline constexpr uint32_t kMaxRequestFramesPerPacket = 256;

enum class FlowActionKind : uint8_t { none, add, update, stop };

struct FlowAction {
    FlowActionKind kind = FlowActionKind::none;
    FlowSpec spec;  // add/update: the flow as it now is; stop: the flow that ended
};

struct FlowServerOutput {
    size_t response_bytes = 0;  // 0: send nothing
    uint16_t status = 0;        // the status answered (0 when nothing is answered)
    flowctl::DecodeError decode_error = flowctl::DecodeError::none;
    bool ignored_sender = false;  // dropped because the sender is not on our subnet
    flowctl::Header request_header;
    FlowAction action;
};

// Whether `destination` is an acceptable audio destination under `policy`.
bool destination_allowed(const Ipv4Endpoint& destination, const FlowServerPolicy& policy);
// Whether `sender` may talk to us at all (a host of our subnet, or loopback if allowed).
bool sender_allowed(uint32_t sender, const FlowServerPolicy& policy);

class FlowControlServer {
public:
    FlowControlServer(FlowServerPolicy policy, uint64_t cookie_seed);

    // Handle one datagram. The response (if any) is written to `response_out`, which
    // should hold at least 64 bytes.
    FlowServerOutput handle(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender,
                            std::span<uint8_t> response_out);

    // A multicast flow of `slots` (1-based TX channel ids) at `fpp` (0: the default), in
    // slot `slot` (1-based flow number; 0: any free one).
    MulticastAdd add_multicast(uint32_t slot, const flowctl::SlotList& slots, uint32_t fpp);
    // The multicast flow in 1-based slot `slot`, removed; nullopt if there is none (a
    // unicast flow there is left alone).
    std::optional<FlowSpec> remove_multicast(uint32_t slot);

    // Forget a flow (it expired, or its socket could not be opened). False if unknown.
    bool remove(const flowctl::FlowHandle& handle);

    [[nodiscard]] std::vector<FlowSpec> flows() const;
    [[nodiscard]] size_t flow_count() const { return count_; }
    [[nodiscard]] const FlowServerPolicy& policy() const { return policy_; }

private:
    std::optional<uint16_t> check_slots(const flowctl::SlotList& slots, uint32_t fpp, uint32_t bytes) const;
    FlowSpec* find(const flowctl::FlowHandle& handle);
    FlowSpec* find(const Ipv4Endpoint& destination);
    std::optional<uint32_t> free_index();
    uint16_t next_cookie();

    FlowServerPolicy policy_;
    std::vector<std::optional<FlowSpec>> flows_;  // indexed by handle.index, max_flows long
    size_t count_ = 0;
    uint32_t next_index_ = 0;  // rotate, so a just-freed index is not handed out again at once
    uint32_t next_version_ = 1;
    uint64_t rng_;
};

}  // namespace dante
