// libFuzzer target: the audio packet reader on arbitrary datagrams and flow shapes.
//
// Input: byte 0 picks the slots (1..64), byte 1 the bytes per sample (2..4), byte 2 one of
// the rates; the rest is the datagram. Properties: no out-of-bounds read for any input
// (ASan), an accepted packet has 1..kMaxFramesPerPacket whole frames that exactly fill
// the datagram after the header, and its timestamp re-splits into the header's fields.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "flows/audio_packet_reader.hpp"
#include "flows/packet_writer.hpp"

using namespace dante;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    static constexpr std::array<uint32_t, 4> kRates{44100, 48000, 88200, 96000};
    const uint32_t slots = 1 + data[0] % 64;
    const uint32_t bytes = 2 + data[1] % 3;
    const uint32_t rate = kRates[data[2] % kRates.size()];
    const std::span<const uint8_t> datagram(data + 3, size - 3);
    const AudioPacketRead read = read_audio_packet(datagram, slots, bytes, rate);
    if (!read.ok()) return 0;
    const AudioPacketView& p = read.packet;
    if (p.frames == 0 || p.frames > kMaxFramesPerPacket) std::abort();
    if (kAudioHeaderBytes + size_t{p.frames} * slots * bytes != datagram.size()) std::abort();
    const AudioTimestamp split = split_timestamp(p.timestamp, rate);
    const uint32_t seconds = (uint32_t{datagram[1]} << 24) | (uint32_t{datagram[2]} << 16) |
                             (uint32_t{datagram[3]} << 8) | datagram[4];
    if (split.seconds != seconds) std::abort();
    int64_t sum = 0;  // read every sample (ASan checks the bounds)
    for (uint32_t f = 0; f < p.frames; ++f)
        for (uint32_t s = 0; s < slots; ++s) sum += audio_sample(p, f, s, slots, bytes);
    return sum == INT64_MIN ? 1 : 0;
}
