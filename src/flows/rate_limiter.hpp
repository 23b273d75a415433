#pragma once
// Per-source token buckets for control requests, so one noisy or hostile host cannot keep
// the control thread busy (or make it churn sockets) at the others' expense.
//
// Each source address has a bucket of `burst` tokens refilled at `rate_per_second`; a
// request takes one token or is dropped. The table holds at most `max_sources` buckets;
// a new source evicts the least recently seen one (which at worst gets a fresh, full
// bucket later: the limit is per-source fairness, not a security boundary).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dante {

class TokenBucketLimiter {
public:
    TokenBucketLimiter(double rate_per_second, double burst, size_t max_sources);

    // True if `source` may be served at monotonic instant now_ns.
    bool allow(uint32_t source, int64_t now_ns);

    [[nodiscard]] size_t sources() const { return buckets_.size(); }

private:
    struct Bucket {
        uint32_t source;
        double tokens;
        int64_t last_ns;
    };
    double rate_;
    double burst_;
    size_t max_sources_;
    std::vector<Bucket> buckets_;
};

}  // namespace dante
