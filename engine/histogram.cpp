#include "engine/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace sigflow::engine {

void LatencyHistogram::snapshot_into(HistogramSnapshot& out) const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    out.counts[i] = counts_[i].load(std::memory_order_relaxed);
    total += out.counts[i];
  }
  out.count = total;
  out.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  out.max_ns = max_ns_.load(std::memory_order_relaxed);
  out.overflow = overflow_.load(std::memory_order_relaxed);
}

std::uint64_t HistogramSnapshot::percentile(double q) const noexcept {
  if (count == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) {
      // max_ns read in a live snapshot can lag the buckets; never let it pull the answer below the bucket.
      const std::uint64_t highest = LatencyHistogram::bucket_highest(i);
      const std::uint64_t lowest = LatencyHistogram::bucket_lowest(i);
      return std::max(lowest, std::min(highest, max_ns));
    }
  }
  return LatencyHistogram::bucket_highest(counts.size() - 1);
}

std::uint64_t HistogramSnapshot::count_at_or_below(std::uint64_t value_ns) const noexcept {
  const std::size_t last =
      LatencyHistogram::bucket_index(std::min(value_ns, LatencyHistogram::kMaxTrackable));
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= last; ++i) total += counts[i];
  return total;
}

void HistogramSnapshot::merge(const HistogramSnapshot& other) noexcept {
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
  count += other.count;
  sum_ns += other.sum_ns;
  max_ns = std::max(max_ns, other.max_ns);
  overflow += other.overflow;
}

}  // namespace sigflow::engine
