#include "config/spa_json.hpp"

namespace dante {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Where a bare word ends (SPA JSON: whitespace and the structural characters).
bool ends_bare(char c) {
    return is_space(c) || c == ':' || c == ',' || c == '=' || c == '[' || c == ']' || c == '{' || c == '}' ||
           c == '"' || c == '#';
}

void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
        out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xe0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
}

class Parser {
public:
    Parser(std::string_view text, const SpaJsonLimits& limits) : text_(text), limits_(limits) {}

    SpaJsonResult run() {
        SpaJsonValue value;
        skip_blank();
        if (!parse_value(value, 0)) return {std::nullopt, error_};
        skip_blank();
        if (at_ < text_.size()) return {std::nullopt, where("text after the value")};
        return {std::move(value), {}};
    }

private:
    std::string where(std::string_view what) const { return std::string(what) + " at byte " + std::to_string(at_); }
    bool fail(std::string_view what) {
        if (error_.empty()) error_ = where(what);
        return false;
    }

    void skip_blank() {
        while (at_ < text_.size()) {
            if (is_space(text_[at_])) {
                ++at_;
            } else if (text_[at_] == '#') {
                while (at_ < text_.size() && text_[at_] != '\n') ++at_;
            } else {
                return;
            }
        }
    }
    // Between items: blanks and commas (SPA JSON makes commas optional).
    void skip_separators() {
        skip_blank();
        while (at_ < text_.size() && text_[at_] == ',') {
            ++at_;
            skip_blank();
        }
    }

    bool parse_value(SpaJsonValue& out, size_t depth) {
        if (++elements_ > limits_.max_elements)
            return fail("more than " + std::to_string(limits_.max_elements) + " values");
        if (at_ >= text_.size()) return fail("a value expected");
        const char c = text_[at_];
        if (c == '[' || c == '{') {
            if (depth >= limits_.max_depth) return fail("nesting deeper than " + std::to_string(limits_.max_depth));
            return parse_container(out, depth, c == '{');
        }
        if (c == '"') {
            out.kind = SpaJsonValue::Kind::string;
            return parse_string(out.text);
        }
        if (ends_bare(c)) return fail(std::string("unexpected '") + c + "'");
        out.kind = SpaJsonValue::Kind::bare;
        const size_t start = at_;
        while (at_ < text_.size() && !ends_bare(text_[at_])) ++at_;
        out.text = std::string(text_.substr(start, at_ - start));
        return true;
    }

    bool parse_container(SpaJsonValue& out, size_t depth, bool object) {
        out.kind = object ? SpaJsonValue::Kind::object : SpaJsonValue::Kind::array;
        const char close = object ? '}' : ']';
        ++at_;
        while (true) {
            skip_separators();
            if (at_ >= text_.size()) return fail(std::string("missing '") + close + "'");
            if (text_[at_] == close) {
                ++at_;
                return true;
            }
            SpaJsonValue child;
            if (object) {
                SpaJsonValue key;
                if (!parse_value(key, depth + 1)) return false;
                if (!key.is_scalar()) return fail("an object key must be a word or a string");
                child.key = std::move(key.text);
                skip_blank();
                if (at_ < text_.size() && (text_[at_] == ':' || text_[at_] == '=')) ++at_;
                skip_blank();
            }
            if (!parse_value(child, depth + 1)) return false;
            out.children.push_back(std::move(child));
        }
    }

    bool parse_string(std::string& out) {
        ++at_;  // the opening quote
        while (at_ < text_.size()) {
            const char c = text_[at_++];
            if (c == '"') return true;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (at_ >= text_.size()) break;
            const char e = text_[at_++];
            switch (e) {
                case '"': case '\\': case '/': out.push_back(e); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    if (text_.size() - at_ < 4) return fail("a short \\u escape");
                    unsigned code = 0;
                    for (int i = 0; i < 4; ++i) {
                        const char h = text_[at_++];
                        code <<= 4;
                        if (h >= '0' && h <= '9') code |= static_cast<unsigned>(h - '0');
                        else if (h >= 'a' && h <= 'f') code |= static_cast<unsigned>(h - 'a' + 10);
                        else if (h >= 'A' && h <= 'F') code |= static_cast<unsigned>(h - 'A' + 10);
                        else return fail("a bad \\u escape");
                    }
                    append_utf8(out, code);
                    break;
                }
                default: return fail("an unknown escape");
            }
        }
        return fail("an unterminated string");
    }

    std::string_view text_;
    SpaJsonLimits limits_;
    size_t at_ = 0;
    size_t elements_ = 0;
    std::string error_;
};

}  // namespace

SpaJsonResult parse_spa_json(std::string_view text, const SpaJsonLimits& limits) {
    return Parser(text, limits).run();
}

}  // namespace dante
