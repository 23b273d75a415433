#include "dante_source_node.hpp"

#include "node_keys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dante::spa {
namespace {

constexpr uint32_t kBytesPerSample = AudioPort::kBytesPerSample;
// The graph cycle's render margin, as the sink's (DanteSinkNode::kRenderMarginNs): the
// same contract on both sides of the device.
constexpr int64_t kMarginNs = 1'000'000;

DanteSourceNode* self(void* object) { return static_cast<DanteSourceNode*>(object); }

// What the source node publishes of the device's properties: the receiving side, the
// clock it is timed by, and who the device is. (The TX side is the sink's.)
bool is_source_property(const std::string& key) {
    for (const char* prefix : {"dante.rx.", "dante.clock.", "dante.net."})
        if (key.rfind(prefix, 0) == 0) return true;
    return key == "dante.device-name" || key == "dante.rate" || key == "dante.format" || key == "dante.interface";
}

AudioPortConfig port_config(const DeviceConfig& cfg, uint32_t quantum_limit) {
    AudioPortConfig port;
    port.direction = SPA_DIRECTION_OUTPUT;
    port.rate = cfg.rate;
    port.channels = cfg.rx_channels;
    for (uint32_t c = 0; c < SPA_AUDIO_MAX_CHANNELS; ++c) port.positions[c] = SPA_AUDIO_CHANNEL_AUX0 + c;
    port.quantum_limit = quantum_limit;
    // What a cycle outputs left the transmitters 2 quanta + margin + latency earlier
    // (capture_timeline.hpp): the capture latency downstream nodes add up.
    port.latency_quanta = 2.0f;
    port.latency_ns = kMarginNs + cfg.rx_latency_ns;
    port.mapped_planes = cfg.rx_channels;  // fill() writes every channel
    port.log_name = "dante-source";
    return port;
}

}  // namespace

struct SourceNodeMethods {
    static const spa_node_methods table;
};

const spa_node_methods SourceNodeMethods::table = {
    .version = SPA_VERSION_NODE_METHODS,
    .add_listener = [](void* o, spa_hook* l, const spa_node_events* e, void* d) { return self(o)->add_listener(l, e, d); },
    .set_callbacks = [](void* o, const spa_node_callbacks* c, void* d) { return self(o)->set_callbacks(c, d); },
    .sync = [](void* o, int seq) { return self(o)->sync(seq); },
    .enum_params = [](void*, int, uint32_t, uint32_t, uint32_t, const spa_pod*) { return -ENOENT; },
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
    .port_use_buffers = [](void* o, spa_direction dir, uint32_t port, uint32_t flags, spa_buffer** b, uint32_t n) {
        return self(o)->port_use_buffers(dir, port, flags, b, n);
    },
    .port_set_io = [](void* o, spa_direction dir, uint32_t port, uint32_t id, void* data, size_t) {
        return self(o)->port_.set_io(dir, port, id, data);
    },
    .port_reuse_buffer = [](void* o, uint32_t port, uint32_t id) { return self(o)->port_reuse_buffer(port, id); },
    .process = [](void* o) { return self(o)->process(); },
};

DanteSourceNode::DanteSourceNode(std::shared_ptr<Device> device, const spa_support* support, uint32_t n_support,
                                 uint32_t quantum_limit, bool manage_description)
    : device_(std::move(device)),
      rx_(device_->receiver()),
      log_(static_cast<spa_log*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_Log))),
      port_(port_config(device_->config(), quantum_limit), &hooks_, log_),
      quantum_limit_(quantum_limit),
      channels_(device_->config().rx_channels),
      clock_name_("dante." + device_->config().device_name),
      manage_description_(manage_description),
      timeline_(device_->config().rate, kMarginNs, device_->config().rx_latency_ns) {
    data_loop_ = static_cast<spa_loop*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_DataLoop));
    main_utils_ = static_cast<spa_loop_utils*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_LoopUtils));

    node_.iface = SPA_INTERFACE_INIT(SPA_TYPE_INTERFACE_Node, SPA_VERSION_NODE, &SourceNodeMethods::table, this);
    spa_hook_list_init(&hooks_);

    info_all_ = SPA_NODE_CHANGE_MASK_FLAGS | SPA_NODE_CHANGE_MASK_PROPS | SPA_NODE_CHANGE_MASK_PARAMS;
    info_ = SPA_NODE_INFO_INIT();
    info_.max_input_ports = 0;
    info_.max_output_ports = 1;
    info_.flags = SPA_NODE_FLAG_RT;
    info_.params = params_.data();
    info_.n_params = 0;

    if (!ready()) return;
    publish_timer_ = spa_loop_utils_add_timer(main_utils_, &DanteSourceNode::on_publish_timer, this);
    timespec first{1, 0};
    timespec every{1, 0};
    spa_loop_utils_update_timer(main_utils_, publish_timer_, &first, &every, false);
    publish_properties();
}

