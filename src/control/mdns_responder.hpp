#pragma once
// The built-in mDNS responder (dante.mdns = builtin, the default): answers for the device's
// own DNS-SD records on dante.interface, IPv4, next to any avahi-daemon of the host. The
// logic is MdnsResponderCore (mdns_responder_core.hpp); this is its socket and thread.
//
// Why a responder of our own (issue #11; README "Discovery and control"): a Dante receiver
// resolving `01@<device>._netaudio-chan._udp.local` asks for SRV+TXT once and takes the
// transmitter's address only from the Additional section. avahi-daemon answers with the A
// record in the Answer section and nothing in Additional (avahi-core/server.c:
// avahi_server_generate_response() and append_aux_records_to_list() push auxiliary records
// into the same list as answers, and every record is written with ANCOUNT; nothing ever
// sets ARCOUNT), and when the receiver then asks for the A record it stays silent: it
// multicast that record moments before (response-sched.c's history, RFC 6762 §6's one-second
// rule). No avahi-daemon.conf option changes either. The alternatives:
//  - avahi in another configuration: none exists for the above (it is code, not config);
//  - avahi-core embedded in our process: a second full mDNS stack on the host, which
//    probes and answers for the host's own name and every service, conflicting with the
//    system's avahi-daemon; and the same response code, with the same sections;
//  - libmdnsd (troglobit/mdnsd; Debian bookworm ships 0.12): 0.12 answers without
//    Additional records; upstream added RFC 6763 §12 additionals only in June 2026
//    (a501913, unreleased), so we would vendor an unreleased C library with its own
//    loop and cache, and still write the glue for our names and the Dante rules;
//  - our own, for our names only: small (the record set is already data, mdns_records),
//    sans-I/O core testable and fuzzable like the ARC core, SO_REUSEADDR/SO_REUSEPORT on
//    5353 so the host's avahi-daemon keeps its own names and services. Chosen.
//
// Thread: the control service's event loop (io::EventLoop: "dante-io" in a device, shared
// with PTP and flow control). The loop sleeps until a datagram, a probe/announce deadline
// or a delayed shared answer is due (a timerfd at the nearest one), so answers to unique
// records leave within milliseconds and probes keep their 250 ms timers. start(),
// republish() and stop() may be called from any thread; the core runs on the loop only.
// (Before issue #12 it had a thread of its own, "dante-mdns", because the control thread
// polled every 100 ms.)
//
// Socket: UDP 0.0.0.0:5353 with SO_REUSEADDR + SO_REUSEPORT, SO_BINDTODEVICE when allowed,
// IP_MULTICAST_ALL off and 224.0.0.251 joined on the interface only (by index and address),
// so multicast from other interfaces never reaches it; IP_PKTINFO drops anything that
// arrived on another interface anyway, and only on-link sources count (RFC 6762 §11: on
// our subnet, or IP TTL 255). Sends: IP_MULTICAST_IF = the interface, TTL 255
// (RFC 6762 §11), multicast loop on (a local avahi-daemon and resolvers see us). Unicast
// answers go only to sources on the interface's subnet.

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <memory>
#include <vector>

#include "control/mdns_publisher.hpp"
#include "control/mdns_responder_core.hpp"
#include "io/event_loop.hpp"
#include "net/interface.hpp"
#include "util/logger.hpp"

namespace dante::control {

class MdnsResponder : public MdnsPublisher {
public:
    // `loop` serves the socket and timers; it must outlive the responder.
    MdnsResponder(InterfaceInfo iface, io::EventLoop& loop, Logger log = {});
    ~MdnsResponder() override;
    MdnsResponder(const MdnsResponder&) = delete;
    MdnsResponder& operator=(const MdnsResponder&) = delete;

    bool start(std::vector<ServiceRecord> records, std::string device_name) override;
    void republish(std::vector<ServiceRecord> records, std::string device_name) override;
    void stop() override;
    [[nodiscard]] ConfigItems properties() const override;
    [[nodiscard]] MdnsResponderStats stats() const;

private:
    bool open_socket(std::string& error);
    // Loop thread only, below.
    void on_socket();
    void service();  // due probes/announces and delayed answers, stats, re-arm
    void dispatch(std::vector<MdnsOutgoing> packets, int64_t now);
    void finish();  // goodbyes, unregister
    void send(const MdnsOutgoing& packet);

    InterfaceInfo iface_;
    io::EventLoop& loop_;
    Logger log_;
    int ifindex_ = 0;
    int fd_ = -1;
    bool running_ = false;  // start()/stop() caller's

    // Loop thread only.
    std::unique_ptr<MdnsResponderCore> core_;
    std::vector<MdnsOutgoing> delayed_;  // shared answers waiting for their random delay
    io::EventLoop::TimerId timer_ = 0;

    mutable std::mutex mutex_;  // guards the fields below
    MdnsResponderStats stats_;
    std::string error_;  // the socket could not be opened
    uint64_t send_errors_ = 0;
};

}  // namespace dante::control
