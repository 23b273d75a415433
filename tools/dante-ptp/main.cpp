// dante-ptp: the built-in PTP engine on its own, without PipeWire: for diagnosis on a
// real network, and as the follower/leader the PTP tests and bench drive.
//
//   dante-ptp --interface IF [--version 1|2] [--domain N] [--slave-only] [--priority1 N]
//             [--seconds S] [--interval-ms MS]
//
// Prints one JSON object per line every interval (default 1000 ms), flushed:
//   {"mono_ns":..., "media_ns":..., "monotonic_ns":..., "rate":..., "state":...,
//    "port_state":..., "offset_ns":..., "path_delay_ns":..., "master_id":...,
//    "generation":..., "received":..., "rejected":...}
// mono_ns is CLOCK_MONOTONIC when the line was made; (media_ns, monotonic_ns, rate) is the
// published clock snapshot: PTP time at monotonic m = media_ns + (m - monotonic_ns) * rate.
// state: locked | holdover | master | unsynchronized; port_state: listening | slave |
// uncalibrated | master | passive | faulty. master_id is the grandmaster followed (or
// ourselves when leading), empty before anyone.
// --version defaults to 1 (what Dante devices speak); --priority1 (default 128) is
// Announce's priority1 in v2, and in v1 (which has no priority) below 128 means
// "preferred master". --slave-only never leads.
// Exit status: 0 after --seconds (default: run until SIGINT/SIGTERM) or on a signal;
// 2 with a one-line error for bad arguments or an unusable interface.

#include <time.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/ptp_cli.hpp"
#include "ptp/ptp_service.hpp"
#include "util/clock_now.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

int fail(const std::string& message) {
    std::fprintf(stderr, "dante-ptp: %s\n", message.c_str());
    return 2;
}

void print_line(const dante::ptp::PtpService& service) {
    const int64_t now = dante::monotonic_now_ns();
    const dante::ClockSnapshot snap = service.snapshot();
    const dante::ptp::PtpStatus status = service.status();
    const std::string master = service.master_id();
    std::printf(
        "{\"mono_ns\": %lld, \"media_ns\": %lld, \"monotonic_ns\": %lld, \"rate\": %.12f, \"state\": \"%s\", "
        "\"port_state\": \"%s\", \"offset_ns\": %lld, \"path_delay_ns\": %lld, \"master_id\": \"%s\", "
        "\"generation\": %llu, \"received\": %llu, \"rejected\": %llu}\n",
        static_cast<long long>(now), static_cast<long long>(snap.media_ns), static_cast<long long>(snap.monotonic_ns),
        snap.rate, std::string(dante::to_string(snap.state)).c_str(),
        std::string(dante::ptp::to_string(status.port_state)).c_str(), static_cast<long long>(status.offset_ns),
        static_cast<long long>(status.path_delay_ns), master.c_str(), static_cast<unsigned long long>(snap.generation),
        static_cast<unsigned long long>(status.received), static_cast<unsigned long long>(status.rejected));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    dante::ptp::PtpServiceOptions options;
    long seconds = -1;
    long interval_ms = 1000;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--slave-only") {
            options.slave_only = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            std::printf(
                "usage: dante-ptp --interface IF [--version 1|2] [--domain N] [--slave-only] [--priority1 N] "
                "[--servo linreg|pi] [--seconds S] [--interval-ms MS]\n");
            return 0;
        }
        if (i + 1 >= argc) return fail("missing value for " + std::string(arg));
        const std::string_view value = argv[++i];
        long n = 0;
        if (auto applied = dante::tools::apply_ptp_option(arg, value, options, false)) {
            if (!applied->empty()) return fail(*applied);
            continue;
        }
        if (arg == "--priority1") {
            if (!dante::tools::parse_long(value, 0, 255, n)) return fail("bad --priority1 (0 to 255)");
            options.priority1 = static_cast<uint8_t>(n);
        } else if (arg == "--seconds") {
            if (!dante::tools::parse_long(value, 0, 1'000'000'000, n))
                return fail("bad --seconds (a whole number of seconds)");
            seconds = n;
        } else if (arg == "--interval-ms") {
            if (!dante::tools::parse_long(value, 1, 3'600'000, n)) return fail("bad --interval-ms (1 to 3600000)");
            interval_ms = n;
        } else {
            return fail("unknown option " + std::string(arg));
        }
    }
    if (options.interface.empty()) return fail("--interface IF is required");

    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    dante::ptp::PtpService service(options);
    std::string error;
    if (!service.start(error)) return fail(error);

    const int64_t start = dante::monotonic_now_ns();
    const int64_t end = seconds >= 0 ? start + int64_t{seconds} * 1'000'000'000 : INT64_MAX;
    const int64_t interval = int64_t{interval_ms} * 1'000'000;
    int64_t next = start + interval;
    while (!g_stop) {
        const int64_t now = dante::monotonic_now_ns();
        if (now >= next) {  // also at the very end, when it falls on an interval
            print_line(service);
            next += interval;
            if (next <= now) next = now + interval;
        }
        if (now >= end) break;
        // Short sleeps, so a signal or the end is noticed promptly.
        const int64_t wake = std::min<int64_t>({next, end, now + int64_t{50'000'000}});
        const timespec ts{static_cast<time_t>(wake / 1'000'000'000), static_cast<long>(wake % 1'000'000'000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    service.stop();
    return 0;
}
