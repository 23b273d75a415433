// libFuzzer target: the PTPv1 parser on arbitrary bytes.
//
// Properties: no UB or out-of-bounds access for any input (ASan/UBSan find those), and
// whatever parses re-encodes and parses back to the same message.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ptp/v1_messages.hpp"
#include "ptp/version_sniff.hpp"

using namespace dante::ptp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> input(data, size);
    (void)sniff_version(input);
    // Parse against both the default subdomain and the datagram's own, so mutations get
    // past the domain check and exercise the bodies.
    v1::Subdomain own = v1::kDefaultSubdomain;
    if (size >= 20) {
        for (size_t i = 0; i < own.size(); ++i) own[i] = data[4 + i];
    }
    for (const v1::Subdomain& subdomain : {v1::kDefaultSubdomain, own}) {
        const auto parsed = v1::parse(input, subdomain);
        if (!parsed) continue;
        std::array<uint8_t, v1::kMaxMessageSize> out{};
        const size_t n = v1::encode(*parsed, out);
        if (n == 0) std::abort();
        const auto again = v1::parse(std::span<const uint8_t>(out.data(), n), subdomain);
        if (!again || !(*again == *parsed)) std::abort();
    }
    return 0;
}
