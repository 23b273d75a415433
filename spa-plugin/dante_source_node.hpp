#pragma once
// The "api.dante.source" SPA node: the receiving side of a Device as one S32-planar output
// port (audio_port.hpp) of dante.rx.channels channels. A follower: the sink of the same device drives the
// graph (the module puts both in one node.group), or any other driver does. Each cycle it
// reads the device's RX rings at the Dante timestamps src/rx/capture_timeline.hpp gives
// for the cycle's position; what did not arrive for exactly those timestamps is silence.
//
// Threads: PipeWire's main loop calls the node methods and the once-a-second property
// refresh; the data loop runs process(). They share the RxService's wait-free reader side
// (one reader: this node's data thread) and the atomics below.

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "audio_port.hpp"
#include "device/device.hpp"
#include "rx/capture_timeline.hpp"
#include "spa_headers.hpp"

namespace dante::spa {

class DanteSourceNode {
public:
    DanteSourceNode(std::shared_ptr<Device> device, const spa_support* support, uint32_t n_support,
                    uint32_t quantum_limit, bool manage_description = true);
    ~DanteSourceNode();
    DanteSourceNode(const DanteSourceNode&) = delete;
    DanteSourceNode& operator=(const DanteSourceNode&) = delete;

    [[nodiscard]] bool ready() const { return data_loop_ && main_utils_ && device_->receiver(); }
    spa_node* node() { return &node_; }

private:
    friend struct SourceNodeMethods;
    int add_listener(spa_hook* listener, const spa_node_events* events, void* data);
    int set_callbacks(const spa_node_callbacks* callbacks, void* data);
    int sync(int seq);
    int set_param(uint32_t id, uint32_t flags, const spa_pod* param);
    int set_io(uint32_t id, void* data, size_t size);
    int send_command(const spa_command* command);
    int port_use_buffers(spa_direction direction, uint32_t port_id, uint32_t flags, spa_buffer** buffers,
                         uint32_t n_buffers);
    int port_reuse_buffer(uint32_t port_id, uint32_t buffer_id);
    int process();

    void emit_node_info(bool full);
    void publish_properties();
    void set_running(bool running);
    [[nodiscard]] bool driven_by_our_sink() const;
    void fill(spa_buffer* buffer, uint32_t frames);
    static void on_publish_timer(void* data, uint64_t expirations);
    static int do_set_running(spa_loop*, bool, uint32_t, const void*, size_t, void* user);

    std::shared_ptr<Device> device_;
    RxService* rx_ = nullptr;
    spa_node node_{};
    spa_log* log_ = nullptr;
    AudioPort port_;  // the output: format, buffers, io, latency
    spa_loop* data_loop_ = nullptr;
    spa_loop_utils* main_utils_ = nullptr;
    uint32_t quantum_limit_;
    uint32_t channels_;
    std::string clock_name_;  // the sink's spa_io_clock name: "dante.<device>"

    spa_hook_list hooks_{};
    spa_callbacks callbacks_{};
    uint64_t info_all_ = 0;
    spa_node_info info_{};
    std::array<spa_param_info, 1> params_{};

    ConfigItems published_;
    std::vector<spa_dict_item> published_items_;
    spa_dict published_dict_{};
    spa_source* publish_timer_ = nullptr;
    bool manage_description_ = true;

    spa_io_position* position_ = nullptr;
    std::array<bool, AudioPort::kMaxBuffers> outstanding_{};  // data loop: handed downstream, not yet back

    bool started_ = false;  // main thread's view
    bool running_ = false;  // data loop's view
    CaptureTimeline timeline_;

    // Written by the data loop, published by the main loop.
    std::atomic<uint64_t> cycles_{0};
    std::atomic<uint64_t> offset_frames_{0};
    std::atomic<uint64_t> real_samples_{0};     // samples (frames x channels) that carried received audio
    std::atomic<uint64_t> silent_samples_{0};   // samples output as silence (nothing arrived for them)
    std::atomic<uint64_t> no_buffer_cycles_{0};
    std::atomic<uint64_t> rate_mismatch_cycles_{0};
    std::atomic<uint64_t> discontinuities_{0};  // timeline_'s, for the main loop
    std::atomic<bool> driven_{false};
};

}  // namespace dante::spa
