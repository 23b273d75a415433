#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "control/mdns_records.hpp"
#include "control/mdns_responder_core.hpp"
#include "control_test_support.hpp"

using namespace dante;
using namespace dante::control;
using namespace control_test;

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr uint32_t kOurs = 0xC0A80007;     // 192.168.0.7
constexpr uint32_t kPeer = 0xC0A80009;     // 192.168.0.9
constexpr uint32_t kOther = 0xC0A8000A;    // 192.168.0.10

MdnsResponderParams params() {
    MdnsResponderParams p;
    p.ipv4 = kOurs;
    p.system_host_name = "some-host";
    return p;
}

std::vector<ServiceRecord> records_of(size_t channels, bool with_bundle = false) {
    DeviceState state = make_state(channels);
    if (with_bundle) state.tx_flows.push_back({1, true, 48000, 24, 32, {1}, 0xEFFF0381u, 4321});
    return build_service_records(state, MdnsParams{});
}

std::vector<DnsMessage> parse_all(const std::vector<MdnsOutgoing>& packets) {
    std::vector<DnsMessage> out;
    for (const MdnsOutgoing& p : packets) {
        auto m = parse_dns_message(p.bytes);
        REQUIRE(m);
        out.push_back(*m);
    }
    return out;
}

// Runs the timers until every name is published (3 probes, 2 announcements).
int64_t publish(MdnsResponderCore& core, int64_t now, std::vector<MdnsOutgoing>* sent = nullptr) {
    for (int i = 0; i < 40; ++i) {
        auto out = core.poll(now);
        if (sent) sent->insert(sent->end(), out.begin(), out.end());
        const int64_t next = core.next_deadline_ns();
        if (next == INT64_MAX) break;
        now = std::max(now, next);
    }
    return now;
}

Packet query(const std::vector<DnsQuestion>& questions, uint16_t id = 0, const std::vector<DnsRecord>& known = {}) {
    DnsWriter w(id, 0, 9000);
    for (const DnsQuestion& q : questions) REQUIRE(w.add_question(q));
    for (const DnsRecord& r : known) REQUIRE(w.add_answer(r));
    return w.bytes();
}

bool has(const std::vector<DnsRecord>& list, std::string_view name, uint16_t type) {
    return std::any_of(list.begin(), list.end(),
                       [&](const DnsRecord& r) { return r.type == type && dns_names_equal(r.name, dns_name(name)); });
}

const char* kChan01 = "01@studio-pc._netaudio-chan._udp.local";

}  // namespace

TEST_CASE("mdns responder: probes 3 times 250 ms apart, then announces twice 1 s apart") {
    MdnsResponderCore core(params());
    CHECK(core.set_records(records_of(2), "studio-pc", 0).empty());
    CHECK(core.stats().state == "probing");
    std::vector<MdnsOutgoing> sent;
    publish(core, 0, &sent);
    const auto messages = parse_all(sent);
    std::vector<int64_t> probe_times, announce_times;
    for (size_t i = 0; i < messages.size(); ++i) {
        CHECK(sent[i].to == Ipv4Endpoint{kMdnsGroup, kMdnsPort});
        if (messages[i].is_response())
            announce_times.push_back(sent[i].not_before_ns);
        else
            probe_times.push_back(sent[i].not_before_ns);
    }
    REQUIRE(probe_times.size() == 3);
    CHECK(probe_times[1] - probe_times[0] == 250 * kMs);
    CHECK(probe_times[2] - probe_times[1] == 250 * kMs);
    REQUIRE(announce_times.size() == 2);
    CHECK(announce_times[0] - probe_times[2] == 250 * kMs);
    CHECK(announce_times[1] - announce_times[0] == 1000 * kMs);
    // The first probe asks QU, all of them ANY, with our records in Authority.
    const DnsMessage& probe = messages[0];
    CHECK(probe.questions.size() == 5);  // host, arc, cmc, 01, 02
    CHECK(probe.questions[0].unicast_response);
    CHECK(probe.questions[0].type == kDnsTypeAny);
    CHECK(has(probe.authorities, "studio-pc.local", kDnsTypeA));
    CHECK(has(probe.authorities, kChan01, kDnsTypeSrv));
    CHECK_FALSE(messages[1].questions[0].unicast_response);
    // Announcements: PTR, SRV, TXT, A, in Answer.
    const DnsMessage& announce = messages.back();
    CHECK(has(announce.answers, "_netaudio-chan._udp.local", kDnsTypePtr));
    CHECK(has(announce.answers, kChan01, kDnsTypeTxt));
    CHECK(has(announce.answers, "studio-pc.local", kDnsTypeA));
    CHECK(core.stats().state == "published");
    CHECK(core.stats().services == 4);
}

