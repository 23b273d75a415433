#include "ptp/ptp_service.hpp"

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/datagram_drain.hpp"
#include "net/interface.hpp"
#include "net/timestamps.hpp"
#include "net/udp_socket.hpp"
#include "ptp/kernel_timestamp.hpp"
#include "util/clock_now.hpp"

#ifndef IP_MULTICAST_ALL
#define IP_MULTICAST_ALL 49
#endif

namespace dante::ptp {
namespace {

constexpr uint32_t kPtpGroup = 0xE0000181;  // 224.0.1.129
constexpr uint16_t kEventPort = 319;
constexpr uint16_t kGeneralPort = 320;
constexpr int64_t kTxTimestampWaitNs = 20'000'000;  // then the user-space send time stands in
constexpr int64_t kRefreshNs = 1'000'000'000;       // re-anchor the published clock this often
// Every PTP message we understand is far smaller (v2 Announce with TLVs included); a
// bigger datagram is dropped unread.
constexpr size_t kReceiveBuffer = 512;

std::string errno_text() { return std::strerror(errno); }

// REALTIME - MONOTONIC, from the tightest of three back-to-back brackets.
ClockBracket sample_bracket() {
    ClockBracket best;
    for (int i = 0; i < 3; ++i) {
        ClockBracket b;
        b.mono_before_ns = clock_now_ns(CLOCK_MONOTONIC);
        b.realtime_ns = clock_now_ns(CLOCK_REALTIME);
        b.mono_after_ns = clock_now_ns(CLOCK_MONOTONIC);
        best = i == 0 ? b : tighter(best, b);
    }
    return best;
}

bool set_int(int fd, int level, int name, int value) {
    return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

// The interface's MAC, or a locally administered stand-in built from its IPv4 address
// when it has none (a tunnel, or loopback's all-zero address).
MacAddress interface_mac(const InterfaceInfo& iface) {
    if (const auto mac = hardware_address(iface.name)) return *mac;
    const uint32_t ip = iface.subnet.address;
    return {0x02, 0x00, static_cast<uint8_t>(ip >> 24), static_cast<uint8_t>(ip >> 16), static_cast<uint8_t>(ip >> 8),
            static_cast<uint8_t>(ip)};
}

// One of the two PTP sockets: 0.0.0.0:port, pinned to the interface, in 224.0.1.129 there.
std::optional<UdpSocket> open_ptp_socket(const InterfaceInfo& iface, uint16_t port, std::string& error) {
    UdpSocket socket(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const std::string what = "PTP port " + std::to_string(port) + " on " + iface.name + ": ";
    if (!socket.is_open()) {
        error = what + "cannot create a UDP socket: " + errno_text();
        return std::nullopt;
    }
    const int fd = socket.fd();
    set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    // Bound to 0.0.0.0 (a socket bound to the unicast address never sees multicast), so
    // the device binding is what keeps other interfaces' PTP out. It needs CAP_NET_RAW;
    // without it IP_MULTICAST_ALL off and the per-interface membership still hold.
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.name.c_str(), static_cast<socklen_t>(iface.name.size())) !=
            0 &&
        errno != EPERM) {
        error = what + "cannot bind to the interface: " + errno_text();
        return std::nullopt;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        error = what + "cannot bind: " + errno_text();
        return std::nullopt;
    }
    std::string why;
    if (!set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0)) {
        error = what + "cannot set IP_MULTICAST_ALL: " + errno_text();
        return std::nullopt;
    }
    if (!join_multicast_group(fd, kPtpGroup, iface, why) || !set_multicast_output(fd, iface, 1, false, why)) {
        error = what + why;
        return std::nullopt;
    }
    return socket;
}

// Both PTP sockets on the interface as it is now, with timestamping asked for.
struct PtpSockets {
    InterfaceInfo iface;
    UdpSocket event, general;
    bool kernel_tx_timestamps = false;
};

std::optional<PtpSockets> open_ptp_sockets(const std::string& interface, std::string& error) {
    auto iface = lookup_interface(interface, error);
    if (!iface) return std::nullopt;
    auto event = open_ptp_socket(*iface, kEventPort, error);
    if (!event) return std::nullopt;
    auto general = open_ptp_socket(*iface, kGeneralPort, error);
    if (!general) return std::nullopt;
    PtpSockets out{std::move(*iface), std::move(*event), std::move(*general), false};
    out.kernel_tx_timestamps = enable_software_timestamps(out.event.fd(), true);
    enable_software_timestamps(out.general.fd(), false);
    return out;
}

bool is_link_failure(int err) {
    return err == ENETDOWN || err == ENETUNREACH || err == ENODEV || err == EADDRNOTAVAIL || err == ENXIO;
}

}  // namespace

