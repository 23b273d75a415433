#include "control/mdns_responder_core.hpp"

#include <algorithm>
#include <climits>
#include <optional>

#include "util/byte_order.hpp"

namespace dante::control {

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kProbeInterval = 250 * kMs;  // RFC 6762 §8.1
constexpr int kProbes = 3;
constexpr int64_t kAnnounceInterval = 1000 * kMs;  // §8.3
constexpr int kAnnouncements = 2;
constexpr int64_t kTiebreakDefer = 1000 * kMs;  // §8.2
constexpr int kMaxTiebreakLosses = 2;
constexpr size_t kMaxPacketsPerQuery = 8;
constexpr size_t kMaxRepeatEntries = 4096;
constexpr uint32_t kLegacyTtl = 10;  // §6.7

std::string dotted(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255u) + "." + std::to_string((a >> 8) & 255u) +
           "." + std::to_string(a & 255u);
}

const DnsName kServicesName = {"_services", "_dns-sd", "_udp", "local"};  // RFC 6763 §9

std::string key_of(const DnsName& name) {
    std::string key;
    for (const std::string& label : name) {
        key.push_back(static_cast<char>(label.size()));
        for (char c : label) key.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return key;
}

DnsName full_name(const std::string& instance, const std::string& type) {
    DnsName name{instance};
    for (std::string& label : dns_name(type)) name.push_back(std::move(label));
    name.emplace_back("local");
    return name;
}

DnsName type_name(const std::string& type) {
    DnsName name = dns_name(type);
    name.emplace_back("local");
    return name;
}

bool contains(const std::vector<DnsRecord>& list, const DnsRecord& r) {
    return std::any_of(list.begin(), list.end(), [&](const DnsRecord& x) { return same_record_data(x, r); });
}

// RFC 6762 §8.2: records compared by class, type, then rdata bytes (names uncompressed).
std::vector<uint8_t> canonical(const DnsRecord& r) {
    std::vector<uint8_t> out;
    out.reserve(4 + r.data.size() + 256);
    for (uint16_t v : {r.klass, r.type}) append_be16(out, v);
    auto put_name = [&](const DnsName& name) {
        for (const std::string& label : name) {
            out.push_back(static_cast<uint8_t>(label.size()));
            for (char c : label) out.push_back(static_cast<uint8_t>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c));
        }
        out.push_back(0);
    };
    if (r.type == kDnsTypePtr) {
        put_name(r.target);
    } else if (r.type == kDnsTypeSrv) {
        for (uint16_t v : {r.priority, r.weight, r.port}) append_be16(out, v);
        put_name(r.target);
    } else {
        for (uint8_t b : r.data) out.push_back(b);
    }
    return out;
}

// Lexicographic order of two raw records. Written out rather than vector's operator<:
// GCC 14 at -O3 warns (stringop-overread) on the memcmp that one inlines into std::sort.
int compare_bytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    if (a.size() == b.size()) return 0;
    return a.size() < b.size() ? -1 : 1;
}

// Negative: ours sorts first (we lose the tiebreak); 0: identical sets.
int tiebreak(std::vector<std::vector<uint8_t>> ours, std::vector<std::vector<uint8_t>> theirs) {
    const auto less = [](const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) { return compare_bytes(a, b) < 0; };
    std::sort(ours.begin(), ours.end(), less);
    std::sort(theirs.begin(), theirs.end(), less);
    for (size_t i = 0; i < ours.size() && i < theirs.size(); ++i)
        if (const int order = compare_bytes(ours[i], theirs[i]); order != 0) return order;
    if (ours.size() == theirs.size()) return 0;
    return ours.size() < theirs.size() ? -1 : 1;
}

}  // namespace

MdnsResponderCore::MdnsResponderCore(MdnsResponderParams params)
    : params_(params),
      rng_(params.random_seed),
      per_source_({.rate_per_second = params.queries_per_second_per_source,
                   .burst = params.query_burst_per_source,
                   .max_sources = 256}),
      global_({.rate_per_second = params.packets_per_second, .burst = params.packet_burst, .max_sources = 1}) {}

