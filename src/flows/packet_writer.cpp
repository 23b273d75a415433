#include "flows/packet_writer.hpp"

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
    const size_t stride = slot_count * b;
    std::array<int32_t, kMaxFramesPerPacket> scratch;
    const std::span<int32_t> samples(scratch.data(), spec.fpp);

    for (size_t slot = 0; slot < slot_count; ++slot) {
        uint8_t* dst = p + kAudioHeaderBytes + slot * b;
        const uint16_t channel = spec.slots[slot];
        if (channel == 0) {
            for (uint32_t f = 0; f < spec.fpp; ++f) std::memset(dst + f * stride, 0, b);
            continue;
        }
        const uint32_t real = rings.read(channel - 1u, spec.timestamp, samples);
        if (spec.fpp - real > result.missing_frames) result.missing_frames = spec.fpp - real;
        switch (b) {
            case 4:
                for (uint32_t f = 0; f < spec.fpp; ++f) store_be32(dst + f * stride, static_cast<uint32_t>(samples[f]));
                break;
            case 3:
                for (uint32_t f = 0; f < spec.fpp; ++f) {
                    const auto u = static_cast<uint32_t>(samples[f]);
                    uint8_t* s = dst + f * stride;
                    s[0] = static_cast<uint8_t>(u >> 24);
                    s[1] = static_cast<uint8_t>(u >> 16);
                    s[2] = static_cast<uint8_t>(u >> 8);
                }
                break;
            default: {
                uint32_t low_bits = 0;
                for (uint32_t f = 0; f < spec.fpp; ++f) low_bits |= static_cast<uint32_t>(samples[f]) & 0xFFFFu;
                for (uint32_t f = 0; f < spec.fpp; ++f) {
                    const int16_t v = low_bits == 0 ? static_cast<int16_t>(samples[f] >> 16)
                                                    : dither_to_s16(samples[f], dither);
                    store_be16(dst + f * stride, static_cast<uint16_t>(v));
                }
                break;
            }
        }
    }
    return result;
}

}  // namespace dante