PtpService::PtpService(PtpServiceOptions options, io::EventLoop* loop)
    : options_(std::move(options)), clock_(make_servo(options_.servo), monotonic_now_ns()), external_loop_(loop) {
    status_.store(working_);
}

PtpService::~PtpService() { stop(); }

bool PtpService::start(std::string& error) {
    if (running()) return true;
    auto sockets = open_ptp_sockets(options_.interface, error);
    if (!sockets) return false;
    kernel_tx_timestamps_ = sockets->kernel_tx_timestamps;
    event_socket_ = std::move(sockets->event);
    general_socket_ = std::move(sockets->general);
    const InterfaceInfo& iface = sockets->iface;

    identity_ = clock_identity_from_mac(interface_mac(iface), options_.version);
    PortConfig config;
    config.version = options_.version;
    config.identity = {identity_, 1};
    config.domain = options_.domain;
    config.priority1 = options_.priority1;
    config.v1_preferred = options_.priority1 < kV1DefaultPriority1;
    config.slave_only = options_.slave_only;
    node_ = std::make_unique<PtpNode>(config, clock_);

    if (external_loop_ == nullptr) own_thread_ = std::make_unique<io::IoThread>("dante-ptp");
    loop_ = external_loop_ != nullptr ? external_loop_ : &own_thread_->loop();
    loop_->invoke_sync([this] { begin(); });
    running_ = true;
    return true;
}

void PtpService::stop() {
    if (running_) {
        loop_->invoke_sync([this] { end(); });
        running_ = false;
        own_thread_.reset();
        loop_ = nullptr;
    }
    event_socket_.close();
    general_socket_.close();
}

bool PtpService::rebind(std::string& error) {
    if (!running_) return start(error);
    auto sockets = open_ptp_sockets(options_.interface, error);
    if (!sockets) return false;
    loop_->invoke_sync([&] {
        loop_->remove_fd(event_socket_.fd());
        loop_->remove_fd(general_socket_.fd());
        std::swap(event_socket_, sockets->event);
        std::swap(general_socket_, sockets->general);
        kernel_tx_timestamps_ = sockets->kernel_tx_timestamps;
        // The new event socket numbers its sends from 0; stamps owed by the old one never come.
        event_sends_ = 0;
        for (PendingTx& p : pending_tx_) p.active = false;
        loop_->add_fd(event_socket_.fd(), [this](uint32_t events) { on_event_socket(events); });
        loop_->add_fd(general_socket_.fd(), [this](uint32_t events) { on_general_socket(events); });
        service();
    });
    rebinds_.fetch_add(1, std::memory_order_relaxed);
    return true;  // the old sockets close as `sockets` goes
}

void PtpService::begin() {
    loop_->add_fd(event_socket_.fd(), [this](uint32_t events) { on_event_socket(events); });
    loop_->add_fd(general_socket_.fd(), [this](uint32_t events) { on_general_socket(events); });
    port_timer_ = loop_->add_timer([this] { service(); });
    refresh_timer_ = loop_->add_timer([this] {
        clock_.refresh(monotonic_now_ns());
        service();
    });
    loop_->arm_in(refresh_timer_, kRefreshNs, kRefreshNs);
    carry_out(node_->start(monotonic_now_ns()));
    service();
}

void PtpService::end() {
    loop_->remove_fd(event_socket_.fd());
    loop_->remove_fd(general_socket_.fd());
    loop_->remove_timer(port_timer_);
    loop_->remove_timer(refresh_timer_);
    port_timer_ = refresh_timer_ = 0;
}

std::optional<int64_t> PtpService::nearest_deadline() const {
    std::optional<int64_t> nearest;
    for (const auto& d : deadlines_)
        if (d && (!nearest || *d < *nearest)) nearest = d;
    for (const PendingTx& p : pending_tx_) {
        if (!p.active) continue;
        const int64_t d = p.sent_mono_ns + kTxTimestampWaitNs;
        if (!nearest || d < *nearest) nearest = d;
    }
    return nearest;
}

void PtpService::service() {
    const int64_t now = monotonic_now_ns();
    fire_timers(now);
    expire_tx_timestamps(now);
    publish_status();
    // A deadline already past (a timer armed by what just ran) fires at once.
    if (const auto deadline = nearest_deadline()) loop_->arm_at(port_timer_, *deadline);
    else loop_->disarm(port_timer_);
}

