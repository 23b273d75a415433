#include "dante_sink_node.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "clock/media_time.hpp"

namespace dante::spa {
namespace {

int64_t monotonic_now(spa_system* system) {
    timespec now{};
    spa_system_clock_gettime(system, CLOCK_MONOTONIC, &now);
    return SPA_TIMESPEC_TO_NSEC(&now);
}

uint32_t channel_id(const std::string& name, uint32_t index) {
    const uint32_t id = spa_debug_type_find_type_short(spa_type_audio_channel, name.c_str());
    return id == SPA_ID_INVALID ? SPA_AUDIO_CHANNEL_AUX0 + index : id;
}

DanteSinkNode* self(void* object) { return static_cast<DanteSinkNode*>(object); }

AudioPortConfig port_config(const DeviceConfig& cfg, uint32_t quantum_limit) {
    AudioPortConfig port;
    port.direction = SPA_DIRECTION_INPUT;
    port.rate = cfg.rate;
    port.channels = cfg.channels;
    for (uint32_t c = 0; c < cfg.channels; ++c) port.positions[c] = channel_id(cfg.positions[c], c);
    port.quantum_limit = quantum_limit;
    // Audio written in a cycle sounds one quantum plus the render margin later at the
    // network, then the receivers add the advertised latency.
    port.latency_quanta = 1.0f;
    port.latency_ns = DanteSinkNode::kRenderMarginNs + cfg.latency_ns;
    port.rate_match_io = true;
    port.meta_param = true;
    port.mapped_planes = 1;  // process() reads the planes it is given, silence for the others
    port.log_name = "dante-sink";
    return port;
}

}  // namespace

struct NodeMethods {
    static const spa_node_methods table;
};

const spa_node_methods NodeMethods::table = {
    .version = SPA_VERSION_NODE_METHODS,
    .add_listener = [](void* o, spa_hook* l, const spa_node_events* e, void* d) { return self(o)->add_listener(l, e, d); },
    .set_callbacks = [](void* o, const spa_node_callbacks* c, void* d) { return self(o)->set_callbacks(c, d); },
    .sync = [](void* o, int seq) { return self(o)->sync(seq); },
    .enum_params = [](void* o, int seq, uint32_t id, uint32_t start, uint32_t num, const spa_pod* filter) {
        return self(o)->enum_params(seq, id, start, num, filter);
    },
    .set_param = [](void* o, uint32_t id, uint32_t flags, const spa_pod* p) { return self(o)->set_param(id, flags, p); },
    .set_io = [](void* o, uint32_t id, void* data, size_t size) { return self(o)->set_io(id, data, size); },
    .send_command = [](void* o, const spa_command* c) { return self(o)->send_command(c); },
    .add_port = [](void*, spa_direction, uint32_t, const spa_dict*) { return -ENOTSUP; },
    .remove_port = [](void*, spa_direction, uint32_t) { return -ENOTSUP; },
    .port_enum_params = [](void* o, int seq, spa_direction dir, uint32_t port, uint32_t id, uint32_t start,
                           uint32_t num, const spa_pod* filter) {
        return self(o)->port_.enum_params(seq, dir, port, id, start, num, filter);
    },
    .port_set_param = [](void* o, spa_direction dir, uint32_t port, uint32_t id, uint32_t, const spa_pod* p) {
        return self(o)->port_.set_param(dir, port, id, p);
    },
    .port_use_buffers = [](void* o, spa_direction dir, uint32_t port, uint32_t, spa_buffer** b, uint32_t n) {
        return self(o)->port_.use_buffers(dir, port, b, n);
    },
    .port_set_io = [](void* o, spa_direction dir, uint32_t port, uint32_t id, void* data, size_t) {
        return self(o)->port_.set_io(dir, port, id, data);
    },
    .port_reuse_buffer = [](void*, uint32_t, uint32_t) { return -ENOTSUP; },
    .process = [](void* o) { return self(o)->process(); },
};

DanteSinkNode::DanteSinkNode(std::shared_ptr<Device> device, const spa_support* support, uint32_t n_support,
                             uint32_t quantum_limit, bool manage_description)
    : device_(std::move(device)),
      log_(static_cast<spa_log*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_Log))),
      port_(port_config(device_->config(), quantum_limit), &hooks_, log_),
      quantum_limit_(quantum_limit),
      timeline_(device_->config().rate, kRenderMarginNs),
      graph_timeline_(device_->config().rate, kRenderMarginNs),
      graph_timeline_rate_(device_->config().rate),
      follower_(device_->config().rate, kRenderMarginNs) {
    data_loop_ = static_cast<spa_loop*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_DataLoop));
    data_system_ = static_cast<spa_system*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_DataSystem));
    main_utils_ = static_cast<spa_loop_utils*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_LoopUtils));

    manage_description_ = manage_description;
    node_.iface = SPA_INTERFACE_INIT(SPA_TYPE_INTERFACE_Node, SPA_VERSION_NODE, &NodeMethods::table, this);
    spa_hook_list_init(&hooks_);

    info_all_ = SPA_NODE_CHANGE_MASK_FLAGS | SPA_NODE_CHANGE_MASK_PROPS | SPA_NODE_CHANGE_MASK_PARAMS;
    info_ = SPA_NODE_INFO_INIT();
    info_.max_input_ports = 1;
    info_.max_output_ports = 0;
    info_.flags = SPA_NODE_FLAG_RT;
    info_.params = params_.data();
    info_.n_params = 0;

    if (!ready()) return;

    timer_source_.func = &DanteSinkNode::on_timer_source;
    timer_source_.data = this;
    timer_source_.fd = spa_system_timerfd_create(data_system_, CLOCK_MONOTONIC, SPA_FD_CLOEXEC | SPA_FD_NONBLOCK);
    timer_source_.mask = SPA_IO_IN;
    timer_source_.rmask = 0;
    spa_loop_add_source(data_loop_, &timer_source_);

    publish_timer_ = spa_loop_utils_add_timer(main_utils_, &DanteSinkNode::on_publish_timer, this);
    timespec first{1, 0};
    timespec every{1, 0};
    spa_loop_utils_update_timer(main_utils_, publish_timer_, &first, &every, false);
    publish_properties();
}

