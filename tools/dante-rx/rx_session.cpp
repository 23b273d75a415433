#include "rx_session.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include "clock/media_time.hpp"
#include "flows/audio_packet_reader.hpp"
#include "flows/packet_writer.hpp"
#include "net/timestamps.hpp"
#include "net/udp_socket.hpp"
#include "rx/flow_requester.hpp"
#include "util/clock_now.hpp"

namespace dante::rx {
namespace {

int64_t monotonic_ms() { return monotonic_now_ns() / 1'000'000; }

// A packet's arrival in media time (ns). The kernel stamp is CLOCK_REALTIME: for TAI it is
// shifted by the whole-second TAI offset; for a media clock it is moved to CLOCK_MONOTONIC
// by the REALTIME - MONOTONIC offset read now (the two run at one rate between steps).
int64_t arrival_in_media_time(const dante::rx::RxOptions& o, std::optional<int64_t> kernel_realtime_ns,
                              int64_t tai_minus_realtime, const std::function<int64_t()>& fallback) {
    if (o.media_clock) {
        int64_t mono = clock_now_ns(CLOCK_MONOTONIC);
        if (kernel_realtime_ns) mono = *kernel_realtime_ns - (clock_now_ns(CLOCK_REALTIME) - mono);
        return o.media_clock->snapshot().media_ns_at(mono);
    }
    return kernel_realtime_ns ? *kernel_realtime_ns + tai_minus_realtime : fallback();
}

bool interrupted(const RxOptions& o) { return o.interrupted != nullptr && o.interrupted->load(); }

std::string status_text(uint16_t code) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%04X", code);
    std::string text = hex;
    switch (code) {
        case flowctl::status::flow_not_found: return text + " (flow not found or expired)";
        case flowctl::status::rate_mismatch: return text + " (sample rate mismatch)";
        case flowctl::status::unsupported_parameters: return text + " (unsupported flow parameters)";
        case flowctl::status::too_many_flows: return text + " (too many TX flows)";
        default: return text;
    }
}

// Wait for either socket (fd -1: skipped); returns which to read. A queued error (ICMP
// port unreachable on the connected control socket) counts: reading it clears it, where
// waiting for POLLIN alone would spin until the deadline.
std::pair<bool, bool> wait_either(int first_fd, int second_fd, int timeout_ms) {
    std::array<pollfd, 2> fds{pollfd{first_fd, POLLIN, 0}, pollfd{second_fd, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return {false, false};
    return {(fds[0].revents & (POLLIN | POLLERR)) != 0, (fds[1].revents & (POLLIN | POLLERR)) != 0};
}

// Send what the requester asks for: requests from the control socket (connected to the
// target, which answers there), keepalives from the audio socket (the transmitter's flow
// socket hears only the address it sends to). Returns the keepalives that left.
uint64_t send_outbox(FlowRequester& requester, const UdpSocket& control, const UdpSocket& audio) {
    uint64_t keepalives = 0;
    for (const RequesterDatagram& d : requester.outbox()) {
        if (d.socket == RequesterSocket::control) {
            control.send(d.span());
        } else if (audio.send_to(d.span(), d.to) == static_cast<ssize_t>(d.size) &&
                   d.kind == RequesterDatagramKind::keepalive) {
            ++keepalives;
        }
    }
    requester.clear_outbox();
    return keepalives;
}

// Every datagram waiting on the control socket, to the requester (which judges them).
void read_control(FlowRequester& requester, const UdpSocket& control) {
    std::array<uint8_t, flowctl::kMaxPacketBytes> buffer{};
    for (;;) {
        Ipv4Endpoint from;
        const ssize_t n = control.recv_from(buffer, &from);
        if (n < 0) return;  // drained (or an ICMP error, which says nothing of an answer)
        // MSG_TRUNC: n is the real size; a datagram beyond the buffer is nobody's answer.
        if (static_cast<size_t>(n) > buffer.size()) continue;
        requester.on_control_datagram(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)), from,
                                      monotonic_ms());
    }
}

// Drive the requester on the control socket while `busy()` (an exchange with nothing
// else to do meanwhile: the request, an update still unanswered when the recording ends,
// the stop). `interrupted`: give up early. Returns the keepalives sent meanwhile.
template <typename Busy>
uint64_t drive_exchange(FlowRequester& requester, Busy busy, const UdpSocket& control, const UdpSocket& audio,
                        const std::atomic<bool>* interrupted) {
    uint64_t keepalives = 0;
    while (busy() && !(interrupted != nullptr && interrupted->load())) {
        const int64_t now = monotonic_ms();
        requester.tick(now);
        keepalives += send_outbox(requester, control, audio);
        if (!busy()) break;
        const int64_t wait = requester.next_deadline_ms().value_or(now + 50) - now;
        if (wait_either(control.fd(), -1, static_cast<int>(std::clamp<int64_t>(wait, 0, 50))).first)
            read_control(requester, control);
    }
    return keepalives;
}

// One datagram with the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME), when the
// kernel gave one: taken as the packet came off the link, so the receiver's own scheduling
// (a busy host) does not count as the transmitter's lateness. MSG_TRUNC: the real size.
ssize_t recv_stamped(const UdpSocket& socket, std::span<uint8_t> buffer, Ipv4Endpoint& from,
                     std::optional<int64_t>& kernel_realtime_ns) {
    sockaddr_in addr{};
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) std::array<uint8_t, CMSG_SPACE(sizeof(timespec))> control{};
    msghdr msg{};
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof addr;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(socket.fd(), &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return n;
    from = Ipv4Endpoint{ntohl(addr.sin_addr.s_addr), ntohs(addr.sin_port)};
    kernel_realtime_ns = software_timestamp_ns(msg);
    return n;
}


}  // namespace

