#include "engine/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace {

using sigflow::engine::HistogramSnapshot;
using sigflow::engine::LatencyHistogram;

std::unique_ptr<HistogramSnapshot> snapshot_of(const LatencyHistogram& histogram) {
  auto snapshot = std::make_unique<HistogramSnapshot>();
  histogram.snapshot_into(*snapshot);
  return snapshot;
}

// The nearest-rank definition HistogramSnapshot::percentile documents, on the exact values.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double q) {
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * sorted.size())));
  return sorted[rank - 1];
}

TEST(LatencyHistogram, EveryValueFallsInABucketNarrowerThanOnePercentOfIt) {
  std::vector<std::uint64_t> probes;
  for (std::uint64_t v = 0; v < 1024; ++v) probes.push_back(v);
  for (unsigned bit = 8; bit < LatencyHistogram::kValueBits; ++bit) {
    const std::uint64_t power = std::uint64_t{1} << bit;
    for (const std::uint64_t v : {power - 1, power, power + 1, power + power / 3, 2 * power - 1}) {
      probes.push_back(v);
    }
  }
  probes.push_back(LatencyHistogram::kMaxTrackable);
  for (const std::uint64_t v : probes) {
    const std::size_t index = LatencyHistogram::bucket_index(v);
    ASSERT_LT(index, LatencyHistogram::kBucketCount) << v;
    const std::uint64_t lowest = LatencyHistogram::bucket_lowest(index);
    const std::uint64_t highest = LatencyHistogram::bucket_highest(index);
    EXPECT_LE(lowest, v);
    EXPECT_GE(highest, v);
    if (v < 256) {
      EXPECT_EQ(lowest, highest) << v;
    }
    EXPECT_LE(static_cast<double>(highest - lowest), 0.01 * static_cast<double>(lowest)) << v;
  }
  EXPECT_EQ(LatencyHistogram::bucket_index(LatencyHistogram::kMaxTrackable),
            LatencyHistogram::kBucketCount - 1);
}

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
  for (std::size_t i = 1; i < LatencyHistogram::kBucketCount; ++i) {
    ASSERT_EQ(LatencyHistogram::bucket_lowest(i), LatencyHistogram::bucket_highest(i - 1) + 1) << i;
    ASSERT_EQ(LatencyHistogram::bucket_index(LatencyHistogram::bucket_lowest(i)), i);
  }
}

TEST(LatencyHistogram, PercentilesOfRandomLatenciesAreWithinOnePercent) {
  auto histogram = std::make_unique<LatencyHistogram>();
  std::mt19937_64 rng(42);
  // Log-uniform over 1 ns .. 100 s, so that every decade of the range is exercised.
  std::uniform_real_distribution<double> log_ns(0.0, std::log(1e11));
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    values.push_back(static_cast<std::uint64_t>(std::exp(log_ns(rng))));
    histogram->record(values.back());
  }
  std::sort(values.begin(), values.end());
  const auto snapshot = snapshot_of(*histogram);
  EXPECT_EQ(snapshot->count, values.size());
  EXPECT_EQ(snapshot->max_ns, values.back());
  for (const double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const std::uint64_t exact = exact_percentile(values, q);
    const std::uint64_t estimate = snapshot->percentile(q);
    EXPECT_GE(estimate, exact) << "q=" << q;
    EXPECT_LE(static_cast<double>(estimate - exact), 0.01 * static_cast<double>(exact)) << "q=" << q;
  }
  EXPECT_EQ(snapshot->percentile(1.0), values.back());
}

TEST(LatencyHistogram, PercentilesOfANarrowNormalDistributionAreWithinOnePercent) {
  auto histogram = std::make_unique<LatencyHistogram>();
  std::mt19937_64 rng(7);
  std::normal_distribution<double> ns(40'000.0, 3'000.0);
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(static_cast<std::uint64_t>(std::max(0.0, ns(rng))));
    histogram->record(values.back());
  }
  std::sort(values.begin(), values.end());
  const auto snapshot = snapshot_of(*histogram);
  for (const double q : {0.5, 0.99, 0.999}) {
    const std::uint64_t exact = exact_percentile(values, q);
    const std::uint64_t estimate = snapshot->percentile(q);
    EXPECT_GE(estimate, exact) << "q=" << q;
    EXPECT_LE(static_cast<double>(estimate - exact), 0.01 * static_cast<double>(exact)) << "q=" << q;
  }
}

TEST(LatencyHistogram, EmptyHistogramReportsZero) {
  auto histogram = std::make_unique<LatencyHistogram>();
  const auto snapshot = snapshot_of(*histogram);
  EXPECT_EQ(snapshot->count, 0u);
  EXPECT_EQ(snapshot->sum_ns, 0u);
  EXPECT_EQ(snapshot->percentile(0.5), 0u);
  EXPECT_EQ(snapshot->percentile(1.0), 0u);
}

