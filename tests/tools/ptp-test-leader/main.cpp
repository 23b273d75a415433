// ptp-test-leader: a PTP grandmaster for tests, serving a timescale the test knows exactly.
//
//   ptp-test-leader --interface IF --version 1|2 [--domain N] [--ppm R] [--offset-ns O]
//                   [--priority1 N] [--log-sync-interval L]
//
// T(m) = T_a + (m - m_a) * (1 + R * 1e-6) over CLOCK_MONOTONIC m, starting at
// T_a = CLOCK_TAI(now) + O. Commands on stdin, one per line: "step NS", "rate PPM",
// "pause", "resume", "stats", "quit". After start and after every command one flushed JSON
// line {"event":"anchor","mono_ns","ptp_ns","ppm","paused","clock_id"} goes to stdout.
// Two-step Sync (+ Announce every second in v2); Delay_Req answered with Delay_Resp.
// Timestamps are the kernel's software ones (TX from the error queue, RX from the
// control message), converted from CLOCK_REALTIME to CLOCK_MONOTONIC. It runs no best
// master algorithm: it always leads, whatever else it hears.

#include <poll.h>
#include <sys/timex.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "leader_messages.hpp"
#include "leader_timeline.hpp"
#include "ptp/ptp_types.hpp"
#include "ptp_multicast_socket.hpp"
#include "realtime_offset.hpp"
#include "util/clock_now.hpp"

namespace {

using namespace dante;
using namespace dante::ptp_test;

struct Options {
    std::string interface;
    LeaderConfig leader;
    double ppm = 0.0;
    int64_t offset_ns = 0;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "ptp-test-leader: %s\nusage: ptp-test-leader --interface IF --version 1|2 [--domain N] [--ppm R] "
                 "[--offset-ns O] [--priority1 N] [--log-sync-interval L]\n",
                 why);
    std::exit(2);
}

template <typename T>
T number(std::string_view text, const char* what) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) usage(what);
    return value;
}

Options parse_options(int argc, char** argv) {
    Options o;
    int version = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view key = argv[i];
        if (i + 1 >= argc) usage("every option takes a value");
        const std::string_view value = argv[++i];
        if (key == "--interface") o.interface = value;
        else if (key == "--version") version = number<int>(value, "--version is 1 or 2");
        else if (key == "--domain") o.leader.domain = number<uint8_t>(value, "bad --domain");
        else if (key == "--ppm") o.ppm = number<double>(value, "bad --ppm");
        else if (key == "--offset-ns") o.offset_ns = number<int64_t>(value, "bad --offset-ns");
        else if (key == "--priority1") o.leader.priority1 = number<uint8_t>(value, "bad --priority1");
        else if (key == "--log-sync-interval") o.leader.log_sync_interval = number<int8_t>(value, "bad --log-sync-interval");
        else usage("unknown option");
    }
    if (o.interface.empty()) usage("--interface is required");
    if (version != 1 && version != 2) usage("--version is 1 or 2");
    o.leader.version = version == 1 ? ptp::PtpVersion::v1 : ptp::PtpVersion::v2;
    if (o.leader.log_sync_interval < -7 || o.leader.log_sync_interval > 4) usage("--log-sync-interval is -7..4");
    return o;
}

// TAI and CLOCK_MONOTONIC read at (nearly) one instant: the narrowest of a few brackets.
std::pair<int64_t, int64_t> tai_and_monotonic_now() {
    int64_t best_width = INT64_MAX;
    std::pair<int64_t, int64_t> best{};
    for (int i = 0; i < 7; ++i) {
        const int64_t m1 = clock_now_ns(CLOCK_MONOTONIC);
        const int64_t tai = clock_now_ns(CLOCK_TAI);
        const int64_t m2 = clock_now_ns(CLOCK_MONOTONIC);
        if (m2 - m1 < best_width) {
            best_width = m2 - m1;
            best = {tai, m1 + (m2 - m1) / 2};
        }
    }
    return best;
}

class Leader {
public:
    Leader(const Options& options, UdpSocket event, UdpSocket general)
        : config_(options.leader), event_(std::move(event)), general_(std::move(general)) {
        const auto [tai, mono] = tai_and_monotonic_now();
        timeline_ = {mono, tai + options.offset_ns, options.ppm};
        next_sync_ = next_announce_ = mono;
    }

