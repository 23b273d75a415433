#include "flows/audio_packet_reader.hpp"

#include "flows/packet_writer.hpp"

namespace dante {

const char* to_string(AudioPacketError error) {
    switch (error) {
        case AudioPacketError::none: return "none";
        case AudioPacketError::too_short: return "too short";
        case AudioPacketError::ragged: return "not a whole number of frames";
        case AudioPacketError::too_many_frames: return "too many frames";
        case AudioPacketError::bad_subsecond: return "sample index not below the rate";
        case AudioPacketError::bad_shape: return "impossible flow shape";
    }
    return "unknown";
}

AudioPacketRead read_audio_packet(std::span<const uint8_t> datagram, uint32_t slots, uint32_t bytes_per_sample,
                                  uint32_t rate) {
    AudioPacketRead read;
    if (slots == 0 || slots > 0xffff || bytes_per_sample < 2 || bytes_per_sample > 4 || rate == 0) {
        read.error = AudioPacketError::bad_shape;
        return read;
    }
    const size_t frame_bytes = size_t{slots} * bytes_per_sample;
    if (datagram.size() < kAudioHeaderBytes + frame_bytes) {
        read.error = AudioPacketError::too_short;
        return read;
    }
    const size_t payload = datagram.size() - kAudioHeaderBytes;
    if (payload % frame_bytes != 0) {
        read.error = AudioPacketError::ragged;
        return read;
    }
    if (payload / frame_bytes > kMaxFramesPerPacket) {
        read.error = AudioPacketError::too_many_frames;
        return read;
    }
    const auto u32_at = [&](size_t at) {
        return (uint32_t{datagram[at]} << 24) | (uint32_t{datagram[at + 1]} << 16) |
               (uint32_t{datagram[at + 2]} << 8) | datagram[at + 3];
    };
    const uint32_t seconds = u32_at(1);
    const uint32_t subsecond = u32_at(5);
    if (subsecond >= rate) {
        read.error = AudioPacketError::bad_subsecond;
        return read;
    }
    read.packet.timestamp = uint64_t{seconds} * rate + subsecond;
    read.packet.frames = static_cast<uint32_t>(payload / frame_bytes);
    read.packet.payload = datagram.subspan(kAudioHeaderBytes);
    return read;
}

}  // namespace dante
