#pragma once
// DNS messages as mDNS uses them (RFC 1035 §4, RFC 6762 §18): a parser for what arrives on
// UDP 5353, and a writer with name compression for what the built-in responder sends.
// Sans-I/O: bytes in, structs out, and back.
//
// The parser faces the network and refuses rather than guesses:
//  - a name pointer must point strictly before the label it replaces (so a pointer chain
//    can only walk backwards and never loops), and inside the packet;
//  - labels longer than 63 bytes, the reserved label types (0x40, 0x80), names longer than
//    255 bytes on the wire are refused;
//  - section counts are checked against what the remaining bytes could hold, and the whole
//    message is capped (kMaxDnsMessageSize, kMaxDnsRecords); rdata must end exactly where
//    its length says, and names inside it (PTR, SRV) must lie inside it.
// Any of these refuses the whole message (nullopt): a responder has nothing to gain from
// half a packet.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dante::control {

inline constexpr size_t kMaxDnsMessageSize = 9000;  // RFC 6762 §17: mDNS messages up to 9000 bytes
inline constexpr size_t kMaxDnsRecords = 512;       // questions + records of one message
inline constexpr size_t kMaxDnsLabel = 63;
inline constexpr size_t kMaxDnsName = 255;  // wire length, length bytes and the root included

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypePtr = 12;
inline constexpr uint16_t kDnsTypeTxt = 16;
inline constexpr uint16_t kDnsTypeAaaa = 28;
inline constexpr uint16_t kDnsTypeSrv = 33;
inline constexpr uint16_t kDnsTypeNsec = 47;
inline constexpr uint16_t kDnsTypeAny = 255;
inline constexpr uint16_t kDnsClassIn = 1;
inline constexpr uint16_t kDnsClassAny = 255;
inline constexpr uint16_t kDnsFlagResponse = 0x8000;
inline constexpr uint16_t kDnsFlagAuthoritative = 0x0400;
inline constexpr uint16_t kDnsFlagTruncated = 0x0200;
inline constexpr uint16_t kDnsOpcodeMask = 0x7800;

// A name as its labels, without the root: {"01@studio", "_netaudio-chan", "_udp", "local"}.
using DnsName = std::vector<std::string>;

DnsName dns_name(std::string_view dotted);  // "a.b.local" -> {"a","b","local"} (no escapes)
std::string to_string(const DnsName& name);  // for logs and errors: labels joined by '.'
// DNS compares names case-insensitively (ASCII).
bool dns_names_equal(const DnsName& a, const DnsName& b);

struct DnsQuestion {
    DnsName name;
    uint16_t type = 0;
    uint16_t klass = kDnsClassIn;  // without the top bit
    bool unicast_response = false;  // QU: the top bit of qclass (RFC 6762 §5.4)
};

struct DnsRecord {
    DnsName name;
    uint16_t type = 0;
    uint16_t klass = kDnsClassIn;  // without the top bit
    bool cache_flush = false;      // the top bit of rrclass (RFC 6762 §10.2)
    uint32_t ttl = 0;
    // Decoded rdata: PTR uses target; SRV priority/weight/port/target; everything else
    // (A, TXT, ...) keeps its raw bytes in data.
    DnsName target;
    uint16_t priority = 0, weight = 0, port = 0;
    std::vector<uint8_t> data;
};

// Same record (name, type, class and rdata; TTL and cache-flush aside): RFC 6762 §8.2's
// "identical", names compared case-insensitively.
bool same_record_data(const DnsRecord& a, const DnsRecord& b);

struct DnsMessage {
    uint16_t id = 0;
    uint16_t flags = 0;
    std::vector<DnsQuestion> questions;
    std::vector<DnsRecord> answers, authorities, additionals;
    [[nodiscard]] bool is_response() const { return (flags & kDnsFlagResponse) != 0; }
};

std::optional<DnsMessage> parse_dns_message(std::span<const uint8_t> bytes);

// TXT rdata from strings (each at most 255 bytes, longer ones cut; an empty list is one
// empty string, RFC 6763 §6.1) and back.
std::vector<uint8_t> txt_rdata(const std::vector<std::string>& strings);

// Writes one message. Sections must be written in order (questions, answers, authorities,
// additionals); each add_* either fits the whole item within `max_size` or leaves the
// message untouched and returns false.
class DnsWriter {
public:
    DnsWriter(uint16_t id, uint16_t flags, size_t max_size);

    bool add_question(const DnsQuestion& question);
    bool add_answer(const DnsRecord& record) { return add_record(record, 1); }
    bool add_authority(const DnsRecord& record) { return add_record(record, 2); }
    bool add_additional(const DnsRecord& record) { return add_record(record, 3); }

    [[nodiscard]] size_t size() const { return bytes_.size(); }
    [[nodiscard]] uint16_t count(int section) const { return counts_[section]; }  // 0 q, 1 an, 2 ns, 3 ar
    [[nodiscard]] bool empty() const { return counts_[0] + counts_[1] + counts_[2] + counts_[3] == 0; }
    [[nodiscard]] const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    bool add_record(const DnsRecord& record, int section);
    void write_name(const DnsName& name);
    void put16(uint16_t v);
    void put32(uint32_t v);
    void set_count(int section, uint16_t value);
    void rollback(size_t size, size_t names);

    size_t max_size_;
    std::vector<uint8_t> bytes_;
    uint16_t counts_[4] = {0, 0, 0, 0};
    int section_ = 0;
    // Suffixes written so far (lower-cased, '\0'-joined) and their offsets, for compression.
    std::vector<std::pair<std::string, uint16_t>> names_;
};

}  // namespace dante::control
