#include "rx/rx_service.hpp"

#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>

#include "clock/media_time.hpp"
#include "io/datagram_drain.hpp"
#include "net/timestamps.hpp"
#include "net/udp_socket.hpp"
#include "rx/flow_requester.hpp"
#include "util/clock_now.hpp"

namespace dante {

const char* to_string(RxChannelState state) {
    switch (state) {
        case RxChannelState::none: return "none";
        case RxChannelState::unresolved: return "unresolved";
        case RxChannelState::resolving: return "resolving";
        case RxChannelState::requesting: return "requesting";
        case RxChannelState::receiving: return "receiving";
        case RxChannelState::no_flow: return "no-flow";
        case RxChannelState::wrong_format: return "wrong-format";
    }
    return "unknown";
}

namespace {

constexpr const char* kTopic = "rx";

int64_t now_ms() { return monotonic_now_ns() / 1'000'000; }

// A roomy receive buffer (as dante-rx): a busy loop must not lose packets (FORCE needs
// CAP_NET_ADMIN; else the default limit applies). Arrival = the kernel's receive time: a
// late loop wake-up is not the network's lateness.
void tune_audio_socket(int fd) {
    const int rcvbuf = 1 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    enable_receive_timestamps(fd);
}

std::string status_hex(uint16_t status) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%04X", status);
    return text;
}

}  // namespace

// A flow's sockets and requester. Heap-allocated so the loop's fd callbacks can point at
// it while the flow lives, and after: an ended flow's link stays until its 0x0101 is
// answered or given up.
struct RxService::Link {
    UdpSocket control;  // connected to the transmitter's flow control (unicast only)
    UdpSocket audio;    // our audio address, named in the request; or the bundle's group
    std::optional<FlowRequester> requester;  // unicast only
};

void RxService::send_outbox(Link& link) {
    if (!link.requester) return;
    for (const RequesterDatagram& d : link.requester->outbox()) {
        if (d.socket == RequesterSocket::control) link.control.send(d.span());
        else if (link.audio.is_open()) link.audio.send_to(d.span(), d.to);
    }
    link.requester->clear_outbox();
}

struct RxService::Flow {
    enum class Phase : uint8_t { resolving, requesting, backoff };

    uint64_t id = 0;
    std::string device;
    std::vector<Member> members;  // by rx channel
    Phase phase = Phase::resolving;
    RxChannelState failure = RxChannelState::unresolved;  // shown while in backoff
    RxChannelState reported = RxChannelState::none;       // what the log said last
    uint64_t attempt = 0;                                 // the resolution an answer must match
    int64_t resolve_deadline_ms = 0;
    int64_t backoff_ms = 0;
    int64_t retry_at_ms = 0;
    Ipv4Endpoint target;
    std::vector<int> slot_of_member;  // 0-based slot in the flow, -1: not found on the device
    std::unique_ptr<Link> link;
    std::shared_ptr<RxFlowCore> core;
    bool multicast = false;  // this attempt joined a bundle: no requester, no control socket
    bool granted = false;
    bool audio_seen = false;
    int64_t last_audio_ms = 0;  // or the grant, before the first audio
    RxFlowStats past;           // counters of the earlier attempts' cores
};

RxService::RxService(InterfaceInfo iface, const MediaClock& clock, TxResolver& resolver, io::EventLoop& loop,
                     RxServiceOptions options)
    : iface_(std::move(iface)),
      clock_(clock),
      resolver_(resolver),
      loop_(loop),
      options_(std::move(options)),
      liveness_(std::make_shared<Liveness>()) {
    owned_current_ = std::make_unique<const RxChannelTable>();
    current_.store(owned_current_.get());
}

RxService::~RxService() {
    stop();
    // No reader may read any more (the header's contract): every table goes.
    retired_.clear();
}

