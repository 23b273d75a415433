#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "control/dns_message.hpp"
#include "control_test_support.hpp"

using namespace dante::control;
using namespace control_test;

namespace {

// Header: id, flags, counts.
Packet header(uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0, uint16_t flags = 0) {
    Packet p;
    put_u16(p, 0x1234);
    put_u16(p, flags);
    for (uint16_t c : {qd, an, ns, ar}) put_u16(p, c);
    return p;
}

}  // namespace

TEST_CASE("dns: a question, compressed names and a record round-trip") {
    DnsWriter w(7, kDnsFlagResponse | kDnsFlagAuthoritative, 1400);
    REQUIRE(w.add_question({dns_name("01@studio._netaudio-chan._udp.local"), kDnsTypeSrv, kDnsClassIn, true}));
    DnsRecord srv;
    srv.name = dns_name("01@studio._netaudio-chan._udp.local");
    srv.type = kDnsTypeSrv;
    srv.cache_flush = true;
    srv.ttl = 120;
    srv.port = 4455;
    srv.target = dns_name("studio.local");
    REQUIRE(w.add_answer(srv));
    DnsRecord a;
    a.name = dns_name("Studio.local");
    a.type = kDnsTypeA;
    a.ttl = 120;
    a.data = {10, 0, 0, 1};
    REQUIRE(w.add_additional(a));
    CHECK(w.count(0) == 1);
    CHECK(w.count(1) == 1);
    CHECK(w.count(3) == 1);
    CHECK_FALSE(w.add_question({dns_name("late.local"), kDnsTypeA}));  // sections in order

    const auto m = parse_dns_message(w.bytes());
    REQUIRE(m);
    CHECK(m->id == 7);
    CHECK(m->is_response());
    REQUIRE(m->questions.size() == 1);
    CHECK(m->questions[0].unicast_response);
    CHECK(to_string(m->questions[0].name) == "01@studio._netaudio-chan._udp.local");
    REQUIRE(m->answers.size() == 1);
    CHECK(m->answers[0].cache_flush);
    CHECK(m->answers[0].port == 4455);
    CHECK(dns_names_equal(m->answers[0].target, dns_name("STUDIO.local")));
    REQUIRE(m->additionals.size() == 1);
    CHECK(m->additionals[0].data == std::vector<uint8_t>{10, 0, 0, 1});
    CHECK(same_record_data(m->answers[0], srv));
    // The answer's name was compressed against the question's: the message is smaller than
    // the three names written out.
    CHECK(w.size() < 12 + 3 * 36);
}

TEST_CASE("dns: a writer refuses what does not fit and stays valid") {
    DnsWriter w(0, kDnsFlagResponse, 80);  // header 12 + name 9 + 10 + rdata 41 = 72
    DnsRecord txt;
    txt.name = dns_name("x.local");
    txt.type = kDnsTypeTxt;
    txt.data = txt_rdata({std::string(40, 'a')});
    CHECK_FALSE(w.add_answer([&] {
        DnsRecord big = txt;
        big.data = txt_rdata({std::string(100, 'b')});
        return big;
    }()));
    CHECK(w.add_answer(txt));
    CHECK(w.size() == 72);
    const auto m = parse_dns_message(w.bytes());
    REQUIRE(m);
    REQUIRE(m->answers.size() == 1);
    CHECK(m->answers[0].data == txt.data);
}

TEST_CASE("dns: txt rdata") {
    CHECK(txt_rdata({}) == std::vector<uint8_t>{0});
    CHECK(txt_rdata({"a=1", ""}) == std::vector<uint8_t>{3, 'a', '=', '1', 0});
    CHECK(txt_rdata({std::string(300, 'x')}).size() == 256);
}

TEST_CASE("dns: hostile names are refused") {
    // A pointer to itself.
    CHECK_FALSE(parse_dns_message(concat({header(1), {0xC0, 12, 0, 1, 0, 1}})));
    // A pointer forward, out of the packet.
    CHECK_FALSE(parse_dns_message(concat({header(1), {0xC0, 0xFF, 0, 1, 0, 1}})));
    // Two pointers making a loop: the second points back at the first label run.
    // offset 12: "a" then pointer to 17; offset 17: pointer to 12.
    CHECK_FALSE(parse_dns_message(concat({header(1), {1, 'a', 0xC0, 17, 0, 0xC0, 12, 0, 1, 0, 1}})));
    // A pointer backwards into its own name: "a" then a pointer to that "a" again (a check
    // of "target < pointer" alone would loop here).
    CHECK_FALSE(parse_dns_message(concat({header(1), {1, 'a', 0xC0, 12, 0, 1, 0, 1}})));
    // A label of 64 bytes.
    {
        Packet p = header(1);
        p.push_back(64);
        p.insert(p.end(), 64, 'x');
        p.insert(p.end(), {0, 0, 1, 0, 1});
        CHECK_FALSE(parse_dns_message(p));
    }
    // A name of 256 bytes (4 labels of 63 + length bytes + root = 257).
    {
        Packet p = header(1);
        for (int i = 0; i < 4; ++i) {
            p.push_back(63);
            p.insert(p.end(), 63, 'y');
        }
        p.insert(p.end(), {0, 0, 1, 0, 1});
        CHECK_FALSE(parse_dns_message(p));
    }
    // Reserved label types.
    CHECK_FALSE(parse_dns_message(concat({header(1), {0x40, 'a', 0, 0, 1, 0, 1}})));
    CHECK_FALSE(parse_dns_message(concat({header(1), {0x80, 'a', 0, 0, 1, 0, 1}})));
    // A label running past the end.
    CHECK_FALSE(parse_dns_message(concat({header(1), {5, 'a', 'b'}})));
    // A good one, for contrast: a backward pointer.
    const auto ok = parse_dns_message(concat({header(2), {1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0xC0, 12, 0, 1, 0, 1}}));
    REQUIRE(ok);
    CHECK(to_string(ok->questions[1].name) == "b.a");
}

TEST_CASE("dns: counts beyond the packet, truncation, sizes") {
    CHECK_FALSE(parse_dns_message(Packet(11, 0)));                        // shorter than a header
    CHECK_FALSE(parse_dns_message(header(0xFFFF)));                       // 65535 questions in 0 bytes
    CHECK_FALSE(parse_dns_message(concat({header(0, 1), {0, 0, 1}})));    // a record cut short
    CHECK_FALSE(parse_dns_message(Packet(kMaxDnsMessageSize + 1, 0)));    // oversized
    CHECK(parse_dns_message(header(0)));                                  // empty but well-formed
    // rdata length beyond the packet, and rdata whose name overruns its length.
    CHECK_FALSE(parse_dns_message(concat({header(0, 1), {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2}})));
    CHECK_FALSE(parse_dns_message(concat({header(0, 1), {0, 0, 12, 0, 1, 0, 0, 0, 1, 0, 2, 3, 'a', 'b', 'c', 0}})));
    // A PTR whose rdata length says more than its name.
    CHECK_FALSE(parse_dns_message(concat({header(0, 1), {0, 0, 12, 0, 1, 0, 0, 0, 1, 0, 3, 0, 0, 0}})));
    const auto ptr = parse_dns_message(concat({header(0, 1), {0, 0, 12, 0, 1, 0, 0, 0, 1, 0, 3, 1, 'a', 0}}));
    REQUIRE(ptr);
    CHECK(to_string(ptr->answers[0].target) == "a");
}
