// The whole engine with inference on, against both simulators on loopback over real TLS: the exchange
// simulator feeds the books, the inference simulator answers the prompts, limits and faults included.
// Assertions are on counts and on what the engine wrote, never on elapsed time; every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>
#include "tests/support/paths.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace {

using sigflow::testing_support::wait_for;

using sigflow::app::Pipeline;
using sigflow::tools::ExchangeSim;
using sigflow::tools::ExchangeSimConfig;
using sigflow::tools::InferenceSim;
using sigflow::tools::InferenceSimConfig;
using sigflow::tools::SimFault;

// A key shaped like a real one, so that a leak in any log would show.
constexpr const char* kFakeKey = "sk-proj-SIGFLOWTESTKEY0123456789abcdefNEVERLOG";
constexpr const char* kKeyEnv = "SIGFLOW_INFERENCE_TEST_KEY";
const std::vector<std::string> kSymbols{"BTCUSDT", "ETHUSDT", "SOLUSDT"};

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string(name) + "-" + std::to_string(getpid())))
      .string();
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

class InferenceSimTest : public testing::Test {
 protected:
  void SetUp() override {
    // As `sigflow` itself does: a peer that closes first must not kill the process mid-write (the
    // simulator writes to blocking sockets the engine may abandon on a timeout or a breaker).
    std::signal(SIGPIPE, SIG_IGN);
    ::setenv(kKeyEnv, kFakeKey, 1);
    ExchangeSimConfig ex;
    ex.symbols = kSymbols;
    ex.rate = 1'000;
    exchange_ = std::make_unique<ExchangeSim>(ex);
    ASSERT_TRUE(exchange_->start().ok());
    llm_config_.latency_median_ms = 20;
    llm_config_.latency_sigma = 0.2;
    llm_config_.tokenizer_dir = sigflow::testing_support::source_dir() + "/data/tokenizers";
    llm_config_.api_key = kFakeKey;  // a request without the right Bearer key gets 401
    signals_path_ = temp_path("sigflow-inference-signals");
    std::filesystem::remove(signals_path_);
  }

  void TearDown() override {
    if (pipeline_) pipeline_->stop();
    pipeline_.reset();
    if (llm_) llm_->stop();
    exchange_->stop();
    std::filesystem::remove(signals_path_);
    ::unsetenv(kKeyEnv);
  }

  void start_llm() {
    llm_ = std::make_unique<InferenceSim>(llm_config_);
    ASSERT_TRUE(llm_->start().ok());
  }

  sigflow::engine::Config config() {
    sigflow::engine::Config c;
    c.source = "test";
    c.signals_path = signals_path_;
    c.ring.arena_bytes = 4u << 20;
    c.ring.max_frames = 8192;
    c.status_interval_ms = 0;  // the tests render status lines themselves
    sigflow::engine::VenueConfig venue =
        sigflow::app::loopback_venue("binance-usdm", exchange_->port(), kSymbols);
    venue.reconnect.base_ms = 50;
    venue.reconnect.cap_ms = 500;
    c.venues.push_back(venue);
    c.inference.enabled = true;
    c.inference.base_url = llm_ ? llm_->base_url() : "https://127.0.0.1:9/v1";
    c.inference.model = "sim-gpt-4o-mini";
    c.inference.api_key_env = kKeyEnv;
    c.inference.rpm = 600;
    c.inference.tpm = 200'000;
    c.inference.max_in_flight = 4;
    c.inference.ttl_ms = 2'000;
    // The simulator's random walk moves faster than a real book; a wide bound keeps views usable.
    c.inference.stale_move_bps = 200;
    return c;
  }

  void start_pipeline(const sigflow::engine::Config& c) {
    std::string ca = exchange_->ca_pem();
    if (llm_) ca += "\n" + llm_->ca_pem();
    pipeline_ = std::make_unique<Pipeline>(c, ca);
    pipeline_->start();
  }

  const sigflow::io::InferenceClient& client() const { return pipeline_->inference()->client(); }

