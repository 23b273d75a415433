// libFuzzer target: the usrvclock overlay parser on arbitrary bytes.
//
// Properties: no UB or out-of-bounds access for any input (ASan/UBSan find those), whatever
// parses re-encodes and parses back to the same overlay, and an accepted overlay maps any
// instant without overflow traps.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "clock/usrvclock_protocol.hpp"

using namespace dante::usrvclock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ParseResult parsed = parse(std::span<const uint8_t>(data, size));
    if (!parsed.overlay) {
        if (to_string(parsed.error).empty()) std::abort();
        return 0;
    }
    std::array<uint8_t, kOverlaySize> out{};
    encode(*parsed.overlay, out);
    const ParseResult again = parse(out);
    if (!again.overlay || !(*again.overlay == *parsed.overlay)) std::abort();
    for (const int64_t at : {int64_t{0}, parsed.overlay->last_sync, INT64_MAX, INT64_MIN})
        (void)parsed.overlay->overlay_ns_at(at);
    return 0;
}
