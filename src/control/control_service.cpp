#include "control/control_service.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control/avahi_publisher.hpp"
#include "control/device_state_store.hpp"
#include "control/mdns_records.hpp"
#include "control/mdns_responder.hpp"
#include "io/datagram_drain.hpp"
#include "util/clock_now.hpp"

namespace dante {
namespace {

constexpr size_t kMaxSources = 256;
constexpr size_t kReceiveBuffer = 2048;  // every request we answer is far smaller

uint8_t encoding_bits(SampleFormat format) {
    switch (format) {
        case SampleFormat::s16: return 16;
        case SampleFormat::s24: return 24;
        case SampleFormat::s32: return 32;
    }
    return 24;
}

std::string two_digits(size_t n) {
    char text[16];
    std::snprintf(text, sizeof text, "%02zu", n);
    return text;
}

// Multicasts leave through the Dante interface only, and stay on its link.
// (Heard back on this host too, as before: the kernel's default loop.)
bool set_multicast_options(const UdpSocket& socket, const InterfaceInfo& iface, std::string& error) {
    return set_multicast_output(socket.fd(), iface, 1, true, error);
}

std::string_view rx_status_name(uint32_t status) {
    switch (status) {
        case control::kRxStatusNone: return "none";
        case control::kRxStatusUnresolved: return "unresolved";
        case control::kRxStatusInProgress: return "in-progress";
        case control::kRxStatusChannelFormat: return "channel-format";
        case control::kRxStatusReceivingUnicast: return "receiving-unicast";
        case control::kRxStatusReceivingMulticast: return "receiving-multicast";
        default: return "other";
    }
}

void append_quoted(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

uint16_t status_of(const std::vector<uint8_t>& reply) {
    return reply.size() >= control::kHeaderSize ? static_cast<uint16_t>((reply[8] << 8) | reply[9]) : 0;
}

}  // namespace

std::string describe_rx_subscriptions(const std::vector<control::RxChannel>& channels) {
    // The shape of the dante.rx.subscriptions arg (SPA JSON), plus each one's status: what a
    // controller set can be copied into the drop-in as it is.
    std::string out = "[";
    for (size_t i = 0; i < channels.size(); ++i) {
        const control::RxChannel& channel = channels[i];
        if (channel.subscription.empty()) continue;
        out += " { rx = " + std::to_string(i + 1) + " tx-channel = ";
        append_quoted(out, channel.subscription.tx_channel);
        out += " tx-device = ";
        append_quoted(out, channel.subscription.tx_device);
        out += " status = ";
        out += rx_status_name(channel.status);
        out += " }";
    }
    out += out.size() == 1 ? "]" : " ]";
    return out;
}

ControlService::ControlService(DeviceConfig config, std::string state_file, ControlServiceOptions options)
    : config_(std::move(config)),
      state_file_(std::move(state_file)),
      options_(std::move(options)),
      limiter_({.rate_per_second = options_.requests_per_second,
                .burst = options_.request_burst,
                .max_sources = kMaxSources}) {}

ControlService::~ControlService() { stop(); }

bool ControlService::start(std::string& error) {
    if (running()) return true;
    interface_ = lookup_interface(config_.interface, error);
    if (!interface_) return false;
    const auto ports = control::control_ports_for(config_.port_base);
    if (!ports) {
        error = "dante.port-base " + std::to_string(config_.port_base) + " leaves no room for the control ports";
        return false;
    }
    ports_ = *ports;

    const auto open = [&](uint16_t port, const char* what, UdpSocket& out) {
        BindOptions bind;
        bind.port = port;
        // No SO_REUSEADDR: UDP needs none to rebind after a restart, and with it a second
        // device on the same address would silently share our ports (set dante.port-base).
        bind.reuse_address = false;
        auto socket = open_udp_on_interface(*interface_, bind, error);
        if (!socket) {
            error = std::string(what) + ": " + error;
            return false;
        }
        out = std::move(*socket);
        return true;
    };
    if (!open(ports_.arc, "ARC", arc_socket_) || !open(ports_.cmc, "CMC", cmc_socket_) ||
        !open(ports_.info_request, "info requests", info_socket_) ||
        !set_multicast_options(info_socket_, *interface_, error)) {
        arc_socket_.close();
        cmc_socket_.close();
        info_socket_.close();
        return false;
    }

    // The device as the control plane serves it.
    const uint32_t ip = interface_->subnet.address;
    control::DeviceState state;
    state.device_name = config_.device_name;
    state.default_device_name = config_.device_name;
    const InterfaceDetails details = lookup_interface_details(interface_->name, ip);
    if (details.mac) {
        const auto& mac = *details.mac;
        state.device_id = {mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0};
    } else {
        state.device_id = {0, 0, static_cast<uint8_t>(ip >> 24), static_cast<uint8_t>(ip >> 16),
                           static_cast<uint8_t>(ip >> 8), static_cast<uint8_t>(ip), 0, 0};
    }
    interface_status_.mac = details.mac.value_or(std::array<uint8_t, 6>{});
    interface_status_.address = ip;
    interface_status_.netmask = interface_->subnet.netmask;
    interface_status_.gateway = details.gateway;
    interface_status_.link_speed_mbps = details.link_speed_mbps;
    interface_status_.dynamic = details.dynamic;
    state.factory_host_name = "pwdante-" + control::device_id_hex(state.device_id).substr(0, 12);
    state.process_id = static_cast<uint16_t>(getpid());
    state.ipv4 = ip;
    state.rate = config_.rate;
    state.encoding_bits = encoding_bits(config_.format);
    state.latency_ns = config_.latency_ns;
    state.default_latency_ns = config_.latency_ns;
    state.max_tx_flows = static_cast<uint16_t>(std::min<uint32_t>(config_.max_flows, 0xffff));
    for (uint32_t i = 1; i <= config_.channels; ++i) state.tx_channels.push_back({two_digits(i), two_digits(i)});
    // RX channels (dante.rx.*): the configured labels and subscriptions first; the state file
    // then applies on top, so what a controller changed later wins, channel by channel.
    for (uint32_t i = 0; i < config_.rx_channels; ++i) {
        control::RxChannel channel;
        channel.factory_name = i < config_.rx_names.size() ? config_.rx_names[i] : two_digits(i + 1);
        channel.user_name = channel.factory_name;
        state.rx_channels.push_back(std::move(channel));
    }
    for (const RxSubscriptionConfig& sub : config_.rx_subscriptions) {
        if (sub.rx_channel < 1 || sub.rx_channel > state.rx_channels.size()) continue;
        control::RxChannel& channel = state.rx_channels[sub.rx_channel - 1u];
        channel.subscription = {sub.tx_channel, sub.tx_device};
        channel.default_subscription = channel.subscription;
    }
    std::string state_error;
    if (!state_file_.empty()) {
        // A bad file: the last good copy or the defaults, and said so (log and
        // dante.control.state-error) until a save replaces it.
        const control::StateLoadResult loaded = control::load_persistent_state(state_file_);
        if (loaded.loaded) control::apply_persistent_state(state, loaded.state);
        state_error = loaded.error;
        if (!state_error.empty()) options_.log.warn("control", state_error);
    }
    // Flows that outlive a restart of the control plane (multicast ones moved to a new
    // address with the device) are advertised from the first record on.
    if (options_.tx_flows) state.tx_flows = options_.tx_flows();
    state_ = std::move(state);
    latency_ns_.store(state_.latency_ns, std::memory_order_relaxed);
    {
        std::lock_guard lock(status_mutex_);
        current_name_ = state_.device_name;
        state_error_ = state_error;
    }

    cmc_identity_ = {state_.process_id, state_.device_id, ip, ports_.info_request};
    conmon_ = std::make_unique<control::ConmonPublisher>(
        control::ConmonIdentity{state_.process_id, state_.device_id, "Audinate Dante-compatible"},
        control::BoardInfo{state_.board_name, {0, 1, 0, 0}},
        control::ProductInfo{state_.manufacturer, state_.board_name, state_.model_name, {0, 1, 0, 0}});

    if (options_.loop == nullptr) own_thread_ = std::make_unique<io::IoThread>("dante-control");
    loop_ = options_.loop != nullptr ? options_.loop : &own_thread_->loop();
    if (options_.mdns) {
        if (config_.mdns == MdnsBackend::builtin)
            mdns_ = std::make_unique<control::MdnsResponder>(*interface_, *loop_, options_.log);
        else
            mdns_ = std::make_unique<control::AvahiPublisher>(
                static_cast<int>(if_nametoindex(interface_->name.c_str())), ip, options_.log);
        mdns_->start(control::build_service_records(state_, {.ports = ports_}), state_.device_name);
    }

    loop_->invoke_sync([this] { begin(); });
    running_ = true;
    return true;
}

void ControlService::stop() {
    if (running_) {
        loop_->invoke_sync([this] { end(); });
        if (mdns_) mdns_->stop();  // withdraws our services (goodbye packets), on the loop
        running_ = false;
        own_thread_.reset();
        loop_ = nullptr;
    }
    arc_socket_.close();
    cmc_socket_.close();
    info_socket_.close();
}

void ControlService::send_reply(const UdpSocket& socket, const std::vector<uint8_t>& reply, const Ipv4Endpoint& to) {
    if (socket.send_to(reply, to) < 0) {
        send_errors_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    replies_.fetch_add(1, std::memory_order_relaxed);
    const uint16_t status = status_of(reply);
    if (status != control::kStatusOk && status != control::kStatusOkMorePages)
        rejected_.fetch_add(1, std::memory_order_relaxed);
}

void ControlService::send_multicasts(const std::vector<control::Datagram>& datagrams) {
    for (const control::Datagram& d : datagrams) {
        if (info_socket_.send_to(d.bytes, Ipv4Endpoint{d.address, d.port}) < 0) {
            send_errors_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (d.address == control::kHeartbeatGroup) heartbeats_.fetch_add(1, std::memory_order_relaxed);
    }
}

void ControlService::handle_arc(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender) {
    // Only 0x2200 needs the flows; asking for them on every request would be wasted work.
    const auto opcode = control::read_u16(datagram, 6);
    if (opcode && *opcode == control::kArcTxFlows && options_.tx_flows) state_.tx_flows = options_.tx_flows();
    if (opcode && *opcode == control::kArcRxChannels)
        for (size_t i = 0; i < state_.rx_channels.size(); ++i)
            state_.rx_channels[i].status = rx_status(static_cast<uint16_t>(i + 1), state_.rx_channels[i].subscription);
    control::ArcResult result = control::handle_arc_request(datagram, state_);
    bool flows_changed = false;
    if (result.create_multicast) {
        const uint16_t status = options_.create_multicast_flow ? options_.create_multicast_flow(*result.create_multicast)
                                                               : control::kStatusError;
        flows_changed = status == control::kStatusOk;
        result.response = control::tx_flow_change_reply(result.request_header, status);
    } else if (result.delete_flow) {
        const uint16_t status =
            options_.delete_tx_flow ? options_.delete_tx_flow(*result.delete_flow) : control::kStatusError;
        flows_changed = status == control::kStatusOk;
        result.response = control::tx_flow_change_reply(result.request_header, status);
    }
    if (!result.response) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Apply before answering: a controller that reads back right after the OK sees the new
    // name, label or subscription.
    apply_renames(result);
    if (flows_changed) {
        // A multicast flow came or went: its bundle and the channels' `b.N` pointers follow.
        if (options_.tx_flows) state_.tx_flows = options_.tx_flows();
        advertise();
    }
    send_reply(arc_socket_, *result.response, sender);
}

void ControlService::handle_cmc(std::span<const uint8_t> datagram, const Ipv4Endpoint& sender) {
    const auto reply = control::handle_cmc_request(datagram, cmc_identity_);
    if (!reply) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    send_reply(cmc_socket_, *reply, sender);
}

void ControlService::handle_info(std::span<const uint8_t> datagram, int64_t now_ns) {
    if (control::classify_info_request(datagram) != control::InfoRequest::none) {
        const auto out = conmon_->on_info_request(datagram, now_ns);
        if (out.empty()) return;  // the same info went out moments ago
        replies_.fetch_add(1, std::memory_order_relaxed);
        send_multicasts(out);
        return;
    }
    const auto request = control::parse_settings_request(datagram);
    if (!request) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::optional<control::Datagram> answer;
    switch (request->opcode) {
        case control::kInterfaceStatusRequest:
            // A request that would change the addressing (netaudio set_interface_dhcp/static)
            // is answered with the status as it is: we never reconfigure the host's network.
            answer = conmon_->interface_status(interface_status_, now_ns);
            break;
        case control::kClockStatusRequest:
            // Also how netaudio sets "preferred leader": the answer says not preferred.
            {
                control::ClockStatus clock = options_.clock_status ? options_.clock_status() : control::ClockStatus{};
                if (clock.role == control::ClockRole::leader) clock.leader_id = state_.device_id;
                answer = conmon_->clock_status(clock, now_ns);
            }
            break;
        case control::kAes67Request: answer = conmon_->aes67_status(now_ns); break;
        default: unsupported_.fetch_add(1, std::memory_order_relaxed); return;
    }
    if (!answer) return;
    replies_.fetch_add(1, std::memory_order_relaxed);
    send_multicasts({*answer});
}

void ControlService::apply_renames(const control::ArcResult& result) {
    bool changed = false;
    if (result.latency_ns) {
        state_.latency_ns = *result.latency_ns;
        latency_ns_.store(state_.latency_ns, std::memory_order_relaxed);
        changed = true;
    }
    if (result.device_rename) {
        state_.device_name = *result.device_rename;
        changed = true;
    }
    for (const control::ChannelRename& rename : result.channel_renames) {
        if (rename.channel_number == 0 || rename.channel_number > state_.tx_channels.size()) continue;
        state_.tx_channels[rename.channel_number - 1u].user_name = rename.new_user_name;
        changed = true;
    }
    // RX labels and subscriptions are not in the mDNS records (build_service_records): saved,
    // not re-advertised.
    bool rx_renamed = false;
    for (const control::ChannelRename& rename : result.rx_channel_renames) {
        if (rename.channel_number == 0 || rename.channel_number > state_.rx_channels.size()) continue;
        state_.rx_channels[rename.channel_number - 1u].user_name = rename.new_user_name;
        rx_renamed = true;
    }
    bool subscribed = false;
    for (const control::SubscriptionChange& change : result.subscription_changes) {
        if (change.rx_channel == 0 || change.rx_channel > state_.rx_channels.size()) continue;
        control::RxChannel& channel = state_.rx_channels[change.rx_channel - 1u];
        channel.subscription = change.subscription;
        subscribed = true;
    }
    if (changed || rx_renamed) renames_.fetch_add(1, std::memory_order_relaxed);
    if (subscribed) subscriptions_.fetch_add(1, std::memory_order_relaxed);
    if (!changed && !rx_renamed && !subscribed) return;
    if (subscribed) rx_changed();
    persist();
    if (!changed) return;
    {
        std::lock_guard lock(status_mutex_);
        current_name_ = state_.device_name;
    }
    advertise();
}

void ControlService::advertise() {
    if (mdns_) mdns_->republish(control::build_service_records(state_, {.ports = ports_}), state_.device_name);
}

void ControlService::persist() {
    if (state_file_.empty()) return;
    std::string error = control::save_persistent_state(state_file_, control::persistent_state_of(state_));
    if (!error.empty()) {
        save_errors_.fetch_add(1, std::memory_order_relaxed);
        options_.log.warn("control", "cannot save the state: " + error);
    }
    std::lock_guard lock(status_mutex_);
    state_error_ = std::move(error);
}

uint32_t ControlService::rx_status(uint16_t rx_channel, const control::RxSubscription& subscription) const {
    if (subscription.empty()) return control::kRxStatusNone;
    return options_.rx_status ? options_.rx_status(rx_channel) : control::kRxStatusUnresolved;
}

void ControlService::rx_changed() {
    {
        std::lock_guard lock(status_mutex_);
        rx_channels_ = state_.rx_channels;
    }
    if (!options_.rx_subscriptions) return;
    std::vector<RxSubscriptionConfig> subscriptions;
    for (size_t i = 0; i < state_.rx_channels.size(); ++i) {
        const control::RxSubscription& sub = state_.rx_channels[i].subscription;
        if (!sub.empty()) subscriptions.push_back({static_cast<uint16_t>(i + 1), sub.tx_channel, sub.tx_device});
    }
    options_.rx_subscriptions(std::move(subscriptions));
}

void ControlService::begin() {
    rx_changed();
    loop_->add_fd(arc_socket_.fd(), [this](uint32_t) { on_socket(0); });
    loop_->add_fd(cmc_socket_.fd(), [this](uint32_t) { on_socket(1); });
    loop_->add_fd(info_socket_.fd(), [this](uint32_t) { on_socket(2); });
    heartbeat_timer_ = loop_->add_timer([this] { beat(); });
    send_multicasts(conmon_->start(monotonic_now_ns()));
    beat();
}

void ControlService::end() {
    loop_->remove_fd(arc_socket_.fd());
    loop_->remove_fd(cmc_socket_.fd());
    loop_->remove_fd(info_socket_.fd());
    loop_->remove_timer(heartbeat_timer_);
    heartbeat_timer_ = 0;
}

void ControlService::beat() {
    send_multicasts(conmon_->poll(monotonic_now_ns()));
    loop_->arm_at(heartbeat_timer_, conmon_->next_heartbeat_ns());
}

void ControlService::on_socket(size_t index) {
    const UdpSocket& socket = index == 0 ? arc_socket_ : (index == 1 ? cmc_socket_ : info_socket_);
    std::array<uint8_t, kReceiveBuffer> buffer{};
    io::drain_datagrams(socket.fd(), io::DrainBuffers{buffer, {}, 0}, [&](const io::ReceivedDatagram& d) {
        const int64_t now = monotonic_now_ns();
        const Ipv4Endpoint sender{d.source_address, d.source_port};
        if (!limiter_.allow(sender.address, now)) {
            rate_limited_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        requests_.fetch_add(1, std::memory_order_relaxed);
        // An oversized datagram is ignored whole, never parsed from its truncated head.
        if (d.truncated) {
            malformed_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (index == 0) handle_arc(d.bytes, sender);
        else if (index == 1) handle_cmc(d.bytes, sender);
        else handle_info(d.bytes, now);
    });
}

std::string ControlService::device_name() const {
    std::lock_guard lock(status_mutex_);
    return current_name_;
}

ControlStats ControlService::stats() const {
    ControlStats s;
    s.requests = requests_.load(std::memory_order_relaxed);
    s.replies = replies_.load(std::memory_order_relaxed);
    s.rejected = rejected_.load(std::memory_order_relaxed);
    s.malformed = malformed_.load(std::memory_order_relaxed);
    s.unsupported = unsupported_.load(std::memory_order_relaxed);
    s.rate_limited = rate_limited_.load(std::memory_order_relaxed);
    s.renames = renames_.load(std::memory_order_relaxed);
    s.subscriptions = subscriptions_.load(std::memory_order_relaxed);
    s.heartbeats = heartbeats_.load(std::memory_order_relaxed);
    s.send_errors = send_errors_.load(std::memory_order_relaxed);
    s.save_errors = save_errors_.load(std::memory_order_relaxed);
    return s;
}

ConfigItems ControlService::properties() const {
    const ControlStats s = stats();
    ConfigItems items{
        {"dante.control.arc-port", std::to_string(ports_.arc)},
        {"dante.control.cmc-port", std::to_string(ports_.cmc)},
        {"dante.control.info-port", std::to_string(ports_.info_request)},
        {"dante.control.requests", std::to_string(s.requests)},
        {"dante.control.replies", std::to_string(s.replies)},
        {"dante.control.rejected", std::to_string(s.rejected)},
        {"dante.control.malformed", std::to_string(s.malformed)},
        {"dante.control.unsupported", std::to_string(s.unsupported)},
        {"dante.control.rate-limited", std::to_string(s.rate_limited)},
        {"dante.control.renames", std::to_string(s.renames)},
        {"dante.control.subscriptions", std::to_string(s.subscriptions)},
        {"dante.control.heartbeats", std::to_string(s.heartbeats)},
        {"dante.control.send-errors", std::to_string(s.send_errors)},
        {"dante.control.save-errors", std::to_string(s.save_errors)},
        {"dante.control.latency-ns", std::to_string(latency_ns_.load(std::memory_order_relaxed))},
        // The latency receivers are told (it replaces the device's dante.tx.latency-ns).
        {"dante.tx.latency-ns", std::to_string(latency_ns_.load(std::memory_order_relaxed))},
    };
    std::vector<control::RxChannel> rx_channels;
    {
        std::lock_guard lock(status_mutex_);
        if (!state_error_.empty()) items.emplace_back("dante.control.state-error", state_error_);
        rx_channels = rx_channels_;
        if (current_name_ != config_.device_name && !current_name_.empty())
            items.emplace_back("dante.device-name", current_name_);
    }
    for (size_t i = 0; i < rx_channels.size(); ++i)
        rx_channels[i].status = rx_status(static_cast<uint16_t>(i + 1), rx_channels[i].subscription);
    items.emplace_back("dante.rx.channels", std::to_string(config_.rx_channels));
    items.emplace_back("dante.rx.subscriptions", describe_rx_subscriptions(rx_channels));
    if (mdns_) {
        const ConfigItems m = mdns_->properties();
        items.insert(items.end(), m.begin(), m.end());
    } else {
        items.emplace_back("dante.mdns.state", "disabled");
    }
    return items;
}

}  // namespace dante
