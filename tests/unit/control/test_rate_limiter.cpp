#include <doctest/doctest.h>

#include "control/rate_limiter.hpp"

using dante::control::RateLimiter;

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
