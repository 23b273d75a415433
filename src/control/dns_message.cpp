#include "control/dns_message.hpp"

#include <algorithm>

#include "util/byte_order.hpp"

namespace dante::control {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool labels_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

class Reader {
public:
    explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    [[nodiscard]] size_t offset() const { return offset_; }
    [[nodiscard]] size_t remaining() const { return bytes_.size() - offset_; }

    bool u16(uint16_t& out) {
        if (remaining() < 2) return false;
        out = load_be16(bytes_.data() + offset_);
        offset_ += 2;
        return true;
    }
    bool u32(uint32_t& out) {
        uint16_t hi = 0, lo = 0;
        if (!u16(hi) || !u16(lo)) return false;
        out = (uint32_t{hi} << 16) | lo;
        return true;
    }

    // A (possibly compressed) name starting at the current offset, which ends up after
    // the name's bytes in place (a pointer's two bytes, or the root label). `limit`: the
    // name's own bytes must end there (rdata); pointers may reach anywhere before.
    bool name(DnsName& out, size_t limit) {
        out.clear();
        size_t at = offset_;
        size_t wire_length = 1;  // the root label
        bool jumped = false;
        size_t end_in_place = 0;
        size_t segment_start = offset_;  // where the labels being read began
        for (;;) {
            const size_t bound = jumped ? bytes_.size() : limit;
            if (at >= bound) return false;
            const uint8_t length = bytes_[at];
            if ((length & 0xC0) == 0xC0) {
                if (at + 1 >= bound) return false;
                const size_t target = (size_t{length & 0x3Fu} << 8) | bytes_[at + 1];
                // Strictly before where the current run of labels began: every jump lands
                // lower than the last one, so a chain of pointers cannot loop.
                if (target >= segment_start) return false;
                if (!jumped) end_in_place = at + 2;
                jumped = true;
                at = target;
                segment_start = target;
                continue;
            }
            if ((length & 0xC0) != 0) return false;  // 0x40 / 0x80: reserved label types
            if (length == 0) {
                if (!jumped) end_in_place = at + 1;
                break;
            }
            if (at + 1 + length > bound) return false;
            wire_length += 1u + length;
            if (wire_length > kMaxDnsName) return false;
            out.emplace_back(reinterpret_cast<const char*>(bytes_.data() + at + 1), length);
            at += 1u + length;
        }
        offset_ = end_in_place;
        return true;
    }

    bool skip(size_t n, std::vector<uint8_t>* copy) {
        if (remaining() < n) return false;
        if (copy) {
            const auto from = bytes_.begin() + static_cast<long>(offset_);
            copy->assign(from, from + static_cast<long>(n));
        }
        offset_ += n;
        return true;
    }

private:
    std::span<const uint8_t> bytes_;
    size_t offset_ = 0;
};

bool read_question(Reader& r, DnsQuestion& q, size_t size) {
    uint16_t klass = 0;
    if (!r.name(q.name, size) || !r.u16(q.type) || !r.u16(klass)) return false;
    q.unicast_response = (klass & 0x8000u) != 0;
    q.klass = klass & 0x7FFFu;
    return true;
}

bool read_record(Reader& r, DnsRecord& rec, size_t size) {
    uint16_t klass = 0, rdlength = 0;
    if (!r.name(rec.name, size) || !r.u16(rec.type) || !r.u16(klass) || !r.u32(rec.ttl) || !r.u16(rdlength))
        return false;
    rec.cache_flush = (klass & 0x8000u) != 0;
    rec.klass = klass & 0x7FFFu;
    if (r.remaining() < rdlength) return false;
    const size_t end = r.offset() + rdlength;
    switch (rec.type) {
        case kDnsTypePtr:
            if (!r.name(rec.target, end)) return false;
            break;
        case kDnsTypeSrv:
            if (!r.u16(rec.priority) || !r.u16(rec.weight) || !r.u16(rec.port) || r.offset() > end ||
                !r.name(rec.target, end))
                return false;
            break;
        default:
            return r.skip(rdlength, &rec.data);
    }
    return r.offset() == end;  // rdata exactly as long as it says
}

}  // namespace

DnsName dns_name(std::string_view dotted) {
    DnsName name;
    while (!dotted.empty()) {
        const size_t dot = dotted.find('.');
        name.emplace_back(dotted.substr(0, dot));
        if (dot == std::string_view::npos) break;
        dotted.remove_prefix(dot + 1);
    }
    return name;
}

std::string to_string(const DnsName& name) {
    std::string out;
    for (const std::string& label : name) {
        if (!out.empty()) out.push_back('.');
        out += label;
    }
    return out;
}

bool dns_names_equal(const DnsName& a, const DnsName& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (!labels_equal(a[i], b[i])) return false;
    return true;
}

bool same_record_data(const DnsRecord& a, const DnsRecord& b) {
    if (a.type != b.type || a.klass != b.klass || !dns_names_equal(a.name, b.name)) return false;
    switch (a.type) {
        case kDnsTypePtr: return dns_names_equal(a.target, b.target);
        case kDnsTypeSrv:
            return a.priority == b.priority && a.weight == b.weight && a.port == b.port &&
                   dns_names_equal(a.target, b.target);
        default: return a.data == b.data;
    }
}

