#include "io/reconnect_policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <vector>

namespace sigflow::io {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;

ReconnectConfig full_jitter(std::uint64_t seed) {
  ReconnectConfig c;
  c.base_ns = 100 * kMs;
  c.cap_ns = 10 * kSec;
  c.multiplier = 2.0;
  c.jitter = ReconnectConfig::Jitter::kFull;
  c.seed = seed;
  return c;
}

// Runs `attempts` failed attempts back to back and returns the delay before each retry.
std::vector<std::int64_t> failing_delays(ReconnectPolicy& policy, int attempts) {
  std::vector<std::int64_t> delays;
  std::int64_t now = 0;
  for (int i = 0; i < attempts; ++i) {
    const std::int64_t d = policy.next_delay(now);
    delays.push_back(d);
    now += d;
    policy.on_connect_attempt(now);
  }
  return delays;
}

TEST(ReconnectPolicy, FirstAttemptIsImmediate) {
  ReconnectPolicy policy(full_jitter(1));
  EXPECT_EQ(policy.next_delay(0), 0);
  EXPECT_EQ(policy.attempts(), 0u);
}

TEST(ReconnectPolicy, FullJitterStaysUnderAGrowingCappedCeiling) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    ReconnectPolicy policy(full_jitter(seed));
    policy.on_connect_attempt(0);
    std::int64_t previous_ceiling = 0;
    for (std::uint32_t n = 1; n <= 40; ++n) {
      const auto expected_ceiling =
          static_cast<std::int64_t>(std::min(10.0 * kSec, 100.0 * kMs * std::pow(2.0, n - 1)));
      ASSERT_EQ(policy.backoff_ceiling_ns(), expected_ceiling) << "retry " << n;
      EXPECT_GE(policy.backoff_ceiling_ns(), previous_ceiling);
      previous_ceiling = policy.backoff_ceiling_ns();
      const std::int64_t d = policy.next_delay(0);
      EXPECT_GE(d, 0);
      EXPECT_LE(d, expected_ceiling);
      policy.on_connect_attempt(0);
    }
    EXPECT_EQ(previous_ceiling, 10 * kSec);  // reached the cap and stayed there
  }
}

TEST(ReconnectPolicy, FullJitterDelaysGrowOnAverageAndAreSpread) {
  constexpr int kSeeds = 2000;
  constexpr int kRetries = 9;
  std::vector<double> mean(kRetries, 0.0);
  std::vector<std::int64_t> low(kRetries, std::numeric_limits<std::int64_t>::max()), high(kRetries, 0);
  for (int seed = 1; seed <= kSeeds; ++seed) {
    ReconnectPolicy policy(full_jitter(static_cast<std::uint64_t>(seed)));
    const auto delays = failing_delays(policy, kRetries + 1);
    for (int n = 0; n < kRetries; ++n) {
      const std::int64_t d = delays[static_cast<std::size_t>(n + 1)];
      mean[n] += static_cast<double>(d) / kSeeds;
      low[n] = std::min(low[n], d);
      high[n] = std::max(high[n], d);
    }
  }
  for (int n = 0; n < kRetries; ++n) {
    const double ceiling = std::min(10.0 * kSec, 100.0 * kMs * std::pow(2.0, n));
    // Uniform on [0, ceiling]: mean ceiling/2 (2000 samples: standard error ~0.65 % of the ceiling).
    EXPECT_NEAR(mean[n], ceiling / 2, ceiling * 0.05) << "retry " << n + 1;
    // Jitter really spreads: the samples cover most of the range.
    EXPECT_LT(low[n], ceiling * 0.05);
    EXPECT_GT(high[n], ceiling * 0.95);
    if (n > 0 && ceiling < 10.0 * kSec) {
      EXPECT_GT(mean[n], mean[n - 1] * 1.5);
    }
  }
}

TEST(ReconnectPolicy, DecorrelatedJitterHasAFloorGrowsAndIsCapped) {
  constexpr int kSeeds = 200;
  double first_mean = 0, last_mean = 0;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    ReconnectConfig c = full_jitter(seed);
    c.jitter = ReconnectConfig::Jitter::kDecorrelated;
    c.multiplier = 3.0;
    ReconnectPolicy policy(c);
    const auto delays = failing_delays(policy, 60);
    EXPECT_EQ(delays[0], 0);
    std::int64_t previous = c.base_ns;
    for (std::size_t i = 1; i < delays.size(); ++i) {
      EXPECT_GE(delays[i], c.base_ns);
      EXPECT_LE(delays[i], std::min<std::int64_t>(c.cap_ns, previous * 3));
      previous = delays[i];
    }
    first_mean += static_cast<double>(delays[1]) / kSeeds;
    last_mean += static_cast<double>(delays.back()) / kSeeds;
  }
  // The first retry is uniform on [100 ms, 300 ms]. Later ones drift up (in log space by ln 3 - 1 per
  // retry on average) until the cap pulls them back: after 60 retries most sit in the seconds.
  EXPECT_NEAR(first_mean, 200.0 * kMs, 20.0 * kMs);
  EXPECT_GT(last_mean, 2.0 * kSec);
}

