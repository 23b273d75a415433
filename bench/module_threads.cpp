// Threads a loaded device adds to the process, by name, and how long unloading it takes
// (issue #12). Loads libpipewire-module-dante-sink on `interface` into a PipeWire context
// in this process (the way tests/integration/load_unload.cpp does), lets its services
// run, lists the threads that appeared (/proc/self/task/*/comm), and times
// pw_impl_module_destroy(). Run through module_threads.sh, which gives it a private
// network namespace with a veth interface.

#include <dirent.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <pipewire/impl.h>
#include <pipewire/pipewire.h>

namespace {

std::map<std::string, int> thread_names() {
    std::map<std::string, int> names;
    if (DIR* dir = opendir("/proc/self/task")) {
        while (dirent* e = readdir(dir)) {
            if (e->d_name[0] == '.') continue;
            std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
            std::string name;
            std::getline(comm, name);
            ++names[name];
        }
        closedir(dir);
    }
    return names;
}

double now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

void run_for(pw_loop* loop, double ms) {
    const double end = now_ms() + ms;
    while (now_ms() < end) pw_loop_iterate(loop, 10);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s INTERFACE [ITERATIONS]\n", argv[0]);
        return 2;
    }
    const std::string iface = argv[1];
    const int iterations = argc > 2 ? std::atoi(argv[2]) : 5;
    pw_init(&argc, &argv);
    pw_main_loop* main_loop = pw_main_loop_new(nullptr);
    pw_loop* loop = pw_main_loop_get_loop(main_loop);
    char runtime[] = "/tmp/dante-module-threads-XXXXXX";
    if (mkdtemp(runtime) == nullptr) return 1;
    setenv("XDG_RUNTIME_DIR", runtime, 1);
    pw_context* context =
        pw_context_new(loop, pw_properties_new(PW_KEY_CONFIG_NAME, "client.conf", "core.daemon", "true", nullptr), 0);
    if (context == nullptr) return 1;
    const std::string args =
        "{ dante.device-name = \"threads\" audio.channels = 2 dante.interface = \"" + iface + "\" }";

    // Warm-up, so PipeWire's lazily started threads are in the baseline.
    if (pw_impl_module* m = pw_context_load_module(context, "libpipewire-module-dante-sink", args.c_str(), nullptr))
        pw_impl_module_destroy(m);
    const auto baseline = thread_names();

    std::vector<double> unload_ms;
    for (int i = 0; i < iterations; ++i) {
        pw_impl_module* module =
            pw_context_load_module(context, "libpipewire-module-dante-sink", args.c_str(), nullptr);
        if (!module) {
            std::fprintf(stderr, "load failed: %s\n", std::strerror(errno));
            return 1;
        }
        run_for(loop, 1500);  // services settle: PTP elects itself, mDNS probes, heartbeats
        if (i == 0) {
            int added = 0;
            std::printf("threads added by one device:\n");
            for (const auto& [name, count] : thread_names()) {
                const auto it = baseline.find(name);
                const int extra = count - (it == baseline.end() ? 0 : it->second);
                if (extra <= 0) continue;
                std::printf("  %-16s x%d\n", name.c_str(), extra);
                added += extra;
            }
            std::printf("  total %d\n", added);
        }
        const double start = now_ms();
        pw_impl_module_destroy(module);
        unload_ms.push_back(now_ms() - start);
        pw_loop_iterate(loop, 0);
    }
    std::sort(unload_ms.begin(), unload_ms.end());
    std::printf("unload (pw_impl_module_destroy) over %d runs: min %.2f ms, median %.2f ms, max %.2f ms\n", iterations,
                unload_ms.front(), unload_ms[unload_ms.size() / 2], unload_ms.back());
    pw_context_destroy(context);
    pw_main_loop_destroy(main_loop);
    pw_deinit();
    std::filesystem::remove_all(runtime);
    return 0;
}