  InferenceSimConfig llm_config_;
  std::unique_ptr<ExchangeSim> exchange_;
  std::unique_ptr<InferenceSim> llm_;
  std::unique_ptr<Pipeline> pipeline_;
  std::string signals_path_;
};

TEST_F(InferenceSimTest, LlmSignalsFlowAndTheKeyIsNeverLogged) {
  start_llm();
  testing::internal::CaptureStderr();
  std::string status_lines;
  start_pipeline(config());
  ASSERT_NE(pipeline_->inference(), nullptr);
  pipeline_->status_line(0);
  const bool flowed = wait_for(
      [&] {
        status_lines += pipeline_->status_line(sigflow::engine::monotonic_ns()) + "\n";
        return pipeline_->totals().llm_signals > 30;
      },
      std::chrono::seconds(60));
  pipeline_->stop();
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(flowed) << err;

  // The simulator only answers requests carrying `Authorization: Bearer <key>`: completions prove it was
  // sent.
  const auto stats = llm_->stats();
  EXPECT_GT(stats.completions, 0u);
  EXPECT_EQ(stats.status_401, 0u);
  EXPECT_EQ(std::string(err).find("SIGFLOWTESTKEY"), std::string::npos) << err;
  EXPECT_EQ(status_lines.find("SIGFLOWTESTKEY"), std::string::npos);
  EXPECT_NE(status_lines.find("llm=up"), std::string::npos) << status_lines;

  const auto lines = read_lines(signals_path_);
  std::map<std::uint64_t, int> per_cycle;
  int llm = 0;
  for (const auto& j : lines) {
    ++per_cycle[j["cycle"].get<std::uint64_t>()];
    if (j["source"] == "llm") {
      ++llm;
      EXPECT_EQ(j["model"], "sim-gpt-4o-mini");
      EXPECT_GE(j["confidence"].get<double>(), 0.0);
      EXPECT_LE(j["confidence"].get<double>(), 1.0);
    }
    const std::string text = j.dump();
    EXPECT_EQ(text.find("SIGFLOWTESTKEY"), std::string::npos);
  }
  EXPECT_GT(llm, 30);
  for (const auto& [cycle, n] : per_cycle) EXPECT_EQ(n, 3) << "cycle " << cycle;
  EXPECT_EQ(client().counters().http_429.load(), 0u);
}

TEST_F(InferenceSimTest, NoKeyMeansLocalSignalsAndOneMessage) {
  start_llm();
  ::unsetenv(kKeyEnv);
  testing::internal::CaptureStderr();
  start_pipeline(config());
  EXPECT_EQ(pipeline_->inference(), nullptr);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().signals > 60; }, std::chrono::seconds(30)));
  pipeline_->stop();
  const std::string err = testing::internal::GetCapturedStderr();
  const std::string message = "inference off, signals from the local model only: environment variable " +
                              std::string(kKeyEnv) + " is not set";
  const auto first = err.find(message);
  ASSERT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find(message, first + 1), std::string::npos) << "said more than once";
  EXPECT_EQ(llm_->stats().requests, 0u);
  for (const auto& j : read_lines(signals_path_)) EXPECT_EQ(j["source"], "local");
}

TEST_F(InferenceSimTest, LimitsDiscoveredFromHeadersLeaveNo429sAfterTheFirstWindow) {
  // The key's real limit is far below what the config claims; the headers say so on the first reply.
  llm_config_.rpm = 40;
  llm_config_.tpm = 400'000;
  start_llm();
  auto c = config();
  c.inference.rpm = 6'000;
  c.inference.tpm = 10'000'000;
  start_pipeline(c);
  ASSERT_TRUE(
      wait_for([&] { return client().counters().limits_from_headers.load() > 0; }, std::chrono::seconds(60)));
  // The first window is over once the burst the server allows is spent; from then on pacing alone holds.
  ASSERT_TRUE(wait_for([&] { return llm_->stats().completions >= 40; }, std::chrono::seconds(60)));
  const std::uint64_t limited_first_window = llm_->stats().status_429;
  const std::uint64_t completions_before = llm_->stats().completions;
  ASSERT_TRUE(wait_for([&] { return llm_->stats().completions >= completions_before + 3; },
                       std::chrono::seconds(60)));  // one per 1.5 s at 40 RPM
  pipeline_->stop();
  EXPECT_EQ(llm_->stats().status_429, limited_first_window) << "429s after the limits were known";
  EXPECT_LE(limited_first_window, 4u) << "at most the requests already in flight";
  EXPECT_EQ(client().rpm_limit(), 40);
}