DanteSinkNode::~DanteSinkNode() {
    if (publish_timer_) spa_loop_utils_destroy_source(main_utils_, publish_timer_);
    if (data_loop_ && timer_source_.fd >= 0 && timer_source_.func) {
        spa_loop_invoke(data_loop_, &DanteSinkNode::do_remove_timer_in_loop, 0, nullptr, 0, true, this);
        spa_system_close(data_system_, timer_source_.fd);
    }
}

// ---------------------------------------------------------------- info and properties

void DanteSinkNode::publish_properties() {
    device_->follow_network();  // a new address: the control plane and flows move to it
    device_->update_clock();
    published_ = device_->properties();
    log_clock_problem();
    published_.emplace_back(SPA_KEY_NODE_DRIVER, "true");
    if (manage_description_) {
        // The last dante.device-name wins: the control plane's (after a rename or from the
        // state file) comes after the configured one.
        std::string name = device_->config().device_name;
        for (const auto& [key, value] : published_)
            if (key == "dante.device-name") name = value;
        published_.emplace_back(kNodeDescriptionKey, node_description_for(name));
    }
    // Which clock runs the graph, as node-driver publishes it: the name also written into
    // spa_io_clock.name, and the system clock our time is based on ("custom": a PTP
    // overlay, a PHC or usrvclock, none of which is a POSIX clock of this host).
    published_.emplace_back("clock.name", "dante." + device_->config().device_name);
    published_.emplace_back("clock.id", device_->config().clock_source.kind == ClockSourceKind::tai ? "tai" : "custom");
    // The graph forced to another rate: said once in the log (main thread), and in
    // dante.tx.rate-mismatch for as long as it lasts.
    const uint32_t mismatch = device_->stats().rate_mismatch.load(std::memory_order_relaxed);
    if (mismatch != logged_mismatch_) {
        if (mismatch != 0)
            spa_log_warn(log_, "dante-sink %s: the graph runs at %u Hz (clock.force-rate?), the Dante flows at %u Hz: "
                         "sending silence, not resampled audio, until the graph is back at %u Hz",
                         device_->config().device_name.c_str(), mismatch, device_->config().rate, device_->config().rate);
        else
            spa_log_warn(log_, "dante-sink %s: the graph is back at %u Hz: sending its audio again",
                         device_->config().device_name.c_str(), device_->config().rate);
        logged_mismatch_ = mismatch;
    }
    published_items_.clear();
    for (const auto& [key, value] : published_) published_items_.push_back(SPA_DICT_ITEM_INIT(key.c_str(), value.c_str()));
    published_dict_ = SPA_DICT_INIT(published_items_.data(), static_cast<uint32_t>(published_items_.size()));
    info_.change_mask |= SPA_NODE_CHANGE_MASK_PROPS;
    emit_node_info(false);
}

