#pragma once
// Builds one Dante audio packet from the TX rings (docs/protocol.md#audio-packets).
//
//   byte 0      0x02
//   bytes 1..4  u32 BE seconds    = ts / rate   (low 32 bits)
//   bytes 5..8  u32 BE subsecond  = ts % rate   (sample index within that second)
//   then fpp frames, each one sample per slot, big-endian two's complement, 2/3/4 bytes.
//
// ts is the media-clock sample index of the packet's first frame, and the rings are read
// at exactly that position, so a sample leaves with the timestamp the graph wrote it at.
//
// Word lengths (ring samples are S32 full scale):
//   S32: the ring sample as is.
//   S24: its top three bytes, bit-exact. 24 bits is what PipeWire's own S24 formats carry,
//        and the graph converts to S32 by shifting, so the low byte is zero in practice;
//        truncating never alters 24-bit audio, and dither would.
//   S16: when a slot's samples in this packet all have zero low 16 bits (16-bit audio),
//        the top two bytes, bit-exact. Otherwise TPDF dither before truncation: add
//        r1 - r2 + 2^15 (r1, r2 uniform on [0, 2^16), so a triangular PDF of +-1 output
//        LSB plus half an LSB for rounding), saturating at the S32 limits, then keep the
//        top 16 bits. The error is then at most 1.5 LSB and uncorrelated with the signal.
//        The noise source is a deterministic xorshift32 generator: no allocation, no
//        syscalls, reproducible in tests.
//
// Real-time safe: no allocation, no locks; scratch space is on the stack.

#include <cstddef>
#include <cstdint>
#include <span>

#include "tx/tx_rings.hpp"

namespace dante {

inline constexpr size_t kAudioHeaderBytes = 9;
inline constexpr uint8_t kAudioPacketMarker = 0x02;
inline constexpr uint32_t kMaxFramesPerPacket = 256;

// xorshift32 (Marsaglia): period 2^32 - 1, never yields 0 from a non-zero state.
class DitherSource {
public:
    explicit DitherSource(uint32_t seed = 0x9E3779B9u) : state_(seed != 0 ? seed : 0x9E3779B9u) {}
    uint32_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return state_;
    }

private:
    uint32_t state_;
};

constexpr size_t audio_packet_bytes(uint32_t fpp, uint32_t slots, uint32_t bytes_per_sample) {
    return kAudioHeaderBytes + size_t{fpp} * slots * bytes_per_sample;
}

// The timestamp fields of a packet header, split as the wire carries them.
struct AudioTimestamp {
    uint32_t seconds;
    uint32_t subsecond;
};
constexpr AudioTimestamp split_timestamp(uint64_t ts, uint32_t rate) {
    return AudioTimestamp{static_cast<uint32_t>(ts / rate), static_cast<uint32_t>(ts % rate)};
}

struct PacketSpec {
    uint64_t timestamp = 0;          // media sample index of the first frame
    uint32_t rate = 48000;
    uint32_t fpp = 32;               // 1..kMaxFramesPerPacket
    uint32_t bytes_per_sample = 3;   // 2, 3 or 4
    std::span<const uint16_t> slots; // 1-based TX channel per slot, 0 = empty slot
};

struct PacketWriteResult {
    size_t bytes = 0;                // 0: spec invalid or `out` too small
    uint32_t missing_frames = 0;     // frames (max over non-empty slots) the rings lacked: sent as silence
};

PacketWriteResult write_audio_packet(const TxRings& rings, const PacketSpec& spec, DitherSource& dither,
                                     std::span<uint8_t> out);

// One S32 sample to S16 with TPDF dither, as described above (exposed for tests).
int16_t dither_to_s16(int32_t sample, DitherSource& dither);

}  // namespace dante
