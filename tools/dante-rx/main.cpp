// dante-rx: a test receiver and monitor for a Dante transmitter.
//
//   dante-rx --device NAME | --address IP[:PORT]  --channels 1,2,...  --seconds S
//            --wav OUT.wav  --stats OUT.json  [--format S16|S24|S32] [--fpp N] [--rate HZ]
//            [--update-after S --update-channels 2,1,...] [--resolve-timeout S]
//            [--clock tai|ptp [--interface IF] [--ptp-version 1|2]] [--prefer-unicast]
//
// --clock: the time base lateness_us is measured on. tai (default): CLOCK_TAI, the media
// clock of a sink on dante.clock.source = tai on this kernel. ptp: dante-rx follows the
// network's PTP leader itself (the built-in engine, slave-only, on --interface or the one
// --device resolved through), as a Dante receiver does; it waits up to 15 s for lock
// before asking for the flow. Use it against a sink on the built-in PTP clock.
//
// --device NAME: find the transmitter over mDNS through the local avahi-daemon, as a Dante
// receiver does (mdns_resolve.hpp): its address from `_netaudio-arc._udp` NAME, the
// flow-control port from a `_netaudio-chan._udp` `<channel>@NAME` SRV record, and
// --format/--rate, when not given, from that record's TXT (enc, rate). The flow then goes
// through the interface the answer came from only. Gives up after --resolve-timeout
// seconds (default 10). The resolution goes in the stats ("device").
// Then, as a Dante receiver does, the asked channels' own instances `<NN>@NAME` are
// resolved: when their TXT points (`b.N=<slot>`) at one multicast bundle carrying them all,
// dante-rx resolves `N@NAME._netaudio-bund._udp`, joins its group (`a.0`:`p.0`) on that
// interface and records the channels from their slots, asking the transmitter for nothing
// (the format is the bundle's: enc, fpp, nchan). Otherwise, or with --prefer-unicast (or
// --update-after: changing channels needs a flow of our own), it asks for a unicast flow. The stats say which ("transport": "multicast" | "unicast", and
// "group", "bundle" for multicast; "device"."bundle" has what was resolved).
//
// --update-after/--update-channels: S seconds after the first packet, change the flow's
// channels with 0x0102 (same number of slots); the answer goes in the stats ("update").
// The granted flow handle is printed on stderr and written in the stats ("handle").
//
// Asks the transmitter for a unicast flow of the given TX channels (or joins the bundle), records S seconds of
// it by timestamp into a WAV file, and writes packet statistics as JSON. Exit status:
// 0 success, 1 failure at run time (refused, nothing received, cannot write), 2 usage.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <chrono>
#include <memory>
#include <thread>

#include "flows/flow_control_codec.hpp"
#include "rx/mdns_resolve.hpp"
#include "ptp/ptp_service.hpp"
#include "rx_session.hpp"

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted.store(true); }

int usage(const std::string& message) {
    if (!message.empty()) std::cerr << "dante-rx: " << message << "\n";
    std::cerr << "usage: dante-rx --device NAME | --address IP[:PORT]  --channels 1,2,...  --seconds S\n"
                 "                --wav OUT.wav  --stats OUT.json  [--format S16|S24|S32] [--fpp N] [--rate HZ]\n"
                 "                [--update-after S --update-channels 2,1,...] [--resolve-timeout S]\n"
                 "                [--clock tai|ptp [--interface IF] [--ptp-version 1|2]] [--prefer-unicast]\n"
                 "  --device NAME finds the transmitter over mDNS (avahi-daemon); --address skips that.\n"
                 "  With --device, channels a multicast bundle carries are received from its group\n"
                 "  unless --prefer-unicast.\n";
    return 2;
}

bool parse_uint(std::string_view text, unsigned long max, unsigned long& value) {
    if (text.empty() || text.size() > 10) return false;
    value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    return value <= max;
}

bool parse_channels(std::string_view text, std::vector<uint16_t>& out) {
    while (!text.empty()) {
        const size_t comma = text.find(',');
        unsigned long id = 0;
        if (!parse_uint(text.substr(0, comma), 0xFFFF, id)) return false;
        out.push_back(static_cast<uint16_t>(id));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
        if (text.empty()) return false;
    }
    return !out.empty() && out.size() <= dante::flowctl::kMaxSlots;
}

}  // namespace

