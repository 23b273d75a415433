#include <doctest/doctest.h>

#include "flows/rate_limiter.hpp"

using dante::TokenBucketLimiter;

TEST_CASE("token bucket: burst, then the refill rate, per source") {
    TokenBucketLimiter limiter(10.0, 5.0, 4);
    int allowed = 0;
    for (int i = 0; i < 20; ++i) allowed += limiter.allow(1, 0);
    CHECK(allowed == 5);
    CHECK(limiter.allow(2, 0));  // another source has its own bucket
    CHECK_FALSE(limiter.allow(1, 50'000'000));  // half a token
    CHECK(limiter.allow(1, 100'000'000));
    allowed = 0;
    for (int64_t t = 200'000'000; t < 1'200'000'000; t += 10'000'000) allowed += limiter.allow(1, t);
    CHECK(allowed >= 9);
    CHECK(allowed <= 11);
}

TEST_CASE("token bucket: the table is bounded; the least recently seen source is evicted") {
    TokenBucketLimiter limiter(1.0, 1.0, 2);
    CHECK(limiter.allow(1, 0));
    CHECK(limiter.allow(2, 1));
    CHECK(limiter.allow(3, 2));  // evicts 1
    CHECK(limiter.sources() == 2);
    CHECK_FALSE(limiter.allow(3, 3));
    CHECK(limiter.allow(1, 4));  // back with a fresh bucket (evicts 2)
}
