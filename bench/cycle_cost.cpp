// dante-bench-cycle: what one graph cycle of the "api.dante.sink" SPA node costs, side by
// side with the floor any sink pays (a memcpy of the same audio) and with the per-cycle
// scheduling work (media-clock snapshot + DriverTimeline::plan()).
//
// The node is loaded through a real pw_context exactly as PipeWire loads it (factory
// mapped with pw_context_add_spa_lib, handle from pw_context_load_spa_handle), given a
// format, one buffer and its io areas, then spa_node_process() is called in a tight loop.
// Run it through bench/cycle_cost.sh (it sets SPA_PLUGIN_DIR); results in bench/RESULTS.md.
//
// Columns:
//   memcpy    - one memcpy of quantum x channels x 4 bytes, same buffers every cycle (warm).
//   ring-cpy  - per-channel memcpy into 65536-frame rings at advancing positions: what any
//               sink that keeps a TX ring pays at least.
//   node      - spa_node_process() of an instance started as a follower of a foreign clock
//               whose position.clock.nsec advances one quantum per cycle, so every call
//               renders a new position into the TX rings, as in a real run.
//   2nd-buf   - spa_node_process() of a second instance that is never started: its cycle
//               never advances, so since "drop a second buffer within one driver cycle" every
//               call after the first is the drop path (buffer parsing + a counter).
//   plan+snap - MediaClock::snapshot() (TAI) + DriverTimeline::plan(): the driver's own
//               per-cycle scheduling work, called directly from src/.

#include <pipewire/pipewire.h>
#include <spa/node/io.h>
#include <spa/node/node.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/param.h>
#include <spa/pod/builder.h>
#include <spa/utils/dict.h>
#include <spa/utils/result.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clock/tai_clock.hpp"
#include "driver/driver_timeline.hpp"

namespace {

constexpr uint32_t kRate = 48000;
constexpr uint32_t kRingFrames = 1u << 16;  // same as dante::Device::kRingFrames
constexpr int64_t kMarginNs = 1'000'000;    // same as DanteSinkNode::kRenderMarginNs

inline void escape(const void* p) { __asm__ __volatile__("" : : "g"(p) : "memory"); }

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct AlignedFree {
    void operator()(void* p) const { std::free(p); }
};
using AlignedBuf = std::unique_ptr<int32_t[], AlignedFree>;

// n samples starting `offset` bytes past a page boundary (the allocation owns the page).
int32_t* page_offset_samples(size_t n, size_t offset, AlignedBuf& owner) {
    const size_t bytes = (offset + n * sizeof(int32_t) + 4095) / 4096 * 4096;
    auto* base = static_cast<int32_t*>(std::aligned_alloc(4096, std::max<size_t>(bytes, 4096)));
    if (base == nullptr) {
        std::fprintf(stderr, "out of memory\n");
        std::exit(1);
    }
    owner.reset(base);
    int32_t* p = base + offset / sizeof(int32_t);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<int32_t>((i * 2654435761u) & 0x7fffff00);
    return p;
}

AlignedBuf aligned_samples(size_t n) {
    AlignedBuf owner;
    page_offset_samples(n, 0, owner);
    return owner;
}

// One spa_buffer with `channels` planes of `quantum` S32 samples, chunks filled.
struct PlanarBuffer {
    std::vector<AlignedBuf> owners;
    std::vector<int32_t*> planes;
    std::vector<spa_chunk> chunks;
    std::vector<spa_data> datas;
    spa_buffer buffer{};
    spa_buffer* ptr = &buffer;

