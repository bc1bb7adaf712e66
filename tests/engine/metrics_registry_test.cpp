#include "engine/metrics_registry.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using sigflow::engine::Counter;
using sigflow::engine::HighWater;
using sigflow::engine::LatencyHistogram;
using sigflow::engine::MetricsRegistry;
using sigflow::engine::SharedCounter;

// The bucket lines of a histogram sample with labels `labels` (ending in a comma) and the cumulative
// counts given for each bound of kLatencyBucketBounds, +Inf last.
std::string bucket_lines(const std::string& name, const std::string& labels,
                         const std::vector<int>& cumulative) {
  static const char* const kLe[] = {"1e-07",   "2.5e-07", "5e-07",  "1e-06",   "2.5e-06", "5e-06", "1e-05",
                                    "2.5e-05", "5e-05",   "0.0001", "0.00025", "0.0005",  "0.001", "0.0025",
                                    "0.005",   "0.01",    "0.025",  "0.05",    "0.1",     "0.25",  "0.5",
                                    "1",       "2.5",     "5",      "10",      "+Inf"};
  EXPECT_EQ(cumulative.size(), std::size(kLe));
  std::string out;
  for (std::size_t i = 0; i < cumulative.size() && i < std::size(kLe); ++i) {
    out += name + "_bucket{" + labels + "le=\"" + kLe[i] + "\"} " + std::to_string(cumulative[i]) + "\n";
  }
  return out;
}

