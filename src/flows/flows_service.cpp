#include "flows/flows_service.hpp"

#include <time.h>

#include <array>
#include <cerrno>
#include <random>

#include "io/datagram_drain.hpp"
#include "util/clock_now.hpp"

namespace dante {
namespace {

// How soon a flow the transmitter reports silent is removed, and old tables reclaimed.
constexpr int64_t kHousekeepingNs = 100'000'000;
constexpr size_t kMaxSources = 256;

}  // namespace

uint16_t flow_control_port(uint16_t port_base) {
    // Inferno's INFERNO_ALT_PORT=P puts ARC on P, CMC on P+1, flow control on P+2.
    return port_base == 0 ? flowctl::kDefaultPort : static_cast<uint16_t>(port_base + 2);
}

FlowsService::FlowsService(DeviceConfig config, const TxRings& rings, const MediaClock& clock,
                           FlowsServiceOptions options)
    : config_(std::move(config)),
      rings_(rings),
      clock_(clock),
      options_(options),
      limiter_({.rate_per_second = options.requests_per_second, .burst = options.request_burst, .max_sources = kMaxSources}),
      table_(config_.max_flows) {}

FlowsService::~FlowsService() { stop(); }

bool FlowsService::start(std::string& error) {
    if (running()) return true;
    interface_ = lookup_interface(config_.interface, error);
    if (!interface_) return false;

    BindOptions bind;
    bind.port = options_.control_port ? *options_.control_port : flow_control_port(config_.port_base);
    bind.reuse_address = bind.port != 0;
    auto socket = open_udp_on_interface(*interface_, bind, error);
    if (!socket) {
        error = "flow control: " + error;
        return false;
    }
    const auto local = socket->local_endpoint();
    bound_port_ = local ? local->port : bind.port;
    control_socket_ = std::move(*socket);

    FlowServerPolicy policy;
    policy.rate = config_.rate;
    policy.channels = config_.channels;
    policy.max_flows = config_.max_flows;
    policy.subnet = interface_->subnet;
    policy.allow_loopback = options_.allow_loopback;
    policy.multicast_bytes_per_sample = bytes_per_sample(config_.format);
    uint64_t seed = options_.cookie_seed;
    if (seed == 0) seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    server_ = std::make_unique<FlowControlServer>(policy, seed);
    flow_sockets_.assign(config_.max_flows, nullptr);

    TransmitterSettings settings = options_.transmitter;
    settings.rate = config_.rate;
    settings.max_flows = config_.max_flows;
    transmitter_ = std::make_unique<FlowTransmitter>(rings_, clock_, table_, settings, options_.rt_priority,
                                                     options_.make_realtime);
    transmitter_->start();

    if (options_.loop == nullptr) own_thread_ = std::make_unique<io::IoThread>("dante-flows-ctl");
    loop_ = options_.loop != nullptr ? options_.loop : &own_thread_->loop();
    loop_->invoke_sync([this] {
        loop_->add_fd(control_socket_.fd(), [this](uint32_t) { on_control_socket(); });
        housekeeping_timer_ = loop_->add_timer([this] { housekeeping(); });
        loop_->arm_in(housekeeping_timer_, kHousekeepingNs, kHousekeepingNs);
    });
    running_ = true;
    std::lock_guard lock(mutex_);
    accepting_ = true;
    return true;
}

void FlowsService::stop() {
    if (running_) {
        loop_->invoke_sync([this] {
            loop_->remove_fd(control_socket_.fd());
            loop_->remove_timer(housekeeping_timer_);
            housekeeping_timer_ = 0;
        });
        running_ = false;
        own_thread_.reset();
        loop_ = nullptr;
    }
    if (transmitter_) transmitter_->stop();
    // The transmitter is joined: drop every flow, publish an empty table and free all the
    // old ones, which closes every flow socket now.
    std::lock_guard lock(mutex_);
    accepting_ = false;
    if (server_) {
        for (const FlowSpec& spec : server_->flows()) server_->remove(spec.handle);
        flow_sockets_.assign(flow_sockets_.size(), nullptr);
        publish();
        table_.reclaim_all();
    }
    control_socket_.close();
}

void FlowsService::publish() {
    std::vector<FlowEntry> entries;
    for (const FlowSpec& spec : server_->flows())
        entries.push_back(FlowEntry{spec, spec.handle.index < flow_sockets_.size() ? flow_sockets_[spec.handle.index]
                                                                                   : nullptr});
    table_.publish(std::move(entries));
}

void FlowsService::handle_datagram(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender, int64_t now_ns) {
    if (!limiter_.allow(sender.address, now_ns)) {
        rate_limited_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::array<uint8_t, 64> response{};
    std::unique_lock lock(mutex_);
    FlowServerOutput out = server_->handle(datagram, sender, response);
    if (out.response_bytes == 0) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    bool changed = false;
    switch (out.action.kind) {
        case FlowActionKind::add: {
            std::string error;
            auto socket = open_udp_on_interface(*interface_, BindOptions{}, error);
            if (socket && connect_udp(*socket, out.action.spec.destination, error)) {
                flow_sockets_[out.action.spec.handle.index] = std::make_shared<const UdpSocket>(std::move(*socket));
                changed = true;
            } else {
                // No socket, no flow: undo and tell the receiver we cannot take it.
                server_->remove(out.action.spec.handle);
                out.status = flowctl::status::too_many_flows;
                out.response_bytes = flowctl::encode_response(out.request_header, out.status, {}, response);
            }
            break;
        }
        case FlowActionKind::update:
            changed = true;
            break;
        case FlowActionKind::stop:
            flow_sockets_[out.action.spec.handle.index].reset();
            changed = true;
            break;
        case FlowActionKind::none:
            break;
    }
    if (changed) publish();
    lock.unlock();
    requests_.fetch_add(1, std::memory_order_relaxed);
    if (out.status != flowctl::status::ok) rejected_.fetch_add(1, std::memory_order_relaxed);
    control_socket_.send_to(std::span<const uint8_t>(response.data(), out.response_bytes), sender);
}

void FlowsService::on_control_socket() {
    std::array<uint8_t, flowctl::kMaxPacketBytes + 1> buffer{};
    // One batch, then expiries and the other services get a turn.
    io::drain_datagrams(control_socket_.fd(), io::DrainBuffers{buffer, {}, 0}, [&](const io::ReceivedDatagram& d) {
        // The buffer holds one byte more than the largest request: an oversized datagram
        // arrives as kMaxPacketBytes + 1 bytes and the decoder refuses it as too long,
        // never parsing its truncated head.
        handle_datagram(d.bytes, Ipv4Endpoint{d.source_address, d.source_port}, monotonic_now_ns());
    });
    housekeeping();
}

void FlowsService::housekeeping() {
    std::lock_guard lock(mutex_);
    bool changed = false;
    while (auto handle = transmitter_->pop_expired()) {
        if (server_->remove(*handle)) {
            flow_sockets_[handle->index].reset();
            changed = true;
        }
    }
    if (changed) publish();
    table_.reclaim();
}

std::vector<FlowSpec> FlowsService::flows() const {
    std::lock_guard lock(mutex_);
    return server_ ? server_->flows() : std::vector<FlowSpec>{};
}

MulticastCreate FlowsService::create_multicast(uint32_t slot, std::span<const uint16_t> channels, uint32_t fpp) {
    MulticastCreate out;
    flowctl::SlotList slots;
    if (!slots.assign(channels)) {
        out.error = MulticastError::bad_channels;
        return out;
    }
    std::lock_guard lock(mutex_);
    if (!server_ || !accepting_) {
        out.unavailable = true;
        out.message = "the flows service is not running";
        return out;
    }
    const MulticastAdd added = server_->add_multicast(slot, slots, fpp);
    if (added.error != MulticastError::none) {
        out.error = added.error;
        return out;
    }
    // The group comes from the registry (derived from our address), never from the request.
    auto socket = open_multicast_sender(*interface_, added.spec.destination, config_.multicast_ttl, out.message);
    if (!socket) {
        server_->remove(added.spec.handle);
        out.unavailable = true;
        return out;
    }
    flow_sockets_[added.spec.handle.index] = std::make_shared<const UdpSocket>(std::move(*socket));
    publish();
    out.spec = added.spec;
    return out;
}

bool FlowsService::delete_multicast(uint32_t slot) {
    std::lock_guard lock(mutex_);
    if (!server_) return false;
    const auto removed = server_->remove_multicast(slot);
    if (!removed) return false;
    flow_sockets_[removed->handle.index].reset();
    publish();
    return true;
}

FlowsStats FlowsService::stats() const {
    FlowsStats s;
    s.active_flows = table_.published_size();
    s.requests = requests_.load(std::memory_order_relaxed);
    s.rejected = rejected_.load(std::memory_order_relaxed);
    s.malformed = malformed_.load(std::memory_order_relaxed);
    s.rate_limited = rate_limited_.load(std::memory_order_relaxed);
    if (transmitter_) {
        const TransmitterCounters& c = transmitter_->counters();
        s.packets = c.packets.load(std::memory_order_relaxed);
        s.underruns = c.underruns.load(std::memory_order_relaxed);
        s.send_errors = c.send_errors.load(std::memory_order_relaxed);
        s.rebootstraps = c.rebootstraps.load(std::memory_order_relaxed);
        s.expired = c.expired.load(std::memory_order_relaxed);
        for (size_t i = 0; i < kLateBuckets; ++i) s.late[i] = c.late[i].load(std::memory_order_relaxed);
        s.realtime = transmitter_->realtime();
    }
    return s;
}

ConfigItems FlowsService::properties() const {
    const FlowsStats s = stats();
    std::string late;
    for (size_t i = 0; i < kLateBuckets; ++i) {
        if (i) late += ',';
        late += std::to_string(s.late[i]);
    }
    return {
        {"dante.flows", std::to_string(s.active_flows)},
        {"dante.tx.packets", std::to_string(s.packets)},
        {"dante.tx.underruns", std::to_string(s.underruns)},
        {"dante.tx.send-errors", std::to_string(s.send_errors)},
        {"dante.tx.rebootstraps", std::to_string(s.rebootstraps)},
        {"dante.tx.flows-expired", std::to_string(s.expired)},
        // Counts of packets sent <100us, <250us, <500us, <1ms, <2ms, <5ms, >=5ms after due.
        {"dante.tx.late-histogram", late},
        {"dante.tx.realtime", s.realtime ? "true" : "false"},
        {"dante.flow-control.port", std::to_string(bound_port_)},
        {"dante.flow-control.requests", std::to_string(s.requests)},
        {"dante.flow-control.rejected", std::to_string(s.rejected)},
        {"dante.flow-control.malformed", std::to_string(s.malformed)},
        {"dante.flow-control.rate-limited", std::to_string(s.rate_limited)},
    };
}

}  // namespace dante