DanteSourceNode::~DanteSourceNode() {
    if (publish_timer_) spa_loop_utils_destroy_source(main_utils_, publish_timer_);
    if (started_) set_running(false);
    if (rx_) rx_->release_channels();  // the data loop no longer calls process()
}

// ---------------------------------------------------------------- info and properties

void DanteSourceNode::publish_properties() {
    published_.clear();
    std::string name = device_->config().device_name;
    for (auto& [key, value] : device_->properties()) {
        if (key == "dante.device-name") name = value;  // the last one wins: a rename
        if (is_source_property(key)) published_.emplace_back(key, value);
    }
    const auto number = [](const std::atomic<uint64_t>& a) { return std::to_string(a.load(std::memory_order_relaxed)); };
    published_.emplace_back("dante.rx.offset-frames", number(offset_frames_));
    published_.emplace_back("dante.rx.cycles", number(cycles_));
    published_.emplace_back("dante.rx.real-samples", number(real_samples_));
    published_.emplace_back("dante.rx.silent-samples", number(silent_samples_));
    published_.emplace_back("dante.rx.no-buffer-cycles", number(no_buffer_cycles_));
    published_.emplace_back("dante.rx.rate-mismatch-cycles", number(rate_mismatch_cycles_));
    published_.emplace_back("dante.rx.discontinuities", number(discontinuities_));
    published_.emplace_back("dante.rx.driven-by-sink", driven_.load(std::memory_order_relaxed) ? "true" : "false");
    if (manage_description_) published_.emplace_back(kNodeDescriptionKey, source_description_for(name));
    published_items_.clear();
    for (const auto& [key, value] : published_) published_items_.push_back(SPA_DICT_ITEM_INIT(key.c_str(), value.c_str()));
    published_dict_ = SPA_DICT_INIT(published_items_.data(), static_cast<uint32_t>(published_items_.size()));
    info_.change_mask |= SPA_NODE_CHANGE_MASK_PROPS;
    emit_node_info(false);
}

void DanteSourceNode::on_publish_timer(void* data, uint64_t) { static_cast<DanteSourceNode*>(data)->publish_properties(); }

void DanteSourceNode::emit_node_info(bool full) {
    const uint64_t old = full ? info_.change_mask : 0;
    if (full) info_.change_mask = info_all_;
    if (info_.change_mask) {
        info_.props = &published_dict_;
        spa_node_emit_info(&hooks_, &info_);
        info_.change_mask = old;
    }
}

int DanteSourceNode::add_listener(spa_hook* listener, const spa_node_events* events, void* data) {
    spa_hook_list save;
    spa_hook_list_isolate(&hooks_, &save, listener, events, data);
    emit_node_info(true);
    port_.emit_info(true);
    spa_hook_list_join(&hooks_, &save);
    return 0;
}

int DanteSourceNode::set_callbacks(const spa_node_callbacks* callbacks, void* data) {
    callbacks_ = SPA_CALLBACKS_INIT(callbacks, data);
    return 0;
}

int DanteSourceNode::sync(int seq) {
    spa_node_emit_result(&hooks_, seq, 0, 0, nullptr);
    return 0;
}

int DanteSourceNode::set_param(uint32_t id, uint32_t, const spa_pod*) {
    return id == SPA_PARAM_Props ? 0 : -ENOENT;  // volume lives in the adapter's converter
}

int DanteSourceNode::set_io(uint32_t id, void* data, size_t) {
    switch (id) {
        case SPA_IO_Clock: return 0;  // a follower: the driver's clock is in the position
        case SPA_IO_Position: position_ = static_cast<spa_io_position*>(data); return 0;
        default: return -ENOENT;
    }
}

// ---------------------------------------------------------------- port

int DanteSourceNode::port_use_buffers(spa_direction direction, uint32_t port_id, uint32_t, spa_buffer** buffers,
                                      uint32_t n_buffers) {
    if (direction != SPA_DIRECTION_OUTPUT || port_id != 0) return -EINVAL;
    if (started_) set_running(false);  // the data loop never sees buffers change under it
    outstanding_.fill(false);
    return port_.use_buffers(direction, port_id, buffers, n_buffers);
}

int DanteSourceNode::port_reuse_buffer(uint32_t port_id, uint32_t buffer_id) {
    if (port_id != 0) return -EINVAL;
    if (buffer_id < port_.n_buffers()) outstanding_[buffer_id] = false;
    return 0;
}

// ---------------------------------------------------------------- running

void DanteSourceNode::set_running(bool running) {
    started_ = running;
    spa_loop_invoke(data_loop_, &DanteSourceNode::do_set_running, running ? 1 : 0, nullptr, 0, true, this);
}

