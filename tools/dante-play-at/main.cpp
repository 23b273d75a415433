// dante-play-at: play a WAV file so that its first frame leaves at an exact Dante timestamp.
//
//   dante-play-at [--target NODE_NAME] --at-media-second S FILE.wav
//   dante-play-at [--target NODE_NAME] --sound-at-media-ns T [--receiver-latency-ns R] FILE.wav
//
// --at-media-second S: the first frame gets Dante timestamp S × rate (S may have decimals;
//   the product is floored). --sound-at-media-ns T: the first frame sounds at media time T
//   on a receiver with latency R (default: the node's dante.tx.latency-ns), i.e. it is
//   written at graph position sample_at(T − R) (src/clock/correlation.hpp).
//
// How: a pw_stream playback client of the Dante sink. The sink drives the graph and puts
// the Dante timestamp of each cycle's first frame in spa_io_position.clock.position, which
// the stream sees through io_changed(SPA_IO_Position). In every process callback frame k of
// the buffer has timestamp position + k: silence before the target, the file's frames from
// the target on, silence after; then the stream drains and the tool exits. Cycles are only
// trusted once the driver is the Dante sink (clock name "dante.*") and the position agrees
// with the node's published clock; until then the stream plays silence.
//
// Prints one JSON line with the timestamps it used. Exit status: 0 played, 1 failure (no
// node, too late, the position jumped while playing, timeout), 2 usage.

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/node/io.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "clock/correlation.hpp"
#include "node_watch.hpp"
#include "wav_reader.hpp"

namespace {

using dante::Correlation;

int usage(const std::string& message) {
    if (!message.empty()) std::cerr << "dante-play-at: " << message << "\n";
    std::cerr << "usage: dante-play-at [--target NODE_NAME] --at-media-second S FILE.wav\n"
                 "       dante-play-at [--target NODE_NAME] --sound-at-media-ns T [--receiver-latency-ns R] FILE.wav\n"
                 "       [--timeout SECONDS]\n";
    return 2;
}

// "12", "12.25": S as num / den (den a power of ten).
bool parse_seconds(std::string_view text, dante::u128& num, dante::u128& den) {
    num = 0;
    den = 1;
    bool dot = false, digits = false;
    for (char c : text) {
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9') return false;
        if (num > (static_cast<dante::u128>(1) << 100)) return false;
        num = num * 10 + static_cast<unsigned>(c - '0');
        if (dot) den *= 10;
        digits = true;
    }
    return digits;
}

struct App {
    // configuration
    std::string target_name;
    std::string file;
    std::optional<std::string> at_second;
    std::optional<int64_t> sound_at_ns;
    std::optional<int64_t> receiver_latency_ns;
    double timeout_s = 0;

    dante::tools::Wav wav;
    pw_main_loop* loop = nullptr;
    pw_loop* main = nullptr;
    pw_core* core = nullptr;
    pw_stream* stream = nullptr;
    spa_hook stream_listener{};
    spa_source* done_event = nullptr;
    int status = 0;
    bool draining = false;

    // set on the main loop before the stream connects, read-only afterwards
    Correlation corr;
    uint64_t target = 0;  // Dante timestamp of the file's first frame
    uint64_t generation = 0;
    bool generation_changed = false;
    std::string node_name;