TEST_CASE("mdns responder: which records go where") {
    MdnsResponderCore core(params());
    core.set_records(records_of(2, true), "studio-pc", 0);
    const int64_t now = publish(core, 0);

    SUBCASE("SRV: SRV in Answer; A of the target and TXT in Additional") {
        const MdnsAnswer a = core.answer_for({{dns_name(kChan01), kDnsTypeSrv}}, {});
        REQUIRE(a.answers.size() == 1);
        CHECK(has(a.answers, kChan01, kDnsTypeSrv));
        CHECK(a.answers[0].port == 4455);
        CHECK(a.answers[0].ttl == 120);
        CHECK(a.answers[0].cache_flush);
        CHECK(has(a.additionals, "studio-pc.local", kDnsTypeA));
        CHECK(has(a.additionals, kChan01, kDnsTypeTxt));
        CHECK(a.additionals.size() == 2);
        CHECK_FALSE(a.shared);
    }
    SUBCASE("SRV + TXT (the Dante receiver's query): both in Answer, A in Additional") {
        const MdnsAnswer a =
            core.answer_for({{dns_name(kChan01), kDnsTypeSrv}, {dns_name(kChan01), kDnsTypeTxt}}, {});
        CHECK(a.answers.size() == 2);
        CHECK(has(a.answers, kChan01, kDnsTypeTxt));
        REQUIRE(a.additionals.size() == 1);
        CHECK(has(a.additionals, "studio-pc.local", kDnsTypeA));
        CHECK(a.additionals[0].data == std::vector<uint8_t>{192, 168, 0, 7});
        CHECK(a.additionals[0].ttl == 120);
    }
    SUBCASE("a multicast bundle resolves the same way") {
        const char* bund = "1@studio-pc._netaudio-bund._udp.local";
        const MdnsAnswer a = core.answer_for({{dns_name(bund), kDnsTypeSrv}, {dns_name(bund), kDnsTypeTxt}}, {});
        CHECK(a.answers.size() == 2);
        CHECK(has(a.additionals, "studio-pc.local", kDnsTypeA));
    }
    SUBCASE("PTR: our instances only, SRV + TXT + A in Additional") {
        const MdnsAnswer a = core.answer_for({{dns_name("_netaudio-chan._udp.local"), kDnsTypePtr}}, {});
        CHECK(a.shared);
        REQUIRE(a.answers.size() == 2);
        for (const DnsRecord& r : a.answers) {
            CHECK(r.type == kDnsTypePtr);
            CHECK(r.ttl == 4500);
            CHECK_FALSE(r.cache_flush);
        }
        CHECK(a.additionals.size() == 5);  // 2 SRV, 2 TXT, 1 A
        CHECK(has(a.additionals, "02@studio-pc._netaudio-chan._udp.local", kDnsTypeSrv));
        for (const DnsRecord& r : a.additionals)
            if (r.type == kDnsTypeTxt) CHECK(r.ttl == 4500);
    }
    SUBCASE("A: in Answer") {
        const MdnsAnswer a = core.answer_for({{dns_name("STUDIO-PC.local"), kDnsTypeA}}, {});
        REQUIRE(a.answers.size() == 1);
        CHECK(a.additionals.empty());
    }
    SUBCASE("TXT alone: nothing additional") {
        const MdnsAnswer a = core.answer_for({{dns_name(kChan01), kDnsTypeTxt}}, {});
        CHECK(a.answers.size() == 1);
        CHECK(a.additionals.empty());
    }
    SUBCASE("other names, the host's own name, AAAA, other types: nothing") {
        CHECK(core.answer_for({{dns_name("some-host.local"), kDnsTypeA}}, {}).answers.empty());
        CHECK(core.answer_for({{dns_name("_http._tcp.local"), kDnsTypePtr}}, {}).answers.empty());
        CHECK(core.answer_for({{dns_name("03@studio-pc._netaudio-chan._udp.local"), kDnsTypeSrv}}, {}).answers.empty());
        CHECK(core.answer_for({{dns_name("studio-pc.local"), kDnsTypeAaaa}}, {}).answers.empty());
    }
    SUBCASE("known answers suppress the PTR they list") {
        const MdnsAnswer first = core.answer_for({{dns_name("_netaudio-chan._udp.local"), kDnsTypePtr}}, {});
        std::vector<DnsRecord> known = {first.answers[0]};
        const MdnsAnswer a = core.answer_for({{dns_name("_netaudio-chan._udp.local"), kDnsTypePtr}}, known);
        CHECK(a.answers.size() == 1);
        known[0].ttl = 100;  // less than half of ours left: repeated
        CHECK(core.answer_for({{dns_name("_netaudio-chan._udp.local"), kDnsTypePtr}}, known).answers.size() == 2);
    }
    SUBCASE("service type enumeration") {
        const MdnsAnswer a = core.answer_for({{dns_name("_services._dns-sd._udp.local"), kDnsTypePtr}}, {});
        CHECK(a.answers.size() == 4);  // arc, cmc, chan, bund
    }
    (void)now;
}

