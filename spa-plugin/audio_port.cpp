#include "audio_port.hpp"

#include <cerrno>

namespace dante::spa {
namespace {

spa_direction other(spa_direction direction) {
    return direction == SPA_DIRECTION_INPUT ? SPA_DIRECTION_OUTPUT : SPA_DIRECTION_INPUT;
}

}  // namespace

AudioPort::AudioPort(const AudioPortConfig& config, spa_hook_list* hooks, spa_log* log)
    : config_(config), hooks_(hooks), log_(log) {
    info_all_ = SPA_PORT_CHANGE_MASK_FLAGS | SPA_PORT_CHANGE_MASK_PARAMS;
    info_ = SPA_PORT_INFO_INIT();
    info_.flags = SPA_PORT_FLAG_LIVE | SPA_PORT_FLAG_PHYSICAL | SPA_PORT_FLAG_TERMINAL;
    params_[kEnumFormat] = SPA_PARAM_INFO(SPA_PARAM_EnumFormat, SPA_PARAM_INFO_READ);
    params_[kIO] = SPA_PARAM_INFO(SPA_PARAM_IO, SPA_PARAM_INFO_READ);
    params_[kFormat] = SPA_PARAM_INFO(SPA_PARAM_Format, SPA_PARAM_INFO_WRITE);
    params_[kBuffers] = SPA_PARAM_INFO(SPA_PARAM_Buffers, 0);
    params_[kLatency] = SPA_PARAM_INFO(SPA_PARAM_Latency, SPA_PARAM_INFO_READWRITE);
    params_[kMeta] = SPA_PARAM_INFO(SPA_PARAM_Meta, SPA_PARAM_INFO_READ);
    info_.params = params_.data();
    info_.n_params = config_.meta_param ? kParamCount : kMeta;  // Meta is the last

    // The field types follow the headers: min_ns/max_ns are uint64_t before PipeWire
    // 1.3.81 and int64_t from it on (min_rate/max_rate uint32_t, then int32_t).
    using LatencyNs = decltype(spa_latency_info::min_ns);
    spa_latency_info own{};
    own.direction = config_.direction;
    own.min_quantum = own.max_quantum = config_.latency_quanta;
    own.min_ns = own.max_ns = static_cast<LatencyNs>(config_.latency_ns);
    latency_[config_.direction] = own;
    spa_latency_info peer{};
    peer.direction = other(config_.direction);
    latency_[peer.direction] = peer;
}

void AudioPort::emit_info(bool full) {
    const uint64_t old = full ? info_.change_mask : 0;
    if (full) info_.change_mask = info_all_;
    if (info_.change_mask) {
        spa_node_emit_port_info(hooks_, config_.direction, 0, &info_);
        info_.change_mask = old;
    }
}

spa_pod* AudioPort::build_format(spa_pod_builder* builder, uint32_t id) const {
    spa_audio_info_raw raw{};
    raw.format = SPA_AUDIO_FORMAT_S32P;
    raw.rate = config_.rate;
    raw.channels = config_.channels;
    for (uint32_t c = 0; c < raw.channels && c < SPA_AUDIO_MAX_CHANNELS; ++c) raw.position[c] = config_.positions[c];
    return spa_format_audio_raw_build(builder, id, &raw);
}

int AudioPort::enum_params(int seq, spa_direction direction, uint32_t port_id, uint32_t id, uint32_t start,
                           uint32_t num, const spa_pod* filter) {
    if (direction != config_.direction || port_id != 0 || num == 0) return -EINVAL;
    spa_result_node_params result{};
    result.id = id;
    result.next = start;
    uint32_t count = 0;
    uint8_t storage[4096];
    for (;;) {
        result.index = result.next++;
        spa_pod_builder b{};
        spa_pod_builder_init(&b, storage, sizeof storage);
        spa_pod* param = nullptr;
        switch (id) {
            case SPA_PARAM_EnumFormat:
                if (result.index > 0) return 0;
                param = build_format(&b, id);
                break;
            case SPA_PARAM_Format:
                if (!have_format_) return -EIO;
                if (result.index > 0) return 0;
                param = spa_format_audio_raw_build(&b, id, &format_);
                break;
            case SPA_PARAM_Buffers:
                if (!have_format_) return -EIO;
                if (result.index > 0) return 0;
                param = static_cast<spa_pod*>(spa_pod_builder_add_object(
                    &b, SPA_TYPE_OBJECT_ParamBuffers, id,
                    SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(2, 1, static_cast<int>(kMaxBuffers)),
                    SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(static_cast<int>(format_.channels)),
                    SPA_PARAM_BUFFERS_size,
                    SPA_POD_CHOICE_RANGE_Int(static_cast<int>(config_.quantum_limit * kBytesPerSample),
                                             static_cast<int>(16 * kBytesPerSample), INT32_MAX),
                    SPA_PARAM_BUFFERS_stride, SPA_POD_Int(static_cast<int>(kBytesPerSample))));
                break;
            case SPA_PARAM_Meta:
                return config_.meta_param ? 0 : -ENOENT;
            case SPA_PARAM_IO: {
                // Buffers always; RateMatch where the port takes it.
                if (result.index > (config_.rate_match_io ? 1u : 0u)) return 0;
                const bool buffers = result.index == 0;
                param = static_cast<spa_pod*>(spa_pod_builder_add_object(
                    &b, SPA_TYPE_OBJECT_ParamIO, id, SPA_PARAM_IO_id,
                    SPA_POD_Id(buffers ? SPA_IO_Buffers : SPA_IO_RateMatch), SPA_PARAM_IO_size,
                    SPA_POD_Int(static_cast<int>(buffers ? sizeof(spa_io_buffers) : sizeof(spa_io_rate_match)))));
                break;
            }
            case SPA_PARAM_Latency:
                if (result.index > 1) return 0;
                param = spa_latency_build(&b, id, &latency_[result.index]);
                break;
            default:
                return -ENOENT;
        }
        if (param == nullptr) return -EIO;
        if (spa_pod_filter(&b, &result.param, param, filter) < 0) continue;
        spa_node_emit_result(hooks_, seq, 0, SPA_RESULT_TYPE_NODE_PARAMS, &result);
        if (++count == num) return 0;
    }
}

int AudioPort::set_format(const spa_pod* format) {
    if (format == nullptr) {
        have_format_ = false;
        n_buffers_ = 0;
    } else {
        uint32_t media_type = 0;
        uint32_t media_subtype = 0;
        if (spa_format_parse(format, &media_type, &media_subtype) < 0) return -EINVAL;
        if (media_type != SPA_MEDIA_TYPE_audio || media_subtype != SPA_MEDIA_SUBTYPE_raw) return -EINVAL;
        spa_audio_info_raw raw{};
        if (spa_format_audio_raw_parse(format, &raw) < 0) return -EINVAL;
        // The device runs at exactly one format; the adapter converts everything else.
        if (raw.format != SPA_AUDIO_FORMAT_S32P || raw.rate != config_.rate || raw.channels != config_.channels)
            return -EINVAL;
        format_ = raw;
        have_format_ = true;
    }
    info_.change_mask |= SPA_PORT_CHANGE_MASK_PARAMS;
    if (have_format_) {
        info_.change_mask |= SPA_PORT_CHANGE_MASK_RATE;
        info_.rate = SPA_FRACTION(1, format_.rate);
        params_[kFormat] = SPA_PARAM_INFO(SPA_PARAM_Format, SPA_PARAM_INFO_READWRITE);
        params_[kBuffers] = SPA_PARAM_INFO(SPA_PARAM_Buffers, SPA_PARAM_INFO_READ);
    } else {
        params_[kFormat] = SPA_PARAM_INFO(SPA_PARAM_Format, SPA_PARAM_INFO_WRITE);
        params_[kBuffers] = SPA_PARAM_INFO(SPA_PARAM_Buffers, 0);
    }
    emit_info(false);
    return 0;
}

int AudioPort::set_latency(const spa_pod* param) {
    // The peer tells us the latency on its side of us (upstream of an input, downstream of
    // an output); we only keep it to report it back.
    spa_latency_info info{};
    if (param == nullptr) {
        info.direction = other(config_.direction);
    } else if (int res = spa_latency_parse(param, &info); res < 0) {
        return res;
    }
    if (info.direction == config_.direction) return -EINVAL;
    latency_[info.direction] = info;
    info_.change_mask |= SPA_PORT_CHANGE_MASK_PARAMS;
    params_[kLatency].user++;
    emit_info(false);
    return 0;
}

int AudioPort::set_param(spa_direction direction, uint32_t port_id, uint32_t id, const spa_pod* param) {
    if (direction != config_.direction || port_id != 0) return -EINVAL;
    switch (id) {
        case SPA_PARAM_Format: return set_format(param);
        case SPA_PARAM_Latency: return set_latency(param);
        default: return -ENOENT;
    }
}

int AudioPort::use_buffers(spa_direction direction, uint32_t port_id, spa_buffer** buffers, uint32_t n_buffers) {
    if (direction != config_.direction || port_id != 0) return -EINVAL;
    n_buffers_ = 0;
    if (n_buffers > 0 && !have_format_) return -EIO;
    if (n_buffers > kMaxBuffers) return -ENOSPC;
    for (uint32_t i = 0; i < n_buffers; ++i) {
        if (buffers[i]->n_datas < config_.mapped_planes) {
            spa_log_error(log_, "%s %p: buffer %u has %u planes, %u needed", config_.log_name, this, i,
                          buffers[i]->n_datas, config_.mapped_planes);
            return -EINVAL;
        }
        for (uint32_t c = 0; c < config_.mapped_planes; ++c)
            if (buffers[i]->datas[c].data == nullptr) {
                spa_log_error(log_, "%s %p: buffer %u has no mapped memory", config_.log_name, this, i);
                return -EINVAL;
            }
        buffers_[i] = buffers[i];
    }
    n_buffers_ = n_buffers;
    return 0;
}

int AudioPort::set_io(spa_direction direction, uint32_t port_id, uint32_t id, void* data) {
    if (direction != config_.direction || port_id != 0) return -EINVAL;
    switch (id) {
        case SPA_IO_Buffers:
            io_ = static_cast<spa_io_buffers*>(data);
            return 0;
        case SPA_IO_RateMatch:
            if (!config_.rate_match_io) return -ENOENT;
            rate_match_ = static_cast<spa_io_rate_match*>(data);
            return 0;
        default:
            return -ENOENT;
    }
}

}  // namespace dante::spa
