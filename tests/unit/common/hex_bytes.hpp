#pragma once
// Bytes written as hex in tests, both ways, shared by every area's tests so that a packet
// laid out by hand reads the same everywhere: hex() parses, to_hex() prints, and
// to_hex(hex(s)) is s in its canonical spelling (lower case, a space every 2 bytes).

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dante::test {

// "27ff 000a" → bytes; anything that is not a hex digit (spaces, '|') is ignored, and
// "'text'" inserts the ASCII between the quotes.
inline std::vector<uint8_t> hex(std::string_view text) {
    std::vector<uint8_t> out;
    int pending = -1;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\'') {
            const size_t end = text.find('\'', i + 1);
            for (size_t j = i + 1; j < end && j < text.size(); ++j) out.push_back(static_cast<uint8_t>(text[j]));
            if (end == std::string_view::npos) break;
            i = end;
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
        const int nibble = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
        if (pending < 0) {
            pending = nibble;
        } else {
            out.push_back(static_cast<uint8_t>(pending * 16 + nibble));
            pending = -1;
        }
    }
    return out;
}

// bytes → "27ff 000a c546": lower case, a space between 16-bit words, as the control
// protocol's tables are written.
inline std::string to_hex(const std::vector<uint8_t>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (i != 0 && i % 2 == 0) out.push_back(' ');
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 15]);
    }
    return out;
}

}  // namespace dante::test
