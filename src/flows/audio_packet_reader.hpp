#pragma once
// Reads one Dante audio packet (layout in packet_writer.hpp, docs/protocol.md#audio-packets)
// as a receiver must: against the shape of the flow it asked for or joined (slots per
// frame, bytes per sample, rate), every length checked, so a short, ragged or hostile
// datagram is refused whole and never read past. Byte 0 is ignored, as receivers do.
//
// Sans-I/O and allocation-free: dante-rx and the receiver node share it, and a fuzz
// target drives it (tests/fuzz/audio_packet_fuzz.cpp).

#include <cstddef>
#include <cstdint>
#include <span>

namespace dante {

enum class AudioPacketError {
    none,
    too_short,        // not even a header, or no frame after it
    ragged,           // the payload is not a whole number of frames of this flow
    too_many_frames,  // more than kMaxFramesPerPacket frames
    bad_subsecond,    // the sample index within the second is not below the rate
    bad_shape,        // the flow's shape itself is impossible (0 slots, 5-byte samples, rate 0)
};

const char* to_string(AudioPacketError error);

struct AudioPacketView {
    uint64_t timestamp = 0;             // media sample index of the first frame
    uint32_t frames = 0;
    std::span<const uint8_t> payload;   // frames x slots x bytes, frame-interleaved
};

struct AudioPacketRead {
    AudioPacketView packet;
    AudioPacketError error = AudioPacketError::none;
    [[nodiscard]] bool ok() const { return error == AudioPacketError::none; }
};

AudioPacketRead read_audio_packet(std::span<const uint8_t> datagram, uint32_t slots, uint32_t bytes_per_sample,
                                  uint32_t rate);

// Slot `slot` of frame `frame`, sign-extended from the wire's 2, 3 or 4 bytes (S24 stays in
// the low 24 bits). The caller keeps frame < packet.frames and slot < slots.
inline int32_t audio_sample(const AudioPacketView& packet, uint32_t frame, uint32_t slot, uint32_t slots,
                            uint32_t bytes_per_sample) {
    const uint8_t* p = packet.payload.data() + (size_t{frame} * slots + slot) * bytes_per_sample;
    uint32_t u = 0;
    for (uint32_t i = 0; i < bytes_per_sample; ++i) u = (u << 8) | p[i];
    const uint32_t shift = 32 - 8 * bytes_per_sample;
    return static_cast<int32_t>(u << shift) >> shift;
}

}  // namespace dante