TEST_CASE("mdns responder: answers on the wire: QM multicast at once, A asked again and again") {
    MdnsResponderCore core(params());
    core.set_records(records_of(2), "studio-pc", 0);
    int64_t now = publish(core, 0);
    const Ipv4Endpoint receiver{kPeer, kMdnsPort};

    auto out = core.on_packet(query({{dns_name(kChan01), kDnsTypeSrv}, {dns_name(kChan01), kDnsTypeTxt}}),
                              receiver, now);
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == Ipv4Endpoint{kMdnsGroup, kMdnsPort});
    CHECK(out[0].not_before_ns == now);  // unique records: no delay
    auto m = parse_all(out)[0];
    CHECK(m.answers.size() == 2);
    CHECK(m.additionals.size() == 1);
    CHECK(m.questions.empty());

    // The receiver's next question, 0.3 ms later: the A record, answered although it was
    // just multicast (no one-second rule for a direct question).
    now += 300'000;
    out = core.on_packet(query({{dns_name("studio-pc.local"), kDnsTypeA}}), receiver, now);
    REQUIRE(out.size() == 1);
    CHECK(has(parse_all(out)[0].answers, "studio-pc.local", kDnsTypeA));

    // The same source asking for the same record within 100 ms: not repeated; another
    // source is answered; after 100 ms the first one is again.
    now += 10 * kMs;
    CHECK(core.on_packet(query({{dns_name("studio-pc.local"), kDnsTypeA}}), receiver, now).empty());
    CHECK(core.on_packet(query({{dns_name("studio-pc.local"), kDnsTypeA}}), {kOther, kMdnsPort}, now).size() == 1);
    now += 100 * kMs;
    CHECK(core.on_packet(query({{dns_name("studio-pc.local"), kDnsTypeA}}), receiver, now).size() == 1);
    CHECK(core.stats().rate_limited >= 1);

    SUBCASE("QU: unicast to the querier") {
        now += 200 * kMs;
        out = core.on_packet(query({{dns_name(kChan01), kDnsTypeSrv, kDnsClassIn, true}}), receiver, now);
        REQUIRE(out.size() == 1);
        CHECK(out[0].to == receiver);
    }
    SUBCASE("legacy unicast: to the source port, ID and question echoed, TTL <= 10, no cache-flush") {
        now += 200 * kMs;
        const Ipv4Endpoint legacy{kPeer, 40000};
        out = core.on_packet(query({{dns_name(kChan01), kDnsTypeSrv}}, 0xBEEF), legacy, now);
        REQUIRE(out.size() == 1);
        CHECK(out[0].to == legacy);
        m = parse_all(out)[0];
        CHECK(m.id == 0xBEEF);
        REQUIRE(m.questions.size() == 1);
        CHECK(dns_names_equal(m.questions[0].name, dns_name(kChan01)));
        for (const auto* section : {&m.answers, &m.additionals})
            for (const DnsRecord& r : *section) {
                CHECK(r.ttl <= 10);
                CHECK_FALSE(r.cache_flush);
            }
        CHECK(has(m.additionals, "studio-pc.local", kDnsTypeA));
    }
    SUBCASE("PTR: after 20-120 ms") {
        now += 200 * kMs;
        out = core.on_packet(query({{dns_name("_netaudio-chan._udp.local"), kDnsTypePtr}}), receiver, now);
        REQUIRE(out.size() == 1);
        CHECK(out[0].not_before_ns >= now + 20 * kMs);
        CHECK(out[0].not_before_ns <= now + 120 * kMs);
    }
}

