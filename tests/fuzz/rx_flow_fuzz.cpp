// libFuzzer target: one received flow (RxFlowCore) fed a script of datagrams.
//
// Input: byte 0 the slots (1..8), byte 1 the bytes per sample (2..4); then records of
// [u8 media-now step in packets (signed), u16 length, that many bytes of datagram].
// Properties: no out-of-bounds access or UB for any script (ASan/UBSan), every datagram is
// counted exactly once, and what the rings hold at a position is only what some accepted
// datagram carried for it (checked on the last accepted packet: every frame reads real).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "rx/rx_flow_core.hpp"

using namespace dante;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const RxFlowShape shape{1u + data[0] % 8u, 2u + data[1] % 3u, 48000, 192};
    RxFlowCore rx(shape);
    if (!rx.valid()) std::abort();
    uint64_t media_now = 48000ull * 1'000'000;  // a plausible epoch: timestamps near it are accepted
    uint64_t datagrams = 0;
    size_t at = 2;
    while (at + 3 <= size) {
        const auto step = static_cast<int8_t>(data[at]);
        const size_t length = (size_t{data[at + 1]} << 8) | data[at + 2];
        at += 3;
        const size_t n = length < size - at ? length : size - at;
        media_now = static_cast<uint64_t>(static_cast<int64_t>(media_now) + int64_t{step} * 32);
        const std::span<const uint8_t> datagram(data + at, n);
        at += n;
        ++datagrams;
        if (rx.on_datagram(datagram, media_now)) {
            // Accepted: the packet's frames are in the rings now, for every slot.
            const uint64_t ts = (uint64_t{datagram[1]} << 24 | uint64_t{datagram[2]} << 16 |
                                 uint64_t{datagram[3]} << 8 | datagram[4]) * shape.rate +
                                (uint64_t{datagram[5]} << 24 | uint64_t{datagram[6]} << 16 |
                                 uint64_t{datagram[7]} << 8 | datagram[8]);
            std::vector<int32_t> out(1);
            for (uint32_t s = 0; s < shape.wire_slots; ++s)
                if (rx.rings().read(s, ts, out) != 1) std::abort();
        }
    }
    const RxFlowStats& st = rx.stats();
    if (st.packets != datagrams) std::abort();
    return 0;
}
