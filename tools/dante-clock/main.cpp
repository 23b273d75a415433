// dante-clock: print the Dante sink's clock correlation as JSON, one line per update.
//
//   dante-clock [--target NODE_NAME] [--once] [--timeout SECONDS]
//
// Finds the node named NODE_NAME (default: the first node that publishes
// dante.clock.media-ns) and prints, at every property update (about once a second):
//
//   {"node":..., "id":..., "media_ns":..., "monotonic_ns":..., "rate":..., "rate_hz":...,
//    "generation":..., "state":..., "source":..., "master_id":..., "lead_ns":..., "latency_ns":...,
//    "age_ns":...}
//
// age_ns = CLOCK_MONOTONIC now − monotonic_ns when the line is printed: how old the
// published pair is. Media time at a monotonic instant m is media_ns + (m − monotonic_ns)
// × rate (src/clock/correlation.hpp does it exactly). --once prints one line and exits.
// Exit status: 0 success, 1 no such node within --timeout (default 10 s with --once,
// none otherwise) or the connection failed, 2 usage.

#include <pipewire/pipewire.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "clock/correlation.hpp"
#include "node_watch.hpp"

namespace {

struct App {
    pw_main_loop* loop = nullptr;
    bool once = false;
    bool printed = false;
    int status = 0;
};

int usage(const std::string& message) {
    if (!message.empty()) std::cerr << "dante-clock: " << message << "\n";
    std::cerr << "usage: dante-clock [--target NODE_NAME] [--once] [--timeout SECONDS]\n";
    return 2;
}

void on_props(App& app, uint32_t id, const dante::tools::Props& props) {
    const int64_t now = dante::tools::monotonic_now_ns();
    std::string error;
    const auto c = dante::Correlation::from_props(props, &error);
    if (!c) {
        std::cerr << "dante-clock: node " << id << ": " << error << "\n";
        return;
    }
    auto name = props.find("node.name");
    auto master = props.find("dante.clock.master-id");
    nlohmann::json line = {
        {"node", name != props.end() ? name->second : ""},
        {"id", id},
        {"media_ns", c->media_ns},
        {"monotonic_ns", c->monotonic_ns},
        {"rate", c->rate()},
        {"rate_hz", c->rate_hz},
        {"generation", c->generation},
        {"state", c->state},
        {"source", c->source},
        {"master_id", master != props.end() ? master->second : ""},
        {"lead_ns", c->lead_ns},
        {"latency_ns", c->latency_ns},
        {"age_ns", now - c->monotonic_ns},
    };
    std::cout << line.dump() << std::endl;
    app.printed = true;
    if (app.once) pw_main_loop_quit(app.loop);
}

void on_core_error(void* data, uint32_t id, int, int res, const char* message) {
    auto* app = static_cast<App*>(data);
    if (id != PW_ID_CORE) return;
    std::cerr << "dante-clock: PipeWire error: " << (message ? message : "") << " (" << res << ")\n";
    app->status = 1;
    pw_main_loop_quit(app->loop);
}

const struct pw_core_events kCoreEvents = {
    .version = PW_VERSION_CORE_EVENTS,
    .error = on_core_error,
};

void on_timeout(void* data, uint64_t) {
    auto* app = static_cast<App*>(data);
    if (!app->printed) {
        std::cerr << "dante-clock: no Dante node found in time\n";
        app->status = 1;
    }
    pw_main_loop_quit(app->loop);
}

void on_signal(void* data, int) { pw_main_loop_quit(static_cast<App*>(data)->loop); }

}  // namespace

int main(int argc, char** argv) {
    std::string target;
    App app;
    double timeout_s = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage("");
            return 0;
        }
        if (arg == "--once") {
            app.once = true;
            continue;
        }
        if (i + 1 >= argc) return usage("missing value for " + std::string(arg));
        const std::string value = argv[++i];
        if (arg == "--target") {
            target = value;
        } else if (arg == "--timeout") {
            try {
                timeout_s = std::stod(value);
            } catch (...) {
                return usage("bad --timeout");
            }
            if (timeout_s < 0) return usage("bad --timeout");
        } else {
            return usage("unknown option " + std::string(arg));
        }
    }
    if (timeout_s < 0) timeout_s = app.once ? 10.0 : 0.0;

    pw_init(&argc, &argv);
    app.loop = pw_main_loop_new(nullptr);
    pw_loop* loop = pw_main_loop_get_loop(app.loop);
    pw_loop_add_signal(loop, SIGINT, on_signal, &app);
    pw_loop_add_signal(loop, SIGTERM, on_signal, &app);
    pw_context* context = pw_context_new(loop, nullptr, 0);
    pw_core* core = context ? pw_context_connect(context, nullptr, 0) : nullptr;
    if (core == nullptr) {
        std::cerr << "dante-clock: cannot connect to PipeWire\n";
        if (context) pw_context_destroy(context);
        pw_main_loop_destroy(app.loop);
        return 1;
    }
    spa_hook core_listener{};
    pw_core_add_listener(core, &core_listener, &kCoreEvents, &app);
    if (timeout_s > 0) {
        spa_source* timer = pw_loop_add_timer(loop, on_timeout, &app);
        timespec value{static_cast<time_t>(timeout_s), static_cast<long>((timeout_s - static_cast<double>(static_cast<time_t>(timeout_s))) * 1e9)};
        pw_loop_update_timer(loop, timer, &value, nullptr, false);
    }
    {
        dante::tools::NodeWatch watch(core, target, [&](uint32_t id, const dante::tools::Props& props) {
            on_props(app, id, props);
        }, [&](uint32_t id) {
            std::cerr << "dante-clock: node " << id << " went away\n";
            app.status = 1;
            pw_main_loop_quit(app.loop);
        });
        pw_main_loop_run(app.loop);
    }
    spa_hook_remove(&core_listener);
    pw_core_disconnect(core);
    pw_context_destroy(context);
    pw_main_loop_destroy(app.loop);
    pw_deinit();
    if (app.status == 0 && app.once && !app.printed) app.status = 1;
    return app.status;
}