bool RxService::start(std::string& error) {
    if (running_) return true;
    if (options_.rate == 0 || options_.rx_channels == 0 || options_.rx_channels > kMaxRxChannels) {
        error = "rx: needs a rate and 1 to " + std::to_string(kMaxRxChannels) + " rx channels";
        return false;
    }
    {
        std::lock_guard lock(liveness_->mutex);
        liveness_->alive = true;
    }
    loop_.invoke_sync([this] {
        timer_ = loop_.add_timer([this] { on_timer(); });
        apply_subscriptions();
    });
    running_ = true;
    return true;
}

void RxService::stop() {
    if (!running_) return;
    {
        std::lock_guard lock(liveness_->mutex);
        liveness_->alive = false;
    }
    loop_.invoke_sync([this] {
        const int64_t now = now_ms();
        for (auto& flow : flows_) close_flow(*flow, now);
        flows_.clear();
        // Best effort: each stop leaves once; nobody waits for its answer.
        for (auto& link : stopping_) loop_.remove_fd(link->link->control.fd());
        stopping_.clear();
        loop_.remove_timer(timer_);
        timer_ = 0;
        publish_table();
        refresh_status();
    });
    running_ = false;
}

void RxService::set_subscriptions(std::vector<RxSubscriptionConfig> subscriptions) {
    auto apply = [this, subs = std::move(subscriptions)]() mutable {
        wanted_ = std::move(subs);
        if (running_) apply_subscriptions();
    };
    // Before start() nobody runs the loop's callbacks of ours: keep them for start().
    if (running_) loop_.invoke_sync(apply);
    else apply();
}

void RxService::apply_subscriptions() {
    // By device: its subscribed channels, by rx channel.
    std::map<std::string, std::vector<Member>> by_device;
    std::array<bool, kMaxRxChannels> taken{};
    uint64_t ignored = 0;
    for (const RxSubscriptionConfig& s : wanted_) {
        if (s.rx_channel < 1 || s.rx_channel > options_.rx_channels || taken[s.rx_channel - 1] || s.tx_device.empty() ||
            s.tx_channel.empty()) {
            ++ignored;
            continue;
        }
        taken[s.rx_channel - 1] = true;
        by_device[s.tx_device].push_back(Member{s.rx_channel, s.tx_channel});
    }
    // Each device's channels in flows of at most channels_per_flow, in rx channel order.
    std::vector<std::pair<std::string, std::vector<Member>>> wanted_flows;
    for (auto& [device, members] : by_device) {
        std::sort(members.begin(), members.end(),
                  [](const Member& a, const Member& b) { return a.rx_channel < b.rx_channel; });
        const auto learned = channels_per_flow_.find(device);
        const size_t per_flow = learned != channels_per_flow_.end() ? learned->second : kMaxChannelsPerRxFlow;
        for (size_t first = 0; first < members.size(); first += per_flow) {
            const size_t last = std::min(members.size(), first + per_flow);
            wanted_flows.emplace_back(device, std::vector<Member>(members.begin() + static_cast<ptrdiff_t>(first),
                                                                  members.begin() + static_cast<ptrdiff_t>(last)));
        }
    }

    const int64_t now = now_ms();
    // A flow whose members did not change stays; any other is stopped (and asked again
    // below when its device is still wanted, with its new channels).
    for (auto it = flows_.begin(); it != flows_.end();) {
        const auto wanted = std::find_if(wanted_flows.begin(), wanted_flows.end(), [&](const auto& w) {
            return w.first == (*it)->device && w.second == (*it)->members;
        });
        if (wanted != wanted_flows.end()) {
            wanted_flows.erase(wanted);
            ++it;
        } else {
            close_flow(**it, now);
            it = flows_.erase(it);
        }
    }
    for (auto& [device, members] : wanted_flows) {
        auto flow = std::make_unique<Flow>();
        flow->id = next_flow_id_++;
        flow->device = device;
        flow->members = std::move(members);
        flow->backoff_ms = options_.backoff_min_ms;
        flows_.push_back(std::move(flow));
        begin_resolve(*flows_.back(), now);
    }
    {
        std::lock_guard lock(status_mutex_);
        ignored_subscriptions_ += ignored;
    }
    publish_table();
    refresh_status();
    rearm();
}