TEST(ReconnectPolicy, SameSeedSameDelays) {
  ReconnectPolicy a(full_jitter(42)), b(full_jitter(42)), c(full_jitter(43));
  const auto da = failing_delays(a, 30);
  EXPECT_EQ(da, failing_delays(b, 30));
  EXPECT_NE(da, failing_delays(c, 30));
}

TEST(ReconnectPolicy, ResetsOnlyAfterTheConnectionStayedHealthy) {
  ReconnectConfig config = full_jitter(7);
  config.stable_after_ns = 10 * kSec;
  ReconnectPolicy policy(config);
  for (int i = 0; i < 5; ++i) policy.on_connect_attempt(0);
  ASSERT_EQ(policy.attempts(), 5u);

  // Up for 9.9 s, then dropped: no reset, the next delay still backs off.
  policy.on_healthy(100 * kSec);
  policy.on_healthy(105 * kSec);
  policy.on_healthy(109 * kSec + 900 * kMs);
  EXPECT_EQ(policy.attempts(), 5u);
  policy.on_disconnected();
  policy.on_healthy(112 * kSec);  // a new stretch starts here, it does not continue the old one
  policy.on_healthy(121 * kSec);
  EXPECT_EQ(policy.attempts(), 5u);
  EXPECT_EQ(policy.backoff_ceiling_ns(), 1600 * kMs);

  policy.on_healthy(122 * kSec);  // 10 s since 112 s
  EXPECT_EQ(policy.attempts(), 0u);
  EXPECT_EQ(policy.next_delay(123 * kSec), 0);
}

TEST(ReconnectPolicy, FlappingConnectionKeepsBackingOff) {
  ReconnectPolicy policy(full_jitter(9));
  std::int64_t now = 0;
  for (int i = 0; i < 8; ++i) {
    now += policy.next_delay(now);
    policy.on_connect_attempt(now);
    // Accepted, healthy for 2 s, then dropped by the venue.
    policy.on_healthy(now + kSec);
    policy.on_healthy(now + 3 * kSec);
    policy.on_disconnected();
    now += 3 * kSec;
  }
  EXPECT_EQ(policy.attempts(), 8u);
  EXPECT_EQ(policy.backoff_ceiling_ns(), 10 * kSec);
}

TEST(ReconnectPolicy, AttemptWindowIsNeverExceeded) {
  // Binance: 300 connection attempts per 5 minutes per IP. Backoff alone (cap 50 ms) would try ~6000.
  ReconnectConfig config;
  config.base_ns = 1 * kMs;
  config.cap_ns = 50 * kMs;
  config.window_attempts = 300;
  config.window_ns = 300 * kSec;
  config.seed = 3;
  ReconnectPolicy policy(config);
  std::deque<std::int64_t> recent;
  std::int64_t now = 0;
  std::int64_t first_attempt = -1;
  int extended = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::int64_t d = policy.next_delay(now);
    ASSERT_GE(d, 0);
    if (d > config.cap_ns) ++extended;
    now += d;
    policy.on_connect_attempt(now);
    if (first_attempt < 0) first_attempt = now;
    recent.push_back(now);
    while (recent.front() <= now - config.window_ns) recent.pop_front();
    ASSERT_LE(recent.size(), 300u) << "attempt " << i << " at " << now;
    if (i == 300) {
      EXPECT_GE(now, first_attempt + config.window_ns);  // the 301st waited out the window
    }
  }
  EXPECT_GT(extended, 0);
  // Five windows' worth of attempts took at least four full windows.
  EXPECT_GE(now, 4 * config.window_ns);
}

TEST(ReconnectPolicy, WindowDelayCountsFromNowNotFromTheLastAttempt) {
  ReconnectConfig config = full_jitter(5);
  config.window_attempts = 3;
  config.window_ns = 60 * kSec;
  ReconnectPolicy policy(config);
  policy.on_connect_attempt(0);
  policy.on_connect_attempt(1 * kSec);
  policy.on_connect_attempt(2 * kSec);
  // The attempt at 0 leaves the window at 60 s.
  EXPECT_GE(policy.next_delay(10 * kSec), 50 * kSec);
  EXPECT_LE(policy.next_delay(70 * kSec), config.cap_ns);
}

TEST(ReconnectPolicy, NonsenseConfigIsClampedNotFatal) {
  ReconnectConfig config;
  config.base_ns = 0;
  config.cap_ns = -5;
  config.multiplier = std::nan("");
  config.window_attempts = 10;
  config.window_ns = 0;  // no window: the limit is ignored
  config.seed = 1;
  ReconnectPolicy policy(config);
  const auto delays = failing_delays(policy, 50);
  for (const auto d : delays) {
    EXPECT_GE(d, 0);
    EXPECT_LE(d, 1);
  }
}

}  // namespace
}  // namespace sigflow::io
