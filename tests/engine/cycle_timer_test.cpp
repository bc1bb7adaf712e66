#include "engine/cycle_timer.hpp"

#include <gtest/gtest.h>

namespace {

using sigflow::engine::CycleTimer;
constexpr std::int64_t kMs = 1'000'000;

TEST(CycleTimer, FiresAtStartPlusNTimesPeriodWithoutDrift) {
  CycleTimer timer(1'000 * kMs, 50 * kMs);
  std::uint64_t cycle = 99;
  EXPECT_FALSE(timer.poll(999 * kMs, cycle));
  for (std::uint64_t n = 0; n < 1000; ++n) {
    // Each cycle runs 3 ms late; a drifting timer (next = now + period) would slide by 3 s over 1000 cycles.
    const std::int64_t due = 1'000 * kMs + static_cast<std::int64_t>(n) * 50 * kMs;
    EXPECT_EQ(timer.next_due_ns(), due);
    EXPECT_FALSE(timer.poll(due - 1, cycle));
    ASSERT_TRUE(timer.poll(due + 3 * kMs, cycle));
    EXPECT_EQ(cycle, n);
  }
  EXPECT_EQ(timer.late_cycles(), 0u);
  EXPECT_EQ(timer.missed_cycles(), 0u);
}

TEST(CycleTimer, LateCycleIsCountedAndMissedSlotsAreSkippedNotReplayed) {
  CycleTimer timer(0, 50 * kMs);
  std::uint64_t cycle = 0;
  ASSERT_TRUE(timer.poll(0, cycle));
  EXPECT_EQ(cycle, 0u);
  // Stalled for 230 ms: slots 1..3 passed entirely, slot 4 (due 200 ms) is 30 ms late.
  ASSERT_TRUE(timer.poll(230 * kMs, cycle));
  EXPECT_EQ(cycle, 4u);
  EXPECT_EQ(timer.missed_cycles(), 3u);
  EXPECT_EQ(timer.late_cycles(), 1u);
  EXPECT_FALSE(timer.poll(231 * kMs, cycle));  // no catch-up burst
  EXPECT_EQ(timer.next_due_ns(), 250 * kMs);
  ASSERT_TRUE(timer.poll(250 * kMs, cycle));
  EXPECT_EQ(cycle, 5u);
}

}  // namespace
