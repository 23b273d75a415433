#pragma once
// A reader for the structured module args (dante.rx.names, dante.rx.subscriptions).
//
// PipeWire hands a module arg whose value is an array or object to the module as the raw
// text of that container, in SPA JSON: relaxed JSON, where keys and strings may be bare words
// (`rx = 1 tx-device = stage-box`), `=` may stand for `:`, commas are optional and `#` starts
// a comment to the end of the line. The SPA plugin gets the same text from its factory info.
// Pure (no PipeWire include): the config is validated before anything is created.
//
// Hostile text costs bounded work: one pass, a nesting limit and an element limit, so a
// 10k-entry array is refused as a whole with a message instead of being built.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dante {

struct SpaJsonValue {
    enum class Kind { string, bare, array, object };
    Kind kind = Kind::bare;
    std::string key;   // an object member's key ("" elsewhere)
    std::string text;  // string (unescaped) or bare word (numbers, true, names)
    std::vector<SpaJsonValue> children;  // array items or object members, in order

    [[nodiscard]] bool is_scalar() const { return kind == Kind::string || kind == Kind::bare; }
};

struct SpaJsonLimits {
    size_t max_depth = 4;
    size_t max_elements = 1024;  // values in the whole document, object keys included
};

struct SpaJsonResult {
    std::optional<SpaJsonValue> value;
    std::string error;  // set when value is empty: what is wrong, and where (byte offset)
};

// One value (a container or a scalar) filling the whole text, whitespace aside.
SpaJsonResult parse_spa_json(std::string_view text, const SpaJsonLimits& limits = {});

}  // namespace dante