uint32_t default_fpp(size_t slots, uint32_t bits) {
    const size_t per_frame = std::max<size_t>(slots, 1) * std::max<uint32_t>(bits / 8, 1);
    return static_cast<uint32_t>(std::clamp<size_t>(1400 / per_frame, 2, 32));
}

namespace {

// Where each recorded channel comes from in a packet: its 0-based slot, or -1 (silence).
std::vector<int> slot_map(const RxOptions& o) {
    std::vector<int> map(o.channels.size());
    for (size_t s = 0; s < map.size(); ++s)
        map[s] = o.multicast ? static_cast<int>(s < o.multicast->slot_of_channel.size() ? o.multicast->slot_of_channel[s]
                                                                                        : 0) - 1
                             : static_cast<int>(s);
    return map;
}

}  // namespace

RxResult run_receiver(const RxOptions& o) {
    RxResult r;
    r.rate = o.rate;
    r.bits = o.bits;
    r.channels = o.channels;
    r.multicast = o.multicast.has_value();
    r.fpp = o.multicast ? o.multicast->fpp : (o.fpp != 0 ? o.fpp : default_fpp(o.channels.size(), o.bits));
    const uint32_t bytes = o.bits / 8;
    const size_t slots = o.channels.size();
    r.wire_slots = o.multicast ? o.multicast->slots : static_cast<uint32_t>(slots);
    const std::vector<int> slot_of = slot_map(o);
    if (slots == 0 || slots > flowctl::kMaxSlots || (o.bits != 16 && o.bits != 24 && o.bits != 32) || o.rate == 0 ||
        !(o.seconds > 0) || r.fpp == 0 || r.wire_slots == 0 ||
        std::any_of(slot_of.begin(), slot_of.end(), [&](int s) { return s >= static_cast<int>(r.wire_slots); }) ||
        (o.multicast && o.interface.empty())) {
        r.error = "invalid receiver options";
        return r;
    }
    if (o.multicast) r.bundle = o.multicast->bundle;

    // Our own IPv4: the named interface's, or the local address the kernel picks for
    // talking to the target.
    std::string error;
    std::optional<InterfaceInfo> iface;
    if (!o.interface.empty() && !(iface = lookup_interface(o.interface, error))) {
        r.error = error;
        return r;
    }
    // Unicast: a control socket for the requests, and our own audio socket. Multicast: only
    // the group's socket; nothing is ever sent.
    std::optional<UdpSocket> control, audio;
    if (o.multicast) {
        audio = open_multicast_receiver(*iface, o.multicast->group, error);
        if (!audio) {
            r.error = error;
            return r;
        }
        r.local = o.multicast->group;
    } else {
        control = iface ? open_udp_on_interface(*iface, BindOptions{}, error) : open_udp(Ipv4Endpoint{}, error);
        if (!control || !connect_udp(*control, o.target, error)) {
            r.error = error;
            return r;
        }
        const auto own = control->local_endpoint();
        audio = !own    ? std::nullopt
                : iface ? open_udp_on_interface(*iface, BindOptions{}, error)
                        : open_udp(Ipv4Endpoint{own->address, 0}, error);
        if (!audio) {
            r.error = own ? error : "cannot read the local address";
            return r;
        }
        r.local = *audio->local_endpoint();
    }
    // A roomy receive buffer: many receivers on few cores must not lose packets to a
    // descheduled moment (4 MiB ~ 2 s of an 8-slot flow). FORCE needs root; else best effort.
    const int rcvbuf = 4 << 20;
    if (setsockopt(audio->fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        setsockopt(audio->fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    // Arrival = the kernel's receive time, unless a caller brings its own arrival clock.
    const bool kernel_stamps = !o.arrival_clock && enable_receive_timestamps(audio->fd());
    // CLOCK_TAI - CLOCK_REALTIME: whole seconds (the kernel's TAI offset, often 0 or 37).
    const int64_t tai_minus_realtime =
        std::llround(static_cast<double>(clock_now_ns(CLOCK_TAI) - clock_now_ns(CLOCK_REALTIME)) / 1e9) * 1'000'000'000;

    // Unicast: the flow-control exchanges are FlowRequester's (src/rx/); this only carries
    // its datagrams. Same timing as before it existed: attempts x reply timeout for the
    // request and the update, 2 x 300 ms for the stop.
    std::optional<FlowRequester> requester;
    if (!o.multicast) {
        FlowRequesterConfig config;
        config.target = o.target;
        config.request.rx_device_name = o.device_name;
        config.request.rx_flow_name = std::to_string(getpid()) + "_1";  // Inferno names flows <process id>_<flow number>
        config.request.rate = o.rate;
        config.request.bits_per_sample = o.bits;
        config.request.fpp = static_cast<uint16_t>(r.fpp);
        config.request.slots.assign(o.channels);
        config.request.destination = r.local;
        config.reply_timeout_ms = o.reply_timeout_ms;
        config.attempts = o.attempts;
        requester.emplace(config);
        if (!requester->start(monotonic_ms())) {
            r.error = "cannot encode the flow request (device name too long?)";
            return r;
        }
        send_outbox(*requester, *control, *audio);
        drive_exchange(
            *requester, [&] { return requester->state() == FlowRequesterState::requesting; }, *control, *audio,
            o.interrupted);
        if (requester->state() == FlowRequesterState::refused) {
            r.refused_status = requester->refused_status();
            r.error = "the transmitter refused the flow: status " + status_text(r.refused_status);
            return r;
        }
        if (requester->state() != FlowRequesterState::granted) {
            r.error = "no answer to the flow request from " + to_string(o.target);
            return r;
        }
        r.handle = requester->handle();
        if (o.on_granted) o.on_granted(r.handle);
    }

    // Receive. The window is seconds x rate frames from the first packet's timestamp.
    r.frames = static_cast<uint64_t>(std::llround(o.seconds * o.rate));
    r.samples.assign(r.frames * slots, 0);
    std::vector<uint8_t> seen(r.frames, 0);  // by frame offset of a packet's first frame
    uint64_t unique = 0;
    bool have_first = false;
    uint64_t max_ts = 0;
    const auto arrival = o.arrival_clock ? o.arrival_clock : [] { return clock_now_ns(CLOCK_TAI); };
    r.lateness_ns.reserve(static_cast<size_t>(r.frames / r.fpp + 16));
    std::array<uint8_t, 65536> packet{};
    const int64_t started = monotonic_ms();
    int64_t end_ms = started + o.first_packet_timeout_ms;
    bool complete = false;
    int64_t update_at_ms = -1;

    while (!complete && !interrupted(o)) {
        const int64_t now = monotonic_ms();
        if (now >= end_ms) break;
        int64_t wait = end_ms - now;
        if (requester) {
            if (update_at_ms >= 0 && now >= update_at_ms && !r.update_sent) {
                requester->request_update(o.update_channels, now);
                r.update_sent = true;
                r.update_sent_after_timestamp = max_ts;
            }
            requester->tick(now);  // keepalives, the update's retries
            r.keepalives_sent += send_outbox(*requester, *control, *audio);
            if (const auto deadline = requester->next_deadline_ms()) wait = std::min(wait, *deadline - now);
            if (update_at_ms >= 0 && !r.update_sent) wait = std::min(wait, update_at_ms - now);
        }
        const auto [control_ready, audio_ready] =
            wait_either(control ? control->fd() : -1, audio->fd(), static_cast<int>(std::clamp<int64_t>(wait, 0, 50)));
        if (control_ready) read_control(*requester, *control);
        if (!audio_ready) continue;
        for (;;) {
            Ipv4Endpoint from;
            std::optional<int64_t> kernel_ns;
            const ssize_t got = recv_stamped(*audio, packet, from, kernel_ns);
            if (got < 0) break;
            const int64_t arrived = arrival_in_media_time(o, kernel_stamps ? kernel_ns : std::nullopt,
                                                          tai_minus_realtime, arrival);
            if (kernel_stamps && kernel_ns) ++r.kernel_stamped;
            const auto size = static_cast<size_t>(got);
            if (from.address != o.target.address) continue;  // not our transmitter
            ++r.packets;
            const AudioPacketRead read =
                read_audio_packet(std::span<const uint8_t>(packet.data(), std::min(size, packet.size())),
                                  r.wire_slots, bytes, o.rate);
            if (!read.ok() || size > packet.size()) {
                ++r.malformed;
                continue;
            }
            // The flow is live: the first packet names where keepalives go (the next
            // turn of the loop sends them).
            if (requester) requester->on_audio_from(from, monotonic_ms());
            const uint64_t ts = read.packet.timestamp;
            const size_t frames = read.packet.frames;
            r.lateness_ns.push_back(arrived - media_ns_of_sample(ts, o.rate));
            if (!have_first) {
                have_first = true;
                r.first_timestamp = ts;
                r.source = from;
                max_ts = ts;
                end_ms = monotonic_ms() + static_cast<int64_t>(o.seconds * 1000) + 1000;
                if (o.update_after >= 0 && !o.update_channels.empty())
                    update_at_ms = monotonic_ms() + static_cast<int64_t>(o.update_after * 1000);
            }
            if (ts < r.first_timestamp) {  // older than the window: only counted
                ++r.reordered;
                continue;
            }
            const uint64_t offset = ts - r.first_timestamp;
            if (ts < max_ts) ++r.reordered;
            max_ts = std::max(max_ts, ts);
            if (offset >= r.frames) {
                complete = true;  // the window is behind us
                continue;
            }
            if (seen[offset]) {
                ++r.duplicated;
                continue;
            }
            seen[offset] = 1;
            ++unique;
            for (size_t f = 0; f < frames && offset + f < r.frames; ++f)
                for (size_t s = 0; s < slots; ++s)
                    if (slot_of[s] >= 0)
                        r.samples[(offset + f) * slots + s] =
                            audio_sample(read.packet, static_cast<uint32_t>(f), static_cast<uint32_t>(slot_of[s]),
                                         r.wire_slots, bytes);
            if (offset + frames >= r.frames) complete = true;
        }
    }
    const uint64_t expected = (r.frames + r.fpp - 1) / r.fpp;
    r.lost = have_first && unique < expected ? expected - unique : (have_first ? 0 : expected);

    // Stop the flow, also after an interrupt (a fresh flag check would skip it). A multicast
    // bundle is nobody's to stop: leaving the group (closing the socket) is all.
    if (requester) {
        // An update still unanswered gets its answer first, as when dante-rx waited for it.
        r.keepalives_sent += drive_exchange(
            *requester, [&] { return requester->update_in_flight(); }, *control, *audio, o.interrupted);
        if (r.update_sent) r.update_status = requester->update_status();
        requester->stop(monotonic_ms());
        send_outbox(*requester, *control, *audio);
        drive_exchange(
            *requester, [&] { return requester->state() == FlowRequesterState::stopping; }, *control, *audio,
            nullptr);
        r.stop_acknowledged = requester->stop_acknowledged();
    }

    if (!have_first) {
        r.error = "no audio packet arrived within " + std::to_string(o.first_packet_timeout_ms) + " ms";
        return r;
    }
    r.ok = true;
    return r;
}

bool write_wav(const std::string& path, const RxResult& r, std::string& error) {
    const uint32_t bytes = r.bits / 8;
    const auto channels = static_cast<uint32_t>(r.channels.size());
    const uint64_t data_bytes = r.frames * channels * bytes;
    if (data_bytes > 0xFFFFFFFFull - 36) {
        error = "recording too long for a WAV file";
        return false;
    }
    std::vector<uint8_t> file;
    file.reserve(44 + data_bytes);
    auto u32 = [&](uint32_t v) {
        for (int i = 0; i < 4; ++i) file.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    auto u16 = [&](uint16_t v) {
        file.push_back(static_cast<uint8_t>(v));
        file.push_back(static_cast<uint8_t>(v >> 8));
    };
    auto tag = [&](const char* t) { file.insert(file.end(), t, t + 4); };
    tag("RIFF");
    u32(static_cast<uint32_t>(36 + data_bytes));
    tag("WAVE");
    tag("fmt ");
    u32(16);
    u16(1);  // PCM
    u16(static_cast<uint16_t>(channels));
    u32(r.rate);
    u32(r.rate * channels * bytes);
    u16(static_cast<uint16_t>(channels * bytes));
    u16(static_cast<uint16_t>(r.bits));
    tag("data");
    u32(static_cast<uint32_t>(data_bytes));
    for (int32_t sample : r.samples)
        for (uint32_t i = 0; i < bytes; ++i) file.push_back(static_cast<uint8_t>(static_cast<uint32_t>(sample) >> (8 * i)));
    std::ofstream stream(path, std::ios::binary);
    stream.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    if (!stream) {
        error = "cannot write " + path;
        return false;
    }
    return true;
}

Percentiles lateness_us(const RxResult& r) {
    Percentiles p;
    if (r.lateness_ns.empty()) return p;
    std::vector<int64_t> sorted = r.lateness_ns;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
        const auto index = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size()))) - 1;
        return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]) / 1000.0;
    };
    p.p50 = at(0.5);
    p.p99 = at(0.99);
    p.p999 = at(0.999);
    p.max = static_cast<double>(sorted.back()) / 1000.0;
    return p;
}