void PtpService::on_event_socket(uint32_t events) {
    if (events & EPOLLERR) drain_error_queue();
    if (events & EPOLLIN) receive(event_socket_, Channel::event);
    service();
}

void PtpService::on_general_socket(uint32_t events) {
    if (events & EPOLLIN) receive(general_socket_, Channel::general);
    if (events & EPOLLERR) {
        // Nothing asked for stamps there: only ICMP errors; read and drop them.
        std::array<uint8_t, 64> scrap{};
        io::drain_datagrams(general_socket_.fd(), io::DrainBuffers{scrap, {}, MSG_ERRQUEUE},
                            [](const io::ReceivedDatagram&) {});
    }
    service();
}

void PtpService::fire_timers(int64_t now) {
    for (size_t i = 0; i < deadlines_.size(); ++i) {
        if (!deadlines_[i] || *deadlines_[i] > now) continue;
        deadlines_[i].reset();
        carry_out(node_->on_timer(static_cast<PortTimer>(i), now));
    }
}

void PtpService::carry_out(const ActionList& actions) {
    for (const Action& action : actions) {
        if (const auto* send_message = std::get_if<SendMessage>(&action)) {
            send(*send_message);
        } else if (const auto* arm = std::get_if<ArmTimer>(&action)) {
            deadlines_[static_cast<size_t>(arm->timer)] = arm->deadline_mono_ns;
        } else if (const auto* sample = std::get_if<ClockSample>(&action)) {
            working_.offset_ns = sample->offset_ns;
            working_.path_delay_ns = sample->mean_path_delay_ns;
        } else if (const auto* changed = std::get_if<StateChanged>(&action)) {
            working_.port_state = changed->to;
        }
    }
}

void PtpService::send(const SendMessage& message) {
    const bool event = message.channel == Channel::event;
    const UdpSocket& socket = event ? event_socket_ : general_socket_;
    const ssize_t sent = socket.send_to(message.data(), Ipv4Endpoint{kPtpGroup, event ? kEventPort : kGeneralPort});
    const int64_t after = monotonic_now_ns();
    if (sent < 0) {
        ++working_.send_errors;
        if (is_link_failure(errno)) fault(after);
        return;
    }
    ++working_.sent;
    if (!event) return;
    // The kernel numbers every datagram sent on the event socket (OPT_ID); mirror it.
    const uint32_t key = event_sends_++;
    if (!message.timestamp_tag) return;
    if (!kernel_tx_timestamps_) {
        ++working_.tx_timestamp_fallbacks;
        carry_out(node_->on_tx_timestamp(*message.timestamp_tag, after));
        return;
    }
    // Oldest slot if all are taken (it will have expired long ago in practice).
    PendingTx* slot = &pending_tx_[0];
    for (PendingTx& p : pending_tx_) {
        if (!p.active) {
            slot = &p;
            break;
        }
        if (p.sent_mono_ns < slot->sent_mono_ns) slot = &p;
    }
    *slot = PendingTx{key, *message.timestamp_tag, after, true};
}

void PtpService::drain_error_queue() {
    std::array<uint8_t, 64> scrap{};
    alignas(cmsghdr) std::array<uint8_t, 256> control{};
    io::drain_datagrams(event_socket_.fd(), io::DrainBuffers{scrap, control, MSG_ERRQUEUE},
                        [this](const io::ReceivedDatagram& d) { take_tx_timestamp(*d.message); });
}

void PtpService::take_tx_timestamp(msghdr& msg) {
    const ClockBracket bracket = sample_bracket();

    std::optional<uint32_t> key;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) &&
            c->cmsg_len >= CMSG_LEN(sizeof(sock_extended_err))) {
            sock_extended_err err{};
            std::memcpy(&err, CMSG_DATA(c), sizeof err);
            if (err.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && err.ee_info == SCM_TSTAMP_SND) key = err.ee_data;
        }
    }
    const auto stamp = software_timestamp_ns(msg);
    if (!key || !stamp) return;  // an ICMP error, or a stamp of another kind

    PendingTx* match = nullptr;
    size_t active = 0;
    PendingTx* only = nullptr;
    for (PendingTx& p : pending_tx_) {
        if (!p.active) continue;
        ++active;
        only = &p;
        if (p.key == *key) match = &p;
    }
    // A send the kernel numbered but we did not see succeed would shift the keys:
    // with one stamp awaited, take it and resynchronise.
    if (match == nullptr && active == 1) {
        match = only;
        event_sends_ += *key - match->key;
    }
    if (match == nullptr) return;
    match->active = false;
    ++working_.tx_timestamps;
    carry_out(node_->on_tx_timestamp(match->tag, monotonic_from_realtime(*stamp, bracket)));
}