TEST(MetricsRegistry, RendersTheExpositionFormatExactly) {
  Counter binance_frames;
  Counter okx_frames;
  SharedCounter reconnects;
  HighWater ring_depth;
  auto decode = std::make_unique<LatencyHistogram>();
  binance_frames.add(5);
  okx_frames.add(2);
  ring_depth.observe(17);
  decode->record(150);
  decode->record(1'000);
  decode->record(3'000'000);

  MetricsRegistry registry;
  registry.add_counter("sigflow_feed_frames_total", "Frames received from the venue.", {{"venue", "binance"}},
                       binance_frames);
  registry.add_gauge("sigflow_ring_depth_high_water", "Deepest the ring has been.", {{"stage", "feed"}},
                     ring_depth);
  registry.add_counter("sigflow_feed_reconnects_total", "Reconnects.", {}, reconnects);
  // Registered after other families: must still print under the first sample of its family.
  registry.add_counter("sigflow_feed_frames_total", "Frames received from the venue.", {{"venue", "okx"}},
                       okx_frames);
  registry.add_histogram("sigflow_decode_seconds", "Receive to decoded.", {{"venue", "binance"}}, *decode);
  registry.add_gauge("sigflow_clock_skew", "Skew.", {}, [] { return -0.5; });

  const std::string expected =
      "# HELP sigflow_feed_frames_total Frames received from the venue.\n"
      "# TYPE sigflow_feed_frames_total counter\n"
      "sigflow_feed_frames_total{venue=\"binance\"} 5\n"
      "sigflow_feed_frames_total{venue=\"okx\"} 2\n"
      "# HELP sigflow_ring_depth_high_water Deepest the ring has been.\n"
      "# TYPE sigflow_ring_depth_high_water gauge\n"
      "sigflow_ring_depth_high_water{stage=\"feed\"} 17\n"
      "# HELP sigflow_feed_reconnects_total Reconnects.\n"
      "# TYPE sigflow_feed_reconnects_total counter\n"
      "sigflow_feed_reconnects_total 0\n"
      "# HELP sigflow_decode_seconds Receive to decoded.\n"
      "# TYPE sigflow_decode_seconds histogram\n" +
      bucket_lines("sigflow_decode_seconds", "venue=\"binance\",",
                   {0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}) +
      "sigflow_decode_seconds_sum{venue=\"binance\"} 0.00300115\n"
      "sigflow_decode_seconds_count{venue=\"binance\"} 3\n"
      "# HELP sigflow_clock_skew Skew.\n"
      "# TYPE sigflow_clock_skew gauge\n"
      "sigflow_clock_skew -0.5\n";
  EXPECT_EQ(registry.render(), expected);
}

TEST(MetricsRegistry, HistogramWithoutObservationsRendersZeros) {
  auto histogram = std::make_unique<LatencyHistogram>();
  MetricsRegistry registry;
  registry.add_histogram("sigflow_cycle_seconds", "Cycle duration.", {}, *histogram);
  const std::string expected =
      "# HELP sigflow_cycle_seconds Cycle duration.\n"
      "# TYPE sigflow_cycle_seconds histogram\n" +
      bucket_lines("sigflow_cycle_seconds", "", std::vector<int>(26, 0)) +
      "sigflow_cycle_seconds_sum 0\n"
      "sigflow_cycle_seconds_count 0\n";
  EXPECT_EQ(registry.render(), expected);
}

TEST(MetricsRegistry, MergesTheWritersOfOneStage) {
  auto first = std::make_unique<LatencyHistogram>();
  auto second = std::make_unique<LatencyHistogram>();
  first->record(2'000);
  second->record(2'000'000'000);
  MetricsRegistry registry;
  registry.add_histogram("sigflow_feed_seconds", "Feed.", {}, {first.get(), second.get()});
  const std::string text = registry.render();
  EXPECT_NE(text.find("sigflow_feed_seconds_bucket{le=\"2.5e-06\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sigflow_feed_seconds_bucket{le=\"2.5\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sigflow_feed_seconds_sum 2.000002\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sigflow_feed_seconds_count 2\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelpText) {
  Counter errors;
  MetricsRegistry registry;
  registry.add_counter("sigflow_errors_total", "Errors \\ by \"kind\"\nsecond line", {{"kind", "a\\b\"c\nd"}},
                       errors);
  EXPECT_EQ(registry.render(),
            "# HELP sigflow_errors_total Errors \\\\ by \"kind\"\\nsecond line\n"
            "# TYPE sigflow_errors_total counter\n"
            "sigflow_errors_total{kind=\"a\\\\b\\\"c\\nd\"} 0\n");
}

TEST(MetricsRegistry, RejectsBadNamesAndDuplicates) {
  Counter counter;
  auto histogram = std::make_unique<LatencyHistogram>();
  MetricsRegistry registry;
  EXPECT_THROW(registry.add_counter("", "h", {}, counter), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("9lives_total", "h", {}, counter), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("sigflow-feed_total", "h", {}, counter), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("ok_total", "h", {{"bad-label", "x"}}, counter), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("ok_total", "h", {{"__reserved", "x"}}, counter), std::invalid_argument);
  EXPECT_THROW(registry.add_counter("ok_total", "h", {{"a", "1"}, {"a", "2"}}, counter),
               std::invalid_argument);
  EXPECT_THROW(registry.add_histogram("ok_seconds", "h", {{"le", "1"}}, *histogram), std::invalid_argument);

  registry.add_counter("sigflow:feed_frames_total", "h", {{"venue", "okx"}, {"stage", "feed"}}, counter);
  // Same label set in another order is the same series.
  EXPECT_THROW(
      registry.add_counter("sigflow:feed_frames_total", "h", {{"stage", "feed"}, {"venue", "okx"}}, counter),
      std::invalid_argument);
  EXPECT_THROW(registry.add_gauge("sigflow:feed_frames_total", "h", {{"venue", "bybit"}}, [] { return 1.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.add_counter("sigflow:feed_frames_total", "other help", {{"venue", "bybit"}}, counter),
               std::invalid_argument);

  registry.add_histogram("sigflow_decode_seconds", "h", {}, *histogram);
  EXPECT_THROW(registry.add_counter("sigflow_decode_seconds_count", "h", {}, counter), std::invalid_argument);
  registry.add_gauge("sigflow_sink_lag_sum", "h", {}, [] { return 0.0; });
  EXPECT_THROW(registry.add_histogram("sigflow_sink_lag", "h", {}, *histogram), std::invalid_argument);
  EXPECT_THROW(
      registry.add_histogram("sigflow_empty_seconds", "h", {}, std::vector<const LatencyHistogram*>{}),
      std::invalid_argument);
}

// Runs the real Prometheus parser and linter over a scrape of every metric type.
TEST(MetricsRegistry, PromtoolAcceptsTheOutput) {
  const char* const kPromtool = "/usr/bin/promtool";
  ASSERT_EQ(::access(kPromtool, X_OK), 0)
      << kPromtool << " not found: install the Debian package 'prometheus' (apt-get install prometheus)";

  Counter frames;
  frames.add(12);
  HighWater depth;
  depth.observe(3);
  auto decode = std::make_unique<LatencyHistogram>();
  auto idle = std::make_unique<LatencyHistogram>();
  for (std::uint64_t ns = 50; ns < 20'000'000'000; ns = ns * 3 + 7) decode->record(ns);
  MetricsRegistry registry;
  registry.add_counter("sigflow_feed_frames_total", "Frames received.", {{"venue", "binance-usdm"}}, frames);
  registry.add_counter("sigflow_feed_frames_total", "Frames received.", {{"venue", "a\\b\"c\nd"}}, frames);
  registry.add_gauge("sigflow_ring_depth_max", "Deepest the ring has been.", {{"stage", "feed"}}, depth);
  registry.add_histogram("sigflow_decode_seconds", "Receive to decoded.", {{"venue", "okx"}}, *decode);
  registry.add_histogram("sigflow_decode_seconds", "Receive to decoded.", {{"venue", "deribit"}}, *idle);

  const auto path =
      std::filesystem::temp_directory_path() / ("sigflow_metrics_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream file(path);
    file << registry.render();
  }
  const std::string command = std::string(kPromtool) + " check metrics < " + path.string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = ::pclose(pipe);
  std::filesystem::remove(path);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_EQ(output, "");
}

}  // namespace
