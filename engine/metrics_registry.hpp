#pragma once
// Prometheus text exposition (format 0.0.4) of the stages' counters, gauges and latency histograms.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/counter.hpp"
#include "engine/histogram.hpp"

namespace sigflow::engine {

// Label name → value, rendered in the order given.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Stages register what they expose once at start-up (this allocates and throws std::invalid_argument on a
// bad name or a duplicate); render() then reads every source without locks, on the scraping thread. The
// registry stores pointers: each registered source must outlive it.
//
// Samples of one metric family are printed together under one # HELP / # TYPE, in registration order,
// whatever order the label sets were registered in, because the format forbids a family being split.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  void add_counter(std::string_view name, std::string_view help, MetricLabels labels, const Counter& source);
  void add_counter(std::string_view name, std::string_view help, MetricLabels labels,
                   const SharedCounter& source);
  void add_counter(std::string_view name, std::string_view help, MetricLabels labels,
                   std::function<std::uint64_t()> read);

  void add_gauge(std::string_view name, std::string_view help, MetricLabels labels, const HighWater& source);
  void add_gauge(std::string_view name, std::string_view help, MetricLabels labels,
                 std::function<double()> read);

  // Exported in seconds with the `le` bounds of kLatencyBucketBounds; several sources (the writer threads
  // of one stage) are merged into one series at scrape time.
  void add_histogram(std::string_view name, std::string_view help, MetricLabels labels,
                     const LatencyHistogram& source);
  void add_histogram(std::string_view name, std::string_view help, MetricLabels labels,
                     std::vector<const LatencyHistogram*> sources);

  std::string render() const;

 private:
  struct Family;
  struct Series;
  enum class Type { kCounter, kGauge, kHistogram };
  Series& add_series(std::string_view name, std::string_view help, Type type, MetricLabels labels);

  std::vector<std::unique_ptr<Family>> families_;
};

// One `le` bound of the exported histograms: the bound in ns, and its label text as Prometheus' own Go
// client writes it (strconv 'g' formatting), so that scrapes compare equal across exporters.
struct LatencyBucketBound {
  std::uint64_t ns;
  std::string_view le;
};
// 100 ns .. 10 s in 1-2.5-5 steps: decode and book updates sit below a microsecond, inference round trips
// at seconds. +Inf is implied.
inline constexpr LatencyBucketBound kLatencyBucketBounds[] = {
    {100, "1e-07"},         {250, "2.5e-07"},      {500, "5e-07"},         {1'000, "1e-06"},
    {2'500, "2.5e-06"},     {5'000, "5e-06"},      {10'000, "1e-05"},      {25'000, "2.5e-05"},
    {50'000, "5e-05"},      {100'000, "0.0001"},   {250'000, "0.00025"},   {500'000, "0.0005"},
    {1'000'000, "0.001"},   {2'500'000, "0.0025"}, {5'000'000, "0.005"},   {10'000'000, "0.01"},
    {25'000'000, "0.025"},  {50'000'000, "0.05"},  {100'000'000, "0.1"},   {250'000'000, "0.25"},
    {500'000'000, "0.5"},   {1'000'000'000, "1"},  {2'500'000'000, "2.5"}, {5'000'000'000, "5"},
    {10'000'000'000, "10"},
};

}  // namespace sigflow::engine
