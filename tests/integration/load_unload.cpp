// Loads and unloads the module 50 times into a real PipeWire context in this process and
// checks that every load creates the sink node, every unload removes it, nothing is left
// running (threads), and bad args are refused. Built with ASan/LSan in the sanitizer run,
// where any leak fails the test at exit.

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
