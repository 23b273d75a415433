// libFuzzer target: the PTPv2 parser on arbitrary bytes.
//
// Properties: no UB or out-of-bounds access for any input, and whatever parses re-encodes
// and parses back to the same message.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ptp/v2_messages.hpp"
#include "ptp/version_sniff.hpp"

using namespace dante::ptp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> input(data, size);
    (void)sniff_version(input);
    // Domain 0 (the default) and the datagram's own domain, so mutations reach the bodies.
    const uint8_t own_domain = size > 4 ? data[4] : 0;
    for (const uint8_t domain : {uint8_t{0}, own_domain}) {
        const auto parsed = v2::parse(input, domain);
        if (!parsed) continue;
        std::array<uint8_t, v2::kMaxMessageSize> out{};
        const size_t n = v2::encode(*parsed, out);
        if (n == 0) std::abort();
        const auto again = v2::parse(std::span<const uint8_t>(out.data(), n), domain);
        if (!again || !(*again == *parsed)) std::abort();
    }
    return 0;
}
