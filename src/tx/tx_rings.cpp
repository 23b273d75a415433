#include "tx/tx_rings.hpp"

#include <algorithm>
#include <bit>

namespace dante {
namespace {

// Rings of a power-of-two size all start at the same offset within a page, so the same
// slot of every channel would compete for the same cache sets (and alias the input
// planes, which are page aligned too). Staggering each channel by one cache line spreads
// them over 64 different sets.
constexpr size_t kStaggerSamples = 64 / sizeof(int32_t);

// Copies between a linear span and a ring region that may wrap, as (ring offset, length)
// segments, so the inner loops run over contiguous memory without masking.
template <typename Fn>
void for_each_segment(uint64_t position, uint32_t frames, uint32_t mask, Fn&& fn) {
    const uint32_t start = static_cast<uint32_t>(position & mask);
    const uint32_t first = std::min(frames, mask + 1 - start);
    fn(start, 0u, first);
    if (first < frames) fn(0u, first, frames - first);
}

}  // namespace

TxRings::TxRings(uint32_t channels, uint32_t capacity_frames)
    : channels_(channels),
      mask_(std::bit_ceil(std::max<uint32_t>(capacity_frames, 2)) - 1),
      stride_(mask_ + 1 + kStaggerSamples),
      tags_(new std::atomic<uint64_t>[mask_ + 1]),
      samples_(new int32_t[std::max<size_t>(channels, 1) * stride_]()) {
    for (uint32_t i = 0; i <= mask_; ++i) tags_[i].store(kEmpty, std::memory_order_relaxed);
}

void TxRings::store_tags(uint64_t position, uint32_t frames, bool valid) {
    // Valid tags are released one by one so a reader that sees a tag also sees the
    // samples written before it.
    const auto order = valid ? std::memory_order_release : std::memory_order_relaxed;
    for_each_segment(position, frames, mask_, [&](uint32_t slot, uint32_t offset, uint32_t n) {
        for (uint32_t f = 0; f < n; ++f) tags_[slot + f].store(valid ? position + offset + f + 1 : kEmpty, order);
    });
}

void TxRings::write(uint64_t position, std::span<const int32_t* const> planes, uint32_t frames) {
    // A write longer than the ring keeps only its newest capacity() frames.
    const uint32_t skip = frames > capacity() ? frames - capacity() : 0;
    position += skip;
    frames -= skip;
    // Invalidate first, so a reader racing with this write sees a changed tag and drops
    // the frame instead of mixing old and new samples.
    store_tags(position, frames, false);
    std::atomic_thread_fence(std::memory_order_release);
    for (uint32_t c = 0; c < channels_; ++c) {
        const int32_t* src = c < planes.size() && planes[c] ? planes[c] + skip : nullptr;
        int32_t* dst = ring(c);
        for_each_segment(position, frames, mask_, [&](uint32_t slot, uint32_t offset, uint32_t n) {
            // Relaxed atomic stores: a concurrent reader of a slot being overwritten is
            // a detected race (its tag check fails), never undefined behaviour.
            if (src) {
                for (uint32_t f = 0; f < n; ++f)
                    std::atomic_ref<int32_t>(dst[slot + f]).store(src[offset + f], std::memory_order_relaxed);
            } else {
                for (uint32_t f = 0; f < n; ++f) std::atomic_ref<int32_t>(dst[slot + f]).store(0, std::memory_order_relaxed);
            }
        });
    }
    store_tags(position, frames, true);
}

uint32_t TxRings::read(uint32_t channel, uint64_t position, std::span<int32_t> out) const {
    if (channel >= channels_) {
        std::fill(out.begin(), out.end(), 0);
        return 0;
    }
    if (out.size() > capacity()) {  // no more than one lap can be real at once
        std::fill(out.begin() + capacity(), out.end(), 0);
        out = out.first(capacity());
    }
    const int32_t* src = ring(channel);
    uint32_t valid = 0;
    for_each_segment(position, static_cast<uint32_t>(out.size()), mask_, [&](uint32_t slot, uint32_t offset, uint32_t n) {
        for (uint32_t f = 0; f < n; ++f) {
            const uint64_t want = position + offset + f + 1;
            const uint64_t tag_before = tags_[slot + f].load(std::memory_order_acquire);
            const int32_t sample =
                std::atomic_ref<int32_t>(const_cast<int32_t&>(src[slot + f])).load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            const uint64_t tag_after = tags_[slot + f].load(std::memory_order_relaxed);
            const bool real = tag_before == want && tag_after == want;
            out[offset + f] = real ? sample : 0;
            valid += real ? 1 : 0;
        }
    });
    return valid;
}

}  // namespace dante