TEST_F(InferenceSimTest, A429StormIsWaitedOutNotHammered) {
  // One request a minute, and an engine that believes it has 600: its first cycle sends one request per
  // instrument at once (one instrument per chunk), the server takes one and answers the rest 429 with a
  // retry-after of up to a minute.
  llm_config_.rpm = 1;
  llm_config_.tpm = 1'000'000;
  // Slow enough that the first reply's headers (which would reveal the limit) come after the other
  // instruments' books are up and their requests sent.
  llm_config_.latency_median_ms = 1'000;
  llm_config_.latency_sigma = 0.05;
  start_llm();
  auto c = config();
  c.inference.max_completion_tokens = 104;  // 64 + 40: one instrument per chunk
  start_pipeline(c);
  ASSERT_TRUE(wait_for([&] { return llm_->stats().status_429 > 0; }, std::chrono::seconds(60)));
  // Let the requests that were already in flight land (two cycles), then watch ten seconds of cycles.
  const auto settle = pipeline_->totals().cycles + 40;
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().cycles >= settle; }, std::chrono::seconds(60)));
  const auto before = llm_->stats();
  const auto watch = pipeline_->totals().cycles + 200;
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().cycles >= watch; }, std::chrono::seconds(60)));
  pipeline_->stop();
  const auto after = llm_->stats();
  EXPECT_EQ(after.requests, before.requests) << "a request went out before the server's retry-after";
  EXPECT_LE(before.status_429, 3u) << "only the first burst may meet the limit";
  EXPECT_GT(client().counters().server_delay_holds.load(), 0u);
  EXPECT_EQ(client().rpm_limit(), 1);
}

TEST_F(InferenceSimTest, DeadProviderOpensTheBreakerLocalSignalsContinueAndItClosesOnRecovery) {
  start_llm();
  start_pipeline(config());
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().llm_signals > 0; }, std::chrono::seconds(60)));
  // Every completion fails for a while, then the provider is back: the faults run out.
  llm_->inject(SimFault::kServerError, 8);
  ASSERT_TRUE(wait_for([&] { return client().breaker().state() == sigflow::engine::BreakerState::open; },
                       std::chrono::seconds(60)));
  const auto open_cycles = pipeline_->totals().cycles;
  const auto open_signals = pipeline_->totals().signals;
  ASSERT_TRUE(wait_for([&] { return client().breaker().closed_total() > 0; }, std::chrono::seconds(120)));
  const auto closed_cycles = pipeline_->totals().cycles;
  const auto closed_signals = pipeline_->totals().signals;
  const auto llm_at_close = pipeline_->totals().llm_signals;
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().llm_signals > llm_at_close + 10; },
                       std::chrono::seconds(60)));
  pipeline_->stop();
  // While it was open, every cycle still had every instrument.
  EXPECT_GT(closed_cycles, open_cycles);
  EXPECT_GE(closed_signals - open_signals, (closed_cycles - open_cycles) * 3 - 3);
  EXPECT_GE(client().breaker().opened_total(), 1u);
  std::map<std::uint64_t, int> per_cycle;
  for (const auto& j : read_lines(signals_path_)) ++per_cycle[j["cycle"].get<std::uint64_t>()];
  for (const auto& [cycle, n] : per_cycle) EXPECT_EQ(n, 3) << "cycle " << cycle;
  EXPECT_EQ(llm_->stats().status_500, 8u);
}

}  // namespace