// One log line when the clock becomes unusable (and why), one when it is usable again: not
// one a second while it stays so.
void DanteSinkNode::log_clock_problem() {
    std::string problem;
    for (const auto& [key, value] : published_)
        if (key == "dante.clock.problem") problem = value;
    if (problem == logged_clock_problem_) return;
    if (!problem.empty())
        spa_log_warn(log_, "dante-sink %s: clock not usable: %s", device_->config().device_name.c_str(),
                     problem.c_str());
    else
        spa_log_info(log_, "dante-sink %s: clock usable again", device_->config().device_name.c_str());
    logged_clock_problem_ = std::move(problem);
}

void DanteSinkNode::on_publish_timer(void* data, uint64_t) { static_cast<DanteSinkNode*>(data)->publish_properties(); }

void DanteSinkNode::emit_node_info(bool full) {
    const uint64_t old = full ? info_.change_mask : 0;
    if (full) info_.change_mask = info_all_;
    if (info_.change_mask) {
        info_.props = &published_dict_;
        spa_node_emit_info(&hooks_, &info_);
        info_.change_mask = old;
    }
}

int DanteSinkNode::add_listener(spa_hook* listener, const spa_node_events* events, void* data) {
    spa_hook_list save;
    spa_hook_list_isolate(&hooks_, &save, listener, events, data);
    emit_node_info(true);
    port_.emit_info(true);
    spa_hook_list_join(&hooks_, &save);
    return 0;
}

int DanteSinkNode::set_callbacks(const spa_node_callbacks* callbacks, void* data) {
    callbacks_ = SPA_CALLBACKS_INIT(callbacks, data);
    return 0;
}

int DanteSinkNode::sync(int seq) {
    spa_node_emit_result(&hooks_, seq, 0, 0, nullptr);
    return 0;
}

int DanteSinkNode::enum_params(int, uint32_t, uint32_t, uint32_t, const spa_pod*) { return -ENOENT; }

int DanteSinkNode::set_param(uint32_t id, uint32_t, const spa_pod*) {
    // The adapter forwards Props (volume lives in its converter); we have none of our own.
    return id == SPA_PARAM_Props ? 0 : -ENOENT;
}

// ---------------------------------------------------------------- driving the graph

int DanteSinkNode::set_io(uint32_t id, void* data, size_t size) {
    switch (id) {
        case SPA_IO_Clock:
            if (size > 0 && size < sizeof(spa_io_clock)) return -EINVAL;
            clock_ = static_cast<spa_io_clock*>(data);
            if (clock_) spa_scnprintf(clock_->name, sizeof(clock_->name), "dante.%s", device_->config().device_name.c_str());
            break;
        case SPA_IO_Position:
            position_ = static_cast<spa_io_position*>(data);
            break;
        default:
            return -ENOENT;
    }
    reassign_follower();
    return 0;
}

bool DanteSinkNode::is_following() const { return position_ && clock_ && position_->clock.id != clock_->id; }

void DanteSinkNode::reassign_follower() {
    if (!started_) return;
    spa_loop_invoke(data_loop_, &DanteSinkNode::do_reassign_in_loop, 0, nullptr, 0, true, this);
}

int DanteSinkNode::do_reassign_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user) {
    auto* node = static_cast<DanteSinkNode*>(user);
    const bool following = node->is_following();
    if (following == node->following_) return 0;
    node->following_ = following;
    node->follower_.reset();
    node->timeline_.reset();
    node->graph_timeline_.reset();
    node->last_timeline_ = nullptr;
    node->set_rate_match(1.0, false);
    node->arm_timer(following ? 0 : monotonic_now(node->data_system_));
    node->device_->stats().driving.store(!following, std::memory_order_relaxed);
    return 0;
}

