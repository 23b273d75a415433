#pragma once
// The built-in mDNS responder's logic (RFC 6762, DNS-SD per RFC 6763), sans-I/O: the
// device's records (mdns_records' ServiceRecord list) in, packets to send and when out.
// The shell (mdns_responder.cpp) owns the socket and the clock.
//
// What it claims: the service instances of our ServiceRecords (SRV + TXT, unique), the
// PTR records of our service types pointing at them (shared) and, when it owns the name,
// "<device>.local" A (unique). Nothing else: a question about any other name, or a PTR
// question is answered with our instances only, so another responder on the same host
// (avahi-daemon) keeps answering for the host's own name and services.
//
// Answers (RFC 6763 §12): the asked records in Answer; SRV answers carry the target's A
// record and the TXT in Additional, PTR answers SRV + TXT + A. A direct question for our A
// record is answered at once, every time: no one-second multicast suppression (RFC 6762
// §6), which is what left Dante receivers without an address behind avahi-daemon (issue
// #11); instead each (source address, record) is answered at most once per
// `repeat_interval_ns`, and all answers share a global budget. QU questions (RFC 6762
// §5.4) get a unicast answer to the querier; legacy unicast (source port != 5353, §6.7)
// gets the question echoed, its ID, TTLs capped at 10 s and no cache-flush bit. Answers
// made only of unique records go out at once; with shared records (PTR) after 20-120 ms
// (§6). Known answers in the query suppress ours (§7.1).
//
// Life cycle: new names are probed (3 probes 250 ms apart, §8.1), then announced twice
// 1 s apart (§8.3); a TXT change is announced again without probing; a removed instance
// gets a goodbye (TTL 0, §10.1). Another host answering for one of our names with other
// data (§9), or winning the simultaneous-probe tiebreak twice, is a collision: that
// instance is withdrawn and counted, never renamed (receivers subscribe by name); a lost
// tiebreak alone probes again after 1 s (§8.2). A collision on the host name withdraws
// everything (our SRV records would point at another host). The next set_records() tries
// collided names again. Packets from our own address are not taken as conflicts: they
// are our own multicasts looped back, or the host's avahi-daemon.
//
// TTLs (RFC 6762 §10): 120 s for the A and SRV records, 4500 s for PTR and TXT. (mdns_records'
// ttl_seconds follows Inferno: 4500 for ARC, 120 elsewhere; the RFC's split is what
// receivers' caches expect, and matches Inferno's 4500 s on ARC's PTR/TXT.)

#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/dns_message.hpp"
#include "control/mdns_records.hpp"
#include "net/ipv4.hpp"
#include "util/rate_limiter.hpp"

namespace dante::control {

inline constexpr uint16_t kMdnsPort = 5353;
inline constexpr uint32_t kMdnsGroup = 0xE00000FBu;  // 224.0.0.251
inline constexpr uint32_t kMdnsHostTtl = 120;        // A and SRV
inline constexpr uint32_t kMdnsOtherTtl = 4500;      // PTR and TXT
inline constexpr size_t kMdnsMaxPacket = 1400;       // within an Ethernet MTU
inline constexpr size_t kMdnsLegacyMaxPacket = 512;

struct MdnsOutgoing {
    std::vector<uint8_t> bytes;
    Ipv4Endpoint to;
    int64_t not_before_ns = 0;  // send at or after this time
};

struct MdnsResponderParams {
    uint32_t ipv4 = 0;            // our address on the interface (host order)
    // The host's own name (gethostname). When the device has that name, "<device>.local" is
    // the host's (avahi-daemon's): we neither probe nor answer it, only put its A record
    // in Additional next to our SRV records.
    std::string system_host_name;
    uint64_t random_seed = 1;
    int64_t repeat_interval_ns = 100'000'000;  // per (source, record)
    double packets_per_second = 200.0;         // all answers together
    double packet_burst = 100.0;
    double queries_per_second_per_source = 100.0;
    double query_burst_per_source = 200.0;
};

struct MdnsResponderStats {
    std::string state = "stopped";  // probing, published, collision
    uint64_t services = 0;          // instances we answer for
    uint64_t collisions = 0;
    uint64_t queries = 0;       // queries that passed the per-source limit
    uint64_t answers = 0;       // answer packets sent
    uint64_t rate_limited = 0;  // queries or records dropped by a limit
    uint64_t malformed = 0;
    uint64_t probes = 0, announcements = 0, goodbyes = 0;
    std::string last_error;
};

// Which records answer a set of questions, before any rate limit (exposed for tests).
struct MdnsAnswer {
    std::vector<DnsRecord> answers, additionals;
    bool shared = false;  // contains a shared record (PTR): answer after a random delay
};

class MdnsResponderCore {
public:
    explicit MdnsResponderCore(MdnsResponderParams params);

