#include "control/mdns_responder.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "io/datagram_drain.hpp"
#include "net/udp_socket.hpp"
#include "util/clock_now.hpp"

namespace dante::control {

namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string system_host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return {};
    return name;
}

}  // namespace

MdnsResponder::MdnsResponder(InterfaceInfo iface, io::EventLoop& loop, Logger log)
    : iface_(std::move(iface)), loop_(loop), log_(std::move(log)), ifindex_(static_cast<int>(if_nametoindex(iface_.name.c_str()))) {}

MdnsResponder::~MdnsResponder() { stop(); }

bool MdnsResponder::open_socket(std::string& error) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = errno_text("socket");
        return false;
    }
    const int one = 1, zero = 0, ttl = 255;
    // Both, so we share 5353 with avahi-daemon (it sets both) and any other responder.
    if (setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        error = errno_text("SO_REUSEADDR/SO_REUSEPORT");
        return false;
    }
    // Needs CAP_NET_RAW; without it IP_MULTICAST_ALL off and IP_PKTINFO keep us on the interface.
    (void)setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, iface_.name.c_str(), static_cast<socklen_t>(iface_.name.size()));
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero) != 0 ||
        setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0 ||
        setsockopt(fd_, IPPROTO_IP, IP_RECVTTL, &one, sizeof one) != 0) {
        error = errno_text("IP_MULTICAST_ALL/IP_PKTINFO/IP_RECVTTL");
        return false;
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(kMdnsPort);
    local.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        error = errno_text("bind 0.0.0.0:5353");
        return false;
    }
    // TTL 255 on every answer, multicast or unicast (RFC 6762 section 11); multicasts
    // looped back, so a second responder on this host hears us.
    if (!join_multicast_group(fd_, kMdnsGroup, iface_, error) || !set_multicast_output(fd_, iface_, ttl, true, error))
        return false;
    if (setsockopt(fd_, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) != 0) {
        error = errno_text("IP_TTL");
        return false;
    }
    return true;
}

bool MdnsResponder::start(std::vector<ServiceRecord> records, std::string device_name) {
    if (running_) return true;
    std::string error;
    if (ifindex_ == 0) {
        error = "no interface " + iface_.name;
    } else if (!open_socket(error)) {
        error = "mDNS on " + iface_.name + ": " + error;
    }
    if (!error.empty()) {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        log_.warn("mdns", error + "; not advertising");
        std::lock_guard lock(mutex_);
        error_ = error;
        stats_.state = "unavailable";
        return true;  // the sink works without mDNS; receivers can still use its address
    }
    {
        std::lock_guard lock(mutex_);
        stats_.state = "probing";
    }
    loop_.invoke_sync([&] {
        MdnsResponderParams params;
        params.ipv4 = iface_.subnet.address;
        params.system_host_name = system_host_name();
        params.random_seed = static_cast<uint64_t>(monotonic_now_ns()) ^ (uint64_t{iface_.subnet.address} << 20);
        core_ = std::make_unique<MdnsResponderCore>(params);
        loop_.add_fd(fd_, [this](uint32_t) { on_socket(); });
        timer_ = loop_.add_timer([this] { service(); });
        const int64_t now = monotonic_now_ns();
        dispatch(core_->set_records(records, device_name, now), now);
        service();
    });
    running_ = true;
    return true;
}

void MdnsResponder::republish(std::vector<ServiceRecord> records, std::string device_name) {
    if (!running_) return;
    // Queued: a stop() that follows is queued behind it, so this never meets a stopped core.
    loop_.invoke([this, records = std::move(records), device_name = std::move(device_name)] {
        if (!core_) return;
        const int64_t now = monotonic_now_ns();
        dispatch(core_->set_records(records, device_name, now), now);
        service();
    });
}

