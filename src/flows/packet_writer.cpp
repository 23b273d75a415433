#include "flows/packet_writer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "util/byte_order.hpp"

namespace dante {

int16_t dither_to_s16(int32_t sample, DitherSource& dither) {
    const uint32_t r = dither.next();
    // Two independent 16-bit uniforms from one 32-bit draw (xorshift's halves are fine
    // for audio dither; nothing here needs cryptographic quality).
    const int64_t noise = static_cast<int64_t>(r & 0xFFFF) - static_cast<int64_t>(r >> 16) + 0x8000;
    int64_t v = int64_t{sample} + noise;
    if (v > std::numeric_limits<int32_t>::max()) v = std::numeric_limits<int32_t>::max();
    if (v < std::numeric_limits<int32_t>::min()) v = std::numeric_limits<int32_t>::min();
    return static_cast<int16_t>(static_cast<int32_t>(v) >> 16);
}

namespace {

// Frames and slots per chunk: the chunk's samples, planar, take 16 KiB of stack.
constexpr uint32_t kFrameChunk = 64;
constexpr size_t kMaxChunkSlots = 64;

// One sample, big-endian, as one byteswap and one 4-byte store (a 3-byte sample's store
// runs one byte into the next sample, which is written after it; `last` = nothing after
// it to overwrite, so byte stores).
inline void put_be(uint8_t* p, int32_t sample, uint32_t bytes, bool last) {
    const uint32_t be = __builtin_bswap32(static_cast<uint32_t>(sample));
    if (bytes == 4 || !last) {
        std::memcpy(p, &be, 4);
    } else {
        std::memcpy(p, &be, 3);
    }
}

// Interleaves `group` planar rows of `frames` samples (planar[s * frames + f]) into the
// payload: frame f of row s goes to out + f * frame_bytes + s * bytes. Scalar on purpose:
// GCC vectorises the 3-byte interleave only with SSE2 byte shuffles through the stack
// (x86-64 baseline has no pshufb), which measured 2-3x slower than this
// (bench/tx_core_cost.cpp); one bswap and one store per sample is already at memory speed.
template <uint32_t Bytes>
void pack_rows(const int32_t* __restrict planar, size_t group, uint32_t frames, size_t frame_bytes,
               uint8_t* __restrict out) {
    for (uint32_t f = 0; f < frames; ++f) {
        uint8_t* row = out + f * frame_bytes;
        for (size_t s = 0; s + 1 < group; ++s) put_be(row + s * Bytes, planar[s * frames + f], Bytes, false);
        put_be(row + (group - 1) * Bytes, planar[(group - 1) * frames + f], Bytes, true);
    }
}

}  // namespace

PacketWriteResult write_audio_packet(const TxRings& rings, const PacketSpec& spec, DitherSource& dither,
                                     std::span<uint8_t> out) {
    const uint32_t b = spec.bytes_per_sample;
    if (spec.rate == 0 || spec.fpp == 0 || spec.fpp > kMaxFramesPerPacket || b < 2 || b > 4) return {};
    const size_t slot_count = spec.slots.size();
    const size_t total = audio_packet_bytes(spec.fpp, static_cast<uint32_t>(slot_count), b);
    if (total > out.size()) return {};

    uint8_t* p = out.data();
    p[0] = kAudioPacketMarker;
    const AudioTimestamp ts = split_timestamp(spec.timestamp, spec.rate);
    store_be32(p + 1, ts.seconds);
    store_be32(p + 5, ts.subsecond);

    PacketWriteResult result;
    result.bytes = total;
    const uint32_t fpp = spec.fpp;
    uint8_t* payload = p + kAudioHeaderBytes;

    if (b == 2) {
        // Per slot, in slot order then frame order: the dither draws stay in the order
        // they always had, so the same seed gives the same packets.
        const size_t stride = slot_count * 2;
        std::array<int32_t, kMaxFramesPerPacket> scratch;
        const std::span<int32_t> samples(scratch.data(), fpp);
        for (size_t slot = 0; slot < slot_count; ++slot) {
            uint8_t* dst = payload + slot * 2;
            const uint16_t channel = spec.slots[slot];
            if (channel == 0) {
                for (uint32_t f = 0; f < fpp; ++f) store_be16(dst + f * stride, 0);
                continue;
            }
            const uint32_t real = rings.read(channel - 1u, spec.timestamp, samples);
            if (fpp - real > result.missing_frames) result.missing_frames = fpp - real;
            uint32_t low_bits = 0;
            for (uint32_t f = 0; f < fpp; ++f) low_bits |= static_cast<uint32_t>(samples[f]) & 0xFFFFu;
            if (low_bits == 0) {
                for (uint32_t f = 0; f < fpp; ++f) store_be16(dst + f * stride, static_cast<uint16_t>(samples[f] >> 16));
            } else {
                for (uint32_t f = 0; f < fpp; ++f)
                    store_be16(dst + f * stride, static_cast<uint16_t>(dither_to_s16(samples[f], dither)));
            }
        }
        return result;
    }

    // S24/S32, kFrameChunk frames at a time: every slot's samples planar (one block copy
    // per slot out of the rings), then interleaved into the payload as big-endian.
    alignas(64) std::array<int32_t, kMaxChunkSlots * kFrameChunk> planar;
    const size_t frame_bytes = slot_count * b;
    for (size_t slot0 = 0; slot0 < slot_count; slot0 += kMaxChunkSlots) {
        // More slots than a chunk holds (not in practice: flows carry at most 64) go in groups.
        const size_t group = std::min(kMaxChunkSlots, slot_count - slot0);
        std::array<uint32_t, kMaxChunkSlots> real{};
        for (uint32_t f0 = 0; f0 < fpp; f0 += kFrameChunk) {
            const uint32_t cf = std::min(kFrameChunk, fpp - f0);
            for (size_t s = 0; s < group; ++s) {
                const std::span<int32_t> samples(planar.data() + s * cf, cf);
                const uint16_t channel = spec.slots[slot0 + s];
                if (channel == 0) {
                    std::fill(samples.begin(), samples.end(), 0);
                    real[s] += cf;
                    continue;
                }
                real[s] += rings.read(channel - 1u, spec.timestamp + f0, samples);
            }
            uint8_t* dst = payload + f0 * frame_bytes + slot0 * b;
            if (b == 4)
                pack_rows<4>(planar.data(), group, cf, frame_bytes, dst);
            else
                pack_rows<3>(planar.data(), group, cf, frame_bytes, dst);
        }
        for (size_t s = 0; s < group; ++s)
            if (fpp - real[s] > result.missing_frames) result.missing_frames = fpp - real[s];
    }
    return result;
}

}  // namespace dante
