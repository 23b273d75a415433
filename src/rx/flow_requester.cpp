#include "rx/flow_requester.hpp"

#include <algorithm>
#include <utility>

namespace dante {

using flowctl::Opcode;

const char* to_string(FlowRequesterState state) {
    switch (state) {
        case FlowRequesterState::idle: return "idle";
        case FlowRequesterState::requesting: return "requesting";
        case FlowRequesterState::granted: return "granted";
        case FlowRequesterState::refused: return "refused";
        case FlowRequesterState::no_reply: return "no_reply";
        case FlowRequesterState::stopping: return "stopping";
        case FlowRequesterState::stopped: return "stopped";
    }
    return "?";
}

FlowRequester::FlowRequester(FlowRequesterConfig config) : config_(std::move(config)) {}

bool FlowRequester::start(int64_t now_ms) {
    if (state_ != FlowRequesterState::idle || !begin_exchange(Opcode::request_flow, nullptr, now_ms)) return false;
    state_ = FlowRequesterState::requesting;
    return true;
}

// Encode a new exchange with the next sequence number and send its first attempt. Every
// exchange has its own number, so a late answer to an earlier one is never taken for it.
bool FlowRequester::begin_exchange(Opcode opcode, const flowctl::SlotList* slots, int64_t now_ms) {
    Exchange e;
    e.opcode = opcode;
    e.sequence = static_cast<uint16_t>(sequence_ + 1);
    RequesterDatagram& d = e.datagram;
    d.socket = RequesterSocket::control;
    d.to = config_.target;
    switch (opcode) {
        case Opcode::request_flow:
            d.kind = RequesterDatagramKind::request;
            d.size = flowctl::encode_request_flow(e.sequence, config_.request, d.bytes);
            break;
        case Opcode::update_flow:
            d.kind = RequesterDatagramKind::update;
            d.size = flowctl::encode_update_flow(e.sequence, handle_, *slots, d.bytes);
            break;
        case Opcode::stop_flow:
            d.kind = RequesterDatagramKind::stop;
            d.size = flowctl::encode_stop_flow(e.sequence, handle_, d.bytes);
            break;
    }
    if (d.size == 0) return false;
    const bool stopping = opcode == Opcode::stop_flow;
    e.sends_left = std::max(stopping ? config_.stop_attempts : config_.attempts, 1);
    e.timeout_ms = std::max<int64_t>(stopping ? config_.stop_timeout_ms : config_.reply_timeout_ms, 1);
    sequence_ = e.sequence;
    in_flight_ = e;
    send_in_flight(now_ms);
    return true;
}

void FlowRequester::send_in_flight(int64_t now_ms) {
    Exchange& e = *in_flight_;
    --e.sends_left;
    e.deadline_ms = now_ms + e.timeout_ms;
    push(e.datagram);
    switch (e.opcode) {
        case Opcode::request_flow: ++stats_.requests_sent; break;
        case Opcode::update_flow: ++stats_.updates_sent; break;
        case Opcode::stop_flow: ++stats_.stops_sent; break;
    }
}

void FlowRequester::on_control_datagram(std::span<const uint8_t> datagram, const Ipv4Endpoint& from, int64_t now_ms) {
    const auto decoded = flowctl::decode_response(datagram);
    if (!in_flight_ || !(from == config_.target) || !decoded.response ||
        decoded.response->header.sequence != in_flight_->sequence ||
        decoded.response->header.opcode != static_cast<uint16_t>(in_flight_->opcode)) {
        ++stats_.ignored;
        return;
    }
    ++stats_.replies;
    const flowctl::Response& response = *decoded.response;
    const Opcode opcode = in_flight_->opcode;
    in_flight_.reset();
    switch (opcode) {
        case Opcode::request_flow:
            // decode_response only yields an OK answer to 0x0100 with its handle in it.
            if (response.header.status == flowctl::status::ok && response.handle) {
                handle_ = *response.handle;
                state_ = FlowRequesterState::granted;
                send_pending_update(now_ms);
            } else {
                refused_status_ = response.header.status;
                state_ = FlowRequesterState::refused;
            }
            break;
        case Opcode::update_flow:
            // A refused update (0x0103: the flow expired) leaves the flow as it was; the
            // caller sees the status and decides.
            update_status_ = response.header.status;
            send_pending_update(now_ms);
            break;
        case Opcode::stop_flow:
            stop_status_ = response.header.status;
            state_ = FlowRequesterState::stopped;
            break;
    }
}

void FlowRequester::on_audio_from(const Ipv4Endpoint& source, int64_t now_ms) {
    // Before the grant nothing says the packet is ours; the next one will do.
    if (state_ != FlowRequesterState::granted || audio_source_) return;
    audio_source_ = source;
    next_keepalive_ms_ = now_ms;
    tick(now_ms);
}

void FlowRequester::tick(int64_t now_ms) {
    if (in_flight_ && now_ms >= in_flight_->deadline_ms) {
        if (in_flight_->sends_left > 0) {
            ++stats_.retries;
            send_in_flight(now_ms);
        } else {
            give_up(now_ms);
        }
    }
    if (state_ == FlowRequesterState::granted && audio_source_ && now_ms >= next_keepalive_ms_) {
        RequesterDatagram keepalive;
        keepalive.socket = RequesterSocket::audio;
        keepalive.kind = RequesterDatagramKind::keepalive;
        keepalive.to = *audio_source_;
        keepalive.bytes[0] = 0x13;
        keepalive.bytes[1] = 0x37;
        keepalive.size = 2;
        push(keepalive);
        ++stats_.keepalives_sent;
        next_keepalive_ms_ = now_ms + std::max<int64_t>(config_.keepalive_interval_ms, 1);
    }
}

void FlowRequester::give_up(int64_t now_ms) {
    const Opcode opcode = in_flight_->opcode;
    in_flight_.reset();
    switch (opcode) {
        case Opcode::request_flow: state_ = FlowRequesterState::no_reply; break;
        case Opcode::update_flow:
            ++stats_.updates_abandoned;
            update_status_ = 0;
            send_pending_update(now_ms);
            break;
        case Opcode::stop_flow: state_ = FlowRequesterState::stopped; break;
    }
}

bool FlowRequester::request_update(std::span<const uint16_t> channels, int64_t now_ms) {
    flowctl::SlotList slots;
    if (!slots.assign(channels)) return false;
    if (state_ == FlowRequesterState::requesting) {
        pending_update_ = slots;  // sent once granted
        return true;
    }
    if (state_ != FlowRequesterState::granted) return false;
    if (pending_update_) ++stats_.updates_abandoned;  // replaced before it was sent
    pending_update_ = slots;
    if (!in_flight_) send_pending_update(now_ms);
    return true;
}

void FlowRequester::send_pending_update(int64_t now_ms) {
    if (!pending_update_ || in_flight_ || state_ != FlowRequesterState::granted) return;
    const flowctl::SlotList slots = *pending_update_;
    pending_update_.reset();
    begin_exchange(Opcode::update_flow, &slots, now_ms);
}

void FlowRequester::stop(int64_t now_ms) {
    if (state_ == FlowRequesterState::stopping || state_ == FlowRequesterState::stopped) return;
    if (pending_update_ || update_in_flight()) ++stats_.updates_abandoned;
    pending_update_.reset();
    in_flight_.reset();
    if (state_ == FlowRequesterState::granted && begin_exchange(Opcode::stop_flow, nullptr, now_ms)) {
        state_ = FlowRequesterState::stopping;
        return;
    }
    state_ = FlowRequesterState::stopped;
}

std::optional<int64_t> FlowRequester::next_deadline_ms() const {
    std::optional<int64_t> next;
    if (in_flight_) next = in_flight_->deadline_ms;
    if (state_ == FlowRequesterState::granted && audio_source_)
        next = next ? std::min(*next, next_keepalive_ms_) : next_keepalive_ms_;
    return next;
}

void FlowRequester::push(const RequesterDatagram& datagram) {
    if (outbox_count_ == outbox_.size()) {
        ++stats_.outbox_dropped;
        return;
    }
    outbox_[outbox_count_++] = datagram;
}

}  // namespace dante