void RxService::begin_resolve(Flow& flow, int64_t now) {
    flow.phase = Flow::Phase::resolving;
    flow.resolve_deadline_ms = now + options_.resolve_timeout_ms;
    const uint64_t attempt = ++flow.attempt;
    std::vector<std::string> names;
    for (const Member& m : flow.members) names.push_back(m.tx_channel);
    // The answer may come from any thread, now or later, even after stop(): it is handed
    // to the loop only while the service runs (stop() flips `alive` before its last
    // invoke_sync(), which runs after every answer queued before).
    resolver_.resolve(flow.device, names,
                      [this, live = liveness_, id = flow.id, attempt](std::optional<TxResolution> answer) {
                          std::lock_guard lock(live->mutex);
                          if (!live->alive) return;
                          loop_.invoke([this, id, attempt, answer = std::move(answer)]() mutable {
                              on_resolved(id, attempt, std::move(answer));
                          });
                      });
}

void RxService::on_resolved(uint64_t flow_id, uint64_t attempt, std::optional<TxResolution> answer) {
    const auto it = std::find_if(flows_.begin(), flows_.end(), [&](const auto& f) { return f->id == flow_id; });
    // The flow ended, or a newer attempt runs: this answer is nobody's.
    if (it == flows_.end() || (*it)->attempt != attempt || (*it)->phase != Flow::Phase::resolving) return;
    Flow& flow = **it;
    const int64_t now = now_ms();
    if (!answer) {
        fail(flow, RxChannelState::unresolved, now, "tx device \"" + flow.device + "\" not found; retrying");
    } else if (!answer->multicast && answer->max_channels_per_flow != 0 &&
               answer->max_channels_per_flow < flow.members.size()) {
        // The device takes fewer channels in a flow than we asked for: every flow from it
        // is cut to its size (this one ends here), and asked again.
        const uint32_t per_flow = answer->max_channels_per_flow;
        options_.log.info("rx", "\"" + flow.device + "\" takes " + std::to_string(per_flow) +
                                    " channels per flow: asking for flows of that size");
        channels_per_flow_[flow.device] = per_flow;
        apply_subscriptions();
        return;
    } else {
        open_flow(flow, *answer, now);
    }
    refresh_status();
    rearm();
}

