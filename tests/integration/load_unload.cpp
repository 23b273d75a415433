// Loads and unloads the module 50 times into a real PipeWire context in this process and
// checks that every load creates the sink node, every unload removes it, nothing is left
// running (threads), and bad args are refused. Then a tenth as many times the full device
// on loopback: control plane, flows, and a receiver (source node, resolver thread) whose
// subscription names a device that does not exist. Where an avahi-daemon answers on the
// system bus, every unload finds that lookup in progress and must not wait out its
// timeout; without one (CI) the lookups fail at once and the cycles check nodes, threads
// and leaks only. Built with ASan/LSan in the sanitizer run, where any leak fails the
// test at exit.

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <chrono>
#include <string>

#include <pipewire/impl.h>
#include <pipewire/pipewire.h>

namespace {

int thread_count() {
    int n = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
        while (dirent* e = readdir(dir))
            if (e->d_name[0] != '.') ++n;
        closedir(dir);
    }
    return n;
}

struct Search {
    const char* name;
    bool found;
};

bool has_node(pw_context* context, const char* node_name) {
    Search search{node_name, false};
    pw_context_for_each_global(
        context,
        [](void* data, pw_global* global) -> int {
            auto* s = static_cast<Search*>(data);
            if (!pw_global_is_type(global, PW_TYPE_INTERFACE_Node)) return 0;
            const pw_properties* props = pw_global_get_properties(global);
            const char* name = props ? pw_properties_get(props, PW_KEY_NODE_NAME) : nullptr;
            if (name && std::strcmp(name, s->name) == 0) s->found = true;
            return 0;
        },
        &search);
    return search.found;
}

int failures = 0;
void expect(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 50;
    pw_init(&argc, &argv);
    pw_main_loop* main_loop = pw_main_loop_new(nullptr);
    pw_loop* loop = pw_main_loop_get_loop(main_loop);
    // The context plays the daemon's part (core.daemon), so the module registers its node
    // here rather than exporting it to a server; its socket goes to a private runtime dir.
    char runtime[] = "/tmp/dante-load-unload-XXXXXX";
    if (mkdtemp(runtime) == nullptr) return 1;
    setenv("XDG_RUNTIME_DIR", runtime, 1);
    pw_context* context = pw_context_new(
        loop, pw_properties_new(PW_KEY_CONFIG_NAME, "client.conf", "core.daemon", "true", nullptr), 0);
    if (context == nullptr || pw_context_find_factory(context, "adapter") == nullptr) {
        std::fprintf(stderr, "FAIL: no PipeWire context with the adapter factory\n");
        return 1;
    }
    const std::string tap = std::string("/tmp/dante-load-unload-") + std::to_string(getpid()) + ".bin";
    const std::string args = "{ dante.device-name = \"load-test\" audio.channels = 8 dante.debug.ring-tap = \"" + tap + "\" }";

    // One warm-up load, so lazily started PipeWire threads count in the baseline.
    if (pw_impl_module* m = pw_context_load_module(context, "libpipewire-module-dante-sink", args.c_str(), nullptr))
        pw_impl_module_destroy(m);
    const int baseline_threads = thread_count();

    for (int i = 0; i < iterations; ++i) {
        pw_impl_module* module = pw_context_load_module(context, "libpipewire-module-dante-sink", args.c_str(), nullptr);
        expect(module != nullptr, "load " + std::to_string(i) + ": " + std::strerror(errno));
        if (!module) break;
        pw_loop_iterate(loop, 0);
        expect(has_node(context, "dante_sink.load-test"), "load " + std::to_string(i) + " created the node");
        expect(thread_count() == baseline_threads + 1, "load " + std::to_string(i) + " started the tap thread");
        pw_impl_module_destroy(module);
        pw_loop_iterate(loop, 0);
        expect(!has_node(context, "dante_sink.load-test"), "unload " + std::to_string(i) + " removed the node");
        expect(thread_count() == baseline_threads, "unload " + std::to_string(i) + " left no thread");
    }

    // The full device on loopback (tai: no PTP traffic). Warm-up first, as above.
    const std::string full_args =
        "{ dante.device-name = \"load-test\" dante.interface = lo dante.clock.source = tai audio.channels = 2 "
        "dante.rx.channels = 2 dante.rx.subscriptions = [ { rx = 1 tx-channel = \"01\" tx-device = \"nobody-here\" } ] }";
    if (pw_impl_module* m = pw_context_load_module(context, "libpipewire-module-dante-sink", full_args.c_str(), nullptr))
        pw_impl_module_destroy(m);
    const int full_baseline = thread_count();
    double slowest_unload_ms = 0;
    for (int i = 0; i < std::max(1, iterations / 10); ++i) {
        const std::string which = "full device " + std::to_string(i);
        pw_impl_module* module =
            pw_context_load_module(context, "libpipewire-module-dante-sink", full_args.c_str(), nullptr);
        expect(module != nullptr, "load " + which + ": " + std::strerror(errno));
        if (!module) break;
        pw_loop_iterate(loop, 0);
        expect(has_node(context, "dante_sink.load-test"), which + " created the sink");
        expect(has_node(context, "dante_source.load-test"), which + " created the source");
        usleep(300 * 1000);  // let the resolver start its lookup
        const auto before = std::chrono::steady_clock::now();
        pw_impl_module_destroy(module);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - before).count();
        slowest_unload_ms = std::max(slowest_unload_ms, ms);
        pw_loop_iterate(loop, 0);
        expect(!has_node(context, "dante_sink.load-test") && !has_node(context, "dante_source.load-test"),
               which + " unload removed both nodes");
        expect(thread_count() == full_baseline, which + " unload left no thread");
    }
    // The resolver's lookups take up to 4 s; a cancelled one ends within 100 ms. The bound
    // is loose (sanitizers, a busy machine) but far below the lookup's timeout.
    expect(slowest_unload_ms < 2000, "unload with a lookup in progress took " + std::to_string(slowest_unload_ms) + " ms");
    std::printf("full device: slowest unload %.0f ms\n", slowest_unload_ms);

    for (const char* bad : {"{ audio.rate = 12345 }", "{ dante.bogus = 1 }", "{ audio.format = F64 }",
                            "{ dante.clock.source = ptp }"}) {
        errno = 0;
        pw_impl_module* module = pw_context_load_module(context, "libpipewire-module-dante-sink", bad, nullptr);
        expect(module == nullptr, std::string("bad args refused: ") + bad);
        if (module) pw_impl_module_destroy(module);
        expect(!has_node(context, "dante_sink.load-test"), std::string("no node after bad args: ") + bad);
    }

    pw_context_destroy(context);
    pw_main_loop_destroy(main_loop);
    pw_deinit();
    std::remove(tap.c_str());
    std::filesystem::remove_all(runtime);
    std::printf("%d load/unload cycles, %d failures\n", iterations, failures);
    return failures == 0 ? 0 : 1;
}