int64_t MdnsResponderCore::random_ns(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

bool MdnsResponderCore::owns_host_name(const std::string& device_name) const {
    if (device_name.empty()) return false;
    std::string_view host = params_.system_host_name;
    host = host.substr(0, host.find('.'));
    return !dns_names_equal({device_name}, {std::string(host)});
}

DnsName MdnsResponderCore::host_name() const { return {device_name_, "local"}; }

MdnsResponderCore::Entry* MdnsResponderCore::find_entry(const DnsName& name) {
    for (Entry& e : entries_)
        if (dns_names_equal(e.name, name)) return &e;
    return nullptr;
}

const MdnsResponderCore::Entry* MdnsResponderCore::find_entry(const DnsName& name) const {
    for (const Entry& e : entries_)
        if (dns_names_equal(e.name, name)) return &e;
    return nullptr;
}

const MdnsResponderCore::Entry* MdnsResponderCore::host_entry() const {
    for (const Entry& e : entries_)
        if (e.host) return &e;
    return nullptr;
}

bool MdnsResponderCore::answerable(const Entry& e) const {
    if (e.state != State::announcing && e.state != State::established) return false;
    if (e.host) return true;
    // Our SRV records point at "<device>.local": if that name is someone else's, or not yet
    // ours, the instances wait (or stay withdrawn) with it.
    const Entry* host = host_entry();
    return !host || host->state == State::announcing || host->state == State::established;
}

std::vector<DnsRecord> MdnsResponderCore::unique_records(const Entry& e, uint32_t ttl_scale) const {
    std::vector<DnsRecord> out;
    if (e.host) {
        DnsRecord a;
        a.name = e.name;
        a.type = kDnsTypeA;
        a.cache_flush = true;
        a.ttl = kMdnsHostTtl * ttl_scale;
        a.data = {static_cast<uint8_t>(params_.ipv4 >> 24), static_cast<uint8_t>(params_.ipv4 >> 16),
                  static_cast<uint8_t>(params_.ipv4 >> 8), static_cast<uint8_t>(params_.ipv4)};
        out.push_back(std::move(a));
        return out;
    }
    DnsRecord srv;
    srv.name = e.name;
    srv.type = kDnsTypeSrv;
    srv.cache_flush = true;
    srv.ttl = kMdnsHostTtl * ttl_scale;
    srv.port = e.port;
    srv.target = host_name();
    out.push_back(std::move(srv));
    DnsRecord txt;
    txt.name = e.name;
    txt.type = kDnsTypeTxt;
    txt.cache_flush = true;
    txt.ttl = kMdnsOtherTtl * ttl_scale;
    txt.data = e.txt;
    out.push_back(std::move(txt));
    return out;
}

DnsRecord MdnsResponderCore::ptr_record(const Entry& e) const {
    DnsRecord ptr;
    ptr.name = e.type_name;
    ptr.type = kDnsTypePtr;
    ptr.ttl = kMdnsOtherTtl;
    ptr.target = e.name;
    return ptr;
}

std::vector<MdnsOutgoing> MdnsResponderCore::set_records(const std::vector<ServiceRecord>& records,
                                                         const std::string& device_name, int64_t now_ns) {
    std::vector<Entry> next;
    const bool renamed = device_name != device_name_;
    if (owns_host_name(device_name)) {
        Entry host;
        host.host = true;
        host.name = {device_name, "local"};
        next.push_back(std::move(host));
    }
    for (const ServiceRecord& r : records) {
        Entry e;
        e.name = full_name(r.instance, r.type);
        e.type_name = type_name(r.type);
        e.port = r.port;
        e.txt = txt_rdata(r.txt);
        if (std::any_of(next.begin(), next.end(), [&](const Entry& x) { return dns_names_equal(x.name, e.name); }))
            continue;  // one instance per name
        next.push_back(std::move(e));
    }

    // What stays keeps its state (a TXT change is announced again); what left says goodbye;
    // what is new, or collided before, is probed (all of them together, after one random
    // 0-250 ms delay, §8.1).
    const int64_t probe_at = now_ns + random_ns(0, kProbeInterval);
    std::vector<const Entry*> gone;
    std::vector<Entry> old = std::move(entries_);
    for (Entry& e : next) {
        Entry* previous = nullptr;
        if (!renamed)
            for (Entry& o : old)
                if (o.host == e.host && dns_names_equal(o.name, e.name) && o.port == e.port) previous = &o;
        if (previous && previous->state != State::collided) {
            const bool txt_changed = previous->txt != e.txt;
            e.state = previous->state;
            e.count = previous->count;
            e.next_ns = previous->next_ns;
            if (txt_changed && (e.state == State::announcing || e.state == State::established)) {
                e.state = State::announcing;
                e.count = 0;
                e.next_ns = now_ns;
            }
            previous->name.clear();  // kept: no goodbye
        } else {
            e.state = State::probing;
            e.count = 0;
            e.next_ns = probe_at;
            if (previous) previous->name.clear();  // collided: it never was ours, no goodbye
        }
    }
    entries_ = std::move(next);
    device_name_ = device_name;
    for (const Entry& o : old)
        if (!o.name.empty() && (o.state == State::announcing || o.state == State::established)) gone.push_back(&o);
    std::vector<MdnsOutgoing> out = goodbyes(gone);
    return out;
}

std::vector<MdnsOutgoing> MdnsResponderCore::goodbyes(const std::vector<const Entry*>& gone) {
    std::vector<DnsRecord> records;
    for (const Entry* e : gone) {
        if (!e->host) {
            DnsRecord ptr = ptr_record(*e);
            ptr.ttl = 0;
            records.push_back(std::move(ptr));
        }
        for (DnsRecord& r : unique_records(*e, 0)) records.push_back(std::move(r));
    }
    if (records.empty()) return {};
    stats_.goodbyes += records.size();
    return pack(std::move(records), {}, {kMdnsGroup, kMdnsPort}, 0, nullptr);
}

std::vector<MdnsOutgoing> MdnsResponderCore::stop() {
    std::vector<const Entry*> gone;
    for (const Entry& e : entries_)
        if (e.state == State::announcing || e.state == State::established) gone.push_back(&e);
    std::vector<MdnsOutgoing> out = goodbyes(gone);
    entries_.clear();
    device_name_.clear();
    return out;
}

std::vector<MdnsOutgoing> MdnsResponderCore::pack(std::vector<DnsRecord> answers, std::vector<DnsRecord> additionals,
                                                  const Ipv4Endpoint& to, int64_t at_ns,
                                                  const DnsMessage* legacy_query) {
    std::vector<MdnsOutgoing> out;
    if (legacy_query) {
        for (DnsRecord& r : answers) r.ttl = std::min(r.ttl, kLegacyTtl), r.cache_flush = false;
        for (DnsRecord& r : additionals) r.ttl = std::min(r.ttl, kLegacyTtl), r.cache_flush = false;
    }
    const size_t max = legacy_query ? kMdnsLegacyMaxPacket : kMdnsMaxPacket;
    const uint16_t id = legacy_query ? legacy_query->id : 0;
    size_t next = 0;
    while (next < answers.size() && out.size() < kMaxPacketsPerQuery) {
        DnsWriter w(id, kDnsFlagResponse | kDnsFlagAuthoritative, max);
        if (legacy_query)
            for (const DnsQuestion& q : legacy_query->questions) w.add_question(q);
        const size_t first = next;
        while (next < answers.size() && w.add_answer(answers[next])) ++next;
        if (next == first) {  // one record larger than a packet: skip it rather than loop
            ++next;
            continue;
        }
        for (const DnsRecord& r : additionals) w.add_additional(r);
        out.push_back({w.bytes(), to, at_ns});
    }
    return out;
}

MdnsAnswer MdnsResponderCore::answer_for(const std::vector<DnsQuestion>& questions,
                                         const std::vector<DnsRecord>& known_answers) const {
    MdnsAnswer result;
    auto add_answer = [&](DnsRecord r) {
        // §7.1: a known answer with at least half our TTL left is not repeated.
        for (const DnsRecord& k : known_answers)
            if (same_record_data(k, r) && k.ttl >= r.ttl / 2) return;
        if (!contains(result.answers, r)) result.answers.push_back(std::move(r));
    };
    auto add_additional = [&](DnsRecord r) {
        if (!contains(result.additionals, r) && !contains(known_answers, r)) result.additionals.push_back(std::move(r));
    };
    const Entry* host = host_entry();
    auto host_records = [&]() -> std::vector<DnsRecord> {
        if (host && answerable(*host)) return unique_records(*host);
        if (!owns_host_name(device_name_) && !device_name_.empty()) {
            // The host's own name: avahi-daemon owns it, but the address record is still
            // what a receiver needs next to our SRV (same data as avahi's: no conflict).
            // Without the cache-flush bit: the host may have more addresses under that name,
            // which a receiver's cache must keep.
            Entry e;
            e.host = true;
            e.name = host_name();
            std::vector<DnsRecord> records = unique_records(e);
            for (DnsRecord& r : records) r.cache_flush = false;
            return records;
        }
        return {};
    };

    for (const DnsQuestion& q : questions) {
        if (q.klass != kDnsClassIn && q.klass != kDnsClassAny) continue;
        const bool any = q.type == kDnsTypeAny;
        if ((q.type == kDnsTypePtr || any) && dns_names_equal(q.name, kServicesName)) {
            std::vector<DnsName> types;
            for (const Entry& e : entries_) {
                const auto same_type = [&](const DnsName& t) { return dns_names_equal(t, e.type_name); };
                if (!e.host && answerable(e) && std::none_of(types.begin(), types.end(), same_type))
                    types.push_back(e.type_name);
            }
            for (const DnsName& t : types) {
                DnsRecord ptr;
                ptr.name = kServicesName;
                ptr.type = kDnsTypePtr;
                ptr.ttl = kMdnsOtherTtl;
                ptr.target = t;
                add_answer(std::move(ptr));
                result.shared = true;
            }
            continue;
        }
        if (q.type == kDnsTypePtr || any) {
            for (const Entry& e : entries_) {
                if (e.host || !answerable(e) || !dns_names_equal(e.type_name, q.name)) continue;
                add_answer(ptr_record(e));
                result.shared = true;
                for (DnsRecord& r : unique_records(e)) add_additional(std::move(r));
                for (DnsRecord& r : host_records()) add_additional(std::move(r));
            }
        }
        const Entry* e = find_entry(q.name);
        if (!e || !answerable(*e)) continue;
        if (e->host) {
            if (q.type == kDnsTypeA || any)
                for (DnsRecord& r : unique_records(*e)) add_answer(std::move(r));
            continue;
        }
        const std::vector<DnsRecord> records = unique_records(*e);  // SRV, TXT
        const bool srv = q.type == kDnsTypeSrv || any;
        const bool txt = q.type == kDnsTypeTxt || any;
        if (srv) add_answer(records[0]);
        if (txt) add_answer(records[1]);
        if (srv) {
            if (!txt) add_additional(records[1]);
            for (DnsRecord& r : host_records()) add_additional(std::move(r));
        }
    }
    // Nothing in Additional that is already an answer.
    std::erase_if(result.additionals, [&](const DnsRecord& r) { return contains(result.answers, r); });
    return result;
}

bool MdnsResponderCore::repeat_allowed(uint32_t source, const DnsRecord& r, int64_t now_ns) {
    std::string key(reinterpret_cast<const char*>(&source), sizeof source);
    key += key_of(r.name);
    key.push_back(static_cast<char>(r.type >> 8));
    key.push_back(static_cast<char>(r.type));
    if (last_answered_.size() >= kMaxRepeatEntries) {
        std::erase_if(last_answered_, [&](const auto& kv) { return now_ns - kv.second >= params_.repeat_interval_ns; });
        if (last_answered_.size() >= kMaxRepeatEntries) last_answered_.clear();  // a flood of sources: start over
    }
    auto [it, inserted] = last_answered_.try_emplace(std::move(key), now_ns);
    if (inserted) return true;
    if (now_ns - it->second < params_.repeat_interval_ns) return false;
    it->second = now_ns;
    return true;
}

void MdnsResponderCore::collide(Entry& e, const std::string& why) {
    e.state = State::collided;
    ++stats_.collisions;
    stats_.last_error = why;
}

void MdnsResponderCore::handle_response(const DnsMessage& m, const Ipv4Endpoint& from) {
    if (from.address == params_.ipv4) return;  // our own multicasts looped back, or the host's avahi-daemon
    for (const std::vector<DnsRecord>* section : {&m.answers, &m.additionals}) {
        for (const DnsRecord& r : *section) {
            if (r.ttl == 0) continue;
            Entry* e = find_entry(r.name);
            if (!e || e->state == State::collided) continue;
            if (e->host ? r.type != kDnsTypeA : (r.type != kDnsTypeSrv && r.type != kDnsTypeTxt)) continue;
            if (contains(unique_records(*e), r)) continue;  // same data: a cache echoing us, not a conflict
            collide(*e, "name collision: " + to_string(e->name) + " is answered by " + dotted(from.address) +
                            " with other data; keeping our name, " +
                            (e->host ? "every service withdrawn" : "instance withdrawn"));
        }
    }
}

void MdnsResponderCore::handle_probes(const DnsMessage& m, const Ipv4Endpoint& from, int64_t now_ns) {
    if (m.authorities.empty() || from.address == params_.ipv4) return;
    for (Entry& e : entries_) {
        if (e.state != State::probing) continue;
        std::vector<std::vector<uint8_t>> theirs;
        for (const DnsRecord& r : m.authorities)
            if (dns_names_equal(r.name, e.name)) theirs.push_back(canonical(r));
        if (theirs.empty()) continue;
        std::vector<std::vector<uint8_t>> ours;
        for (const DnsRecord& r : unique_records(e)) ours.push_back(canonical(r));
        if (tiebreak(ours, theirs) >= 0) continue;  // we win, or the same records: go on
        if (++e.lost_tiebreaks > kMaxTiebreakLosses) {
            collide(e, "name collision: another host probes for " + to_string(e.name) +
                           " with other data and wins; keeping our name, withdrawn");
            continue;
        }
        e.count = 0;
        e.next_ns = now_ns + kTiebreakDefer;
    }
}

std::vector<MdnsOutgoing> MdnsResponderCore::on_packet(std::span<const uint8_t> bytes, const Ipv4Endpoint& from,
                                                       int64_t now_ns) {
    const auto parsed = parse_dns_message(bytes);
    if (!parsed || (parsed->flags & kDnsOpcodeMask) != 0) {
        ++stats_.malformed;
        return {};
    }
    const DnsMessage& m = *parsed;
    if (m.is_response()) {
        // §11: responses must come from 5353 (a legacy resolver's answers are not for us).
        if (from.port == kMdnsPort) handle_response(m, from);
        return {};
    }
    handle_probes(m, from, now_ns);
    if (m.questions.empty()) return {};
    if (!per_source_.allow(from.address, now_ns)) {
        ++stats_.rate_limited;
        return {};
    }
    ++stats_.queries;
    MdnsAnswer answer = answer_for(m.questions, m.answers);
    if (answer.answers.empty()) return {};
    const size_t before = answer.answers.size();
    std::erase_if(answer.answers, [&](const DnsRecord& r) { return !repeat_allowed(from.address, r, now_ns); });
    if (answer.answers.size() != before) ++stats_.rate_limited;
    if (answer.answers.empty()) return {};
    if (!global_.allow(0, now_ns)) {
        ++stats_.rate_limited;
        return {};
    }

    const bool legacy = from.port != kMdnsPort;
    const bool unicast = legacy || std::all_of(m.questions.begin(), m.questions.end(),
                                               [](const DnsQuestion& q) { return q.unicast_response; });
    const Ipv4Endpoint to = unicast ? from : Ipv4Endpoint{kMdnsGroup, kMdnsPort};
    // §6: unique answers at once; with a shared record, 20-120 ms later (legacy: at once).
    const int64_t at = (answer.shared && !legacy) ? now_ns + random_ns(20 * kMs, 120 * kMs) : now_ns;
    std::vector<MdnsOutgoing> out =
        pack(std::move(answer.answers), std::move(answer.additionals), to, at, legacy ? &m : nullptr);
    stats_.answers += out.size();
    return out;
}

std::vector<MdnsOutgoing> MdnsResponderCore::poll(int64_t now_ns) {
    std::vector<MdnsOutgoing> out;
    // Probes: one query per batch, questions "name ANY" (QU on the first, §8.1) and our
    // proposed records in Authority (§8.2).
    std::vector<Entry*> probing, announcing;
    for (Entry& e : entries_) {
        if (e.next_ns > now_ns) continue;
        if (e.state == State::probing) {
            if (e.count >= kProbes) {
                e.state = State::announcing;  // nobody objected: ours
                e.count = 0;
                announcing.push_back(&e);
            } else {
                probing.push_back(&e);
            }
        } else if (e.state == State::announcing) {
            announcing.push_back(&e);
        }
    }
    auto probe_packet = [&](const std::vector<Entry*>& batch) -> std::optional<DnsWriter> {
        DnsWriter w(0, 0, kMdnsMaxPacket);
        for (const Entry* e : batch)
            if (!w.add_question({e->name, kDnsTypeAny, kDnsClassIn, e->count == 0})) return std::nullopt;
        for (const Entry* e : batch)
            for (const DnsRecord& r : unique_records(*e))
                if (!w.add_authority(r)) return std::nullopt;
        return w;
    };
    size_t i = 0;
    while (i < probing.size()) {
        std::vector<Entry*> batch;
        std::optional<DnsWriter> packet;
        for (; i < probing.size(); ++i) {
            batch.push_back(probing[i]);
            std::optional<DnsWriter> w = probe_packet(batch);
            if (!w) {
                batch.pop_back();
                break;
            }
            packet = std::move(w);
        }
        if (batch.empty()) {  // a name whose records do not fit a packet alone cannot be probed
            collide(*probing[i], "cannot probe " + to_string(probing[i]->name) + ": its records do not fit a packet");
            ++i;
            continue;
        }
        for (Entry* e : batch) {
            ++e->count;
            e->next_ns = now_ns + kProbeInterval;
        }
        ++stats_.probes;
        out.push_back({packet->bytes(), {kMdnsGroup, kMdnsPort}, now_ns});
    }

    // Announcements: every record of the name in Answer (§8.3).
    std::vector<DnsRecord> records;
    for (Entry* e : announcing) {
        if (!answerable(*e)) continue;  // an instance waits for its host name
        if (!e->host) records.push_back(ptr_record(*e));
        for (DnsRecord& r : unique_records(*e)) records.push_back(std::move(r));
        if (++e->count >= kAnnouncements) {
            e->state = State::established;
            e->next_ns = INT64_MAX;
        } else {
            e->next_ns = now_ns + kAnnounceInterval;
        }
    }
    // An instance whose host name is still probing waits for it without spinning.
    for (Entry* e : announcing)
        if (!answerable(*e) && e->next_ns <= now_ns) e->next_ns = now_ns + kProbeInterval;
    if (!records.empty()) {
        std::vector<MdnsOutgoing> packets = pack(std::move(records), {}, {kMdnsGroup, kMdnsPort}, now_ns, nullptr);
        stats_.announcements += packets.size();
        for (MdnsOutgoing& p : packets) out.push_back(std::move(p));
    }
    return out;
}

int64_t MdnsResponderCore::next_deadline_ns() const {
    int64_t next = INT64_MAX;
    for (const Entry& e : entries_)
        if (e.state == State::probing || e.state == State::announcing) next = std::min(next, e.next_ns);
    return next;
}

MdnsResponderStats MdnsResponderCore::stats() const {
    MdnsResponderStats s = stats_;
    bool probing = false, collided = false;
    uint64_t services = 0;
    for (const Entry& e : entries_) {
        if (e.state == State::probing) probing = true;
        if (e.state == State::collided) collided = true;
        if (!e.host && answerable(e)) ++services;
    }
    if (const Entry* host = host_entry(); host && host->state == State::collided) services = 0;
    s.services = services;
    s.state = entries_.empty() ? "stopped" : collided ? "collision" : probing ? "probing" : "published";
    return s;
}

}  // namespace dante::control