int main(int argc, char** argv) {
    dante::rx::RxOptions options;
    std::string device, address, wav, stats;
    bool have_seconds = false, have_format = false, have_rate = false;
    double resolve_timeout = 10.0;
    bool ptp_clock = false;
    std::string interface;
    dante::ptp::PtpVersion ptp_version = dante::ptp::PtpVersion::v1;
    bool prefer_unicast = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage("");
            return 0;
        }
        if (arg == "--prefer-unicast") {  // the one option without a value
            prefer_unicast = true;
            continue;
        }
        if (i + 1 >= argc) return usage("missing value for " + std::string(arg));
        const std::string_view value = argv[++i];
        unsigned long number = 0;
        if (arg == "--device") {
            device = value;
        } else if (arg == "--address") {
            address = value;
        } else if (arg == "--channels") {
            if (!parse_channels(value, options.channels))
                return usage("--channels wants a comma-separated list of channel ids (1-based, 0 = empty slot)");
        } else if (arg == "--seconds") {
            char* end = nullptr;
            const std::string copy(value);
            options.seconds = std::strtod(copy.c_str(), &end);
            if (end == copy.c_str() || *end != '\0' || !(options.seconds > 0) || options.seconds > 3600)
                return usage("--seconds wants a number of seconds in (0, 3600]");
            have_seconds = true;
        } else if (arg == "--update-after") {
            char* end = nullptr;
            const std::string copy(value);
            options.update_after = std::strtod(copy.c_str(), &end);
            if (end == copy.c_str() || *end != '\0' || !(options.update_after >= 0) || options.update_after > 3600)
                return usage("--update-after wants a number of seconds in [0, 3600]");
        } else if (arg == "--update-channels") {
            if (!parse_channels(value, options.update_channels))
                return usage("--update-channels wants a comma-separated list of channel ids");
        } else if (arg == "--wav") {
            wav = value;
        } else if (arg == "--stats") {
            stats = value;
        } else if (arg == "--resolve-timeout") {
            char* end = nullptr;
            const std::string copy(value);
            resolve_timeout = std::strtod(copy.c_str(), &end);
            if (end == copy.c_str() || *end != '\0' || !(resolve_timeout > 0) || resolve_timeout > 600)
                return usage("--resolve-timeout wants a number of seconds in (0, 600]");
        } else if (arg == "--format") {
            have_format = true;
            if (value == "S16") options.bits = 16;
            else if (value == "S24") options.bits = 24;
            else if (value == "S32") options.bits = 32;
            else return usage("--format wants S16, S24 or S32");
        } else if (arg == "--fpp") {
            if (!parse_uint(value, 256, number) || number < 2) return usage("--fpp wants 2..256");
            options.fpp = static_cast<uint32_t>(number);
        } else if (arg == "--clock") {
            if (value == "ptp") ptp_clock = true;
            else if (value != "tai") return usage("--clock wants tai or ptp");
        } else if (arg == "--interface") {
            interface = value;
        } else if (arg == "--ptp-version") {
            if (value == "1") ptp_version = dante::ptp::PtpVersion::v1;
            else if (value == "2") ptp_version = dante::ptp::PtpVersion::v2;
            else return usage("--ptp-version wants 1 or 2");
        } else if (arg == "--rate") {
            if (!parse_uint(value, 384000, number) || number < 8000) return usage("--rate wants 8000..384000");
            options.rate = static_cast<uint32_t>(number);
            have_rate = true;
        } else {
            return usage("unknown option " + std::string(arg));
        }
    }
    if (!device.empty() && !address.empty()) return usage("give --device or --address, not both");
    if (prefer_unicast && device.empty()) return usage("--prefer-unicast goes with --device");
    if (device.empty() && address.empty()) return usage("--device or --address is required");
    std::optional<dante::Ipv4Endpoint> target;
    if (!address.empty()) {
        target = dante::parse_ipv4_endpoint(address, dante::flowctl::kDefaultPort);
        if (!target) return usage("--address wants IPv4[:PORT], e.g. 10.77.0.1 or 10.77.0.1:4455");
    }
    if (options.channels.empty()) return usage("--channels is required");
    if (!have_seconds) return usage("--seconds is required");
    if (wav.empty() || stats.empty()) return usage("--wav and --stats are required");
    if ((options.update_after >= 0) != !options.update_channels.empty())
        return usage("--update-after and --update-channels go together");
    if (!options.update_channels.empty() && options.update_channels.size() != options.channels.size())
        return usage("--update-channels needs as many channel ids as --channels");
    options.on_granted = [](const dante::flowctl::FlowHandle& h) {
        std::cerr << "dante-rx: flow granted, handle " << h.index << ":" << h.cookie << "\n";
    };

    nlohmann::json resolved_json;
    if (!device.empty()) {
        const auto resolve_started = std::chrono::steady_clock::now();
        const auto resolved = dante::rx::resolve_device(device, static_cast<int>(resolve_timeout * 1000));
        if (!resolved.device) {
            std::cerr << "dante-rx: " << resolved.error << "\n";
            return 1;
        }
        const dante::rx::ResolvedDevice& d = *resolved.device;
        target = dante::Ipv4Endpoint{d.address, d.flow_control_port};
        options.interface = d.interface;
        // A receiver asks for the format the transmitter advertises, unless told otherwise.
        if (!have_format && (d.encoding_bits == 16 || d.encoding_bits == 24 || d.encoding_bits == 32))
            options.bits = d.encoding_bits;
        if (!have_rate && d.rate >= 8000 && d.rate <= 384000) options.rate = d.rate;
        std::cerr << "dante-rx: " << d.name << " is " << dante::ipv4_to_string(d.address) << " (" << d.host_name
                  << ") on " << d.interface << ": ARC port " << d.arc_port << ", flow control port "
                  << d.flow_control_port
                  << (d.channel_instance.empty() ? " (derived from the ARC port: no channel advertised)"
                                                 : " (from " + d.channel_instance + ")")
                  << "\n";
        resolved_json = {{"name", d.name},
                         {"interface", d.interface},
                         {"address", dante::ipv4_to_string(d.address)},
                         {"host_name", d.host_name},
                         {"arc_port", d.arc_port},
                         {"flow_control_port", d.flow_control_port},
                         {"channel_instance", d.channel_instance},
                         {"rate", d.rate},
                         {"encoding_bits", d.encoding_bits},
                         {"latency_ns", d.latency_ns}};

        // A channel a multicast bundle carries is received from its group, as a Dante
        // receiver does (no request to the transmitter). A channel update needs a flow of ours.
        if (!prefer_unicast && options.update_channels.empty()) {
            const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - resolve_started);
            const int left = std::max(1000, static_cast<int>(resolve_timeout * 1000) - static_cast<int>(spent.count()));
            const dante::rx::BundleLookup bundle = dante::rx::resolve_bundle(d, options.channels, left);
            if (bundle.route) {
                const dante::rx::BundleRoute& b = *bundle.route;
                if (have_format && options.bits != b.encoding_bits)
                    std::cerr << "dante-rx: --format ignored: the bundle carries " << b.encoding_bits << "-bit samples\n";
                options.bits = b.encoding_bits;
                options.multicast = dante::rx::MulticastSource{
                    dante::Ipv4Endpoint{b.group, b.port}, b.slots, b.fpp, b.bundle, b.slot_of_channel};
                std::cerr << "dante-rx: multicast bundle " << b.instance << ": group "
                          << dante::ipv4_to_string(b.group) << ":" << b.port << ", " << b.slots << " slots, "
                          << b.encoding_bits << " bits, fpp " << b.fpp << "; joining it on " << d.interface << "\n";
                resolved_json["bundle"] = {{"instance", b.instance},      {"bundle", b.bundle},
                                           {"group", dante::ipv4_to_string(b.group)},
                                           {"port", b.port},              {"nchan", b.slots},
                                           {"encoding_bits", b.encoding_bits}, {"fpp", b.fpp},
                                           {"latency_ns", b.latency_ns},  {"slots", b.slot_of_channel}};
            } else {
                std::cerr << "dante-rx: no multicast bundle (" << bundle.why_not << "); asking for a unicast flow\n";
                resolved_json["no_bundle"] = bundle.why_not;
            }
        }
    }
    options.target = *target;
    if (!interface.empty()) {
        if (!options.interface.empty() && options.interface != interface)
            return usage("--interface " + interface + " differs from the one the device resolved on (" +
                         options.interface + ")");
        options.interface = interface;
    }

    // --clock ptp: follow the network's leader ourselves, and judge arrivals on its time.
    std::unique_ptr<dante::ptp::PtpService> ptp;
    if (ptp_clock) {
        if (options.interface.empty()) return usage("--clock ptp needs --interface (or --device)");
        dante::ptp::PtpServiceOptions ptp_options;
        ptp_options.interface = options.interface;
        ptp_options.version = ptp_version;
        ptp_options.slave_only = true;
        ptp = std::make_unique<dante::ptp::PtpService>(ptp_options);
        std::string error;
        if (!ptp->start(error)) {
            std::cerr << "dante-rx: --clock ptp: " << error << "\n";
            return 1;
        }
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (ptp->snapshot().state != dante::ClockState::locked && !g_interrupted.load()) {
            if (std::chrono::steady_clock::now() > give_up) {
                std::cerr << "dante-rx: --clock ptp: no PTP leader locked on " << options.interface
                          << " within 15 s\n";
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::cerr << "dante-rx: following PTP leader " << ptp->master_id() << " on " << options.interface << "\n";
        options.media_clock = ptp.get();
    }

    struct sigaction action {};
    action.sa_handler = on_signal;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    options.interrupted = &g_interrupted;

    const dante::rx::RxResult result = dante::rx::run_receiver(options);
    if (!result.ok) {
        std::cerr << "dante-rx: " << result.error << "\n";
        return 1;
    }
    std::string error;
    if (!dante::rx::write_wav(wav, result, error)) {
        std::cerr << "dante-rx: " << error << "\n";
        return 1;
    }
    std::ofstream out(stats);
    nlohmann::json stats_out = dante::rx::stats_json(result);
    if (!resolved_json.is_null()) stats_out["device"] = resolved_json;
    out << stats_out.dump(2) << "\n";
    if (!out) {
        std::cerr << "dante-rx: cannot write " << stats << "\n";
        return 1;
    }
    if (result.update_sent && result.update_status != dante::flowctl::status::ok) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%04X", result.update_status);
        std::cerr << "dante-rx: the channel update (0x0102) was not accepted: status "
                  << (result.update_status == 0 ? "no answer" : hex) << "\n";
        return 1;
    }
    std::cerr << "dante-rx: " << result.packets << " packets, " << result.lost << " lost, first timestamp "
              << result.first_timestamp << (g_interrupted.load() ? " (interrupted)" : "") << "\n";
    return 0;
}