TEST(LatencyHistogram, ZeroAndOneAreExact) {
  auto histogram = std::make_unique<LatencyHistogram>();
  histogram->record(0);
  histogram->record(1);
  const auto snapshot = snapshot_of(*histogram);
  EXPECT_EQ(snapshot->count, 2u);
  EXPECT_EQ(snapshot->sum_ns, 1u);
  EXPECT_EQ(snapshot->max_ns, 1u);
  EXPECT_EQ(snapshot->percentile(0.5), 0u);
  EXPECT_EQ(snapshot->percentile(1.0), 1u);
  EXPECT_EQ(snapshot->overflow, 0u);
}

TEST(LatencyHistogram, HugeValuesClampToTheLastBucketAndCountAsOverflow) {
  auto histogram = std::make_unique<LatencyHistogram>();
  constexpr std::uint64_t kHuge = std::numeric_limits<std::uint64_t>::max();
  histogram->record(kHuge);
  histogram->record(LatencyHistogram::kMaxTrackable + 1);
  histogram->record(LatencyHistogram::kMaxTrackable);
  const auto snapshot = snapshot_of(*histogram);
  EXPECT_EQ(snapshot->count, 3u);
  EXPECT_EQ(snapshot->overflow, 2u);
  EXPECT_EQ(snapshot->counts.back(), 3u);
  EXPECT_EQ(snapshot->max_ns, kHuge);
  EXPECT_EQ(snapshot->percentile(1.0), LatencyHistogram::kMaxTrackable);
}

TEST(LatencyHistogram, MergedSnapshotsEqualOneHistogramOfAllValues) {
  auto first = std::make_unique<LatencyHistogram>();
  auto second = std::make_unique<LatencyHistogram>();
  auto both = std::make_unique<LatencyHistogram>();
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::uint64_t> ns(0, 5'000'000);
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t a = ns(rng);
    const std::uint64_t b = ns(rng) * 3;
    first->record(a);
    second->record(b);
    both->record(a);
    both->record(b);
  }
  auto merged = snapshot_of(*first);
  merged->merge(*snapshot_of(*second));
  const auto expected = snapshot_of(*both);
  EXPECT_EQ(merged->counts, expected->counts);
  EXPECT_EQ(merged->count, expected->count);
  EXPECT_EQ(merged->sum_ns, expected->sum_ns);
  EXPECT_EQ(merged->max_ns, expected->max_ns);
  EXPECT_EQ(merged->percentile(0.99), expected->percentile(0.99));
}

TEST(LatencyHistogram, CountAtOrBelowIncludesTheBucketHoldingTheBound) {
  auto histogram = std::make_unique<LatencyHistogram>();
  histogram->record(999);
  histogram->record(1'000);
  histogram->record(1'010);
  const auto snapshot = snapshot_of(*histogram);
  EXPECT_EQ(snapshot->count_at_or_below(995), 0u);
  // 999 shares the bucket [996, 999] with the bound 998: counted, the documented 1/128 over-count.
  EXPECT_EQ(snapshot->count_at_or_below(998), 1u);
  EXPECT_EQ(snapshot->count_at_or_below(1'000), 2u);
  EXPECT_EQ(snapshot->count_at_or_below(1'007), 2u);
  EXPECT_EQ(snapshot->count_at_or_below(1'008), 3u);
  EXPECT_EQ(snapshot->count_at_or_below(std::numeric_limits<std::uint64_t>::max()), 3u);
}

TEST(LatencyHistogram, ReaderSnapshotsWhileTheWriterRecords) {
  auto histogram = std::make_unique<LatencyHistogram>();
  constexpr std::uint64_t kRecords = 200'000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t i = 0; i < kRecords; ++i) histogram->record(100 + i % 5'000);
    done.store(true, std::memory_order_release);
  });
  auto snapshot = std::make_unique<HistogramSnapshot>();
  std::uint64_t previous = 0;
  int reads = 0;
  while (!done.load(std::memory_order_acquire) || reads == 0) {
    histogram->snapshot_into(*snapshot);
    // One writer only ever adds, so every bucket and the total can only grow between snapshots.
    EXPECT_GE(snapshot->count, previous);
    EXPECT_LE(snapshot->count, kRecords);
    EXPECT_LE(snapshot->max_ns, 100u + 4'999u);
    previous = snapshot->count;
    ++reads;
  }
  writer.join();
  histogram->snapshot_into(*snapshot);
  EXPECT_EQ(snapshot->count, kRecords);
  EXPECT_EQ(histogram->count(), kRecords);
  EXPECT_EQ(snapshot->max_ns, 100u + 4'999u);
  EXPECT_EQ(snapshot->percentile(0.0), 100u);
}

}  // namespace