int DanteSourceNode::do_set_running(spa_loop*, bool, uint32_t seq, const void*, size_t, void* user) {
    auto* node = static_cast<DanteSourceNode*>(user);
    node->running_ = seq != 0;
    node->timeline_.reset();
    // Paused, the node holds no table of the receiver's: it may free them all.
    if (!node->running_) node->rx_->release_channels();
    return 0;
}

int DanteSourceNode::send_command(const spa_command* command) {
    switch (SPA_NODE_COMMAND_ID(command)) {
        case SPA_NODE_COMMAND_Start:
            if (!port_.ready_to_start()) return -EIO;
            if (!started_) set_running(true);
            return 0;
        case SPA_NODE_COMMAND_Suspend:
        case SPA_NODE_COMMAND_Pause:
            if (started_) set_running(false);
            return 0;
        case SPA_NODE_COMMAND_ParamBegin:
        case SPA_NODE_COMMAND_ParamEnd:
            return 0;
        default:
            return -ENOTSUP;
    }
}

bool DanteSourceNode::driven_by_our_sink() const {
    return std::strncmp(position_->clock.name, clock_name_.c_str(), sizeof position_->clock.name) == 0;
}

// Data loop: one cycle's audio into `buffer`. No allocation, no lock, no log.
void DanteSourceNode::fill(spa_buffer* buffer, uint32_t frames) {
    const uint32_t rate = device_->config().rate;
    const spa_fraction graph_rate = position_ ? position_->clock.rate : spa_fraction{1, rate};
    const bool rate_ok = graph_rate.num == 1 && graph_rate.denom == rate;
    CaptureCycle cycle;
    if (!rate_ok) {
        // The graph runs at another rate (clock.force-rate): Dante timestamps do not map
        // onto its cycles. Silence, counted, until it is back.
        rate_mismatch_cycles_.fetch_add(1, std::memory_order_relaxed);
        timeline_.reset();
    } else if (position_ && driven_by_our_sink()) {
        cycle = timeline_.driven(position_->clock.position, frames);
        driven_.store(true, std::memory_order_relaxed);
    } else {
        const int64_t nsec = position_ ? static_cast<int64_t>(position_->clock.nsec) : 0;
        cycle = timeline_.following(device_->clock().snapshot(), nsec, frames);
        driven_.store(false, std::memory_order_relaxed);
    }
    const RxChannelTable& table = rx_->acquire_channels();
    uint64_t real = 0;
    for (uint32_t c = 0; c < channels_; ++c) {
        spa_data& d = buffer->datas[c];
        auto* out = static_cast<int32_t*>(d.data);
        const RxChannelSource& source = table.channels[c];
        if (cycle.read_position != 0 && source.rings != nullptr)
            real += source.rings->read(source.ring_channel, cycle.read_position, std::span<int32_t>(out, frames));
        else
            std::memset(out, 0, static_cast<size_t>(frames) * kBytesPerSample);
        d.chunk->offset = 0;
        d.chunk->size = frames * kBytesPerSample;
        d.chunk->stride = static_cast<int32_t>(kBytesPerSample);
        d.chunk->flags = 0;
    }
    cycles_.fetch_add(1, std::memory_order_relaxed);
    offset_frames_.store(cycle.offset, std::memory_order_relaxed);
    discontinuities_.store(timeline_.discontinuities(), std::memory_order_relaxed);
    real_samples_.fetch_add(real, std::memory_order_relaxed);
    silent_samples_.fetch_add(static_cast<uint64_t>(frames) * channels_ - real, std::memory_order_relaxed);
}

int DanteSourceNode::process() {
    spa_io_buffers* io = port_.io();
    if (io == nullptr) return -EIO;
    if (io->status == SPA_STATUS_HAVE_DATA) return SPA_STATUS_HAVE_DATA;  // not taken yet
    const uint32_t n_buffers = port_.n_buffers();
    if (io->buffer_id < n_buffers) {
        outstanding_[io->buffer_id] = false;
        io->buffer_id = SPA_ID_INVALID;
    }
    if (!running_) return SPA_STATUS_OK;
    uint32_t id = 0;
    while (id < n_buffers && outstanding_[id]) ++id;
    if (id == n_buffers) {
        no_buffer_cycles_.fetch_add(1, std::memory_order_relaxed);
        return -EPIPE;
    }
    spa_buffer* buffer = port_.buffer(id);
    uint32_t frames = position_ && position_->clock.duration > 0 ? static_cast<uint32_t>(position_->clock.duration) : 1024;
    frames = std::min(frames, quantum_limit_);
    for (uint32_t c = 0; c < channels_; ++c) frames = std::min(frames, buffer->datas[c].maxsize / kBytesPerSample);
    fill(buffer, frames);
    outstanding_[id] = true;
    io->buffer_id = id;
    io->status = SPA_STATUS_HAVE_DATA;
    return SPA_STATUS_HAVE_DATA;
}

}  // namespace dante::spa