void DanteSinkNode::arm_timer(int64_t deadline_ns) {
    // A deadline of 0 disarms; anything else is absolute CLOCK_MONOTONIC. A deadline in
    // the past fires at once, which is how a late cycle catches up.
    itimerspec spec{};
    spec.it_value.tv_sec = deadline_ns / SPA_NSEC_PER_SEC;
    spec.it_value.tv_nsec = deadline_ns % SPA_NSEC_PER_SEC;
    if (deadline_ns != 0 && spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    spa_system_timerfd_settime(data_system_, timer_source_.fd, SPA_FD_TIMER_ABSTIME, &spec, nullptr);
}

void DanteSinkNode::start() {
    if (started_) return;
    started_ = true;
    spa_loop_invoke(data_loop_, &DanteSinkNode::do_start_in_loop, 0, nullptr, 0, true, this);
    publish_properties();
}

void DanteSinkNode::stop() {
    if (!started_) return;
    started_ = false;
    spa_loop_invoke(data_loop_, &DanteSinkNode::do_stop_in_loop, 0, nullptr, 0, true, this);
    publish_properties();
}

int DanteSinkNode::do_start_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user) {
    auto* node = static_cast<DanteSinkNode*>(user);
    node->running_ = true;
    node->following_ = node->is_following();
    node->follower_.reset();
    node->timeline_.reset();
    node->graph_timeline_.reset();
    node->last_timeline_ = nullptr;
    node->set_rate_match(1.0, false);
    node->arm_timer(node->following_ ? 0 : monotonic_now(node->data_system_));
    node->device_->stats().driving.store(!node->following_, std::memory_order_relaxed);
    node->device_->stats().starts.fetch_add(1, std::memory_order_relaxed);
    return 0;
}

int DanteSinkNode::do_stop_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user) {
    auto* node = static_cast<DanteSinkNode*>(user);
    node->running_ = false;
    node->arm_timer(0);
    // The last cycle's real length (see on_timer()), so a restart continues after it.
    if (node->last_timeline_ && node->clock_ && node->clock_->duration > 0 && node->clock_->duration <= node->quantum_limit_)
        node->last_timeline_->correct_last_duration(static_cast<uint32_t>(node->clock_->duration));
    node->device_->stats().driving.store(false, std::memory_order_relaxed);
    node->device_->stats().rate_mismatch.store(0, std::memory_order_relaxed);
    return 0;
}

int DanteSinkNode::do_remove_timer_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user) {
    auto* node = static_cast<DanteSinkNode*>(user);
    spa_loop_remove_source(node->data_loop_, &node->timer_source_);
    return 0;
}

int DanteSinkNode::send_command(const spa_command* command) {
    switch (SPA_NODE_COMMAND_ID(command)) {
        case SPA_NODE_COMMAND_Start:
            if (!port_.ready_to_start()) return -EIO;
            start();
            return 0;
        case SPA_NODE_COMMAND_Suspend:
        case SPA_NODE_COMMAND_Pause:
            stop();
            return 0;
        case SPA_NODE_COMMAND_ParamBegin:
        case SPA_NODE_COMMAND_ParamEnd:
            return 0;
        default:
            return -ENOTSUP;
    }
}

void DanteSinkNode::on_timer_source(spa_source* source) { static_cast<DanteSinkNode*>(source->data)->on_timer(); }