    // the data thread's state (read by the main loop only after `finished`)
    std::atomic<spa_io_position*> position{nullptr};
    std::atomic<bool> finished{false};
    bool trusted = false;
    bool late = false;
    uint64_t first_trusted_position = 0;
    uint64_t untrusted_cycles = 0;
    uint64_t cycles = 0;
    uint64_t start_cycle_position = 0;  // the cycle holding the first frame
    uint32_t start_cycle_duration = 0;
    uint64_t end_cycle_position = 0;    // the cycle holding the last frame
    uint64_t expected_next = 0;
    uint64_t discontinuities = 0;
    uint64_t frames_written = 0;
    char clock_name[64] = {};
};

// ------------------------------------------------------------------ the data thread

void fill(App& app, uint8_t* dst, uint32_t frames, uint64_t first_ts) {
    const uint32_t ch = app.wav.channels;
    const size_t stride = ch * 4u;
    std::memset(dst, 0, frames * stride);
    const uint64_t begin = app.target, end = app.target + app.wav.frames;
    const uint64_t from = std::max(begin, first_ts), to = std::min(end, first_ts + frames);
    if (from >= to) return;
    const size_t src = (from - begin) * ch;
    const size_t count = (to - from) * ch;
    uint8_t* out = dst + (from - first_ts) * stride;
    if (app.wav.is_float)
        std::memcpy(out, app.wav.f32.data() + src, count * 4);
    else
        std::memcpy(out, app.wav.s32.data() + src, count * 4);
    app.frames_written += to - from;
}

bool position_trusted(App& app, const spa_io_position* pos) {
    if (pos == nullptr || pos->clock.duration == 0) return false;
    if (std::strncmp(pos->clock.name, "dante.", 6) != 0) return false;
    // The cycle renders about `lead` ahead of media now: accept anything within a second.
    const int64_t media_now = app.corr.media_ns_at(static_cast<int64_t>(pos->clock.nsec));
    const uint64_t now = app.corr.sample_at(media_now);
    const uint64_t slack = app.corr.rate_hz;
    return pos->clock.position + slack >= now && pos->clock.position <= now + slack;
}

void on_process(void* data) {
    auto& app = *static_cast<App*>(data);
    pw_buffer* b = pw_stream_dequeue_buffer(app.stream);
    if (b == nullptr) return;
    spa_data& d = b->buffer->datas[0];
    if (d.data == nullptr) {
        pw_stream_queue_buffer(app.stream, b);
        return;
    }
    const uint32_t stride = app.wav.channels * 4u;
    uint32_t frames = d.maxsize / stride;
    if (b->requested) frames = static_cast<uint32_t>(std::min<uint64_t>(frames, b->requested));
    const spa_io_position* pos = app.position.load(std::memory_order_acquire);
    const bool finished = app.finished.load(std::memory_order_relaxed);

    if (!finished && position_trusted(app, pos)) {
        const uint64_t p = pos->clock.position;
        frames = static_cast<uint32_t>(std::min<uint64_t>(frames, pos->clock.duration));
        if (!app.trusted) {
            app.trusted = true;
            app.first_trusted_position = p;
            std::memcpy(app.clock_name, pos->clock.name, sizeof app.clock_name - 1);
            if (p > app.target) {  // the target frame's cycle has already run
                app.late = true;
                app.finished.store(true, std::memory_order_release);
                pw_loop_signal_event(app.main, app.done_event);
            }
        }
        if (!app.late) {
            ++app.cycles;
            const bool playing = p + frames > app.target && p < app.target + app.wav.frames;
            if (app.expected_next != 0 && p != app.expected_next) {
                // A jump of the graph position: cycles we never saw (an xrun). It matters once
                // we have written, or when the frames jumped over were the file's: then the
                // cycle holding the target may itself be among them.
                const bool skipped_file_frames = p > app.expected_next && p > app.target &&
                                                 app.expected_next < app.target + app.wav.frames;
                if (app.frames_written > 0 || skipped_file_frames) ++app.discontinuities;
            }
            if (p <= app.target && app.target < p + frames) {
                app.start_cycle_position = p;
                app.start_cycle_duration = frames;
            }
            if (playing) fill(app, static_cast<uint8_t*>(d.data), frames, p);
            else std::memset(d.data, 0, frames * stride);
            app.expected_next = p + frames;
            if (p + frames >= app.target + app.wav.frames) {
                app.end_cycle_position = p;
                app.finished.store(true, std::memory_order_release);
                pw_loop_signal_event(app.main, app.done_event);
            }
        } else {
            std::memset(d.data, 0, frames * stride);
        }
    } else {
        if (!app.trusted) ++app.untrusted_cycles;
        std::memset(d.data, 0, frames * stride);
    }
    d.chunk->offset = 0;
    d.chunk->stride = static_cast<int32_t>(stride);
    d.chunk->size = frames * stride;
    pw_stream_queue_buffer(app.stream, b);
}

void on_io_changed(void* data, uint32_t id, void* area, uint32_t size) {
    auto& app = *static_cast<App*>(data);
    if (id != SPA_IO_Position) return;
    app.position.store(area && size >= sizeof(spa_io_position) ? static_cast<spa_io_position*>(area) : nullptr,
                       std::memory_order_release);
}

// ------------------------------------------------------------------ the main loop

void report_and_quit(App& app) {
    const bool ok = app.finished.load(std::memory_order_acquire) && !app.late && app.discontinuities == 0 &&
                    app.frames_written == app.wav.frames;
    nlohmann::json line = {
        {"node", app.node_name},
        {"rate_hz", app.corr.rate_hz},
        {"channels", app.wav.channels},
        {"frames", app.wav.frames},
        {"format", app.wav.is_float ? "F32" : "S32"},
        {"target_position", app.target},
        {"target_media_ns", app.corr.media_ns_of(app.target)},
        {"end_position", app.target + app.wav.frames},
        {"first_trusted_position", app.first_trusted_position},
        {"untrusted_cycles", app.untrusted_cycles},
        {"start_cycle_position", app.start_cycle_position},
        {"start_offset_in_cycle", app.start_cycle_position ? app.target - app.start_cycle_position : 0},
        {"start_cycle_duration", app.start_cycle_duration},
        {"end_cycle_position", app.end_cycle_position},
        {"frames_written", app.frames_written},
        {"cycles", app.cycles},
        {"discontinuities", app.discontinuities},
        {"clock_name", std::string(app.clock_name)},
        {"clock_generation_changed", app.generation_changed},
        {"late", app.late},
        {"ok", ok},
    };
    if (app.sound_at_ns) {
        line["sound_at_media_ns"] = *app.sound_at_ns;
        line["receiver_latency_ns"] = app.receiver_latency_ns.value_or(app.corr.latency_ns);
    }
    std::cout << line.dump() << std::endl;
    if (app.late) std::cerr << "dante-play-at: too late: the target's cycle had already run\n";
    if (app.discontinuities) std::cerr << "dante-play-at: the graph position jumped while playing\n";
    if (!ok && app.status == 0) app.status = 1;
    pw_main_loop_quit(app.loop);
}

void on_drained(void* data) { report_and_quit(*static_cast<App*>(data)); }

void on_done_event(void* data, uint64_t) {
    auto& app = *static_cast<App*>(data);
    if (app.draining) return;
    app.draining = true;
    if (app.late) {
        report_and_quit(app);
        return;
    }
    pw_stream_flush(app.stream, true);  // emits drained once the queued audio is consumed
}

void on_state_changed(void* data, enum pw_stream_state, enum pw_stream_state state, const char* error) {
    auto& app = *static_cast<App*>(data);
    if (state == PW_STREAM_STATE_ERROR) {
        std::cerr << "dante-play-at: stream error: " << (error ? error : "") << "\n";
        app.status = 1;
        pw_main_loop_quit(app.loop);
    }
}

const struct pw_stream_events kStreamEvents = {
    .version = PW_VERSION_STREAM_EVENTS,
    .state_changed = on_state_changed,
    .io_changed = on_io_changed,
    .process = on_process,
    .drained = on_drained,
};

bool start_stream(App& app) {
    pw_properties* props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Playback",
                                             PW_KEY_MEDIA_ROLE, "Music", PW_KEY_NODE_NAME, "dante-play-at",
                                             PW_KEY_TARGET_OBJECT, app.node_name.c_str(),
                                             PW_KEY_NODE_DONT_RECONNECT, "true", nullptr);
    pw_properties_setf(props, PW_KEY_NODE_RATE, "1/%u", app.corr.rate_hz);
    app.stream = pw_stream_new(app.core, "dante-play-at", props);
    if (app.stream == nullptr) return false;
    pw_stream_add_listener(app.stream, &app.stream_listener, &kStreamEvents, &app);