TEST_CASE("mdns responder: nothing is answered before probing ends") {
    MdnsResponderCore core(params());
    core.set_records(records_of(1), "studio-pc", 0);
    core.poll(300 * kMs);
    CHECK(core.answer_for({{dns_name(kChan01), kDnsTypeSrv}}, {}).answers.empty());
}

TEST_CASE("mdns responder: another host answering for our names is a collision, never a rename") {
    MdnsResponderCore core(params());
    core.set_records(records_of(2), "studio-pc", 0);
    core.poll(0);
    core.poll(250 * kMs);  // probing
    DnsRecord theirs;
    theirs.name = dns_name(kChan01);
    theirs.type = kDnsTypeSrv;
    theirs.ttl = 120;
    theirs.port = 9999;
    theirs.target = dns_name("elsewhere.local");
    DnsWriter w(0, kDnsFlagResponse | kDnsFlagAuthoritative, 1400);
    w.add_answer(theirs);
    // From our own address (our loop-back, the host's avahi-daemon): ignored.
    core.on_packet(w.bytes(), {kOurs, kMdnsPort}, 300 * kMs);
    CHECK(core.stats().collisions == 0);
    core.on_packet(w.bytes(), {kOther, kMdnsPort}, 300 * kMs);
    CHECK(core.stats().collisions == 1);
    int64_t now = publish(core, 300 * kMs);
    CHECK(core.stats().state == "collision");
    CHECK(core.stats().services == 3);  // arc, cmc, 02
    CHECK(core.answer_for({{dns_name(kChan01), kDnsTypeSrv}}, {}).answers.empty());
    CHECK(core.stats().last_error.find("keeping our name") != std::string::npos);
    // The same data echoed (a cache) is not a collision.
    const MdnsAnswer ours = core.answer_for({{dns_name("02@studio-pc._netaudio-chan._udp.local"), kDnsTypeSrv}}, {});
    DnsWriter echo(0, kDnsFlagResponse, 1400);
    echo.add_answer(ours.answers[0]);
    core.on_packet(echo.bytes(), {kOther, kMdnsPort}, now);
    CHECK(core.stats().collisions == 1);
    // The next set_records tries the collided name again.
    core.set_records(records_of(2), "studio-pc", now);
    CHECK(core.stats().state == "probing");
}