void DanteSinkNode::on_timer() {
    uint64_t expirations = 0;
    if (spa_system_timerfd_read(data_system_, timer_source_.fd, &expirations) < 0) return;
    if (!running_ || following_ || clock_ == nullptr) return;

    const int64_t now = monotonic_now(data_system_);
    uint32_t duration = 1024;
    if (position_) {
#ifdef DANTE_HAVE_TARGET_RATE
        // PipeWire >= 0.3.68: the scheduler proposes, the driver applies at cycle start.
        spa_fraction rate = clock_->rate;
        uint64_t target = clock_->duration;
        if (read_target(rate, target)) clock_->rate = rate;
        duration = static_cast<uint32_t>(std::min<uint64_t>(target, UINT32_MAX));
#else
        duration = static_cast<uint32_t>(position_->clock.duration);
#endif
    }
    if (duration == 0 || duration > quantum_limit_) duration = std::min<uint32_t>(1024, quantum_limit_);

    // The graph's rate is not always ours: clock.force-rate (or a rate another node asked
    // for) makes PipeWire set another one, and a driver applies it (node-driver and
    // alsa-pcm do, since on 0.3.65 the core writes clock.rate itself). The cycle must then
    // last `duration` samples of *that* rate, or every client runs fast or slow, and the
    // adapter resamples into our port about duration x 48000/44100 frames a cycle. Those
    // frames cannot go on the wire at a Dante position: positions are Dante timestamps at
    // the Dante rate, one quantum per cycle, and written at 1024-sample steps they
    // overlapped (corrupt audio on the wire). Resampling them to a contiguous Dante
    // timeline as alsa-pcm does would need a second rate loop in the driver; until then we
    // refuse: the cycle is timed at the graph's rate on a timeline of its own, its audio is
    // dropped (the flows send silence), the log says so once and dante.tx.rate-mismatch
    // names the rate. The Dante timeline resumes where it left off, never overlapping.
    const uint32_t rate = graph_rate();
    const bool mismatch = rate != device_->config().rate;
    if (mismatch && rate != graph_timeline_rate_) {
        graph_timeline_ = DriverTimeline(rate, kRenderMarginNs);  // a value: no allocation
        graph_timeline_rate_ = rate;
    }
    DriverTimeline& timeline = mismatch ? graph_timeline_ : timeline_;
    // The last cycle's real length: what PipeWire 0.3.65 wrote into clock.duration when it
    // applied a new quantum at that cycle's start (from 0.3.68 on it is what we set, and
    // process() may have corrected it already).
    if (last_timeline_ == &timeline && clock_->duration != cycle_frames_ && clock_->duration > 0 &&
        clock_->duration <= quantum_limit_)
        timeline.correct_last_duration(static_cast<uint32_t>(clock_->duration));
    last_timeline_ = &timeline;
    const ClockSnapshot snapshot = device_->clock().snapshot();
    if (const int64_t wait = timeline.wait_ns(snapshot, now, duration); wait > 0) {
        arm_timer(now + wait);  // the quantum shrank or we restarted: not due yet (see wait_ns())
        return;
    }
    const CyclePlan plan = timeline.plan(snapshot, now, duration);
#ifdef DANTE_HAVE_CLOCK_XRUN
    // PipeWire >= 1.1 sums the time drivers lost to xruns, in samples at the clock's rate
    // (the timeline's own).
    clock_->xrun += plan.skipped;
#endif
    cycle_refused_ = mismatch;
    previous_cycle_frames_ = cycle_frames_;
    cycle_frames_ = duration;
    clock_->nsec = static_cast<uint64_t>(plan.nsec);
    clock_->position = plan.position;
    clock_->duration = duration;
    clock_->delay = 0;
    clock_->rate_diff = plan.rate_diff;
    clock_->next_nsec = static_cast<uint64_t>(plan.next_nsec);
    cycle_ = plan;
    cycle_wake_ns_ = now;
    ++cycle_serial_;

    DriverStats& stats = device_->stats();
    stats.cycles.fetch_add(1, std::memory_order_relaxed);
    stats.rate_mismatch.store(mismatch ? rate : 0, std::memory_order_relaxed);
    if (mismatch) stats.rate_mismatch_cycles.fetch_add(1, std::memory_order_relaxed);
    stats.discontinuities.store(timeline_.discontinuities() + follower_.discontinuities(), std::memory_order_relaxed);
    stats.lead_ns.store(plan.lead_ns, std::memory_order_relaxed);
    stats.last_wake_late_ns.store(now - plan.nsec, std::memory_order_relaxed);

    spa_node_call_ready(&callbacks_, SPA_STATUS_NEED_DATA);
    arm_timer(plan.next_nsec);
}

#ifdef DANTE_HAVE_TARGET_RATE
bool DanteSinkNode::read_target(spa_fraction& rate, uint64_t& duration) const {
    const spa_io_clock& c = position_->clock;
#ifdef DANTE_HAVE_TARGET_SEQ
    // PipeWire >= 1.1 writes the pair from its main thread between two increments of
    // target_seq (odd while writing). Read it as a seqlock: a few tries, since the writer
    // holds it for two stores; failing that, this cycle keeps the last cycle's values.
    std::atomic_ref<const uint32_t> seq(c.target_seq);
    for (int attempt = 0; attempt < 8; ++attempt) {
        const uint32_t before = seq.load(std::memory_order_acquire);
        const spa_fraction r = c.target_rate;
        const uint64_t d = c.target_duration;
        std::atomic_thread_fence(std::memory_order_acquire);
        if ((before & 1u) == 0 && seq.load(std::memory_order_relaxed) == before) {
            rate = r;
            duration = d;
            return true;
        }
    }
    return false;
#else
    rate = c.target_rate;
    duration = c.target_duration;
    return true;
#endif
}
#endif

