#include "engine/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using sigflow::engine::BreakerCause;
using sigflow::engine::BreakerConfig;
using sigflow::engine::BreakerState;
using sigflow::engine::CircuitBreaker;

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'000 * kSec;

BreakerConfig config() {
  BreakerConfig c;
  c.failure_threshold = 3;
  c.base_cooldown_ns = 2 * kSec;
  c.max_cooldown_ns = 10 * kSec;
  c.half_open_probes = 2;
  return c;
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresOnly) {
  CircuitBreaker breaker(config());
  breaker.on_failure(kT0);
  breaker.on_failure(kT0);
  breaker.on_success(kT0);  // the streak is broken
  breaker.on_failure(kT0);
  breaker.on_failure(kT0);
  EXPECT_EQ(breaker.state(), BreakerState::closed);
  EXPECT_TRUE(breaker.allow(kT0));
  breaker.on_failure(kT0);
  EXPECT_EQ(breaker.state(), BreakerState::open);
  EXPECT_EQ(breaker.cause(), BreakerCause::consecutive_failures);
  EXPECT_FALSE(breaker.allow(kT0));
  EXPECT_EQ(breaker.opened_total(), 1u);
}

TEST(CircuitBreaker, CoolDownThenLimitedProbesThenClosesOnSuccess) {
  CircuitBreaker breaker(config());
  breaker.open_now(BreakerCause::unauthorized, kT0);
  EXPECT_EQ(breaker.open_until_ns(), kT0 + 2 * kSec);
  EXPECT_FALSE(breaker.allow(kT0 + 2 * kSec - 1));
  EXPECT_TRUE(breaker.allow(kT0 + 2 * kSec));
  EXPECT_EQ(breaker.state(), BreakerState::half_open);
  EXPECT_TRUE(breaker.allow(kT0 + 2 * kSec));
  EXPECT_FALSE(breaker.allow(kT0 + 2 * kSec));  // only two probes
  breaker.on_success(kT0 + 3 * kSec);
  EXPECT_EQ(breaker.state(), BreakerState::closed);
  EXPECT_EQ(breaker.cause(), BreakerCause::none);
  EXPECT_TRUE(breaker.allow(kT0 + 3 * kSec));
  EXPECT_EQ(breaker.opened_total(), 1u);
  EXPECT_EQ(breaker.half_opened_total(), 1u);
  EXPECT_EQ(breaker.closed_total(), 1u);
}

TEST(CircuitBreaker, ProbeFailureReopensWithGrowingCappedCoolDown) {
  CircuitBreaker breaker(config());
  std::int64_t now = kT0;
  breaker.open_now(BreakerCause::insufficient_quota, now);
  const std::int64_t expected_cooldowns[] = {2 * kSec, 4 * kSec, 8 * kSec, 10 * kSec, 10 * kSec};
  for (const std::int64_t cooldown : expected_cooldowns) {
    EXPECT_EQ(breaker.open_until_ns(), now + cooldown);
    now = breaker.open_until_ns();
    ASSERT_TRUE(breaker.allow(now));
    breaker.on_failure(now);
    EXPECT_EQ(breaker.state(), BreakerState::open);
    EXPECT_EQ(breaker.cause(), BreakerCause::probe_failed);
  }
  // A close resets the growth.
  now = breaker.open_until_ns();
  ASSERT_TRUE(breaker.allow(now));
  breaker.on_success(now);
  breaker.open_now(BreakerCause::forbidden, now);
  EXPECT_EQ(breaker.open_until_ns(), now + 2 * kSec);
  EXPECT_EQ(breaker.opened_total(), 7u);
  EXPECT_EQ(breaker.half_opened_total(), 6u);
}

TEST(CircuitBreaker, BanRetryAfterSetsTheMinimumCoolDown) {
  CircuitBreaker breaker(config());
  breaker.open_now(BreakerCause::ip_banned, kT0, 120 * kSec);
  EXPECT_EQ(breaker.open_until_ns(), kT0 + 120 * kSec);
  EXPECT_FALSE(breaker.allow(kT0 + 119 * kSec));
  // A second fatal signal while open extends but never shortens the open period.
  breaker.open_now(BreakerCause::unauthorized, kT0 + kSec);
  EXPECT_EQ(breaker.open_until_ns(), kT0 + 120 * kSec);
  EXPECT_EQ(breaker.opened_total(), 1u);
}

TEST(CircuitBreaker, LateRepliesWhileOpenChangeNothing) {
  CircuitBreaker breaker(config());
  breaker.open_now(BreakerCause::retry_after_too_long, kT0);
  breaker.on_success(kT0 + 1);
  breaker.on_failure(kT0 + 1);
  EXPECT_EQ(breaker.state(), BreakerState::open);
  EXPECT_EQ(breaker.open_until_ns(), kT0 + 2 * kSec);
  EXPECT_EQ(breaker.cause(), BreakerCause::retry_after_too_long);
}

}  // namespace