static nlohmann::json late_counts(const RxResult& r) {
    nlohmann::json counts = nlohmann::json::object();
    for (const int64_t threshold_us : {1000, 2000, 4000, 8000}) {
        const auto late = std::count_if(r.lateness_ns.begin(), r.lateness_ns.end(),
                                        [&](int64_t ns) { return ns > threshold_us * 1000; });
        counts[std::to_string(threshold_us)] = late;
    }
    return counts;
}

// Runs of consecutive packets later than each threshold: the dropouts a receiver with that
// latency would play. One stall of the sending host makes one run however long it lasts;
// a disturbance that recurs makes many.
static nlohmann::json late_runs(const RxResult& r) {
    nlohmann::json runs = nlohmann::json::object();
    for (const int64_t threshold_us : {1000, 2000, 4000, 8000}) {
        uint64_t count = 0;
        bool in_run = false;
        for (const int64_t ns : r.lateness_ns) {
            const bool late = ns > threshold_us * 1000;
            if (late && !in_run) ++count;
            in_run = late;
        }
        runs[std::to_string(threshold_us)] = count;
    }
    return runs;
}

nlohmann::json stats_json(const RxResult& r) {
    const Percentiles late = lateness_us(r);
    nlohmann::json j{
        {"packets", r.packets},
        {"lost", r.lost},
        {"duplicated", r.duplicated},
        {"reordered", r.reordered},
        {"malformed", r.malformed},
        {"first_timestamp", r.first_timestamp},
        {"frames", r.frames},
        {"lateness_us", {{"p50", late.p50}, {"p99", late.p99}, {"p999", late.p999}, {"max", late.max}}},
        // Packets that arrived more than 1, 2, 4 and 8 ms late: a receiver drops those
        // beyond its latency. Unlike the max, a count is not made by one hiccup.
        {"late_over_us", late_counts(r)},
        {"late_runs_over_us", late_runs(r)},
        {"rate", r.rate},
        {"channels", r.channels.size()},
        {"channel_ids", r.channels},
        {"fpp", r.fpp},
        {"format", r.bits == 16 ? "S16" : r.bits == 32 ? "S32" : "S24"},
        {"source", to_string(r.source)},
        {"local", to_string(r.local)},
        {"keepalives_sent", r.keepalives_sent},
        // Packets whose arrival is the kernel's receive time (the rest: when we read them).
        {"lateness_kernel_stamped", r.kernel_stamped},
        {"stop_acknowledged", r.stop_acknowledged},
        {"handle", {{"index", r.handle.index}, {"cookie", r.handle.cookie}}},
        // How the audio came: a unicast flow we asked for, or a multicast bundle we joined.
        {"transport", r.multicast ? "multicast" : "unicast"},
    };
    if (r.multicast) {
        j["group"] = to_string(r.local);
        j["bundle"] = r.bundle;
        j["wire_slots"] = r.wire_slots;
    }
    if (r.update_sent) {
        char status[8];
        std::snprintf(status, sizeof status, "0x%04X", r.update_status);
        j["update"] = {{"status", r.update_status == 0 ? "no answer" : status},
                       {"sent_after_timestamp", r.update_sent_after_timestamp}};
    }
    return j;
}

}  // namespace dante::rx