uint32_t DanteSinkNode::graph_rate() const {
    // The rate this cycle runs at: what we just applied (>= 0.3.68), or what the core
    // wrote (0.3.65). Anything unusable means ours.
    if (clock_ == nullptr) return device_->config().rate;
    const spa_fraction rate = clock_->rate;
    if (rate.num != 1 || rate.denom == 0) return device_->config().rate;
    return rate.denom;
}

uint64_t DanteSinkNode::follower_write_position(uint32_t frames) {
    const uint32_t duration = position_ ? static_cast<uint32_t>(position_->clock.duration) : frames;
    const int64_t nsec = position_ ? static_cast<int64_t>(position_->clock.nsec) : monotonic_now(data_system_);
    const FollowerTracker::Result r = follower_.track(device_->clock().snapshot(), nsec, duration ? duration : frames, frames);
    device_->stats().discontinuities.store(timeline_.discontinuities() + follower_.discontinuities(),
                                           std::memory_order_relaxed);
    set_rate_match(r.rate, true);
    return r.position;
}

void DanteSinkNode::set_rate_match(double rate, bool active) {
    spa_io_rate_match* rate_match = port_.rate_match();
    if (rate_match == nullptr) return;
    rate_match->rate = rate;
    SPA_FLAG_UPDATE(rate_match->flags, SPA_IO_RATE_MATCH_FLAG_ACTIVE, active);
}

int DanteSinkNode::process() {
    spa_io_buffers* io = port_.io();
    if (io == nullptr) return -EIO;
    if (io->status != SPA_STATUS_HAVE_DATA) return io->status;
    if (io->buffer_id >= port_.n_buffers()) {
        io->status = -EINVAL;
        return io->status;
    }
    spa_buffer* buffer = port_.buffer(io->buffer_id);
    TxRings& rings = device_->rings();
    const uint32_t channels = rings.channels();
    uint32_t frames = UINT32_MAX;
    for (uint32_t c = 0; c < channels; ++c) {
        planes_[c] = nullptr;
        if (c >= buffer->n_datas) continue;
        const spa_data& d = buffer->datas[c];
        const uint32_t offset = SPA_MIN(d.chunk->offset, d.maxsize);
        const uint32_t size = SPA_MIN(d.maxsize - offset, d.chunk->size);
        frames = SPA_MIN(frames, size / AudioPort::kBytesPerSample);
        planes_[c] = static_cast<const int32_t*>(SPA_PTROFF(d.data, offset, void));
    }
    if (frames == UINT32_MAX) frames = 0;

    uint64_t position = cycle_.position;
    int64_t nsec = cycle_.nsec;
    int64_t wake = cycle_wake_ns_;
    if (following_) {
        position = follower_write_position(frames);
        nsec = position_ ? static_cast<int64_t>(position_->clock.nsec) : 0;
        wake = 0;
    } else if (cycle_refused_ || graph_rate() != device_->config().rate) {
        // The graph runs at another rate: see on_timer(). (Also asked here: 0.3.65 applies
        // a new rate at the cycle's start, after on_timer() planned it.)
        frames = 0;
    } else if (written_serial_ == cycle_serial_) {
        // The adapter can hand us a second buffer within one driver cycle (seen when the
        // graph starts). Its audio has no position of its own: writing it at this cycle's
        // position would overwrite what is there, so it is dropped and counted.
        device_->stats().extra_buffers.fetch_add(1, std::memory_order_relaxed);
        frames = 0;
    } else {
        written_serial_ = cycle_serial_;
        // Never more than the cycle really lasts: the next one starts right after it.
        if (clock_ && clock_->duration > 0) frames = std::min<uint32_t>(frames, static_cast<uint32_t>(clock_->duration));
        // PipeWire 1.x: in the cycle that applies a larger quantum the followers still
        // deliver the old one. The next cycle continues right after these frames instead
        // of leaving the rest of this one empty (silence on the wire); it is due at once.
        if (frames > 0 && frames < cycle_frames_ && frames == previous_cycle_frames_ && last_timeline_ == &timeline_)
            timeline_.correct_last_duration(frames);
    }
    if (frames > 0) {
        rings.write(position, std::span<const int32_t* const>(planes_.data(), channels), frames);
        if (RingTap* tap = device_->tap()) tap->note_cycle({position, nsec, wake, frames});
    }
    io->status = SPA_STATUS_OK;
    return SPA_STATUS_HAVE_DATA;
}

}  // namespace dante::spa