void RxService::open_flow(Flow& flow, const TxResolution& answer, int64_t now) {
    if (answer.multicast) {
        join_bundle(flow, answer, now);
        return;
    }
    flow.multicast = false;
    // Slots: each distinct channel id found once; rx channels asking for the same tx
    // channel share its slot.
    flowctl::SlotList slots;
    std::vector<uint16_t> ids;
    flow.slot_of_member.assign(flow.members.size(), -1);
    for (size_t i = 0; i < flow.members.size(); ++i) {
        const uint16_t id = i < answer.channel_ids.size() ? answer.channel_ids[i] : 0;
        if (id == 0) continue;
        auto found = std::find(ids.begin(), ids.end(), id);
        if (found == ids.end()) {
            ids.push_back(id);
            found = ids.end() - 1;
        }
        flow.slot_of_member[i] = static_cast<int>(found - ids.begin());
    }
    if (ids.empty() || !slots.assign(ids)) {
        fail(flow, RxChannelState::unresolved, now, "no subscribed channel found on \"" + flow.device + "\"; retrying");
        return;
    }

    std::string error;
    auto link = std::make_unique<Link>();
    auto control = open_udp_on_interface(iface_, BindOptions{}, error);
    auto audio = control ? open_udp_on_interface(iface_, BindOptions{}, error) : std::nullopt;
    if (!control || !audio || !connect_udp(*control, answer.flow_control, error)) {
        fail(flow, RxChannelState::no_flow, now, "flow from \"" + flow.device + "\": " + error);
        return;
    }
    link->control = std::move(*control);
    link->audio = std::move(*audio);
    tune_audio_socket(link->audio.fd());

    // The transmitter's own encoding, as a Dante receiver asks: it may not convert.
    const uint32_t bytes = answer.encoding_bits == 16 || answer.encoding_bits == 24 || answer.encoding_bits == 32
                               ? answer.encoding_bits / 8
                               : bytes_per_sample(options_.format);
    FlowRequesterConfig config;
    config.target = answer.flow_control;
    config.request.rx_device_name = options_.device_name;
    // Inferno names flows <process id>_<flow number>; ours are unique per service.
    config.request.rx_flow_name = "rx_" + std::to_string(flow.id);
    config.request.rate = options_.rate;
    config.request.bits_per_sample = bytes * 8;
    config.request.fpp = static_cast<uint16_t>(
        options_.fpp != 0 ? options_.fpp : std::clamp<size_t>(1400 / (ids.size() * bytes), 2, 32));
    config.request.slots = slots;
    config.request.destination = *link->audio.local_endpoint();
    config.reply_timeout_ms = options_.reply_timeout_ms;
    config.attempts = options_.attempts;
    link->requester.emplace(config);
    if (!link->requester->start(now)) {
        fail(flow, RxChannelState::no_flow, now, "cannot encode the flow request to \"" + flow.device + "\"");
        return;
    }

    RxFlowShape shape;
    shape.wire_slots = static_cast<uint32_t>(ids.size());
    shape.bytes_per_sample = bytes;
    shape.rate = options_.rate;
    shape.latency_samples = static_cast<uint64_t>(ns_to_samples_ceil(options_.latency_ns, options_.rate));
    flow.core = std::make_shared<RxFlowCore>(shape);
    flow.target = answer.flow_control;
    flow.link = std::move(link);
    flow.phase = Flow::Phase::requesting;
    flow.granted = false;
    flow.audio_seen = false;
    Flow* f = &flow;
    loop_.add_fd(flow.link->control.fd(), [this, f](uint32_t) { on_control(*f); });
    loop_.add_fd(flow.link->audio.fd(), [this, f](uint32_t) { on_audio(*f); });
    send_outbox(*flow.link);
    {
        std::lock_guard lock(status_mutex_);
        ++requests_;
    }
    publish_table();
}

void RxService::join_bundle(Flow& flow, const TxResolution& answer, int64_t now) {
    const TxMulticast& bundle = *answer.multicast;
    flow.multicast = true;
    flow.slot_of_member.assign(flow.members.size(), -1);
    bool any = false;
    for (size_t i = 0; i < flow.members.size(); ++i) {
        const uint16_t slot = i < bundle.slot_of_channel.size() ? bundle.slot_of_channel[i] : 0;
        if (slot == 0 || slot > bundle.slots) continue;
        flow.slot_of_member[i] = slot - 1;
        any = true;
    }
    if (!any) {
        fail(flow, RxChannelState::unresolved, now,
             "no subscribed channel in the bundle of \"" + flow.device + "\"; retrying");
        return;
    }
    // The wire decides the format: a bundle is sent once for every receiver.
    if (bundle.bytes_per_sample < 2 || bundle.bytes_per_sample > 4) {
        fail(flow, RxChannelState::wrong_format, now,
             "the bundle of \"" + flow.device + "\" has an unusable encoding");
        return;
    }
    std::string error;
    auto audio = open_multicast_receiver(iface_, bundle.group, error);
    if (!audio) {
        fail(flow, RxChannelState::no_flow, now, "bundle of \"" + flow.device + "\": " + error);
        return;
    }
    auto link = std::make_unique<Link>();
    link->audio = std::move(*audio);
    tune_audio_socket(link->audio.fd());

    RxFlowShape shape;
    shape.wire_slots = bundle.slots;
    shape.bytes_per_sample = bundle.bytes_per_sample;
    shape.rate = options_.rate;
    shape.latency_samples = static_cast<uint64_t>(ns_to_samples_ceil(options_.latency_ns, options_.rate));
    flow.core = std::make_shared<RxFlowCore>(shape);
    // Only the device sends its bundle: anything else on the group is not its audio.
    flow.target = Ipv4Endpoint{answer.flow_control.address, 0};
    flow.link = std::move(link);
    flow.phase = Flow::Phase::requesting;
    flow.granted = true;  // nothing to ask: audio must come within the audio timeout
    flow.audio_seen = false;
    flow.last_audio_ms = now;
    Flow* f = &flow;
    loop_.add_fd(flow.link->audio.fd(), [this, f](uint32_t) { on_audio(*f); });
    options_.log.info(kTopic, "joining " + to_string(bundle.group) + " for the bundle of \"" + flow.device + "\"");
    publish_table();
}

