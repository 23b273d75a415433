// pipewire-dante-ptp: the privileged half of the desktop setup. It runs the built-in PTP
// engine on one interface (ports 319/320 need root or CAP_NET_BIND_SERVICE) and shares the
// media clock through a read-only clock page (src/ptp/clock_page.hpp) that any number of
// unprivileged PipeWire sessions map. It reads nothing from them: a user can make it do
// nothing but serve the clock.
//
//   pipewire-dante-ptp --interface IF [--version 1|2|auto] [--domain N] [--servo linreg|pi]
//                      [--runtime-dir DIR]
//
// Installed as the systemd unit pipewire-dante-ptp@IF.service (conf/systemd/); the same
// command runs by hand as root. Logs one line per change of clock state or leader to
// stderr (the journal). It follows the interface's address: renumbered (DHCP, a
// link-local fallback), the engine rebinds its sockets there and keeps its lock, so the
// sessions reading the page see no change. Exit status: 0 on SIGINT/SIGTERM (the page is withdrawn), 1 if the
// interface or the page cannot be had (systemd restarts it), 2 for bad arguments.

#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

#include "common/ptp_cli.hpp"
#include "net/ipv4.hpp"
#include "net/link_watcher.hpp"
#include "ptp/clock_page.hpp"
#include "ptp/ptp_service.hpp"
#include "util/clock_now.hpp"

namespace {

constexpr int64_t kPublishIntervalNs = 20'000'000;  // 50 Hz: readers see each servo step within 20 ms
// How often the interface's address is read (getifaddrs): a renumbering is followed within
// a second, as a device in PipeWire follows it.
constexpr int64_t kAddressCheckNs = 1'000'000'000;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

int usage_error(const std::string& message) {
    std::fprintf(stderr, "pipewire-dante-ptp: %s\n", message.c_str());
    std::fprintf(stderr,
                 "usage: pipewire-dante-ptp --interface IF [--version 1|2|auto] [--domain N] [--servo linreg|pi] "
                 "[--runtime-dir DIR]\n");
    return 2;
}

uint64_t random_instance() {
    std::random_device device;
    return (uint64_t{device()} << 32) ^ device();
}

}  // namespace

int main(int argc, char** argv) {
    using namespace dante;
    ptp::PtpServiceOptions options;
    std::string dir = ptp::clock_page_dir();
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::printf(
                "usage: pipewire-dante-ptp --interface IF [--version 1|2|auto] [--domain N] [--servo linreg|pi] "
                "[--runtime-dir DIR]\n");
            return 0;
        }
        if (i + 1 >= argc) return usage_error("missing value for " + std::string(arg));
        const std::string_view value = argv[++i];
        if (auto applied = tools::apply_ptp_option(arg, value, options, true)) {
            if (!applied->empty()) return usage_error(*applied);
            continue;
        }
        if (arg == "--runtime-dir") {
            if (value.empty() || value[0] != '/') return usage_error("--runtime-dir must be an absolute path");
            dir = std::string(value);
        } else {
            return usage_error("unknown option " + std::string(arg));
        }
    }
    if (options.interface.empty()) return usage_error("--interface IF is required");

    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    ptp::PtpService service(options);
    std::string error;
    if (!service.start(error)) {
        std::fprintf(stderr, "pipewire-dante-ptp: %s\n", error.c_str());
        return 1;
    }
    auto writer = ptp::ClockPageWriter::create(dir, options.interface, error);
    if (!writer) {
        std::fprintf(stderr, "pipewire-dante-ptp: %s\n", error.c_str());
        return 1;
    }
    ptp::SharedPtpState state;
    state.instance = random_instance();
    state.started_mono_ns = monotonic_now_ns();
    state.pid = static_cast<int32_t>(::getpid());
    state.version = options.version == ptp::PtpVersion::v2 ? 2 : 1;
    state.domain = options.domain;
    state.identity = service.identity();
    std::fprintf(stderr, "pipewire-dante-ptp: PTPv%u domain %u on %s, clock %s, serving %s\n", state.version,
                 state.domain, options.interface.c_str(), ptp::to_string(state.identity).c_str(),
                 writer->path().c_str());

    ClockState last_state = ClockState::unsynchronized;
    std::string last_master;
    int64_t next = monotonic_now_ns();
    uint32_t bound_address = read_interface_state(options.interface).address();
    int64_t next_address_check = next + kAddressCheckNs;
    std::string last_rebind_error;
    while (!g_stop) {
        if (next >= next_address_check) {
            next_address_check = next + kAddressCheckNs;
            const uint32_t address = read_interface_state(options.interface).address();
            // No address: nothing to bind to; the engine's sends fail and it holds over.
            if (address != 0 && address != bound_address) {
                if (service.rebind(error)) {
                    std::fprintf(stderr, "pipewire-dante-ptp: %s is now %s: PTP rebound there\n",
                                 options.interface.c_str(), ipv4_to_string(address).c_str());
                    bound_address = address;
                    last_rebind_error.clear();
                } else if (error != last_rebind_error) {
                    std::fprintf(stderr, "pipewire-dante-ptp: cannot rebind to %s: %s\n",
                                 ipv4_to_string(address).c_str(), error.c_str());
                    last_rebind_error = error;
                }
            }
        }
        state.clock = service.snapshot();
        state.status = service.status();
        const std::string master = service.master_id();
        state.grandmaster = {};
        master.copy(state.grandmaster.data(), state.grandmaster.size() - 1);
        state.heartbeat_mono_ns = monotonic_now_ns();
        writer->publish(state);
        if (state.clock.state != last_state || master != last_master) {
            std::fprintf(stderr, "pipewire-dante-ptp: clock %s, port %s, grandmaster %s\n",
                         std::string(to_string(state.clock.state)).c_str(),
                         std::string(ptp::to_string(state.status.port_state)).c_str(),
                         master.empty() ? "none" : master.c_str());
            last_state = state.clock.state;
            last_master = master;
        }
        next += kPublishIntervalNs;
        const int64_t now = monotonic_now_ns();
        if (next <= now) next = now + kPublishIntervalNs;
        const timespec ts{static_cast<time_t>(next / 1'000'000'000), static_cast<long>(next % 1'000'000'000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    writer->withdraw();
    service.stop();
    std::fprintf(stderr, "pipewire-dante-ptp: stopped, page withdrawn\n");
    return 0;
}
