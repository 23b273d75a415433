#include "flows/transmitter_core.hpp"

#include <algorithm>

#include "clock/media_time.hpp"

namespace dante {

TransmitterCore::TransmitterCore(const TxRings& rings, const TransmitterSettings& settings,
                                 TransmitterCounters& counters, ExpiredQueue& expired)
    : rings_(rings),
      settings_(settings),
      counters_(counters),
      expired_(expired),
      runtime_(settings.max_flows),
      packet_(audio_packet_bytes(kMaxFramesPerPacket, flowctl::kMaxSlots, 4)),
      dither_(settings.dither_seed) {
    if (settings_.max_lag_samples == 0) settings_.max_lag_samples = settings_.rate / 10;
    if (settings_.max_ahead_samples == 0) settings_.max_ahead_samples = settings_.rate;
}

void TransmitterCore::record_lateness(int64_t late_ns) {
    size_t bucket = 0;
    while (bucket < kLateBucketBoundsNs.size() && late_ns >= kLateBucketBoundsNs[bucket]) ++bucket;
    counters_.late[bucket].fetch_add(1, std::memory_order_relaxed);
}

void TransmitterCore::flush(const FlowEntry& entry, const ClockSnapshot& clock, int64_t now_ns, PacketIo& io) {
    if (batch_size_ == 0) return;
    const auto sent = std::span<bool>(batch_sent_.data(), batch_size_);
    if (batch_size_ == 1)
        sent[0] = io.send(entry, batch_[0]);
    else
        io.send_batch(entry, std::span<const std::span<const uint8_t>>(batch_.data(), batch_size_), sent);
    for (size_t i = 0; i < batch_size_; ++i) {
        if (sent[i]) {
            counters_.packets.fetch_add(1, std::memory_order_relaxed);
            record_lateness(now_ns - clock.monotonic_ns_at(media_ns_of_sample(batch_ts_[i], settings_.rate)));
        } else {
            counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
        }
    }
    batch_size_ = 0;
    batch_bytes_ = 0;
}

std::optional<uint64_t> TransmitterCore::next_timestamp(const flowctl::FlowHandle& handle) const {
    if (handle.index >= runtime_.size()) return std::nullopt;
    const Runtime& rt = runtime_[handle.index];
    if (!rt.known || rt.cookie != handle.cookie || !rt.bootstrapped) return std::nullopt;
    return rt.next_ts;
}

int64_t TransmitterCore::run(const FlowTable& table, const ClockSnapshot& clock, int64_t now_ns, PacketIo& io) {
    int64_t wake = now_ns + settings_.max_wait_ns;
    const bool clock_ok = clock.valid();
    if (clock_ok && (!have_generation_ || clock.generation != clock_generation_)) {
        // A possible discontinuity: each flow checks below whether the new media now is
        // still on its course, and restarts its timestamps from there if not.
        if (have_generation_)
            for (Runtime& rt : runtime_) rt.check_continuity = true;
        clock_generation_ = clock.generation;
        have_generation_ = true;
    }
    const int64_t media_now_ns = clock.media_ns_at(now_ns);
    const uint64_t now_samples = media_sample_at(media_now_ns, settings_.rate);
    uint64_t active = 0;

    for (const FlowEntry& entry : table.entries) {
        const FlowSpec& spec = entry.spec;
        if (spec.handle.index >= runtime_.size() || spec.fpp == 0 || spec.fpp > kMaxFramesPerPacket) continue;
        Runtime& rt = runtime_[spec.handle.index];
        if (!rt.known || rt.cookie != spec.handle.cookie) {
            rt = Runtime{};
            rt.known = true;
            rt.cookie = spec.handle.cookie;
            rt.version = spec.version;
            rt.fpp = spec.fpp;
            rt.last_heard_ns = now_ns;
            rt.last_poll_ns = now_ns;
        } else if (rt.version != spec.version) {
            // Re-asked or re-channelled: the receiver is alive, and a new fpp means a new
            // timestamp grid.
            rt.version = spec.version;
            rt.last_heard_ns = now_ns;
            if (rt.fpp != spec.fpp) rt.bootstrapped = false;
            rt.fpp = spec.fpp;
        }

        if (rt.expired) {
            if (!rt.reported) rt.reported = expired_.try_push(spec.handle);
            continue;
        }
        // A multicast flow has no receiver of its own to hear from: it never expires.
        if (!spec.multicast) {
            if (now_ns - rt.last_poll_ns >= settings_.keepalive_poll_ns) {
                rt.last_poll_ns = now_ns;
                if (io.poll_keepalive(entry)) rt.last_heard_ns = now_ns;
                if (now_ns - rt.last_heard_ns > settings_.keepalive_timeout_ns) {
                    rt.expired = true;
                    counters_.expired.fetch_add(1, std::memory_order_relaxed);
                    rt.reported = expired_.try_push(spec.handle);
                    continue;
                }
            }
            wake = std::min(wake, rt.last_poll_ns + settings_.keepalive_poll_ns);
        }
        if (!clock_ok) continue;
        ++active;

        const uint64_t fpp = spec.fpp;
        if (rt.check_continuity) {
            // On course: the next packet is due now or within one packet time, as between
            // any two passes. Anything else is a step of the timescale.
            rt.check_continuity = false;
            const bool on_course = rt.next_ts + fpp > now_samples && rt.next_ts <= now_samples + fpp;
            if (rt.bootstrapped && !on_course) rt.bootstrapped = false;
        }
        if (rt.bootstrapped) {
            const bool lagging = now_samples > rt.next_ts && now_samples - rt.next_ts > settings_.max_lag_samples;
            const bool ahead = rt.next_ts > now_samples && rt.next_ts - now_samples > settings_.max_ahead_samples;
            if (lagging || ahead) {
                rt.bootstrapped = false;
                counters_.rebootstraps.fetch_add(1, std::memory_order_relaxed);
            }
        }
        if (!rt.bootstrapped) {
            rt.next_ts = (now_samples / fpp + 1) * fpp;
            rt.bootstrapped = true;
        }

        PacketSpec packet;
        packet.rate = settings_.rate;
        packet.fpp = spec.fpp;
        packet.bytes_per_sample = spec.bytes_per_sample;
        packet.slots = spec.slots.span();
        const size_t packet_bytes = audio_packet_bytes(packet.fpp, static_cast<uint32_t>(packet.slots.size()),
                                                       packet.bytes_per_sample);
        while (rt.next_ts <= now_samples) {
            if (batch_size_ == kMaxBatch || batch_bytes_ + packet_bytes > packet_.size()) flush(entry, clock, now_ns, io);
            packet.timestamp = rt.next_ts;
            const auto room = std::span<uint8_t>(packet_).subspan(batch_bytes_);
            const PacketWriteResult written = write_audio_packet(rings_, packet, dither_, room);
            rt.next_ts += fpp;
            if (written.bytes == 0) {
                counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            if (written.missing_frames != 0) counters_.underruns.fetch_add(1, std::memory_order_relaxed);
            batch_[batch_size_] = std::span<const uint8_t>(room.data(), written.bytes);
            batch_ts_[batch_size_] = packet.timestamp;
            ++batch_size_;
            batch_bytes_ += written.bytes;
        }
        flush(entry, clock, now_ns, io);
        wake = std::min(wake, clock.monotonic_ns_at(media_ns_of_sample(rt.next_ts, settings_.rate)));
    }
    counters_.active.store(active, std::memory_order_relaxed);
    return wake;
}

}  // namespace dante
