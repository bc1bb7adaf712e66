// LatencyHistogram (log-linear atomic buckets, single writer) against the naive recorder a first version
// would use: std::mutex + std::vector<std::uint64_t> of every sample, percentiles by sorting at read time.
// Both record the same pre-generated log-normal latencies (median ~20 µs, long tail), so the branch and
// cache behaviour of the bucket lookup is that of real stage timings, not of one repeated value.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "engine/histogram.hpp"

namespace {

using sigflow::engine::HistogramSnapshot;
using sigflow::engine::LatencyHistogram;

// A power of two so that the sample index is a mask, not a division, inside the timed loop.
constexpr std::size_t kSamples = 1 << 16;
// The naive recorder forgets its window once it holds this many samples (keeping its capacity), so that a
// long run measures push_back rather than exhausting memory; a real one would need the same bound.
constexpr std::size_t kNaiveWindow = 1 << 20;

const std::vector<std::uint64_t>& latencies() {
  static const std::vector<std::uint64_t> kLatencies = [] {
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> ns(std::log(20'000.0), 1.0);
    std::vector<std::uint64_t> out(kSamples);
    for (auto& v : out) v = static_cast<std::uint64_t>(ns(rng));
    return out;
  }();
  return kLatencies;
}

class NaiveRecorder {
 public:
  void record(std::uint64_t value_ns) {
    std::lock_guard lock(mutex_);
    if (values_.size() == kNaiveWindow) values_.clear();
    values_.push_back(value_ns);
  }
  std::uint64_t percentile(double q) {
    std::vector<std::uint64_t> sorted;
    {
      std::lock_guard lock(mutex_);
      sorted = values_;
    }
    if (sorted.empty()) return 0;
    std::sort(sorted.begin(), sorted.end());
    const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * sorted.size())));
    return sorted[rank - 1];
  }

 private:
  std::mutex mutex_;
  std::vector<std::uint64_t> values_;
};

void BM_Record_LatencyHistogram(benchmark::State& state) {
  const auto& input = latencies();
  auto histogram = std::make_unique<LatencyHistogram>();
  std::size_t i = 0;
  for (auto _ : state) {
    histogram->record(input[i++ & (kSamples - 1)]);
  }
  benchmark::DoNotOptimize(histogram->count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Record_LatencyHistogram);

void BM_Record_NaiveMutexVector(benchmark::State& state) {
  const auto& input = latencies();
  NaiveRecorder recorder;
  std::size_t i = 0;
  for (auto _ : state) {
    recorder.record(input[i++ & (kSamples - 1)]);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Record_NaiveMutexVector);

// The read side, as a scrape or the status line pays it: p50, p99 and p99.9 of the last kSamples values.
void BM_Percentiles_LatencyHistogram(benchmark::State& state) {
  const auto& input = latencies();
  auto histogram = std::make_unique<LatencyHistogram>();
  for (const auto v : input) histogram->record(v);
  auto snapshot = std::make_unique<HistogramSnapshot>();
  for (auto _ : state) {
    histogram->snapshot_into(*snapshot);
    benchmark::DoNotOptimize(snapshot->percentile(0.5) + snapshot->percentile(0.99) +
                             snapshot->percentile(0.999));
  }
}
BENCHMARK(BM_Percentiles_LatencyHistogram);

void BM_Percentiles_NaiveMutexVector(benchmark::State& state) {
  NaiveRecorder recorder;
  for (const auto v : latencies()) recorder.record(v);
  for (auto _ : state) {
    // One sort serves all three, as a careful naive reader would do.
    benchmark::DoNotOptimize(recorder.percentile(0.5));
  }
}
BENCHMARK(BM_Percentiles_NaiveMutexVector);

}  // namespace

BENCHMARK_MAIN();
