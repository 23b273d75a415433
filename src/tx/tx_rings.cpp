#include "tx/tx_rings.hpp"

#include <algorithm>
#include <bit>

namespace dante {

TxRings::TxRings(uint32_t channels, uint32_t capacity_frames)
    : channels_(channels),
      mask_(std::bit_ceil(std::max<uint32_t>(capacity_frames, 2)) - 1),
      tags_(new std::atomic<uint64_t>[mask_ + 1]) {
    for (uint32_t i = 0; i <= mask_; ++i) tags_[i].store(kEmpty, std::memory_order_relaxed);
    samples_.reserve(channels);
    for (uint32_t c = 0; c < channels; ++c) samples_.emplace_back(new int32_t[mask_ + 1]());
}

void TxRings::write(uint64_t position, std::span<const int32_t* const> planes, uint32_t frames) {
    // A write longer than the ring keeps only its newest capacity() frames.
    const uint32_t skip = frames > capacity() ? frames - capacity() : 0;
    position += skip;
    frames -= skip;
    // Invalidate first, so a reader racing with this write sees a changed tag and drops
    // the frame instead of mixing old and new samples.
    for (uint32_t f = 0; f < frames; ++f) tags_[(position + f) & mask_].store(kEmpty, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (uint32_t c = 0; c < channels_; ++c) {
        const int32_t* src = c < planes.size() && planes[c] ? planes[c] + skip : nullptr;
        int32_t* ring = samples_[c].get();
        for (uint32_t f = 0; f < frames; ++f)
            std::atomic_ref<int32_t>(ring[(position + f) & mask_]).store(src ? src[f] : 0, std::memory_order_relaxed);
    }
    for (uint32_t f = 0; f < frames; ++f)
        tags_[(position + f) & mask_].store(position + f + 1, std::memory_order_release);
}

uint32_t TxRings::read(uint32_t channel, uint64_t position, std::span<int32_t> out) const {
    if (channel >= channels_) {
        std::fill(out.begin(), out.end(), 0);
        return 0;
    }
    int32_t* ring = samples_[channel].get();
    uint32_t valid = 0;
    for (size_t f = 0; f < out.size(); ++f) {
        const uint64_t want = position + f + 1;
        const size_t slot = (position + f) & mask_;
        const uint64_t tag_before = tags_[slot].load(std::memory_order_acquire);
        const int32_t sample = std::atomic_ref<int32_t>(ring[slot]).load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        const uint64_t tag_after = tags_[slot].load(std::memory_order_relaxed);
        if (tag_before == want && tag_after == want) {
            out[f] = sample;
            ++valid;
        } else {
            out[f] = 0;
        }
    }
    return valid;
}

}  // namespace dante