void RxService::on_control(Flow& flow) {
    if (!flow.link) return;
    Link& link = *flow.link;
    std::array<uint8_t, flowctl::kMaxPacketBytes> buffer{};
    io::drain_datagrams(link.control.fd(), io::DrainBuffers{buffer, {}, 0}, [&](const io::ReceivedDatagram& d) {
        if (d.truncated) return;  // larger than any answer: nobody's
        link.requester->on_control_datagram(d.bytes, Ipv4Endpoint{d.source_address, d.source_port}, now_ms());
    });
    const int64_t now = now_ms();
    send_outbox(link);
    if (!flow.granted && link.requester->state() == FlowRequesterState::granted) {
        flow.granted = true;
        flow.last_audio_ms = now;  // audio must follow within the audio timeout
    }
    advance(flow, now);
    refresh_status();
    rearm();
}

void RxService::on_audio(Flow& flow) {
    if (!flow.link || !flow.core) return;
    Link& link = *flow.link;
    std::array<uint8_t, 2048> buffer{};
    alignas(cmsghdr) std::array<uint8_t, CMSG_SPACE(sizeof(timespec))> control{};
    // Kernel stamps are CLOCK_REALTIME: moved to CLOCK_MONOTONIC by the offset read now
    // (the two run at one rate between steps of the realtime clock).
    const int64_t mono_now = monotonic_now_ns();
    const int64_t realtime_minus_mono = clock_now_ns(CLOCK_REALTIME) - mono_now;
    const ClockSnapshot snap = clock_.snapshot();
    bool first_audio = false;
    io::drain_datagrams(link.audio.fd(), io::DrainBuffers{buffer, control, 0}, [&](const io::ReceivedDatagram& d) {
        // Only the transmitter we asked sends our flow; anything else is not audio of it.
        if (d.source_address != flow.target.address) return;
        const std::optional<int64_t> stamp = software_timestamp_ns(*d.message);
        const int64_t arrival_mono = stamp ? *stamp - realtime_minus_mono : mono_now;
        const uint64_t media_now = media_sample_at(snap.media_ns_at(arrival_mono), options_.rate);
        std::span<const uint8_t> bytes = d.bytes;
        if (d.truncated) bytes = {};  // oversized: malformed, never its truncated head
        if (flow.core->on_datagram(bytes, media_now)) {
            if (!flow.audio_seen) first_audio = true;
            flow.audio_seen = true;
            flow.last_audio_ms = mono_now / 1'000'000;
            if (link.requester)
                link.requester->on_audio_from(Ipv4Endpoint{d.source_address, d.source_port}, flow.last_audio_ms);
        }
    });
    send_outbox(link);  // the first keepalive
    if (first_audio) {
        flow.backoff_ms = options_.backoff_min_ms;
        if (flow.reported != RxChannelState::receiving)
            options_.log.info(kTopic, "receiving from \"" + flow.device + "\"");
        flow.reported = RxChannelState::receiving;
        refresh_status();
        rearm();
        return;
    }
    // The loop may be real-time (a device's "dante-rx"): it never waits for a reader of
    // the status. Busy now, the counters are copied at the next batch.
    std::unique_lock lock(status_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    const RxFlowStats& s = flow.core->stats();
    for (const Member& m : flow.members) {
        RxChannelStatus& st = status_[m.rx_channel - 1];
        st.packets = flow.past.packets + s.packets;
        st.lost = flow.past.lost + s.lost;
        st.late = flow.past.late + s.late;
        st.malformed = flow.past.malformed + s.malformed;
    }
}

void RxService::advance(Flow& flow, int64_t now) {
    switch (flow.phase) {
        case Flow::Phase::resolving:
            // A resolver that never answers must not park the flow for good.
            if (now >= flow.resolve_deadline_ms)
                fail(flow, RxChannelState::unresolved, now, "no answer about \"" + flow.device + "\"; retrying");
            return;
        case Flow::Phase::backoff:
            if (now >= flow.retry_at_ms) begin_resolve(flow, now);
            return;
        case Flow::Phase::requesting: break;
    }
    if (flow.multicast) {
        // Nothing to keep alive: the group is joined until audio stops.
        if (now - flow.last_audio_ms > options_.audio_timeout_ms)
            fail(flow, RxChannelState::no_flow, now,
                 "no audio in the bundle of \"" + flow.device + "\"; resolving again");
        return;
    }
    FlowRequester& requester = *flow.link->requester;
    requester.tick(now);
    send_outbox(*flow.link);
    switch (requester.state()) {
        case FlowRequesterState::refused: {
            const uint16_t status = requester.refused_status();
            const bool format =
                status == flowctl::status::rate_mismatch || status == flowctl::status::unsupported_parameters;
            fail(flow, format ? RxChannelState::wrong_format : RxChannelState::no_flow, now,
                 "\"" + flow.device + "\" refused the flow (status " + status_hex(status) + "); retrying");
            return;
        }
        case FlowRequesterState::no_reply:
            fail(flow, RxChannelState::no_flow, now, "no answer from \"" + flow.device + "\"; retrying");
            return;
        case FlowRequesterState::granted:
            // Audio stopped (or never came): the transmitter restarted or dropped us.
            if (now - flow.last_audio_ms > options_.audio_timeout_ms)
                fail(flow, RxChannelState::no_flow, now, "no audio from \"" + flow.device + "\"; asking again");
            return;
        default: return;
    }
}

void RxService::fail(Flow& flow, RxChannelState why, int64_t now, const std::string& message) {
    // Said once when it changes, not on every retry.
    if (why != flow.reported) options_.log.info(kTopic, message);
    flow.reported = why;
    close_flow(flow, now);
    flow.phase = Flow::Phase::backoff;
    flow.failure = why;
    flow.retry_at_ms = now + flow.backoff_ms;
    flow.backoff_ms = std::min(flow.backoff_ms * 2, options_.backoff_max_ms);
    std::lock_guard lock(status_mutex_);
    ++retries_;
}

void RxService::close_flow(Flow& flow, int64_t now) {
    if (flow.core) {
        const RxFlowStats& s = flow.core->stats();
        flow.past.packets += s.packets;
        flow.past.lost += s.lost;
        flow.past.late += s.late;
        flow.past.malformed += s.malformed;
        flow.past.reordered += s.reordered;
        flow.past.out_of_window += s.out_of_window;
        flow.core.reset();  // the tables that name it keep it for the reader
        publish_table();
    }
    flow.granted = false;
    flow.audio_seen = false;
    if (!flow.link) return;
    std::unique_ptr<Link> link = std::move(flow.link);
    loop_.remove_fd(link->audio.fd());
    link->audio.close();  // a bundle's group is left here
    if (!link->requester) return;
    loop_.remove_fd(link->control.fd());
    link->requester->stop(now);
    send_outbox(*link);
    if (link->requester->state() != FlowRequesterState::stopping) return;
    // Its 0x0101 waits for an answer (or its retries) on the control socket.
    auto stopping = std::make_unique<Flow>();
    stopping->link = std::move(link);
    Link* l = stopping->link.get();
    loop_.add_fd(l->control.fd(), [l](uint32_t) {
        std::array<uint8_t, flowctl::kMaxPacketBytes> buffer{};
        io::drain_datagrams(l->control.fd(), io::DrainBuffers{buffer, {}, 0}, [&](const io::ReceivedDatagram& d) {
            if (!d.truncated)
                l->requester->on_control_datagram(d.bytes, Ipv4Endpoint{d.source_address, d.source_port}, now_ms());
        });
        // Freed by the next timer pass once stopped (not here: we are its callback).
    });
    stopping_.push_back(std::move(stopping));
}

void RxService::on_timer() {
    const int64_t now = now_ms();
    for (auto& flow : flows_) advance(*flow, now);
    for (auto it = stopping_.begin(); it != stopping_.end();) {
        Link& link = *(*it)->link;
        link.requester->tick(now);
        send_outbox(link);
        if (link.requester->state() == FlowRequesterState::stopping) {
            ++it;
        } else {
            loop_.remove_fd(link.control.fd());
            it = stopping_.erase(it);
        }
    }
    reclaim_tables();
    refresh_status();
    rearm();
}

void RxService::rearm() {
    if (timer_ == 0) return;
    std::optional<int64_t> next;
    auto consider = [&](int64_t t) { next = next ? std::min(*next, t) : t; };
    for (const auto& flow : flows_) {
        if (flow->phase == Flow::Phase::backoff) consider(flow->retry_at_ms);
        if (flow->phase == Flow::Phase::resolving) consider(flow->resolve_deadline_ms);
        if (flow->phase != Flow::Phase::requesting) continue;
        if (flow->link->requester)
            if (const auto d = flow->link->requester->next_deadline_ms()) consider(*d);
        if (flow->granted) consider(flow->last_audio_ms + options_.audio_timeout_ms + 1);
    }
    for (const auto& stopping : stopping_)
        if (const auto d = stopping->link->requester->next_deadline_ms()) consider(*d);
    // Old tables wait for the reader to move on: look again soon while any remain.
    if (!retired_.empty()) consider(now_ms() + 100);
    if (next) loop_.arm_at(timer_, *next * 1'000'000);
    else loop_.disarm(timer_);
}

void RxService::publish_table() {
    auto table = std::make_unique<RxChannelTable>();
    table->generation = next_generation_++;
    for (const auto& flow : flows_) {
        if (!flow->core) continue;
        table->cores.push_back(flow->core);
        for (size_t i = 0; i < flow->members.size(); ++i) {
            if (flow->slot_of_member[i] < 0) continue;
            table->channels[flow->members[i].rx_channel - 1] =
                RxChannelSource{&flow->core->rings(), static_cast<uint32_t>(flow->slot_of_member[i])};
        }
    }
    retired_.push_back(std::move(owned_current_));
    owned_current_ = std::move(table);
    // seq_cst, paired with acquire_channels(): see reclaim_tables().
    current_.store(owned_current_.get(), std::memory_order_seq_cst);
    reclaim_tables();
}

void RxService::reclaim_tables() {
    // The reader announces the generation it holds (or kReaderIdle), after first
    // announcing 0 and then loading current_, all seq_cst. So if this load sees idle, the
    // reader's next load of current_ comes after our store of it and gets the current
    // table, never a retired one; if it sees a generation g, the reader holds a table of
    // generation >= g (or is loading the current one): older tables are free to go.
    const uint64_t reader = reader_gen_.load(std::memory_order_seq_cst);
    std::erase_if(retired_, [&](const auto& t) { return reader == kReaderIdle || t->generation < reader; });
}

const RxChannelTable& RxService::acquire_channels() {
    reader_gen_.store(0, std::memory_order_seq_cst);  // holding anything: nothing is freed now
    const RxChannelTable* table = current_.load(std::memory_order_seq_cst);
    reader_gen_.store(table->generation, std::memory_order_seq_cst);
    return *table;
}

void RxService::release_channels() { reader_gen_.store(kReaderIdle, std::memory_order_seq_cst); }

void RxService::refresh_status() {
    std::lock_guard lock(status_mutex_);
    status_.fill(RxChannelStatus{});
    active_flows_ = 0;
    for (const auto& flow : flows_) {
        if (flow->granted) ++active_flows_;
        const RxFlowStats now = flow->core ? flow->core->stats() : RxFlowStats{};
        for (size_t i = 0; i < flow->members.size(); ++i) {
            const Member& m = flow->members[i];
            RxChannelStatus& st = status_[m.rx_channel - 1];
            st.tx_channel = m.tx_channel;
            st.tx_device = flow->device;
            st.multicast = flow->multicast;
            st.flow = flow->id;
            const bool found = i < flow->slot_of_member.size() && flow->slot_of_member[i] >= 0;
            switch (flow->phase) {
                case Flow::Phase::resolving: st.state = RxChannelState::resolving; break;
                case Flow::Phase::backoff: st.state = flow->failure; break;
                case Flow::Phase::requesting:
                    st.state = !found             ? RxChannelState::unresolved
                               : flow->audio_seen ? RxChannelState::receiving
                                                  : RxChannelState::requesting;
                    break;
            }
            st.packets = flow->past.packets + now.packets;
            st.lost = flow->past.lost + now.lost;
            st.late = flow->past.late + now.late;
            st.malformed = flow->past.malformed + now.malformed;
        }
    }
}

RxChannelStatus RxService::channel_status(uint32_t rx_channel) const {
    if (rx_channel < 1 || rx_channel > kMaxRxChannels) return {};
    std::lock_guard lock(status_mutex_);
    return status_[rx_channel - 1];
}

size_t RxService::active_flows() const {
    std::lock_guard lock(status_mutex_);
    return active_flows_;
}

ConfigItems RxService::properties() const {
    std::lock_guard lock(status_mutex_);
    // Per flow counters are shared by its channels: sum each flow once.
    std::map<uint64_t, const RxChannelStatus*> per_flow;
    std::string channels = "[";
    for (size_t i = 0; i < status_.size(); ++i) {
        const RxChannelStatus& st = status_[i];
        if (st.state == RxChannelState::none) continue;
        per_flow.emplace(st.flow, &st);
        // The shape of dante.rx.subscriptions (control_service.cpp), with the receiving state.
        channels += " { rx = " + std::to_string(i + 1) + " state = " + to_string(st.state) +
                    " via = " + (st.multicast ? "multicast" : "unicast") + " packets = " + std::to_string(st.packets) +
                    " lost = " + std::to_string(st.lost) + " }";
    }
    channels += channels.size() == 1 ? "]" : " ]";
    uint64_t packets = 0, lost = 0, late = 0, malformed = 0;
    for (const auto& [flow, st] : per_flow) {
        packets += st->packets;
        lost += st->lost;
        late += st->late;
        malformed += st->malformed;
    }
    return {
        {"dante.rx.flows", std::to_string(active_flows_)},
        {"dante.rx.packets", std::to_string(packets)},
        {"dante.rx.lost", std::to_string(lost)},
        {"dante.rx.late", std::to_string(late)},
        {"dante.rx.malformed", std::to_string(malformed)},
        {"dante.rx.flow-requests", std::to_string(requests_)},
        {"dante.rx.retries", std::to_string(retries_)},
        {"dante.rx.ignored-subscriptions", std::to_string(ignored_subscriptions_)},
        {"dante.rx.channel-states", channels},
    };
}

}  // namespace dante
