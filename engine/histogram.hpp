#pragma once
// Lock-free latency histograms: one writing thread (the stage's own), readers on any thread.
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "engine/counter.hpp"

namespace sigflow::engine {

struct HistogramSnapshot;

// Log-linear buckets in the style of HdrHistogram: values below 256 ns each get their own bucket; above
// that every power of two [2^k, 2^(k+1)) is split into 128 equal sub-buckets. A bucket's width is thus at
// most 1/128 of its lowest value, so any value read back from a bucket is within 0.79% of every value that
// fell into it, which meets the 1% the latency reports ask for. The bucket index is the bit position of
// the value plus its top 7 bits below that: a count-leading-zeros, a shift and an add.
//
// Values are nanoseconds. 2^37 ns (137 s) bounds the range: nothing we time legitimately takes longer,
// and the bound keeps the table at 3968 buckets (31 KiB). Larger values clamp into the last bucket and are
// also counted in `overflow`, so a stuck stage shows up rather than vanishing.
//
// The single writer uses relaxed load + store instead of fetch_add, as Counter does: no other writer can
// race, and a locked read-modify-write per field would triple the cost of record(). Readers load relaxed;
// a snapshot taken while the writer runs is not one instant (the total may lag a bucket by an increment or
// two), which is harmless for monitoring, and HistogramSnapshot::count is derived from the copied buckets
// so that the snapshot is self-consistent.
class LatencyHistogram {
 public:
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBucketCount = std::uint64_t{1} << kSubBucketBits;
  static constexpr unsigned kValueBits = 37;
  static constexpr std::uint64_t kMaxTrackable = (std::uint64_t{1} << kValueBits) - 1;
  static constexpr std::size_t kBucketCount = (kValueBits - kSubBucketBits + 1) * kSubBucketCount;

  // Valid for value <= kMaxTrackable.
  static constexpr std::size_t bucket_index(std::uint64_t value) noexcept {
    // OR-ing in the sub-bucket count makes values below 256 take shift 0, i.e. one bucket each.
    const unsigned shift =
        (63u - static_cast<unsigned>(std::countl_zero(value | kSubBucketCount))) - kSubBucketBits;
    return static_cast<std::size_t>(shift * kSubBucketCount + (value >> shift));
  }
  static constexpr std::uint64_t bucket_lowest(std::size_t index) noexcept {
    const unsigned shift = bucket_shift(index);
    return (static_cast<std::uint64_t>(index) - shift * kSubBucketCount) << shift;
  }
  static constexpr std::uint64_t bucket_highest(std::size_t index) noexcept {
    return bucket_lowest(index) + (std::uint64_t{1} << bucket_shift(index)) - 1;
  }

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Writer thread only.
  void record(std::uint64_t value_ns) noexcept {
    std::uint64_t tracked = value_ns;
    if (value_ns > kMaxTrackable) [[unlikely]] {
      bump(overflow_, 1);
      tracked = kMaxTrackable;
    }
    bump(counts_[bucket_index(tracked)], 1);
    bump(count_, 1);
    bump(sum_ns_, value_ns);
    if (value_ns > max_ns_.load(std::memory_order_relaxed))
      max_ns_.store(value_ns, std::memory_order_relaxed);
  }

  // Any thread. The snapshot is 31 KiB: keep one around rather than on a small stack.
  void snapshot_into(HistogramSnapshot& out) const noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  static constexpr unsigned bucket_shift(std::size_t index) noexcept {
    const auto power = static_cast<unsigned>(index / kSubBucketCount);
    return power == 0 ? 0 : power - 1;
  }
  static void bump(std::atomic<std::uint64_t>& field, std::uint64_t n) noexcept {
    field.store(field.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // The totals share one line, the writer touches all four on every record(); the buckets follow.
  alignas(kCacheLine) std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> max_ns_{0};
  std::atomic<std::uint64_t> overflow_{0};
  alignas(kCacheLine) std::array<std::atomic<std::uint64_t>, kBucketCount> counts_{};
};

// A plain copy of a histogram, read on the reporting thread.
struct HistogramSnapshot {
  std::array<std::uint64_t, LatencyHistogram::kBucketCount> counts{};
  std::uint64_t count = 0;     // sum of `counts`
  std::uint64_t sum_ns = 0;    // of the recorded values, unclamped
  std::uint64_t max_ns = 0;    // unclamped
  std::uint64_t overflow = 0;  // values above kMaxTrackable

  // Nearest-rank percentile, q in [0, 1] (0.5, 0.99, 0.999): the smallest recorded value v such that at
  // least q of all values are <= v, reported as the highest value of v's bucket (never below the exact
  // answer, at most 1/128 above it), capped at max_ns. 0 when empty.
  std::uint64_t percentile(double q) const noexcept;
  // Values in the buckets up to and including the one that holds `value_ns` (a Prometheus `le` bound):
  // may count values up to 1/128 above the bound, never misses one below it.
  std::uint64_t count_at_or_below(std::uint64_t value_ns) const noexcept;
  // Adds another snapshot, e.g. of a second writer thread of the same stage.
  void merge(const HistogramSnapshot& other) noexcept;
};

}  // namespace sigflow::engine