    // Each plane starts plane_offset bytes past a page boundary. PipeWire's own buffers
    // are page-aligned memfd blocks with planes at multiples of maxsize, so 0 is what the
    // node sees in a real graph.
    PlanarBuffer(uint32_t channels, uint32_t quantum, size_t plane_offset)
        : owners(channels), chunks(channels), datas(channels) {
        const uint32_t bytes = quantum * static_cast<uint32_t>(sizeof(int32_t));
        for (uint32_t c = 0; c < channels; ++c) {
            planes.push_back(page_offset_samples(quantum, plane_offset, owners[c]));
            chunks[c].offset = 0;
            chunks[c].size = bytes;
            chunks[c].stride = sizeof(int32_t);
            chunks[c].flags = 0;
            datas[c].type = SPA_DATA_MemPtr;
            datas[c].flags = SPA_DATA_FLAG_READABLE;
            datas[c].fd = -1;
            datas[c].mapoffset = 0;
            datas[c].maxsize = bytes;
            datas[c].data = planes[c];
            datas[c].chunk = &chunks[c];
        }
        buffer.n_metas = 0;
        buffer.metas = nullptr;
        buffer.n_datas = channels;
        buffer.datas = datas.data();
    }
};

// One loaded instance of the node with its io areas.
class NodeUnderTest {
public:
    NodeUnderTest(pw_context* ctx, uint32_t channels) {
        const std::string ch = std::to_string(channels);
        const std::string rate = std::to_string(kRate);
        const spa_dict_item items[] = {
            {"audio.channels", ch.c_str()},
            {"audio.rate", rate.c_str()},
            {"dante.device-name", "bench"},
        };
        const spa_dict dict = SPA_DICT_INIT(items, 3);
        handle_ = pw_context_load_spa_handle(ctx, "api.dante.sink", &dict);
        if (handle_ == nullptr) fail("pw_context_load_spa_handle(api.dante.sink) failed (is SPA_PLUGIN_DIR set?)");
        void* iface = nullptr;
        if (spa_handle_get_interface(handle_, SPA_TYPE_INTERFACE_Node, &iface) < 0 || iface == nullptr)
            fail("no Node interface");
        node_ = static_cast<spa_node*>(iface);

        uint8_t storage[2048];
        spa_pod_builder b = SPA_POD_BUILDER_INIT(storage, sizeof storage);
        spa_audio_info_raw raw{};
        raw.format = SPA_AUDIO_FORMAT_S32P;
        raw.rate = kRate;
        raw.channels = channels;
        for (uint32_t c = 0; c < channels; ++c) raw.position[c] = SPA_AUDIO_CHANNEL_AUX0 + c;
        spa_pod* format = spa_format_audio_raw_build(&b, SPA_PARAM_Format, &raw);
        check(spa_node_port_set_param(node_, SPA_DIRECTION_INPUT, 0, SPA_PARAM_Format, 0, format), "set Format");
        check(spa_node_port_set_io(node_, SPA_DIRECTION_INPUT, 0, SPA_IO_Buffers, &io_, sizeof io_), "IO_Buffers");
        position_.clock.id = 1;
        clock_.id = 1;
        check(spa_node_set_io(node_, SPA_IO_Position, &position_, sizeof position_), "IO_Position");
        check(spa_node_set_io(node_, SPA_IO_Clock, &clock_, sizeof clock_), "IO_Clock");
    }

    ~NodeUnderTest() {
        if (started_) command(SPA_NODE_COMMAND_Pause);
        spa_node_port_use_buffers(node_, SPA_DIRECTION_INPUT, 0, 0, nullptr, 0);
        pw_unload_spa_handle(handle_);
    }
    NodeUnderTest(const NodeUnderTest&) = delete;
    NodeUnderTest& operator=(const NodeUnderTest&) = delete;

    void use_buffer(PlanarBuffer& buffer, uint32_t quantum) {
        check(spa_node_port_use_buffers(node_, SPA_DIRECTION_INPUT, 0, 0, &buffer.ptr, 1), "use_buffers");
        quantum_ = quantum;
        position_.clock.duration = quantum;
    }

    // Make this instance follow a foreign clock whose cycle start advances a quantum per
    // process(), so the node places each cycle at the next position.
    void start_following() {
        clock_.id = 2;  // position.clock.id stays 1: someone else drives
        position_.clock.nsec = static_cast<uint64_t>(now_ns());
        base_nsec_ = position_.clock.nsec;
        command(SPA_NODE_COMMAND_Start);
        started_ = true;
    }

    // One graph cycle's worth of process().
    int process() {
        if (started_) {
            frames_done_ += quantum_;
            position_.clock.nsec = base_nsec_ + frames_done_ * 125'000 / 6;  // 1e9 / 48000
        }
        io_.status = SPA_STATUS_HAVE_DATA;
        io_.buffer_id = 0;
        return spa_node_process(node_);
    }

