// The engine's GET /metrics, scraped from a running pipeline against both simulators on loopback: every
// stage's families are there with live values, and Prometheus' own parser (promtool) accepts the page.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tests/support/metrics_page.hpp"
#include "tests/support/paths.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace {

using sigflow::testing_support::wait_for;

using sigflow::app::Pipeline;

constexpr const char* kKey = "sk-proj-METRICSTESTKEY0123456789abcdefNEVERLOG";
constexpr const char* kKeyEnv = "SIGFLOW_METRICS_TEST_KEY";

using sigflow::testing_support::http_get;
using sigflow::testing_support::sample;

TEST(PipelineMetrics, EveryStageIsExportedAndPromtoolAcceptsThePage) {
  std::signal(SIGPIPE, SIG_IGN);
  ::setenv(kKeyEnv, kKey, 1);
  sigflow::tools::ExchangeSimConfig ex;
  ex.venues = {{"binance-usdm", {"BTCUSDT", "ETHUSDT"}}, {"bybit-linear", {}}};
  ex.rate = 2'000;
  sigflow::tools::ExchangeSim exchange(ex);
  ASSERT_TRUE(exchange.start().ok());
  sigflow::tools::InferenceSimConfig llm_config;
  llm_config.latency_median_ms = 20;
  llm_config.tokenizer_dir = sigflow::testing_support::source_dir() + "/data/tokenizers";
  llm_config.api_key = kKey;
  sigflow::tools::InferenceSim llm(llm_config);
  ASSERT_TRUE(llm.start().ok());

  sigflow::engine::Config c;
  c.source = "test";
  c.signals_path =
      (std::filesystem::temp_directory_path() / ("sigflow-metrics-" + std::to_string(getpid()))).string();
  c.ring.arena_bytes = 4u << 20;
  c.ring.max_frames = 8192;
  c.status_interval_ms = 0;
  c.metrics.enabled = true;
  c.metrics.port = 0;
  for (const std::string& id : exchange.venues())
    c.venues.push_back(sigflow::app::loopback_venue(id, exchange.port(), exchange.symbols(id)));
  c.inference.enabled = true;
  c.inference.base_url = llm.base_url();
  c.inference.model = "sim-gpt-4o-mini";
  c.inference.api_key_env = kKeyEnv;
  c.inference.rpm = 600;
  c.inference.tpm = 200'000;
  c.inference.stale_move_bps = 200;

  std::string page;
  {
    Pipeline pipeline(c, exchange.ca_pem() + "\n" + llm.ca_pem());
    pipeline.start();
    ASSERT_NE(pipeline.metrics_port(), 0);
    ASSERT_TRUE(wait_for(
        [&] { return pipeline.totals().llm_signals > 0 && pipeline.totals().decoded_events > 2'000; },
        std::chrono::seconds(60)));
    page = http_get(pipeline.metrics_port(), "/metrics");
    pipeline.stop();
  }
  llm.stop();
  exchange.stop();
  std::filesystem::remove(c.signals_path);
  ::unsetenv(kKeyEnv);

  ASSERT_EQ(page.rfind("HTTP/1.1 200 OK", 0), 0u) << page.substr(0, 300);
  const std::string body = page.substr(page.find("\r\n\r\n") + 4);
  EXPECT_EQ(body.find(kKey), std::string::npos);

  // Counters by venue, live.
  for (const char* venue : {"binance-usdm", "bybit-linear"}) {
    const std::string v = std::string("{venue=\"") + venue + "\"}";
    EXPECT_GT(sample(body, "sigflow_feed_messages_total" + v), 0) << venue;
    EXPECT_GT(sample(body, "sigflow_feed_bytes_total" + v), 0) << venue;
    EXPECT_EQ(sample(body, "sigflow_feed_ring_drops_total" + v), 0) << venue;
    EXPECT_GE(sample(body, "sigflow_feed_connections_open" + v), 1) << venue;
    // Stage histograms per venue: every frame was timed.
    EXPECT_GT(sample(body, "sigflow_receive_to_applied_seconds_count" + v), 0) << venue;
    EXPECT_GT(sample(body, "sigflow_frame_process_seconds_count" + v), 0) << venue;
    EXPECT_GT(sample(body, "sigflow_book_apply_seconds_count" + v), 0) << venue;
  }
  EXPECT_GT(sample(body, "sigflow_strategy_events_total"), 0);
  EXPECT_EQ(sample(body, "sigflow_strategy_decode_errors_total"), 0);
  EXPECT_GT(sample(body, "sigflow_signals_total"), 0);
  EXPECT_GT(sample(body, "sigflow_cycle_duration_seconds_count"), 0);
  EXPECT_GT(sample(body, "sigflow_cycle_lateness_seconds_count"), 0);
  EXPECT_GT(sample(body, "sigflow_tick_to_signal_seconds_count"), 0);
  EXPECT_GT(sample(body, "sigflow_sink_write_seconds_count"), 0);
  EXPECT_GT(sample(body, "sigflow_prompt_build_seconds_count"), 0);
  EXPECT_GT(sample(body, "sigflow_inference_round_trip_seconds_count"), 0);
  EXPECT_GT(sample(body, "sigflow_inference_requests_total"), 0);
  EXPECT_EQ(sample(body, "sigflow_inference_breaker_open"), 0);
  EXPECT_GT(sample(body, "sigflow_ring_depth_high_water{ring=\"frames\"}"), 0);
  EXPECT_GT(sample(body, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(sample(body, "process_open_fds"), 2);
  // A histogram family: HELP, TYPE, cumulative buckets ending in +Inf equal to _count.
  EXPECT_NE(body.find("# TYPE sigflow_tick_to_signal_seconds histogram"), std::string::npos);
  const double inf = sample(body, "sigflow_tick_to_signal_seconds_bucket{le=\"+Inf\"}");
  EXPECT_EQ(inf, sample(body, "sigflow_tick_to_signal_seconds_count"));

  // Prometheus' own parser; CI installs it with the prometheus package (tools/install-deps.sh).
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not installed";
  const std::string file = c.signals_path + ".prom";
  std::ofstream(file) << body;
  const std::string command = "promtool check metrics < " + file + " > " + file + ".out 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream out(file + ".out");
  const std::string report((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << report;
  std::filesystem::remove(file);
  std::filesystem::remove(file + ".out");
}

}  // namespace
