#include "util/rate_limiter.hpp"

#include <algorithm>

namespace dante {

RateLimiter::RateLimiter(RateLimitParams params) : params_(params) {
    params_.max_sources = std::max<size_t>(params_.max_sources, 1);
    params_.burst = std::max(params_.burst, 1.0);
    params_.rate_per_second = std::max(params_.rate_per_second, 0.0);
    buckets_.reserve(params_.max_sources);
}

RateLimiter::Bucket& RateLimiter::bucket_for(uint64_t source, int64_t now_ns) {
    for (Bucket& bucket : buckets_)
        if (bucket.source == source) return bucket;
    const Bucket fresh{source, params_.burst, now_ns, now_ns};
    if (buckets_.size() < params_.max_sources) return buckets_.emplace_back(fresh);
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                   [](const Bucket& a, const Bucket& b) { return a.last_seen_ns < b.last_seen_ns; });
    *oldest = fresh;
    return *oldest;
}

bool RateLimiter::allow(uint64_t source, int64_t now_ns) {
    Bucket& bucket = bucket_for(source, now_ns);
    // Time never runs backwards for a bucket: a clock step back just refills nothing.
    if (now_ns > bucket.last_refill_ns) {
        const double elapsed_s = static_cast<double>(now_ns - bucket.last_refill_ns) * 1e-9;
        bucket.tokens = std::min(params_.burst, bucket.tokens + elapsed_s * params_.rate_per_second);
        bucket.last_refill_ns = now_ns;
    }
    bucket.last_seen_ns = std::max(bucket.last_seen_ns, now_ns);
    if (bucket.tokens < 1.0) return false;
    bucket.tokens -= 1.0;
    return true;
}

}  // namespace dante