    uint8_t buffer[1024];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
    spa_audio_info_raw info{};
    info.format = app.wav.is_float ? SPA_AUDIO_FORMAT_F32 : SPA_AUDIO_FORMAT_S32;
    info.rate = app.wav.rate;
    info.channels = app.wav.channels;
    if (app.wav.channels == 1) {
        info.position[0] = SPA_AUDIO_CHANNEL_MONO;
    } else if (app.wav.channels == 2) {
        info.position[0] = SPA_AUDIO_CHANNEL_FL;
        info.position[1] = SPA_AUDIO_CHANNEL_FR;
    } else {
        for (uint32_t i = 0; i < app.wav.channels && i < SPA_AUDIO_MAX_CHANNELS; ++i)
            info.position[i] = SPA_AUDIO_CHANNEL_AUX0 + i;
    }
    const spa_pod* params[1] = {spa_format_audio_raw_build(&builder, SPA_PARAM_EnumFormat, &info)};
    const auto flags = static_cast<pw_stream_flags>(PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
                                                    PW_STREAM_FLAG_RT_PROCESS);
    return pw_stream_connect(app.stream, PW_DIRECTION_OUTPUT, PW_ID_ANY, flags, params, 1) >= 0;
}

void on_props(App& app, const dante::tools::Props& props) {
    std::string error;
    auto c = Correlation::from_props(props, &error);
    if (!c) {
        std::cerr << "dante-play-at: " << error << "\n";
        return;
    }
    if (app.stream != nullptr) {  // already playing: only watch for clock discontinuities
        if (c->generation != app.generation) app.generation_changed = true;
        return;
    }
    app.corr = *c;
    app.generation = c->generation;
    auto name = props.find(PW_KEY_NODE_NAME);
    app.node_name = name != props.end() ? name->second : app.target_name;
    if (app.wav.rate != c->rate_hz) {
        std::cerr << "dante-play-at: the file is at " << app.wav.rate << " Hz, the node at " << c->rate_hz
                  << " Hz (no resampling: it would move the samples)\n";
        app.status = 1;
        pw_main_loop_quit(app.loop);
        return;
    }
    if (app.at_second) {
        dante::u128 num = 0, den = 1;
        parse_seconds(*app.at_second, num, den);
        app.target = static_cast<uint64_t>(num * c->rate_hz / den);
    } else {
        app.target = c->graph_position_for(*app.sound_at_ns, app.receiver_latency_ns.value_or(c->latency_ns));
    }
    // Refuse a target the graph has already passed (or will pass before we connect).
    const int64_t now = dante::tools::monotonic_now_ns();
    const uint64_t rendering = c->sample_at(c->media_ns_at(now) + c->lead_ns);
    const uint64_t margin = c->rate_hz / 5;  // 200 ms to connect and start
    std::cerr << "dante-play-at: node " << app.node_name << ", target position " << app.target << " (media "
              << c->media_ns_of(app.target) << " ns), graph now at about " << rendering << "\n";
    if (app.target < rendering + margin) {
        app.late = true;
        std::cerr << "dante-play-at: the target is " << (static_cast<double>(rendering) - static_cast<double>(app.target)) / c->rate_hz
                  << " s in the past (or less than 200 ms ahead)\n";
        app.status = 1;
        pw_main_loop_quit(app.loop);
        return;
    }
    if (app.timeout_s <= 0) {
        // until the end of the file, plus 10 s
        const double ahead = static_cast<double>(app.target + app.wav.frames - rendering) / c->rate_hz;
        app.timeout_s = ahead + 10.0;
    }
    spa_source* timer = pw_loop_add_timer(app.main, [](void* data, uint64_t) {
        auto& a = *static_cast<App*>(data);
        std::cerr << "dante-play-at: timed out\n";
        a.status = 1;
        if (a.finished.load(std::memory_order_acquire)) report_and_quit(a);
        else pw_main_loop_quit(a.loop);
    }, &app);
    timespec t{static_cast<time_t>(app.timeout_s), 0};
    pw_loop_update_timer(app.main, timer, &t, nullptr, false);
    if (!start_stream(app)) {
        std::cerr << "dante-play-at: cannot create the stream\n";
        app.status = 1;
        pw_main_loop_quit(app.loop);
    }
}

