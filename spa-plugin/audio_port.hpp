#pragma once
// The one S32-planar audio port of a Dante node: what the sink's input and the source's
// output have in common, so each node keeps only its own cycle. The port offers exactly
// the device's format (the adapter around the node converts everything else), takes up to
// kMaxBuffers buffers of one plane a channel, and reports a fixed latency of its own
// while keeping the peer's only to report it back.
//
// Threads: the node's main-thread methods forward the port_* calls here; its data loop
// reads io(), n_buffers() and buffer() in process(): inline reads, no allocation, lock or log.

#include <array>
#include <cstdint>

#include "spa_headers.hpp"

namespace dante::spa {

struct AudioPortConfig {
    spa_direction direction = SPA_DIRECTION_INPUT;
    uint32_t rate = 0;
    uint32_t channels = 0;
    std::array<uint32_t, SPA_AUDIO_MAX_CHANNELS> positions{};  // SPA channel ids
    uint32_t quantum_limit = 0;
    // This port's latency in the graph: the audio of a cycle sounds (sink) or was sent
    // (source) this many quanta plus ns away from the cycle.
    float latency_quanta = 0.0f;
    int64_t latency_ns = 0;
    // The sink's port also takes a RateMatch io (the adapter's resampler, which it steers
    // while another node drives) and lists an empty Meta param.
    bool rate_match_io = false;
    bool meta_param = false;
    // Planes of each buffer that must be mapped: the sink reads what it is given, the
    // source writes every channel.
    uint32_t mapped_planes = 1;
    const char* log_name = "dante";  // "dante-sink", "dante-source"
};

class AudioPort {
public:
    static constexpr uint32_t kMaxBuffers = 16;
    static constexpr uint32_t kBytesPerSample = sizeof(int32_t);

    // `hooks` is the node's listener list, which the port's info and params go to.
    AudioPort(const AudioPortConfig& config, spa_hook_list* hooks, spa_log* log);
    AudioPort(const AudioPort&) = delete;
    AudioPort& operator=(const AudioPort&) = delete;

    // spa_node_methods' port_* for this port; -EINVAL for any other direction or id.
    int enum_params(int seq, spa_direction direction, uint32_t port_id, uint32_t id, uint32_t start, uint32_t num,
                    const spa_pod* filter);
    int set_param(spa_direction direction, uint32_t port_id, uint32_t id, const spa_pod* param);
    int use_buffers(spa_direction direction, uint32_t port_id, spa_buffer** buffers, uint32_t n_buffers);
    int set_io(spa_direction direction, uint32_t port_id, uint32_t id, void* data);
    void emit_info(bool full);

    // What a Start command needs.
    [[nodiscard]] bool ready_to_start() const { return have_format_ && n_buffers_ > 0; }

    // Data loop.
    [[nodiscard]] spa_io_buffers* io() const { return io_; }
    [[nodiscard]] spa_io_rate_match* rate_match() const { return rate_match_; }
    [[nodiscard]] uint32_t n_buffers() const { return n_buffers_; }
    [[nodiscard]] spa_buffer* buffer(uint32_t id) const { return buffers_[id]; }

private:
    enum Param : uint32_t { kEnumFormat, kIO, kFormat, kBuffers, kLatency, kMeta, kParamCount };

    spa_pod* build_format(spa_pod_builder* builder, uint32_t id) const;
    int set_format(const spa_pod* format);
    int set_latency(const spa_pod* param);

    AudioPortConfig config_;
    spa_hook_list* hooks_;
    spa_log* log_;

    uint64_t info_all_ = 0;
    spa_port_info info_{};
    std::array<spa_param_info, kParamCount> params_{};
    std::array<spa_latency_info, 2> latency_{};  // by direction: ours, and the peer's side

    bool have_format_ = false;
    spa_audio_info_raw format_{};
    std::array<spa_buffer*, kMaxBuffers> buffers_{};
    uint32_t n_buffers_ = 0;
    spa_io_buffers* io_ = nullptr;
    spa_io_rate_match* rate_match_ = nullptr;
};

}  // namespace dante::spa
