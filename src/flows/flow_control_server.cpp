#include "flows/flow_control_server.hpp"

#include "flows/multicast_group.hpp"
#include "flows/packet_writer.hpp"

namespace dante {

using flowctl::FlowHandle;
using flowctl::Opcode;
namespace status = flowctl::status;

namespace {

// A host address of the subnet: not the network or broadcast address, nor anything
// that is not a single host at all.
bool is_subnet_host(uint32_t a, const FlowServerPolicy& policy) {
    if (is_unspecified(a) || is_multicast(a) || is_limited_broadcast(a) || is_reserved(a)) return false;
    if (is_loopback(a)) return policy.allow_loopback;
    return policy.subnet.contains(a) && !policy.subnet.is_directed_broadcast(a) &&
           !policy.subnet.is_network_address(a);
}

std::optional<uint32_t> bytes_for_bits(uint32_t bits) {
    switch (bits) {
        case 16: return 2;
        case 24: return 3;
        case 32: return 4;
        default: return std::nullopt;
    }
}

}  // namespace

bool destination_allowed(const Ipv4Endpoint& destination, const FlowServerPolicy& policy) {
    return destination.port != 0 && is_subnet_host(destination.address, policy);
}

bool sender_allowed(uint32_t sender, const FlowServerPolicy& policy) { return is_subnet_host(sender, policy); }

FlowControlServer::FlowControlServer(FlowServerPolicy policy, uint64_t cookie_seed)
    : policy_(policy), flows_(policy.max_flows), rng_(cookie_seed != 0 ? cookie_seed : 0x2545F4914F6CDD1Dull) {}

uint16_t FlowControlServer::next_cookie() {
    // xorshift64*: cookies only need to differ between successive flows of one index.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return static_cast<uint16_t>((rng_ * 0x2545F4914F6CDD1Dull) >> 48);
}

FlowSpec* FlowControlServer::find(const FlowHandle& handle) {
    if (handle.index >= flows_.size() || !flows_[handle.index]) return nullptr;
    FlowSpec& spec = *flows_[handle.index];
    return spec.handle == handle ? &spec : nullptr;
}

MulticastAdd FlowControlServer::add_multicast(uint32_t slot, const flowctl::SlotList& slots, uint32_t fpp) {
    MulticastAdd out;
    const auto fail = [&](MulticastError error) {
        out.error = error;
        return out;
    };
    if (slots.count == 0 || slots.count > kMaxMulticastChannels) return fail(MulticastError::bad_channels);
    for (uint16_t id : slots.span())
        if (id == 0 || id > policy_.channels) return fail(MulticastError::bad_channels);
    if (fpp == 0) fpp = kDefaultMulticastFramesPerPacket;
    const uint32_t bytes = policy_.multicast_bytes_per_sample;
    if (fpp < kMinFramesPerPacket || fpp > kMaxRequestFramesPerPacket ||
        audio_packet_bytes(fpp, slots.count, bytes) > policy_.max_audio_packet_bytes)
        return fail(MulticastError::bad_fpp);

    uint32_t index = 0;
    if (slot != 0) {
        if (slot > flows_.size() || slot - 1 > kMaxMulticastFlowIndex) return fail(MulticastError::bad_slot);
        index = slot - 1;
        if (flows_[index]) return fail(count_ == flows_.size() ? MulticastError::too_many_flows : MulticastError::bad_slot);
    } else {
        const auto free = free_index();
        if (!free) return fail(MulticastError::too_many_flows);
        index = *free;
    }
    if (index > kMaxMulticastFlowIndex) return fail(MulticastError::too_many_flows);

    FlowSpec spec;
    spec.handle = FlowHandle{index, next_cookie()};
    spec.destination = Ipv4Endpoint{multicast_group_for(policy_.subnet.address, index), kMulticastAudioPort};
    spec.fpp = fpp;
    spec.bytes_per_sample = bytes;
    spec.slots = slots;
    spec.version = next_version_++;
    spec.multicast = true;
    flows_[index] = spec;
    ++count_;
    out.spec = spec;
    return out;
}

std::optional<FlowSpec> FlowControlServer::remove_multicast(uint32_t slot) {
    if (slot == 0 || slot > flows_.size() || !flows_[slot - 1] || !flows_[slot - 1]->multicast) return std::nullopt;
    FlowSpec spec = *flows_[slot - 1];
    flows_[slot - 1].reset();
    --count_;
    return spec;
}

FlowSpec* FlowControlServer::find(const Ipv4Endpoint& destination) {
    for (auto& flow : flows_)
        if (flow && flow->destination == destination) return &*flow;
    return nullptr;
}

std::optional<uint32_t> FlowControlServer::free_index() {
    const auto n = static_cast<uint32_t>(flows_.size());
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t index = (next_index_ + i) % n;
        if (!flows_[index]) {
            next_index_ = (index + 1) % n;
            return index;
        }
    }
    return std::nullopt;
}