    [[nodiscard]] int io_status() const { return io_.status; }

private:
    [[noreturn]] static void fail(const char* what) {
        std::fprintf(stderr, "dante-bench-cycle: %s\n", what);
        std::exit(2);
    }
    static void check(int res, const char* what) {
        if (res < 0) {
            std::fprintf(stderr, "dante-bench-cycle: %s: %s\n", what, spa_strerror(res));
            std::exit(2);
        }
    }
    void command(uint32_t id) {
        spa_command cmd{};
        cmd.pod.size = sizeof(spa_command_body);
        cmd.pod.type = SPA_TYPE_Object;
        cmd.body.body.type = SPA_TYPE_COMMAND_Node;
        cmd.body.body.id = id;
        check(spa_node_send_command(node_, &cmd), "send_command");
    }

    spa_handle* handle_ = nullptr;
    spa_node* node_ = nullptr;
    spa_io_buffers io_{};
    spa_io_position position_{};
    spa_io_clock clock_{};
    uint32_t quantum_ = 0;
    bool started_ = false;
    uint64_t base_nsec_ = 0;
    uint64_t frames_done_ = 0;
};

struct Op {
    const char* name;
    std::function<void()> once;
    uint64_t iterations = 0;
    std::vector<double> samples;  // ns per iteration, one per repetition
};

double run_batch(Op& op, uint64_t n) {
    const int64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; ++i) op.once();
    const int64_t t1 = now_ns();
    return static_cast<double>(t1 - t0) / static_cast<double>(n);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

struct Options {
    int reps = 21;
    double batch_ms = 5.0;
    double warmup_ms = 50.0;
    size_t plane_offset = 0;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "missing value for %s\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--reps") o.reps = std::max(3, std::atoi(next()));
        else if (a == "--batch-ms") o.batch_ms = std::max(0.1, std::atof(next()));
        else if (a == "--warmup-ms") o.warmup_ms = std::max(1.0, std::atof(next()));
        else if (a == "--plane-offset") o.plane_offset = static_cast<size_t>(std::atol(next())) & 4092;
        else {
            std::fprintf(stderr,
                         "usage: %s [--reps N] [--batch-ms MS] [--warmup-ms MS] [--plane-offset BYTES]\n"
                         "  --plane-offset: input planes start this many bytes (multiple of 4, < 4096) past a\n"
                         "  page boundary (default 0, as in PipeWire's buffers)\n"
                         "  each repetition times every operation once, interleaved; the table shows\n"
                         "  the median over repetitions (and the spread p10..p90 of the node column)\n",
                         argv[0]);
            std::exit(a == "--help" || a == "-h" ? 0 : 2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    if (std::getenv("SPA_PLUGIN_DIR") == nullptr)
        std::fprintf(stderr, "warning: SPA_PLUGIN_DIR is not set; the system plugin dir has no dante/libspa-dante\n");

    pw_init(&argc, &argv);
    pw_main_loop* loop = pw_main_loop_new(nullptr);
    pw_context* ctx = pw_context_new(pw_main_loop_get_loop(loop), nullptr, 0);
    if (ctx == nullptr) {
        std::fprintf(stderr, "pw_context_new failed\n");
        return 2;
    }
    if (pw_context_add_spa_lib(ctx, "api.dante.*", "dante/libspa-dante") < 0) {
        std::fprintf(stderr, "pw_context_add_spa_lib failed\n");
        return 2;
    }

    const uint32_t quanta[] = {32, 256, 1024};
    const uint32_t channel_counts[] = {2, 16, 64};

#ifdef __OPTIMIZE__
    const char* optimized = "yes";
#else
    const char* optimized = "NO";
#endif
    std::printf("dante-bench-cycle: %d repetitions x %.1f ms batches per operation, interleaved; "
                "medians in ns per cycle (input planes at page offset %zu; bench binary optimized: %s; "
                "node from SPA_PLUGIN_DIR=%s)\n\n",
                opt.reps, opt.batch_ms, opt.plane_offset, optimized,
                std::getenv("SPA_PLUGIN_DIR") ? std::getenv("SPA_PLUGIN_DIR") : "(unset)");
    std::printf("%7s %4s %8s | %9s %9s | %10s %8s %9s %17s | %8s | %9s\n", "quantum", "ch", "bytes", "memcpy",
                "ring-cpy", "node", "node/cpy", "node/ring", "node p10..p90", "2nd-buf", "plan+snap");

    for (const uint32_t channels : channel_counts) {
        NodeUnderTest fixed(ctx, channels);
        NodeUnderTest advancing(ctx, channels);
        for (const uint32_t quantum : quanta) {
            PlanarBuffer buf_fixed(channels, quantum, opt.plane_offset);
            PlanarBuffer buf_adv(channels, quantum, opt.plane_offset);
            fixed.use_buffer(buf_fixed, quantum);
            advancing.use_buffer(buf_adv, quantum);
            if (quantum == quanta[0]) advancing.start_following();

            const size_t total = static_cast<size_t>(quantum) * channels;
            const size_t bytes = total * sizeof(int32_t);
            AlignedBuf cpy_src = aligned_samples(total);
            AlignedBuf cpy_dst = aligned_samples(total);
            std::vector<AlignedBuf> rings;
            for (uint32_t c = 0; c < channels; ++c) rings.push_back(aligned_samples(kRingFrames));
            uint64_t ring_pos = 0;

            dante::TaiClock clock(dante::make_system_tai_reference());
            dante::DriverTimeline timeline(kRate, kMarginNs);
            int64_t plan_now = clock.snapshot().monotonic_ns;

            int bad_status = 0;
            std::vector<Op> ops;
            ops.push_back({"memcpy", [&] {
                               std::memcpy(cpy_dst.get(), cpy_src.get(), bytes);
                               escape(cpy_dst.get());
                           }});
            ops.push_back({"2nd-buf", [&] {
                               if (fixed.process() != SPA_STATUS_HAVE_DATA) ++bad_status;
                           }});
            ops.push_back({"ring-cpy", [&] {
                               const size_t at = ring_pos & (kRingFrames - 1);
                               for (uint32_t c = 0; c < channels; ++c) {
                                   std::memcpy(rings[c].get() + at, buf_adv.planes[c], quantum * sizeof(int32_t));
                                   escape(rings[c].get());
                               }
                               ring_pos += quantum;
                           }});
            ops.push_back({"node", [&] {
                               if (advancing.process() != SPA_STATUS_HAVE_DATA) ++bad_status;
                           }});
            ops.push_back({"plan", [&] {
                               const dante::ClockSnapshot snap = clock.snapshot();
                               const dante::CyclePlan plan = timeline.plan(snap, plan_now, quantum);
                               plan_now = plan.next_nsec;  // the timer fires exactly on time
                               escape(&plan);
                           }});

            // Warm up and size the batches so each takes about batch_ms.
            for (Op& op : ops) {
                uint64_t n = 1;
                double spent = 0;
                double per = 0;
                while (spent < opt.warmup_ms * 1e6) {
                    per = run_batch(op, n);
                    spent += per * static_cast<double>(n);
                    n *= 2;
                }
                op.iterations = std::max<uint64_t>(16, static_cast<uint64_t>(opt.batch_ms * 1e6 / std::max(per, 1.0)));
            }
            for (int r = 0; r < opt.reps; ++r)
                for (Op& op : ops) op.samples.push_back(run_batch(op, op.iterations));

            if (bad_status) std::fprintf(stderr, "warning: %d process() calls did not return HAVE_DATA\n", bad_status);
            const double m_cpy = median(ops[0].samples);
            const double m_drop = median(ops[1].samples);
            const double m_ring = median(ops[2].samples);
            const double m_node = median(ops[3].samples);
            const double m_plan = median(ops[4].samples);
            char spread[32];
            std::snprintf(spread, sizeof spread, "%.0f..%.0f", percentile(ops[3].samples, 0.1),
                          percentile(ops[3].samples, 0.9));
            std::printf("%7u %4u %8zu | %9.1f %9.1f | %10.1f %8.2f %9.2f %17s | %8.1f | %9.1f\n", quantum, channels,
                        bytes, m_cpy, m_ring, m_node, m_node / m_cpy, m_node / m_ring, spread, m_drop, m_plan);
            std::fflush(stdout);
        }
    }

    std::printf("\nmemcpy    = one memcpy of quantum x channels x 4 bytes, same buffers every cycle (warm)\n"
                "ring-cpy  = per-channel memcpy into %u-frame rings at advancing positions (the ring floor)\n"
                "node      = spa_node_process(), node started (follower), a new position every cycle\n"
                "2nd-buf   = spa_node_process() of a never-started node: a repeat within one cycle, dropped\n"
                "plan+snap = MediaClock::snapshot() (TAI) + DriverTimeline::plan(), the driver's per-cycle scheduling\n",
                kRingFrames);

    pw_context_destroy(ctx);
    pw_main_loop_destroy(loop);
    pw_deinit();
    return 0;
}
