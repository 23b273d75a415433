#include "flows/rate_limiter.hpp"

#include <algorithm>

namespace dante {

TokenBucketLimiter::TokenBucketLimiter(double rate_per_second, double burst, size_t max_sources)
    : rate_(rate_per_second), burst_(std::max(burst, 1.0)), max_sources_(std::max<size_t>(max_sources, 1)) {
    buckets_.reserve(max_sources_);
}

bool TokenBucketLimiter::allow(uint32_t source, int64_t now_ns) {
    auto it = std::find_if(buckets_.begin(), buckets_.end(), [source](const Bucket& b) { return b.source == source; });
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_sources_) {
            it = std::min_element(buckets_.begin(), buckets_.end(),
                                  [](const Bucket& a, const Bucket& b) { return a.last_ns < b.last_ns; });
            *it = Bucket{source, burst_, now_ns};
        } else {
            buckets_.push_back(Bucket{source, burst_, now_ns});
            it = buckets_.end() - 1;
        }
    }
    const double elapsed_s = static_cast<double>(std::max<int64_t>(now_ns - it->last_ns, 0)) * 1e-9;
    it->tokens = std::min(burst_, it->tokens + elapsed_s * rate_);
    it->last_ns = std::max(it->last_ns, now_ns);
    if (it->tokens < 1.0) return false;
    it->tokens -= 1.0;
    return true;
}

}  // namespace dante