void on_signal(void* data, int) {
    auto& app = *static_cast<App*>(data);
    app.status = 1;
    pw_main_loop_quit(app.loop);
}

}  // namespace

int main(int argc, char** argv) {
    App app;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage("");
            return 0;
        }
        if (!arg.starts_with("--")) {
            if (!app.file.empty()) return usage("more than one file");
            app.file = arg;
            continue;
        }
        if (i + 1 >= argc) return usage("missing value for " + std::string(arg));
        const std::string value = argv[++i];
        int64_t number = 0;
        if (arg == "--target") {
            app.target_name = value;
        } else if (arg == "--at-media-second") {
            dante::u128 num = 0, den = 1;
            if (!parse_seconds(value, num, den)) return usage("bad --at-media-second");
            app.at_second = value;
        } else if (arg == "--sound-at-media-ns") {
            if (!Correlation::parse_int(value, number) || number < 0) return usage("bad --sound-at-media-ns");
            app.sound_at_ns = number;
        } else if (arg == "--receiver-latency-ns") {
            if (!Correlation::parse_int(value, number) || number < 0) return usage("bad --receiver-latency-ns");
            app.receiver_latency_ns = number;
        } else if (arg == "--timeout") {
            if (!Correlation::parse_int(value, number) || number <= 0) return usage("bad --timeout");
            app.timeout_s = static_cast<double>(number);
        } else {
            return usage("unknown option " + std::string(arg));
        }
    }
    if (app.file.empty()) return usage("no file");
    if (app.at_second.has_value() == app.sound_at_ns.has_value())
        return usage("give exactly one of --at-media-second and --sound-at-media-ns");
    if (app.receiver_latency_ns && !app.sound_at_ns) return usage("--receiver-latency-ns goes with --sound-at-media-ns");
    std::string error;
    if (!dante::tools::read_wav(app.file, app.wav, error)) {
        std::cerr << "dante-play-at: " << app.file << ": " << error << "\n";
        return 1;
    }
    if (app.wav.frames == 0) {
        std::cerr << "dante-play-at: " << app.file << ": no frames\n";
        return 1;
    }

    pw_init(&argc, &argv);
    app.loop = pw_main_loop_new(nullptr);
    app.main = pw_main_loop_get_loop(app.loop);
    pw_loop_add_signal(app.main, SIGINT, on_signal, &app);
    pw_loop_add_signal(app.main, SIGTERM, on_signal, &app);
    app.done_event = pw_loop_add_event(app.main, on_done_event, &app);
    // client-rt.conf (as pw-cat uses) loads module-rt: the stream's data thread then runs
    // SCHED_FIFO where allowed, so it does not miss cycles under load.
    pw_context* context =
        pw_context_new(app.main, pw_properties_new(PW_KEY_CONFIG_NAME, "client-rt.conf", nullptr), 0);
    app.core = context ? pw_context_connect(context, nullptr, 0) : nullptr;
    if (app.core == nullptr) {
        std::cerr << "dante-play-at: cannot connect to PipeWire\n";
        return 1;
    }
    spa_source* find_timer = pw_loop_add_timer(app.main, [](void* data, uint64_t) {
        auto& a = *static_cast<App*>(data);
        if (a.stream == nullptr && a.status == 0) {
            std::cerr << "dante-play-at: no Dante node found in time\n";
            a.status = 1;
            pw_main_loop_quit(a.loop);
        }
    }, &app);
    timespec find_timeout{10, 0};
    pw_loop_update_timer(app.main, find_timer, &find_timeout, nullptr, false);
    {
        dante::tools::NodeWatch watch(app.core, app.target_name,
                                      [&](uint32_t, const dante::tools::Props& props) { on_props(app, props); },
                                      [&](uint32_t) {
                                          std::cerr << "dante-play-at: the node went away\n";
                                          app.status = 1;
                                          pw_main_loop_quit(app.loop);
                                      });
        pw_main_loop_run(app.loop);
        if (app.stream) {
            pw_stream_disconnect(app.stream);
            pw_stream_destroy(app.stream);
        }
    }
    pw_core_disconnect(app.core);
    pw_context_destroy(context);
    pw_main_loop_destroy(app.loop);
    pw_deinit();
    return app.status;
}
