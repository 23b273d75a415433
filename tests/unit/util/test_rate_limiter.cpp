#include <doctest/doctest.h>

#include "util/rate_limiter.hpp"

using dante::RateLimiter;

namespace {
constexpr int64_t kSecond = 1'000'000'000;
}

TEST_CASE("rate limiter: a burst, then the refill rate") {
    RateLimiter limiter({.rate_per_second = 2.0, .burst = 3.0, .max_sources = 8});
    const int64_t t0 = 100 * kSecond;
    CHECK(limiter.allow(1, t0));
    CHECK(limiter.allow(1, t0));
    CHECK(limiter.allow(1, t0));
    CHECK_FALSE(limiter.allow(1, t0));
    CHECK_FALSE(limiter.allow(1, t0 + kSecond / 4));  // half a token
    CHECK(limiter.allow(1, t0 + kSecond / 2));        // one token
    CHECK_FALSE(limiter.allow(1, t0 + kSecond / 2));
    CHECK(limiter.allow(1, t0 + 100 * kSecond));  // refilled, but only up to the burst
    CHECK(limiter.allow(1, t0 + 100 * kSecond));
    CHECK(limiter.allow(1, t0 + 100 * kSecond));
    CHECK_FALSE(limiter.allow(1, t0 + 100 * kSecond));
}

TEST_CASE("rate limiter: sources are independent") {
    RateLimiter limiter({.rate_per_second = 1.0, .burst = 1.0, .max_sources = 8});
    CHECK(limiter.allow(1, 0));
    CHECK_FALSE(limiter.allow(1, 0));
    CHECK(limiter.allow(2, 0));
    CHECK(limiter.tracked_sources() == 2);
}

TEST_CASE("rate limiter: the table is bounded, the least recently seen source is evicted") {
    RateLimiter limiter({.rate_per_second = 0.0, .burst = 1.0, .max_sources = 2});
    CHECK(limiter.allow(1, 10));
    CHECK(limiter.allow(2, 20));
    CHECK_FALSE(limiter.allow(1, 30));  // 1 is now the most recently seen
    CHECK(limiter.allow(3, 40));        // evicts 2
    CHECK(limiter.tracked_sources() == 2);
    CHECK_FALSE(limiter.allow(1, 50));  // 1 kept its empty bucket
    CHECK(limiter.allow(2, 60));        // 2 was forgotten: a fresh bucket
    for (uint64_t source = 100; source < 1000; ++source) limiter.allow(source, 100);
    CHECK(limiter.tracked_sources() == 2);
}

TEST_CASE("rate limiter: time running backwards refills nothing") {
    RateLimiter limiter({.rate_per_second = 1.0, .burst = 1.0, .max_sources = 4});
    CHECK(limiter.allow(7, 10 * kSecond));
    CHECK_FALSE(limiter.allow(7, 5 * kSecond));
    CHECK_FALSE(limiter.allow(7, 10 * kSecond));
    CHECK(limiter.allow(7, 11 * kSecond));
}

TEST_CASE("token bucket: burst, then the refill rate, per source") {
    RateLimiter limiter({.rate_per_second = 10.0, .burst = 5.0, .max_sources = 4});
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
    RateLimiter limiter({.rate_per_second = 1.0, .burst = 1.0, .max_sources = 2});
    CHECK(limiter.allow(1, 0));
    CHECK(limiter.allow(2, 1));
    CHECK(limiter.allow(3, 2));  // evicts 1
    CHECK(limiter.tracked_sources() == 2);
    CHECK_FALSE(limiter.allow(3, 3));
    CHECK(limiter.allow(1, 4));  // back with a fresh bucket (evicts 2)
}