std::optional<DnsMessage> parse_dns_message(std::span<const uint8_t> bytes) {
    if (bytes.size() < 12 || bytes.size() > kMaxDnsMessageSize) return std::nullopt;
    Reader r(bytes);
    DnsMessage m;
    uint16_t counts[4] = {};
    r.u16(m.id);
    r.u16(m.flags);
    for (uint16_t& c : counts) r.u16(c);
    // A question takes at least 5 bytes (root name, type, class), a record 11: counts the
    // rest of the packet cannot hold are a lie, refused before anything is allocated.
    const size_t least = size_t{counts[0]} * 5 + (size_t{counts[1]} + counts[2] + counts[3]) * 11;
    if (least > r.remaining() || size_t{counts[0]} + counts[1] + counts[2] + counts[3] > kMaxDnsRecords)
        return std::nullopt;
    m.questions.resize(counts[0]);
    for (DnsQuestion& q : m.questions)
        if (!read_question(r, q, bytes.size())) return std::nullopt;
    std::vector<DnsRecord>* sections[3] = {&m.answers, &m.authorities, &m.additionals};
    for (int s = 0; s < 3; ++s) {
        sections[s]->resize(counts[s + 1]);
        for (DnsRecord& rec : *sections[s])
            if (!read_record(r, rec, bytes.size())) return std::nullopt;
    }
    // Trailing bytes after the counted sections are tolerated (some stacks pad).
    return m;
}

std::vector<uint8_t> txt_rdata(const std::vector<std::string>& strings) {
    std::vector<uint8_t> out;
    for (const std::string& s : strings) {
        const size_t n = std::min<size_t>(s.size(), 255);
        out.push_back(static_cast<uint8_t>(n));
        out.insert(out.end(), s.begin(), s.begin() + static_cast<long>(n));
    }
    if (out.empty()) out.push_back(0);
    return out;
}

DnsWriter::DnsWriter(uint16_t id, uint16_t flags, size_t max_size) : max_size_(max_size) {
    put16(id);
    put16(flags);
    for (int i = 0; i < 4; ++i) put16(0);
}

void DnsWriter::put16(uint16_t v) { append_be16(bytes_, v); }

void DnsWriter::put32(uint32_t v) { append_be32(bytes_, v); }

void DnsWriter::set_count(int section, uint16_t value) {
    counts_[section] = value;
    store_be16(bytes_.data() + 4 + 2 * section, value);
}

void DnsWriter::rollback(size_t size, size_t names) {
    bytes_.resize(size);
    names_.resize(names);
}

void DnsWriter::write_name(const DnsName& name) {
    for (size_t i = 0; i < name.size(); ++i) {
        std::string key;
        for (size_t j = i; j < name.size(); ++j) {
            const size_t n = std::min<size_t>(name[j].size(), kMaxDnsLabel);
            key.push_back(static_cast<char>(n));
            for (size_t k = 0; k < n; ++k) key.push_back(lower(name[j][k]));
        }
        const auto found = std::find_if(names_.begin(), names_.end(), [&](const auto& e) { return e.first == key; });
        if (found != names_.end()) {
            put16(static_cast<uint16_t>(0xC000u | found->second));
            return;
        }
        if (bytes_.size() < 0x3FFF) names_.emplace_back(std::move(key), static_cast<uint16_t>(bytes_.size()));
        const size_t n = std::min<size_t>(name[i].size(), kMaxDnsLabel);
        bytes_.push_back(static_cast<uint8_t>(n));
        bytes_.insert(bytes_.end(), name[i].begin(), name[i].begin() + static_cast<long>(n));
    }
    bytes_.push_back(0);
}

bool DnsWriter::add_question(const DnsQuestion& question) {
    if (section_ > 0) return false;
    const size_t size = bytes_.size(), names = names_.size();
    write_name(question.name);
    put16(question.type);
    put16(static_cast<uint16_t>(question.klass | (question.unicast_response ? 0x8000u : 0u)));
    if (bytes_.size() > max_size_ || counts_[0] == 0xFFFF) {
        rollback(size, names);
        return false;
    }
    set_count(0, static_cast<uint16_t>(counts_[0] + 1));
    return true;
}

bool DnsWriter::add_record(const DnsRecord& record, int section) {
    if (section < section_ || counts_[section] == 0xFFFF) return false;
    const size_t size = bytes_.size(), names = names_.size();
    write_name(record.name);
    put16(record.type);
    put16(static_cast<uint16_t>(record.klass | (record.cache_flush ? 0x8000u : 0u)));
    put32(record.ttl);
    const size_t length_at = bytes_.size();
    put16(0);
    switch (record.type) {
        case kDnsTypePtr: write_name(record.target); break;
        case kDnsTypeSrv:
            put16(record.priority);
            put16(record.weight);
            put16(record.port);
            write_name(record.target);
            break;
        default: bytes_.insert(bytes_.end(), record.data.begin(), record.data.end()); break;
    }
    const size_t rdlength = bytes_.size() - length_at - 2;
    if (bytes_.size() > max_size_ || rdlength > 0xFFFF) {
        rollback(size, names);
        return false;
    }
    store_be16(bytes_.data() + length_at, static_cast<uint16_t>(rdlength));
    section_ = section;
    set_count(section, static_cast<uint16_t>(counts_[section] + 1));
    return true;
}

}  // namespace dante::control
