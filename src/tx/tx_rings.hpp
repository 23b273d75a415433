#pragma once
// Per-channel transmit rings indexed by media-clock sample position.
//
// The graph cycle writes the samples it renders at the Dante timestamp they will carry;
// the transmitter later reads by timestamp. The ring remembers which position each frame
// holds, so a read returns only samples written for exactly that position: never-written
// holes, frames already overwritten by a later lap, and frames being written right now
// all read as silence. Stale audio is never repeated.
//
// Layout: every channel's ring is one contiguous run of samples (staggered so channels
// and the graph's page-aligned input planes do not share cache sets), and what the ring
// holds is published per block of kBlockFrames frames, shared by all channels, as a
// seqlock-style stamp: the block number it holds (position / kBlockFrames), a generation
// that changes on every write that overwrites frames a reader may be using, and bitmaps
// of the frames that are real (for this block number and, for frames not yet reached by
// the new lap, the previous one). So a write is one plain memcpy per channel per
// contiguous run plus a few stamp stores per block, and a read is one memcpy per block
// plus two stamp checks. Appending frames to a block (the steady state: each cycle
// continues where the last one ended) never disturbs frames already published in it, so
// a reader racing with the writer on the same block loses nothing.
//
// Memory model: sample data is copied with plain memcpy on both sides while the reader
// may race with the writer, as the Linux kernel's seqlocks do (and as C++ proposal P1478,
// "byte-wise atomic memcpy", would make formally defined). A reader uses a copied frame
// only if the stamps read before the copy (acquire) and again after it (behind an
// acquire fence) prove no write to that frame can have overlapped the copy; the writer
// withdraws a block's stamp and issues a release fence before overwriting published
// frames, and publishes with release stores after. In the abstract C++ model the racing
// memcpy is a data race (ThreadSanitizer would report it; the two copy helpers are
// excluded from TSan), but its result is discarded whenever the race happened, and the
// alternative, per-sample relaxed atomics, cannot be vectorised by GCC or Clang, which was
// this ring's whole cost (bench/RESULTS.md §1).
//
// One writer thread, any number of reader threads, no locks, no allocation after
// construction. Samples are S32 full scale (24-bit audio sits in the top 24 bits).

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

namespace dante {

class TxRings {
public:
    // Frames per published block (at most; rings smaller than this use one block).
    static constexpr uint32_t kBlockFrames = 64;

    // capacity_frames is rounded up to a power of two.
    TxRings(uint32_t channels, uint32_t capacity_frames);

    [[nodiscard]] uint32_t channels() const { return channels_; }
    [[nodiscard]] uint32_t capacity() const { return mask_ + 1; }

    // Writer side (graph data thread). planes[c] points at `frames` samples of channel c,
    // or is nullptr for a channel that is silent this cycle. Channels beyond planes.size()
    // are written as silence. If frames exceeds the capacity only the newest capacity()
    // frames stay.
    void write(uint64_t position, std::span<const int32_t* const> planes, uint32_t frames);

    // Reader side. Copies out.size() samples of `channel` starting at `position`; any frame
    // the ring does not hold for exactly that position reads as 0. Returns how many frames
    // were real audio.
    uint32_t read(uint32_t channel, uint64_t position, std::span<int32_t> out) const;

private:
    // One block's stamp. tag = block number << 16 | generation (odd, so a written tag is
    // never 0); 0 while the writer overwrites frames of the block. valid: frames real for
    // the tag's block number; prev_valid: frames still real for the block number one lap
    // earlier (not yet reached by the new lap).
    struct alignas(32) Stamp {
        std::atomic<uint64_t> tag{0};
        std::atomic<uint64_t> valid{0};
        std::atomic<uint64_t> prev_valid{0};
    };
    int32_t* ring(uint32_t channel) const { return samples_.get() + static_cast<size_t>(channel) * stride_; }
    uint32_t read_block(const int32_t* src, uint64_t block, uint32_t first, uint32_t n, int32_t* out) const;

    uint32_t channels_;
    uint32_t mask_;
    uint32_t block_frames_;  // power of two, <= 64 and <= capacity
    uint32_t block_shift_;
    uint32_t blocks_;        // capacity / block_frames, a power of two
    size_t stride_;          // samples between the starts of two channels' rings
    std::unique_ptr<Stamp[]> stamps_;
    // The writer's own copy of every stamp (only the writer thread touches it), so a
    // write computes each block's new stamp once and publishes it after the copy.
    struct Shadow {
        uint64_t tag = 0;
        uint64_t valid = 0;
        uint64_t prev_valid = 0;
    };
    std::unique_ptr<Shadow[]> shadow_;
    std::unique_ptr<int32_t[]> samples_;
};

}  // namespace dante
