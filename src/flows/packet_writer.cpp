#include "flows/packet_writer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "flows/byte_order.hpp"

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

// The packing loops run over fixed-size chunks of interleaved samples: a constant inner
// trip count lets GCC vectorise them even under -O2's very-cheap cost model (no
// epilogue or versioning needed); the tail (less than a chunk) is scalar.
constexpr size_t kChunk = 16;
// Frames and slots per interleaving chunk: 2 x 16 KiB of stack.
constexpr uint32_t kFrameChunk = 64;
constexpr size_t kMaxChunkSlots = 64;

// Byte by byte, as the S24 one: GCC vectorises these stores with plain SSE2 shuffles,
// whereas a bswap builtin needs SSSE3 to vectorise.
inline void put_be32(uint8_t* p, int32_t sample) {
    const auto u = static_cast<uint32_t>(sample);
    p[0] = static_cast<uint8_t>(u >> 24);
    p[1] = static_cast<uint8_t>(u >> 16);
    p[2] = static_cast<uint8_t>(u >> 8);
    p[3] = static_cast<uint8_t>(u);
}
inline void put_be24(uint8_t* p, int32_t sample) {
    const auto u = static_cast<uint32_t>(sample);
    p[0] = static_cast<uint8_t>(u >> 24);
    p[1] = static_cast<uint8_t>(u >> 16);
    p[2] = static_cast<uint8_t>(u >> 8);
}

void pack_be32(const int32_t* __restrict in, size_t n, uint8_t* __restrict out) {
    size_t i = 0;
    for (; i + kChunk <= n; i += kChunk)
        for (size_t k = 0; k < kChunk; ++k) put_be32(out + 4 * (i + k), in[i + k]);
    for (; i < n; ++i) put_be32(out + 4 * i, in[i]);
}

void pack_be24(const int32_t* __restrict in, size_t n, uint8_t* __restrict out) {
    size_t i = 0;
    for (; i + kChunk <= n; i += kChunk)
        for (size_t k = 0; k < kChunk; ++k) put_be24(out + 3 * (i + k), in[i + k]);
    for (; i < n; ++i) put_be24(out + 3 * i, in[i]);
}

// planar[s * fpp + f] -> interleaved[f * slots + s]. Common slot counts get a constant
// stride, which GCC turns into vector loads and interleaving shuffles.
template <size_t Slots>
void interleave_fixed(const int32_t* __restrict planar, uint32_t fpp, int32_t* __restrict out) {
    for (uint32_t f = 0; f < fpp; ++f)
        for (size_t s = 0; s < Slots; ++s) out[f * Slots + s] = planar[s * fpp + f];
}

void interleave(const int32_t* __restrict planar, size_t slots, uint32_t fpp, int32_t* __restrict out) {
    switch (slots) {
        case 1: std::memcpy(out, planar, fpp * sizeof(int32_t)); return;
        case 2: interleave_fixed<2>(planar, fpp, out); return;
        case 4: interleave_fixed<4>(planar, fpp, out); return;
        case 8: interleave_fixed<8>(planar, fpp, out); return;
        default:
            for (size_t s = 0; s < slots; ++s)
                for (uint32_t f = 0; f < fpp; ++f) out[f * slots + s] = planar[s * fpp + f];
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
    // per slot out of the rings), interleaved into frame order, then one linear pack.
    alignas(64) std::array<int32_t, kMaxChunkSlots * kFrameChunk> planar;
    alignas(64) std::array<int32_t, kMaxChunkSlots * kFrameChunk> frames;
    const size_t frame_bytes = slot_count * b;
    for (size_t slot0 = 0; slot0 < slot_count; slot0 += kMaxChunkSlots) {
        // More slots than a chunk holds (not in practice: flows carry at most 64) go in
        // groups, each interleaved into its own columns.
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
            interleave(planar.data(), group, cf, frames.data());
            uint8_t* dst = payload + f0 * frame_bytes + slot0 * b;
            if (group == slot_count) {
                if (b == 4)
                    pack_be32(frames.data(), group * cf, dst);
                else
                    pack_be24(frames.data(), group * cf, dst);
            } else {
                for (uint32_t f = 0; f < cf; ++f) {
                    if (b == 4)
                        pack_be32(frames.data() + f * group, group, dst + f * frame_bytes);
                    else
                        pack_be24(frames.data() + f * group, group, dst + f * frame_bytes);
                }
            }
        }
        for (size_t s = 0; s < group; ++s)
            if (fpp - real[s] > result.missing_frames) result.missing_frames = fpp - real[s];
    }
    return result;
}

}  // namespace dante
