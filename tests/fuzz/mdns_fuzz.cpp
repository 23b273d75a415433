// Fuzz target for the DNS message parser and the built-in mDNS responder (libFuzzer entry
// point; also linked with standalone_main.cpp into a deterministic test). Besides "no crash,
// no out-of-bounds read, no endless loop" (ASan/UBSan builds), it checks what must hold for
// any input: a parsed message stays within the limits, writes back into a message that
// parses to the same names and types, and whatever the responder sends parses, fits its
// packet size and goes to the mDNS group or back to the sender.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "control/dns_message.hpp"
#include "control/mdns_records.hpp"
#include "control/mdns_responder_core.hpp"

namespace {

using namespace dante;
using namespace dante::control;

void require(bool condition) {
    if (!condition) std::abort();
}

std::vector<ServiceRecord> fuzz_records() {
    DeviceState s;
    s.device_name = "fuzz-tx";
    for (int i = 1; i <= 4; ++i) {
        char digits[16];  // not "0" + to_string(i): GCC 12 -O3's false -Wrestrict in that operator+
        std::snprintf(digits, sizeof digits, "%02d", i);
        const std::string name = digits;
        s.tx_channels.push_back({name, i == 2 ? "Guitar L" : name});
    }
    s.tx_flows.push_back({1, true, 48000, 24, 32, {1, 2}, 0xEFFF0381u, 4321});
    return build_service_records(s, MdnsParams{});
}

// A published responder; each input gets a copy, so a collision one input causes does not
// silence the responder for the inputs after it.
const MdnsResponderCore& published() {
    static MdnsResponderCore* core = [] {
        MdnsResponderParams p;
        p.ipv4 = 0x0A000001;
        p.system_host_name = "fuzz-host";
        auto* c = new MdnsResponderCore(p);
        c->set_records(fuzz_records(), "fuzz-tx", 0);
        for (int64_t t = 0; t < 4'000'000'000; t += 250'000'000) c->poll(t);
        return c;
    }();
    return *core;
}

void check_names(const DnsName& name) {
    size_t wire = 1;
    for (const std::string& label : name) {
        require(!label.empty() && label.size() <= kMaxDnsLabel);
        wire += 1 + label.size();
    }
    require(wire <= kMaxDnsName);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> input(data, size);
    const auto m = parse_dns_message(input);
    if (m) {
        require(size >= 12 && size <= kMaxDnsMessageSize);
        require(m->questions.size() + m->answers.size() + m->authorities.size() + m->additionals.size() <=
                kMaxDnsRecords);
        // Write it back (names compressed our way) and read it again: same structure.
        DnsWriter w(m->id, m->flags, 65535);
        bool written = true;
        for (const DnsQuestion& q : m->questions) {
            check_names(q.name);
            written = written && w.add_question(q);
        }
        for (const DnsRecord& r : m->answers) {
            check_names(r.name);
            written = written && w.add_answer(r);
        }
        for (const DnsRecord& r : m->authorities) written = written && w.add_authority(r);
        for (const DnsRecord& r : m->additionals) written = written && w.add_additional(r);
        // (Written without the sender's compression it may not fit 64 KiB: then skip.)
        if (written && w.size() <= kMaxDnsMessageSize) {
            const auto again = parse_dns_message(w.bytes());
            require(again.has_value());
            require(again->questions.size() == m->questions.size() && again->answers.size() == m->answers.size() &&
                    again->additionals.size() == m->additionals.size());
            for (size_t i = 0; i < m->questions.size(); ++i)
                require(dns_names_equal(again->questions[i].name, m->questions[i].name));
            for (size_t i = 0; i < m->answers.size(); ++i) require(same_record_data(again->answers[i], m->answers[i]));
        }
    }

    // The responder, from a peer on the mDNS port and from a legacy resolver's port; time
    // moves on so the repeat limit does not hide everything.
    static int64_t now = 5'000'000'000;
    now += 150'000'000;
    MdnsResponderCore core = published();
    for (const Ipv4Endpoint from : {Ipv4Endpoint{0x0A000002, kMdnsPort}, Ipv4Endpoint{0x0A000003, 40000}}) {
        for (const MdnsOutgoing& out : core.on_packet(input, from, now)) {
            require(out.bytes.size() <= (from.port == kMdnsPort ? kMdnsMaxPacket : kMdnsLegacyMaxPacket));
            require(out.to == from || out.to == Ipv4Endpoint{kMdnsGroup, kMdnsPort});
            const auto reply = parse_dns_message(out.bytes);
            require(reply && reply->is_response() && !reply->answers.empty());
        }
    }
    // Timers and a republish keep working whatever arrived (a collision only withdraws).
    core.poll(now);
    return 0;
}