TEST_CASE("mdns responder: a TXT change is announced in place, a removed instance says goodbye") {
    MdnsResponderCore core(params());
    core.set_records(records_of(2), "studio-pc", 0);
    int64_t now = publish(core, 0);
    // A multicast flow: the channel TXT changes, a bundle is new.
    auto out = core.set_records(records_of(2, true), "studio-pc", now);
    CHECK(out.empty());  // nothing left
    std::vector<MdnsOutgoing> sent;
    now = publish(core, now, &sent);
    bool txt_announced = false;
    for (const DnsMessage& m : parse_all(sent))
        if (m.is_response() && has(m.answers, kChan01, kDnsTypeTxt)) txt_announced = true;
    CHECK(txt_announced);
    // Back: the bundle says goodbye with TTL 0.
    out = core.set_records(records_of(2), "studio-pc", now);
    REQUIRE(out.size() == 1);
    const DnsMessage bye = parse_all(out)[0];
    CHECK(has(bye.answers, "1@studio-pc._netaudio-bund._udp.local", kDnsTypeSrv));
    CHECK(has(bye.answers, "_netaudio-bund._udp.local", kDnsTypePtr));
    for (const DnsRecord& r : bye.answers) CHECK(r.ttl == 0);
    CHECK_FALSE(has(bye.answers, kChan01, kDnsTypeSrv));
    // Stop: goodbyes for everything.
    out = core.stop();
    REQUIRE_FALSE(out.empty());
    CHECK(has(parse_all(out)[0].answers, "studio-pc.local", kDnsTypeA));
}

TEST_CASE("mdns responder: the device named like the host: the A record only in Additional") {
    MdnsResponderParams p = params();
    p.system_host_name = "Studio-PC.example.org";
    MdnsResponderCore core(p);
    core.set_records(records_of(1), "studio-pc", 0);
    publish(core, 0);
    CHECK(core.answer_for({{dns_name("studio-pc.local"), kDnsTypeA}}, {}).answers.empty());
    const MdnsAnswer a = core.answer_for({{dns_name(kChan01), kDnsTypeSrv}}, {});
    CHECK(has(a.additionals, "studio-pc.local", kDnsTypeA));
    for (const DnsRecord& r : a.additionals)
        if (r.type == kDnsTypeA) CHECK_FALSE(r.cache_flush);  // not ours to flush
}

TEST_CASE("mdns responder: a lost simultaneous-probe tiebreak probes again after 1 s") {
    MdnsResponderCore core(params());
    core.set_records(records_of(1), "studio-pc", 0);
    const int64_t first = core.next_deadline_ns();
    core.poll(first);
    // Another host probing for our channel with a larger SRV (port 65535 > 4455): it wins.
    DnsRecord theirs;
    theirs.name = dns_name(kChan01);
    theirs.type = kDnsTypeSrv;
    theirs.ttl = 120;
    theirs.port = 65535;
    theirs.target = dns_name("studio-pc.local");
    DnsWriter w(0, 0, 1400);
    w.add_question({dns_name(kChan01), kDnsTypeAny, kDnsClassIn, true});
    w.add_authority(theirs);
    core.on_packet(w.bytes(), {kOther, kMdnsPort}, first + 10 * kMs);
    CHECK(core.next_deadline_ns() >= first + 10 * kMs);  // the host name goes on; the instance waits
    publish(core, first + 10 * kMs);
    CHECK(core.stats().collisions == 0);
    CHECK(core.stats().state == "published");
}

TEST_CASE("mdns responder: hostile queries cost bounded work") {
    MdnsResponderCore core(params());
    core.set_records(records_of(64), "studio-pc", 0);
    int64_t now = publish(core, 0);
    // 300 copies of the PTR question: one answer set, at most 8 packets.
    std::vector<DnsQuestion> many(300, {dns_name("_netaudio-chan._udp.local"), kDnsTypePtr});
    auto out = core.on_packet(query(many), {kPeer, kMdnsPort}, now);
    CHECK_FALSE(out.empty());
    CHECK(out.size() <= 8);
    for (const MdnsOutgoing& p : out) CHECK(p.bytes.size() <= kMdnsMaxPacket);
    // Garbage is counted, never answered.
    CHECK(core.on_packet(Packet{1, 2, 3}, {kPeer, kMdnsPort}, now).empty());
    CHECK(core.stats().malformed == 1);
    // A flood from one source hits the per-source limit.
    size_t answered = 0;
    for (int i = 0; i < 1000; ++i)
        answered += core.on_packet(query({{dns_name("studio-pc.local"), kDnsTypeA}}), {kPeer, kMdnsPort},
                                   now + i * 200 * kMs / 1000)
                        .size();
    CHECK(answered <= 3);  // once per 100 ms over 200 ms
}
