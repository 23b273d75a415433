#pragma once
// Test and diagnostics hook: reads back, by position, what each graph cycle wrote into
// the TX rings and appends it to a file, from its own (non-real-time) thread.
//
// The graph cycle only pushes a small record into a lock-free queue; the tap thread reads
// the rings exactly as the transmitter does, so the file proves what the network side
// would see. Enabled by the module arg dante.debug.ring-tap = PATH.
//
// File format, little-endian, one record per cycle:
//   u64 position, u64 nsec, u64 wake_ns, u32 frames, u32 channels,
//   then frames x channels i32, planar (channel 0's frames first).

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include "tx/tx_rings.hpp"
#include "util/spsc_queue.hpp"

namespace dante {

struct CycleRecord {
    uint64_t position;  // first frame's media sample index
    int64_t nsec;       // nominal cycle start, CLOCK_MONOTONIC
    int64_t wake_ns;    // when the timer really fired (0 when another node drives)
    uint32_t frames;
};

class RingTap {
public:
    // Throws std::runtime_error if the file cannot be created.
    RingTap(const TxRings& rings, const std::string& path);
    ~RingTap();
    RingTap(const RingTap&) = delete;
    RingTap& operator=(const RingTap&) = delete;

    // Real-time side: called after the cycle's frames are in the rings.
    void note_cycle(const CycleRecord& record) {
        if (!queue_.try_push(record)) dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    void run();
    void drain();

    const TxRings& rings_;
    std::FILE* file_;
    SpscQueue<CycleRecord, 1024> queue_;
    std::atomic<uint64_t> dropped_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace dante