std::optional<uint16_t> FlowControlServer::check_slots(const flowctl::SlotList& slots, uint32_t fpp,
                                                       uint32_t bytes) const {
    if (slots.count == 0) return status::unsupported_parameters;
    for (uint16_t id : slots.span())
        if (id > policy_.channels) return status::unsupported_parameters;
    if (audio_packet_bytes(fpp, slots.count, bytes) > policy_.max_audio_packet_bytes)
        return status::unsupported_parameters;
    return std::nullopt;
}

FlowServerOutput FlowControlServer::handle(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender,
                                           std::span<uint8_t> response_out) {
    FlowServerOutput out;
    if (!sender_allowed(sender.address, policy_)) {
        out.ignored_sender = true;
        return out;
    }
    auto decoded = flowctl::decode_request(datagram);
    if (!decoded.request) {
        out.decode_error = decoded.error;
        return out;
    }
    const flowctl::Request& request = *decoded.request;
    out.request_header = request.header;

    uint8_t body[flowctl::kHandleBytes];
    size_t body_size = 0;
    auto answer = [&](uint16_t code) {
        out.status = code;
        out.response_bytes =
            flowctl::encode_response(request.header, code, std::span<const uint8_t>(body, body_size), response_out);
        return out;
    };

    switch (request.opcode) {
        case Opcode::request_flow: {
            const flowctl::FlowRequest& r = request.flow;
            if (r.rate != policy_.rate) return answer(status::rate_mismatch);
            const auto bytes = bytes_for_bits(r.bits_per_sample);
            if (!bytes || r.fpp < kMinFramesPerPacket || r.fpp > kMaxRequestFramesPerPacket)
                return answer(status::unsupported_parameters);
            if (auto bad = check_slots(r.slots, r.fpp, *bytes)) return answer(*bad);
            if (!destination_allowed(r.destination, policy_)) return answer(status::unsupported_parameters);

            FlowSpec* spec = find(r.destination);
            if (spec != nullptr) {
                out.action.kind = FlowActionKind::update;
            } else {
                const auto index = free_index();
                if (!index) return answer(status::too_many_flows);
                flows_[*index] = FlowSpec{};
                spec = &*flows_[*index];
                spec->handle = FlowHandle{*index, next_cookie()};
                spec->destination = r.destination;
                ++count_;
                out.action.kind = FlowActionKind::add;
            }
            spec->fpp = r.fpp;
            spec->bytes_per_sample = *bytes;
            spec->slots = r.slots;
            spec->version = next_version_++;
            out.action.spec = *spec;
            flowctl::store_handle(body, spec->handle);
            body_size = flowctl::kHandleBytes;
            return answer(status::ok);
        }
        case Opcode::stop_flow: {
            FlowSpec* spec = find(request.handle);
            if (spec == nullptr || spec->multicast) return answer(status::flow_not_found);
            out.action.kind = FlowActionKind::stop;
            out.action.spec = *spec;
            remove(request.handle);
            return answer(status::ok);
        }
        case Opcode::update_flow: {
            FlowSpec* spec = find(request.handle);
            if (spec == nullptr || spec->multicast) return answer(status::flow_not_found);
            if (auto bad = check_slots(request.slots, spec->fpp, spec->bytes_per_sample)) return answer(*bad);
            spec->slots = request.slots;
            spec->version = next_version_++;
            out.action.kind = FlowActionKind::update;
            out.action.spec = *spec;
            return answer(status::ok);
        }
    }
    return out;
}

bool FlowControlServer::remove(const FlowHandle& handle) {
    if (find(handle) == nullptr) return false;
    flows_[handle.index].reset();
    --count_;
    return true;
}

std::vector<FlowSpec> FlowControlServer::flows() const {
    std::vector<FlowSpec> result;
    result.reserve(count_);
    for (const auto& flow : flows_)
        if (flow) result.push_back(*flow);
    return result;
}

}  // namespace dante
