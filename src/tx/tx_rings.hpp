#pragma once
// Per-channel transmit rings indexed by media-clock sample position.
//
// The graph cycle writes the samples it renders at the Dante timestamp they will carry;
// the transmitter later reads by timestamp. A slot remembers which position it holds, so
// a read returns only samples written for exactly that position: never-written holes,
// slots already overwritten by a later lap, and slots being written right now all read
// as silence. Stale audio is never repeated.
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
    static constexpr uint64_t kEmpty = 0;  // tags store position + 1

    int32_t* ring(uint32_t channel) const { return samples_.get() + static_cast<size_t>(channel) * stride_; }
    void store_tags(uint64_t position, uint32_t frames, bool valid);

    uint32_t channels_;
    uint32_t mask_;
    size_t stride_;  // samples between the starts of two channels' rings
    std::unique_ptr<std::atomic<uint64_t>[]> tags_;
    std::unique_ptr<int32_t[]> samples_;
};

}  // namespace dante
