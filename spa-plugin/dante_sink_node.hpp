#pragma once
// The "api.dante.sink" SPA node: one S32-planar input port (audio_port.hpp), a graph
// driver timed by the Device's media clock, writing each cycle into the Device's TX rings.
//
// Threads: PipeWire's main loop calls the node methods and the once-a-second property
// refresh; the data loop runs the timer and process(). They share only the Device's
// lock-free parts and the SPA io areas.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "audio_port.hpp"
#include "device/device.hpp"
#include "driver/driver_timeline.hpp"
#include "driver/follower_tracker.hpp"
#include "node_keys.hpp"
#include "spa_headers.hpp"

namespace dante::spa {

class DanteSinkNode {
public:
    // Time the graph gets, beyond its own quantum, to render a cycle before the
    // transmitter needs it (covers timer wake-up latency and the cycle's work).
    static constexpr int64_t kRenderMarginNs = 1'000'000;

    // manage_description: publish node.description "Dante Transmitter (<current name>)" with
    // the props, so a rename (or the name from the state file) reaches pw-dump and pactl.
    DanteSinkNode(std::shared_ptr<Device> device, const spa_support* support, uint32_t n_support,
                  uint32_t quantum_limit, bool manage_description = true);
    ~DanteSinkNode();
    DanteSinkNode(const DanteSinkNode&) = delete;
    DanteSinkNode& operator=(const DanteSinkNode&) = delete;

    [[nodiscard]] bool ready() const { return data_loop_ && data_system_ && main_utils_; }
    spa_node* node() { return &node_; }

private:
    // spa_node_methods, bound in the .cpp
    friend struct NodeMethods;
    int add_listener(spa_hook* listener, const spa_node_events* events, void* data);
    int set_callbacks(const spa_node_callbacks* callbacks, void* data);
    int sync(int seq);
    int enum_params(int seq, uint32_t id, uint32_t start, uint32_t num, const spa_pod* filter);
    int set_param(uint32_t id, uint32_t flags, const spa_pod* param);
    int set_io(uint32_t id, void* data, size_t size);
    int send_command(const spa_command* command);
    int process();

    // Info
    void emit_node_info(bool full);
    void publish_properties();
    void log_clock_problem();

    // Driving
    bool is_following() const;
    void reassign_follower();
    void arm_timer(int64_t deadline_ns);
    void on_timer();
    [[nodiscard]] uint32_t graph_rate() const;
#ifdef DANTE_HAVE_TARGET_RATE
    // The scheduler's proposal for the next cycle; false if it could not be read whole.
    bool read_target(spa_fraction& rate, uint64_t& duration) const;
#endif
    void start();
    void stop();
    uint64_t follower_write_position(uint32_t frames);
    void set_rate_match(double rate, bool active);
    static void on_timer_source(spa_source* source);
    static void on_publish_timer(void* data, uint64_t expirations);
    static int do_start_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user);
    static int do_stop_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user);
    static int do_reassign_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user);
    static int do_remove_timer_in_loop(spa_loop*, bool, uint32_t, const void*, size_t, void* user);

    std::shared_ptr<Device> device_;
    spa_node node_{};
    spa_log* log_ = nullptr;
    AudioPort port_;  // the input: format, buffers, io, latency
    spa_loop* data_loop_ = nullptr;
    spa_system* data_system_ = nullptr;
    spa_loop_utils* main_utils_ = nullptr;
    uint32_t quantum_limit_;

    spa_hook_list hooks_{};
    spa_callbacks callbacks_{};

    uint64_t info_all_ = 0;
    spa_node_info info_{};
    std::array<spa_param_info, 1> params_{};

    // Published node properties: strings live here while the info is emitted.
    ConfigItems published_;
    std::string logged_clock_problem_;  // main loop: what log_clock_problem() said last
    std::vector<spa_dict_item> published_items_;
    spa_dict published_dict_{};
    spa_source* publish_timer_ = nullptr;
    bool manage_description_ = true;

    spa_io_clock* clock_ = nullptr;
    spa_io_position* position_ = nullptr;

    // Data-loop state
    spa_source timer_source_{};
    bool started_ = false;    // main thread's view
    bool running_ = false;    // data loop's view
    bool following_ = false;  // data loop's view
    DriverTimeline timeline_;        // cycles at the Dante rate: the only ones whose audio is sent
    DriverTimeline graph_timeline_;  // cycles while the graph runs at another rate (refused)
    uint32_t graph_timeline_rate_;
    bool cycle_refused_ = false;     // this cycle runs at another rate: its audio is not written
    uint32_t cycle_frames_ = 0;      // the quantum this cycle was planned with (clock.duration)
    uint32_t previous_cycle_frames_ = 0;
    DriverTimeline* last_timeline_ = nullptr;  // the one that planned the last cycle
    uint32_t logged_mismatch_ = 0;   // main thread: the mismatch last logged
    CyclePlan cycle_{};       // the cycle the graph is running now
    int64_t cycle_wake_ns_ = 0;
    uint64_t cycle_serial_ = 0;    // bumped by every timer-driven cycle
    uint64_t written_serial_ = 0;  // the cycle whose audio is already in the rings
    FollowerTracker follower_;
    std::array<const int32_t*, SPA_AUDIO_MAX_CHANNELS> planes_{};
};

}  // namespace dante::spa