    // Replaces the published set (the first call starts from nothing). Returns what must go
    // out now (goodbyes for what left); probes and announcements come from poll().
    std::vector<MdnsOutgoing> set_records(const std::vector<ServiceRecord>& records, const std::string& device_name,
                                          int64_t now_ns);
    // One datagram received on 5353 from `from`.
    std::vector<MdnsOutgoing> on_packet(std::span<const uint8_t> bytes, const Ipv4Endpoint& from, int64_t now_ns);
    // Timers: probes and announcements due by now.
    std::vector<MdnsOutgoing> poll(int64_t now_ns);
    // When poll() has something to do next (INT64_MAX: nothing scheduled).
    [[nodiscard]] int64_t next_deadline_ns() const;
    // Goodbyes for everything we announced; the set is empty afterwards.
    std::vector<MdnsOutgoing> stop();

    [[nodiscard]] MdnsAnswer answer_for(const std::vector<DnsQuestion>& questions,
                                        const std::vector<DnsRecord>& known_answers) const;
    [[nodiscard]] MdnsResponderStats stats() const;

private:
    enum class State : uint8_t { probing, announcing, established, collided };
    struct Entry {
        bool host = false;
        DnsName name;       // the instance's or the host's full name
        DnsName type_name;  // instances: "_netaudio-chan._udp.local"
        uint16_t port = 0;
        std::vector<uint8_t> txt;
        State state = State::probing;
        int count = 0;  // probes or announcements sent in this state
        int64_t next_ns = 0;
        int lost_tiebreaks = 0;
    };

    // SRV + TXT of an instance, or the host's A; ttl_scale 0 makes goodbyes.
    [[nodiscard]] std::vector<DnsRecord> unique_records(const Entry& e, uint32_t ttl_scale = 1) const;
    [[nodiscard]] DnsRecord ptr_record(const Entry& e) const;
    [[nodiscard]] DnsName host_name() const;
    [[nodiscard]] bool owns_host_name(const std::string& device_name) const;
    [[nodiscard]] bool answerable(const Entry& e) const;
    Entry* find_entry(const DnsName& name);
    [[nodiscard]] const Entry* find_entry(const DnsName& name) const;
    [[nodiscard]] const Entry* host_entry() const;
    void collide(Entry& e, const std::string& why);
    void handle_response(const DnsMessage& m, const Ipv4Endpoint& from);
    void handle_probes(const DnsMessage& m, const Ipv4Endpoint& from, int64_t now_ns);
    std::vector<MdnsOutgoing> goodbyes(const std::vector<const Entry*>& gone);
    // Packs records into as many multicast packets as needed (answers; additionals if they fit).
    std::vector<MdnsOutgoing> pack(std::vector<DnsRecord> answers, std::vector<DnsRecord> additionals,
                                   const Ipv4Endpoint& to, int64_t at_ns, const DnsMessage* legacy_query);
    bool repeat_allowed(uint32_t source, const DnsRecord& r, int64_t now_ns);
    int64_t random_ns(int64_t lo, int64_t hi);

    MdnsResponderParams params_;
    std::string device_name_;
    std::vector<Entry> entries_;
    std::mt19937_64 rng_;
    RateLimiter per_source_;
    RateLimiter global_;
    std::unordered_map<std::string, int64_t> last_answered_;  // (source, record) -> when
    MdnsResponderStats stats_;
};

}  // namespace dante::control
