#include "rx/rx_flow_core.hpp"

#include "flows/audio_packet_reader.hpp"
#include "flows/packet_writer.hpp"

namespace dante {

RxFlowCore::RxFlowCore(const RxFlowShape& shape)
    : shape_(shape),
      valid_(shape.wire_slots >= 1 && shape.wire_slots <= kMaxSlots && shape.bytes_per_sample >= 2 &&
             shape.bytes_per_sample <= 4 && shape.rate > 0),
      rings_(valid_ ? shape.wire_slots : 1, kRingFrames),
      scratch_(size_t{valid_ ? shape.wire_slots : 1} * kMaxFramesPerPacket),
      planes_(valid_ ? shape.wire_slots : 1) {
    for (size_t s = 0; s < planes_.size(); ++s) planes_[s] = scratch_.data() + s * kMaxFramesPerPacket;
}

bool RxFlowCore::on_datagram(std::span<const uint8_t> datagram, uint64_t media_now) {
    if (!valid_) return false;
    ++stats_.packets;
    const AudioPacketRead read = read_audio_packet(datagram, shape_.wire_slots, shape_.bytes_per_sample, shape_.rate);
    if (!read.ok()) {
        ++stats_.malformed;
        return false;
    }
    const AudioPacketView& packet = read.packet;
    // Only packets near media now reach the rings: one far from it would land on a slot
    // that holds newer audio (the rings are kRingFrames long), and is a transmitter on
    // another clock, a restart not yet seen, or garbage. A quarter ring either way.
    const uint64_t window = kRingFrames / 4;
    if (packet.timestamp + window < media_now || packet.timestamp > media_now + window) {
        ++stats_.out_of_window;
        return false;
    }
    const uint64_t end = packet.timestamp + packet.frames;
    if (have_newest_) {
        if (packet.timestamp < next_expected_) {
            ++stats_.reordered;
        } else if (packet.timestamp > next_expected_) {
            // Skipped timestamps, counted in packets of this packet's size (the flow's fpp).
            stats_.lost += (packet.timestamp - next_expected_ + packet.frames - 1) / packet.frames;
        }
    }
    if (!have_newest_ || end > next_expected_) next_expected_ = end;
    have_newest_ = true;
    if (media_now > packet.timestamp + shape_.latency_samples) ++stats_.late;

    // Planar S32 full scale from the wire's big-endian samples.
    const uint32_t shift = 32 - 8 * shape_.bytes_per_sample;
    for (uint32_t s = 0; s < shape_.wire_slots; ++s) {
        int32_t* out = scratch_.data() + size_t{s} * kMaxFramesPerPacket;
        for (uint32_t f = 0; f < packet.frames; ++f)
            out[f] = static_cast<int32_t>(static_cast<uint32_t>(
                         audio_sample(packet, f, s, shape_.wire_slots, shape_.bytes_per_sample))
                     << shift);
    }
    rings_.write(packet.timestamp, planes_, packet.frames);
    return true;
}

}  // namespace dante
