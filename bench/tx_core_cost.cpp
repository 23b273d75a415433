// dante-bench-txcore: the transmitter's user-space work per packet, without the kernel:
// TransmitterCore::run() (pacing, reading the TX rings, building S24 packets) with a
// PacketIo whose send() only touches the packet, so the system calls, identical whatever
// the user-space code does, are left out. 64 TX channels filled with audio; FLOWS flows of
// 8 slots (flow i carries channels 8i+1..8i+8, modulo 64), fpp 32, 48 kHz; one pass per
// fpp period, as the real thread. Prints ns per packet (best of 7 runs of ~0.2 s).
// Usage: dante-bench-txcore [FLOWS [BYTES_PER_SAMPLE]]   (defaults 8 3)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "clock/media_time.hpp"
#include "flows/transmitter_core.hpp"

namespace {

long long now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct NullIo final : dante::PacketIo {
    uint64_t sum = 0;
    bool send(const dante::FlowEntry&, std::span<const uint8_t> packet) override {
        sum += packet[packet.size() / 2] + packet.size();
        return true;
    }
    bool poll_keepalive(const dante::FlowEntry&) override { return true; }
};

}  // namespace

int main(int argc, char** argv) {
    using namespace dante;
    const uint32_t flows = argc > 1 ? static_cast<uint32_t>(std::clamp(std::atoi(argv[1]), 1, 32)) : 8;
    const uint32_t bytes = argc > 2 ? static_cast<uint32_t>(std::clamp(std::atoi(argv[2]), 2, 4)) : 3;
    constexpr uint32_t kRate = 48000, kChannels = 64, kFpp = 32;
    TxRings rings(kChannels, 1u << 16);
    std::vector<std::vector<int32_t>> planes(kChannels, std::vector<int32_t>(1u << 16));
    std::vector<const int32_t*> ptrs;
    for (uint32_t c = 0; c < kChannels; ++c) {
        for (size_t i = 0; i < planes[c].size(); ++i) planes[c][i] = static_cast<int32_t>((i * 2654435761u + c) & 0x7fffff00);
        ptrs.push_back(planes[c].data());
    }
    TransmitterSettings settings;
    settings.rate = kRate;
    settings.max_flows = 32;
    TransmitterCounters counters;
    ExpiredQueue expired;
    TransmitterCore core(rings, settings, counters, expired);
    FlowTable table;
    table.generation = 1;
    for (uint32_t f = 0; f < flows; ++f) {
        FlowEntry e;
        e.spec.handle = flowctl::FlowHandle{f, static_cast<uint16_t>(100 + f)};
        e.spec.fpp = kFpp;
        e.spec.bytes_per_sample = bytes;
        e.spec.multicast = true;  // no keepalive polling
        std::vector<uint16_t> ids;
        for (uint32_t s = 0; s < 8; ++s) ids.push_back(static_cast<uint16_t>((8 * f + s) % kChannels + 1));
        e.spec.slots.assign(ids);
        e.spec.version = 1;
        table.entries.push_back(std::move(e));
    }
    ClockSnapshot clock;
    clock.media_ns = 1'795'000'000'000'000'000;  // 2026 in TAI ns
    clock.monotonic_ns = 5'000'000'000;
    clock.generation = 1;
    clock.state = ClockState::locked;
    NullIo io;
    uint64_t written = media_sample_at(clock.media_ns, kRate);
    int64_t wake = core.run(table, clock, clock.monotonic_ns, io);
    double best = 1e18;
    for (int rep = 0; rep < 7; ++rep) {
        const uint64_t p0 = counters.packets.load();
        const long long t0 = now_ns();
        long long spent = 0;
        for (int pass = 0; pass < 4000; ++pass) {
            // Keep the rings ahead of the packets, as the graph does (not timed).
            const uint64_t need = media_sample_at(clock.media_ns_at(wake), kRate) + 4096;
            if (written < need) {
                const long long a = now_ns();
                rings.write(written, ptrs, 4096);
                written += 4096;
                spent += now_ns() - a;
            }
            wake = core.run(table, clock, wake, io);
        }
        const long long t1 = now_ns();
        const uint64_t packets = counters.packets.load() - p0;
        best = std::min(best, double(t1 - t0 - spent) / double(packets));
    }
    std::printf("flows %u x 8 slots, S%u, fpp %u: %.0f ns per packet (user space only; underruns %llu; %llu)\n", flows,
                bytes * 8, kFpp, best, static_cast<unsigned long long>(counters.underruns.load()),
                static_cast<unsigned long long>(io.sum % 10));
    return 0;
}