    int run() {
        print_anchor();
        std::string pending;
        bool stdin_open = true;
        for (;;) {
            const int64_t now = monotonic_now_ns();
            if (!paused_) {
                if (now >= next_sync_) {
                    send_sync();
                    next_sync_ += ptp::log_interval_to_ns(config_.log_sync_interval);
                    if (next_sync_ < now) next_sync_ = now;  // never burst to catch up
                }
                if (config_.version == ptp::PtpVersion::v2 && now >= next_announce_) {
                    send_announce();
                    next_announce_ = now + ptp::kNsPerSecond;
                }
            }
            const int64_t due = paused_ ? now + 100'000'000
                                        : (config_.version == ptp::PtpVersion::v2 ? std::min(next_sync_, next_announce_)
                                                                                  : next_sync_);
            const int timeout_ms = static_cast<int>(std::max<int64_t>(0, (due - monotonic_now_ns() + 999'999) / 1'000'000));
            pollfd fds[3] = {{event_.fd(), POLLIN, 0}, {general_.fd(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
            if (::poll(fds, 3, timeout_ms) < 0 && errno != EINTR) return 1;
            if ((fds[0].revents & POLLIN) != 0) on_event_readable();
            if ((fds[1].revents & POLLIN) != 0) drain(general_);
            if ((fds[2].revents & (POLLIN | POLLHUP)) != 0) {
                char buf[512];
                const ssize_t n = ::read(0, buf, sizeof buf);
                if (n <= 0) {
                    stdin_open = false;  // no more commands: keep leading until killed
                } else {
                    pending.append(buf, static_cast<size_t>(n));
                    size_t eol;
                    while ((eol = pending.find('\n')) != std::string::npos) {
                        const std::string line = pending.substr(0, eol);
                        pending.erase(0, eol + 1);
                        if (!command(line)) return 0;
                    }
                }
            }
        }
    }

private:
    // Returns false on quit.
    bool command(std::string_view line) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty()) return true;
        const size_t space = line.find(' ');
        const std::string_view verb = line.substr(0, space);
        const std::string_view arg = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
        const int64_t now = monotonic_now_ns();
        if (verb == "quit") {
            print_stats();
            return false;
        } else if (verb == "step") {
            timeline_.step(now, number<int64_t>(arg, "step takes integer nanoseconds"));
        } else if (verb == "rate") {
            timeline_.set_rate(now, number<double>(arg, "rate takes ppm"));
        } else if (verb == "pause") {
            paused_ = true;
        } else if (verb == "resume") {
            paused_ = false;
            next_sync_ = next_announce_ = now;
        } else if (verb == "stats") {
            print_stats();
            return true;
        } else {
            std::fprintf(stderr, "ptp-test-leader: unknown command \"%.*s\"\n", static_cast<int>(line.size()), line.data());
            return true;
        }
        print_anchor();
        return true;
    }

    void print_anchor() const {
        std::printf("{\"event\":\"anchor\",\"mono_ns\":%lld,\"ptp_ns\":%lld,\"ppm\":%.9g,\"paused\":%s,\"clock_id\":\"%s\"}\n",
                    static_cast<long long>(timeline_.mono_a), static_cast<long long>(timeline_.ptp_a), timeline_.ppm,
                    paused_ ? "true" : "false", clock_id().c_str());
        std::fflush(stdout);
    }

    // v2: the EUI-64. v1 carries the MAC as its UUID; named the way the engine maps a UUID
    // to an identity (zero-padded), so it compares equal to what a follower reports.
    [[nodiscard]] std::string clock_id() const {
        return ptp::to_string(config_.version == ptp::PtpVersion::v1 ? ptp::identity_from_uuid(config_.uuid)
                                                                     : config_.identity);
    }

    void print_stats() const {
        std::printf("{\"event\":\"stats\",\"syncs\":%llu,\"tx_timestamps_missing\":%llu,\"delay_resps\":%llu,"
                    "\"rx_timestamps_missing\":%llu}\n",
                    static_cast<unsigned long long>(syncs_), static_cast<unsigned long long>(tx_missing_),
                    static_cast<unsigned long long>(delay_resps_), static_cast<unsigned long long>(rx_missing_));
        std::fflush(stdout);
    }

    void send_to_group(const UdpSocket& socket, uint16_t port, std::span<const uint8_t> bytes) {
        if (socket.send_to(bytes, Ipv4Endpoint{kPtpPrimaryGroup, port}) < 0) {
            std::fprintf(stderr, "ptp-test-leader: send to port %u failed: %s\n", port, std::strerror(errno));
        }
    }

    void send_sync() {
        std::array<uint8_t, 128> buf{};
        const uint16_t sequence = sync_sequence_++;
        drain_error_queue(event_);
        const int64_t before = monotonic_now_ns();
        const size_t n = encode_sync(config_, sequence, timeline_.ptp_at(before), buf);
        send_to_group(event_, kEventPort, std::span(buf).first(n));
        const auto tx_realtime = wait_tx_timestamp(event_, 20);
        int64_t tx_mono = before;
        if (tx_realtime) {
            tx_mono = *tx_realtime - realtime_minus_monotonic_ns();
        } else if (tx_missing_++ == 0) {
            std::fprintf(stderr, "ptp-test-leader: no TX timestamp from the kernel; using the time before send\n");
        }
        ++syncs_;
        const size_t f = encode_follow_up(config_, sequence, timeline_.ptp_at(tx_mono), buf);
        send_to_group(general_, kGeneralPort, std::span(buf).first(f));
    }

    void send_announce() {
        std::array<uint8_t, 128> buf{};
        const size_t n = encode_announce(config_, announce_sequence_++, timeline_.ptp_at(monotonic_now_ns()), buf);
        send_to_group(general_, kGeneralPort, std::span(buf).first(n));
    }

    void on_event_readable() {
        std::array<uint8_t, 1500> in{};
        std::array<uint8_t, 128> out{};
        for (;;) {
            int64_t rx_realtime = 0;
            const ssize_t n = receive_timestamped(event_, in, rx_realtime);
            if (n < 0) return;
            if (paused_) continue;
            const int64_t rx_mono =
                rx_realtime != 0 ? rx_realtime - realtime_minus_monotonic_ns() : monotonic_now_ns();
            const size_t len = std::min(static_cast<size_t>(n), in.size());
            const size_t r = answer_delay_req(config_, std::span(in).first(len), timeline_.ptp_at(rx_mono), out);
            if (r == 0) continue;  // our own looped-back Sync, or not for us
            if (rx_realtime == 0) ++rx_missing_;
            send_to_group(general_, kGeneralPort, std::span(out).first(r));
            ++delay_resps_;
        }
    }

    static void drain(const UdpSocket& socket) {
        std::array<uint8_t, 1500> in{};
        while (socket.recv_from(in, nullptr) >= 0) {
        }
    }

    LeaderConfig config_;
    UdpSocket event_;
    UdpSocket general_;
    LeaderTimeline timeline_;
    bool paused_ = false;
    int64_t next_sync_ = 0;
    int64_t next_announce_ = 0;
    uint16_t sync_sequence_ = 0;
    uint16_t announce_sequence_ = 0;
    uint64_t syncs_ = 0;
    uint64_t tx_missing_ = 0;
    uint64_t rx_missing_ = 0;
    uint64_t delay_resps_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    Options options = parse_options(argc, argv);
    std::string error;
    const auto iface = lookup_ptp_interface(options.interface, error);
    if (!iface) {
        std::fprintf(stderr, "ptp-test-leader: %s\n", error.c_str());
        return 1;
    }
    const auto& mac = iface->mac;
    options.leader.uuid = {mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]};
    options.leader.identity = {mac[0], mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]};
    // The UTC offset the kernel knows (adjtimex with no modes only reads). 0 means it was
    // never told, so we announce it without claiming it valid.
    timex tx{};
    if (::adjtimex(&tx) >= 0 && tx.tai > 0) {
        options.leader.utc_offset = static_cast<int16_t>(tx.tai);
        options.leader.utc_offset_valid = true;
    }
    auto event = open_ptp_socket(*iface, kEventPort, true, error);
    auto general = event ? open_ptp_socket(*iface, kGeneralPort, false, error) : std::nullopt;
    if (!event || !general) {
        std::fprintf(stderr, "ptp-test-leader: %s\n", error.c_str());
        return 1;
    }
    Leader leader(options, std::move(*event), std::move(*general));
    return leader.run();
}