void PtpService::expire_tx_timestamps(int64_t now) {
    for (PendingTx& p : pending_tx_) {
        if (!p.active || now - p.sent_mono_ns < kTxTimestampWaitNs) continue;
        p.active = false;
        ++working_.tx_timestamp_fallbacks;
        carry_out(node_->on_tx_timestamp(p.tag, p.sent_mono_ns));
    }
}

void PtpService::receive(const UdpSocket& socket, Channel channel) {
    std::array<uint8_t, kReceiveBuffer> buffer{};
    alignas(cmsghdr) std::array<uint8_t, 256> control{};
    io::drain_datagrams(socket.fd(), io::DrainBuffers{buffer, control, 0},
                        [&](const io::ReceivedDatagram& d) { on_datagram(d, channel); });
}

void PtpService::on_datagram(const io::ReceivedDatagram& d, Channel channel) {
    if (d.truncated) {
        ++working_.oversized;
        return;
    }
    // Convert right now: the REALTIME - MONOTONIC offset is the one that held when the
    // kernel stamped the datagram, unless the system clock was stepped in between.
    const ClockBracket bracket = sample_bracket();
    int64_t rx_mono = 0;
    if (const auto stamp = software_timestamp_ns(*d.message)) {
        rx_mono = monotonic_from_realtime(*stamp, bracket);
    } else {
        ++working_.rx_timestamp_fallbacks;
        rx_mono = bracket.mono_before_ns;
    }
    // A stamp from the future (a clock step raced us) would confuse the servo.
    rx_mono = std::min(rx_mono, bracket.mono_after_ns);
    carry_out(node_->on_message(d.bytes, channel, rx_mono));
}

void PtpService::fault(int64_t now) {
    ++working_.faults;
    carry_out(node_->on_fault(now));
}

void PtpService::publish_status() {
    const PtpPort& port = node_->port();
    const PortCounters& c = port.counters();
    working_.port_state = port.state();
    working_.received = c.received;
    working_.rejected = c.rejected;
    working_.wrong_domain = c.wrong_domain;
    working_.offsets = c.offsets;
    const auto parent = port.parent();
    working_.has_parent = parent.has_value();
    working_.parent = parent.value_or(PortIdentity{});
    if (const auto delay = port.mean_path_delay_ns()) working_.path_delay_ns = *delay;
    status_.store(working_);
}

std::vector<std::pair<std::string, std::string>> ptp_properties(PtpVersion version, uint8_t domain,
                                                                const ClockIdentity& identity,
                                                                const PtpStatus& s,
                                                                const std::string& grandmaster) {
    auto n = [](uint64_t v) { return std::to_string(v); };
    return {
        {"dante.ptp.version", version == PtpVersion::v2 ? "2" : "1"},
        {"dante.ptp.domain", std::to_string(domain)},
        {"dante.ptp.clock-id", to_string(identity)},
        {"dante.ptp.port-state", std::string(to_string(s.port_state))},
        {"dante.ptp.offset-ns", std::to_string(s.offset_ns)},
        {"dante.ptp.path-delay-ns", std::to_string(s.path_delay_ns)},
        {"dante.ptp.parent-id", s.has_parent ? to_string(s.parent.clock) : std::string{}},
        {"dante.ptp.grandmaster-id", grandmaster},
        {"dante.ptp.received", n(s.received)},
        {"dante.ptp.rejected", n(s.rejected)},
        {"dante.ptp.wrong-domain", n(s.wrong_domain)},
        {"dante.ptp.offsets", n(s.offsets)},
        {"dante.ptp.sent", n(s.sent)},
        {"dante.ptp.send-errors", n(s.send_errors)},
        {"dante.ptp.oversized", n(s.oversized)},
        {"dante.ptp.tx-timestamps", n(s.tx_timestamps)},
        {"dante.ptp.rx-timestamp-fallbacks", n(s.rx_timestamp_fallbacks)},
        {"dante.ptp.tx-timestamp-fallbacks", n(s.tx_timestamp_fallbacks)},
        {"dante.ptp.faults", n(s.faults)},
    };
}

std::vector<std::pair<std::string, std::string>> PtpService::properties() const {
    return ptp_properties(options_.version, options_.domain, identity_, status(), clock_.master_id());
}

}  // namespace dante::ptp