void MdnsResponder::stop() {
    if (running_) {
        loop_.invoke_sync([this] { finish(); });  // sends the goodbyes before it returns
        running_ = false;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    std::lock_guard lock(mutex_);
    if (error_.empty()) stats_.state = "stopped";
}

void MdnsResponder::finish() {
    for (const MdnsOutgoing& p : delayed_) send(p);
    delayed_.clear();
    for (const MdnsOutgoing& p : core_->stop()) send(p);
    {
        std::lock_guard lock(mutex_);
        stats_ = core_->stats();
    }
    loop_.remove_fd(fd_);
    loop_.remove_timer(timer_);
    timer_ = 0;
    core_.reset();
}

void MdnsResponder::dispatch(std::vector<MdnsOutgoing> packets, int64_t now) {
    for (MdnsOutgoing& p : packets) {
        if (p.not_before_ns > now) delayed_.push_back(std::move(p));
        else send(p);
    }
}

void MdnsResponder::service() {
    int64_t now = monotonic_now_ns();
    dispatch(core_->poll(now), now);
    now = monotonic_now_ns();
    std::erase_if(delayed_, [&](const MdnsOutgoing& p) {
        if (p.not_before_ns > now) return false;
        send(p);
        return true;
    });
    {
        std::lock_guard lock(mutex_);
        stats_ = core_->stats();
    }
    int64_t deadline = core_->next_deadline_ns();
    for (const MdnsOutgoing& p : delayed_) deadline = std::min(deadline, p.not_before_ns);
    if (deadline == INT64_MAX) loop_.disarm(timer_);
    else loop_.arm_at(timer_, deadline);
}

void MdnsResponder::on_socket() {
    std::array<uint8_t, kMaxDnsMessageSize + 1> buffer{};
    alignas(cmsghdr) std::array<uint8_t, 256> control{};
    io::drain_datagrams(fd_, io::DrainBuffers{buffer, control, 0}, [&](const io::ReceivedDatagram& d) {
        int arrived_on = 0;
        int ttl = -1;
        msghdr& msg = *d.message;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != IPPROTO_IP) continue;
            if (c->cmsg_type == IP_PKTINFO) {
                in_pktinfo info{};
                std::memcpy(&info, CMSG_DATA(c), sizeof info);
                arrived_on = info.ipi_ifindex;
            } else if (c->cmsg_type == IP_TTL) {
                std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
            }
        }
        if (arrived_on != ifindex_) return;  // another interface: not ours to answer
        const Ipv4Endpoint source{d.source_address, d.source_port};
        // RFC 6762 §11: only from the link: a source on our subnet, or IP TTL 255 (a
        // link-local peer outside the subnet; a routed packet has a lower TTL).
        if (!iface_.subnet.contains(source.address) && ttl != 255) return;
        const int64_t now = monotonic_now_ns();
        if (d.truncated || d.size > kMaxDnsMessageSize) {
            dispatch(core_->on_packet({}, {}, now), now);  // counted as malformed
            return;
        }
        dispatch(core_->on_packet(d.bytes, source, now), now);
    });
    service();
}

void MdnsResponder::send(const MdnsOutgoing& packet) {
    // Unicast answers only to hosts on our link (RFC 6762 §11: a querier is on the link).
    if (packet.to.address != kMdnsGroup && !iface_.subnet.contains(packet.to.address)) return;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(packet.to.port);
    to.sin_addr.s_addr = htonl(packet.to.address);
    if (sendto(fd_, packet.bytes.data(), packet.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) <
        0) {
        std::lock_guard lock(mutex_);
        ++send_errors_;
    }
}

MdnsResponderStats MdnsResponder::stats() const {
    std::lock_guard lock(mutex_);
    MdnsResponderStats s = stats_;
    if (!error_.empty()) {
        s.state = "unavailable";
        s.last_error = error_;
    }
    return s;
}

ConfigItems MdnsResponder::properties() const {
    const MdnsResponderStats s = stats();
    uint64_t send_errors = 0;
    {
        std::lock_guard lock(mutex_);
        send_errors = send_errors_;
    }
    ConfigItems items{
        {"dante.mdns.backend", "builtin"},
        {"dante.mdns.state", s.state},
        {"dante.mdns.services", std::to_string(s.services)},
        {"dante.mdns.collisions", std::to_string(s.collisions)},
        {"dante.mdns.queries", std::to_string(s.queries)},
        {"dante.mdns.answers", std::to_string(s.answers)},
        {"dante.mdns.rate-limited", std::to_string(s.rate_limited)},
        {"dante.mdns.malformed", std::to_string(s.malformed)},
        {"dante.mdns.send-errors", std::to_string(send_errors)},
    };
    if (!s.last_error.empty()) items.emplace_back("dante.mdns.last-error", s.last_error);
    return items;
}

}  // namespace dante::control
