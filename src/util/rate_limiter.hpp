#pragma once
// Per-source token bucket for control traffic (ARC, CMC, info requests): one controller
// polling hard, or a spoofed flood, must not eat the control thread or turn our replies
// (some larger than the request) into an amplifier. Pure: the caller passes the time.
//
// Each source has a bucket of `burst` tokens refilled at `rate_per_second`; a packet costs
// one token. The table is bounded: when full, a new source evicts the least recently seen
// one, so memory stays fixed whatever the number of sources. (A flood of spoofed sources can
// thus push a real controller out of the table; it then starts again with a full bucket,
// which is the safe direction: it is never limited harder than a new source.)

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dante {

struct RateLimitParams {
    double rate_per_second = 50.0;  // Dante Controller reads a device in a few dozen requests
    double burst = 100.0;
    size_t max_sources = 256;
};

class RateLimiter {
public:
    explicit RateLimiter(RateLimitParams params = {});

    // Source key: e.g. (IPv4 << 16) | port, or the address alone. True: let it through.
    bool allow(uint64_t source, int64_t now_ns);

    [[nodiscard]] size_t tracked_sources() const { return buckets_.size(); }

private:
    struct Bucket {
        uint64_t source = 0;
        double tokens = 0;
        int64_t last_refill_ns = 0;
        int64_t last_seen_ns = 0;
    };

    Bucket& bucket_for(uint64_t source, int64_t now_ns);

    RateLimitParams params_;
    std::vector<Bucket> buckets_;  // small and linear: a few hundred entries at most
};

}  // namespace dante
