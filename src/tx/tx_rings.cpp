#include "tx/tx_rings.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace dante {
namespace {

// Rings of a power-of-two size all start at the same offset within a page, so the same
// slot of every channel would compete for the same cache sets (and alias the input
// planes, which are page aligned too). Staggering each channel by one cache line spreads
// them over 64 different sets.
constexpr size_t kStaggerSamples = 64 / sizeof(int32_t);

// Block numbers are kept modulo 2^48 in a tag (the low 16 bits are the generation).
// Positions up to 2^54 frames (6000 years at 96 kHz) never wrap.
constexpr uint64_t kBlockNumberMask = (uint64_t{1} << 48) - 1;
constexpr uint64_t make_tag(uint64_t block, uint64_t generation) {
    return ((block & kBlockNumberMask) << 16) | (generation & 0xFFFF);
}
constexpr uint64_t tag_block(uint64_t tag) { return tag >> 16; }
constexpr uint64_t next_generation(uint64_t tag) { return tag == 0 ? 1 : ((tag & 0xFFFF) + 2) & 0xFFFF; }  // stays odd

constexpr uint64_t frame_bits(uint32_t first, uint32_t n) {
    return (n >= 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << first;
}

// The two copies that may race with the other side (see the header): plain memcpy, so
// they vectorise; their result is only used once the stamps prove there was no race.
__attribute__((no_sanitize("thread"))) inline void racy_copy(int32_t* dst, const int32_t* src, uint32_t n) {
    std::memcpy(dst, src, size_t{n} * sizeof(int32_t));
}
__attribute__((no_sanitize("thread"))) inline void racy_zero(int32_t* dst, uint32_t n) {
    std::memset(dst, 0, size_t{n} * sizeof(int32_t));
}

// Calls fn(ring offset, span offset, length) for the one or two contiguous pieces of a
// ring region that may wrap.
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
      block_frames_(std::min(kBlockFrames, mask_ + 1)),
      block_shift_(static_cast<uint32_t>(std::countr_zero(block_frames_))),
      blocks_((mask_ + 1) / block_frames_),
      stride_(mask_ + 1 + kStaggerSamples),
      stamps_(new Stamp[blocks_]),
      shadow_(new Shadow[blocks_]),
      samples_(new int32_t[std::max<size_t>(channels, 1) * stride_]()) {}

void TxRings::write(uint64_t position, std::span<const int32_t* const> planes, uint32_t frames) {
    // A write longer than the ring keeps only its newest capacity() frames.
    const uint32_t skip = frames > capacity() ? frames - capacity() : 0;
    position += skip;
    frames -= skip;
    if (frames == 0) return;
    const uint64_t first_block = position >> block_shift_;
    const uint64_t last_block = (position + frames - 1) >> block_shift_;
    const uint32_t block_mask = blocks_ - 1;
    const uint32_t in_block_mask = block_frames_ - 1;
    const uint64_t end = position + frames;

    // 1. Work out each block's new stamp. A block that only gains frames it did not
    //    hold (appending to this lap) stays readable throughout; any other block is
    //    withdrawn (tag 0) before its frames are overwritten.
    bool withdrew = false;
    for (uint64_t b = first_block; b <= last_block; ++b) {
        const uint64_t lo = std::max(position, b << block_shift_);
        const uint64_t hi = std::min(end, (b + 1) << block_shift_);
        const uint64_t bits = frame_bits(static_cast<uint32_t>(lo & in_block_mask), static_cast<uint32_t>(hi - lo));
        const uint32_t slot = static_cast<uint32_t>(b) & block_mask;
        Shadow& sh = shadow_[slot];
        Stamp& st = stamps_[slot];
        const uint64_t holds = tag_block(sh.tag);
        if (sh.tag != 0 && holds == (b & kBlockNumberMask) && (sh.valid & bits) == 0) {
            sh.valid |= bits;
            if (sh.prev_valid & bits) {
                // The previous lap's frames being replaced stop being real before they change.
                sh.prev_valid &= ~bits;
                st.prev_valid.store(sh.prev_valid, std::memory_order_relaxed);
                withdrew = true;
            }
            continue;
        }
        if (sh.tag != 0) {
            st.tag.store(0, std::memory_order_relaxed);
            withdrew = true;
        }
        const uint64_t generation = next_generation(sh.tag);
        if (sh.tag != 0 && holds == (b & kBlockNumberMask)) {  // rewriting frames of this lap
            sh.valid |= bits;
            sh.prev_valid &= ~bits;
        } else if (sh.tag != 0 && ((holds + blocks_) & kBlockNumberMask) == (b & kBlockNumberMask)) {  // next lap
            sh.prev_valid = sh.valid & ~bits;
            sh.valid = bits;
        } else {
            sh.prev_valid = 0;
            sh.valid = bits;
        }
        sh.tag = make_tag(b, generation);
    }
    if (withdrew) std::atomic_thread_fence(std::memory_order_release);

    // 2. The samples: one plain copy per channel per contiguous run.
    for (uint32_t c = 0; c < channels_; ++c) {
        const int32_t* src = c < planes.size() && planes[c] ? planes[c] + skip : nullptr;
        int32_t* dst = ring(c);
        for_each_segment(position, frames, mask_, [&](uint32_t slot, uint32_t offset, uint32_t n) {
            if (src)
                racy_copy(dst + slot, src + offset, n);
            else
                racy_zero(dst + slot, n);
        });
    }

    // 3. Publish: bitmaps first, the tag last, both released after the samples.
    for (uint64_t b = first_block; b <= last_block; ++b) {
        const uint32_t slot = static_cast<uint32_t>(b) & block_mask;
        const Shadow& sh = shadow_[slot];
        Stamp& st = stamps_[slot];
        st.prev_valid.store(sh.prev_valid, std::memory_order_relaxed);
        st.valid.store(sh.valid, std::memory_order_release);
        st.tag.store(sh.tag, std::memory_order_release);
    }
}

uint32_t TxRings::read_block(const int32_t* src, uint64_t block, uint32_t first, uint32_t n, int32_t* out) const {
    const Stamp& st = stamps_[static_cast<uint32_t>(block) & (blocks_ - 1)];
    const uint64_t tag_before = st.tag.load(std::memory_order_acquire);
    const uint64_t holds = tag_block(tag_before);
    const bool this_lap = tag_before != 0 && holds == (block & kBlockNumberMask);
    const bool prev_lap = tag_before != 0 && !this_lap && holds == ((block + blocks_) & kBlockNumberMask);
    if (!this_lap && !prev_lap) {
        std::memset(out, 0, size_t{n} * sizeof(int32_t));
        return 0;
    }
    uint64_t bits = this_lap ? st.valid.load(std::memory_order_acquire) : st.prev_valid.load(std::memory_order_acquire);
    racy_copy(out, src + ((block << block_shift_) & mask_) + first, n);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (st.tag.load(std::memory_order_relaxed) != tag_before) bits = 0;
    if (prev_lap) bits &= st.prev_valid.load(std::memory_order_relaxed);

    const uint64_t want = frame_bits(first, n);
    bits &= want;
    if (bits == want) return n;
    for (uint32_t f = 0; f < n; ++f)
        if (!(bits >> (first + f) & 1)) out[f] = 0;
    return static_cast<uint32_t>(std::popcount(bits));
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
    const uint32_t in_block_mask = block_frames_ - 1;
    uint32_t valid = 0;
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t pos = position + done;
        const uint32_t first = static_cast<uint32_t>(pos & in_block_mask);
        const uint32_t n = static_cast<uint32_t>(std::min<size_t>(out.size() - done, block_frames_ - first));
        valid += read_block(src, pos >> block_shift_, first, n, out.data() + done);
        done += n;
    }
    return valid;
}

}  // namespace dante
