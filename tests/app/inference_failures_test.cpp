// Every way the model can fail the engine is explained: a reply that gives no usable signal is counted by
// reason on /metrics, logged with a snippet, and turns the status line to `llm=unusable`; a failed request is
// logged with the provider's error (never the key) and shown on the status line while the breaker is open.
// The whole engine against both simulators on loopback; every wait is a bounded poll on a condition.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tests/support/metrics_page.hpp"
#include "tests/support/paths.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/app/inference_thread.hpp"
#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "engine/retry_after.hpp"
#include "io/inference_client.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace sigflow::app {
namespace {

using namespace std::chrono_literals;
using testing_support::wait_for;
using tools::SimFault;
using tools::SimReplyContent;

constexpr const char* kKey = "sk-proj-FAILURESTESTKEY0123456789abcdefNEVERLOG";
constexpr const char* kKeyEnv = "SIGFLOW_FAILURES_TEST_KEY";
const std::vector<std::string> kSymbols{"BTCUSDT", "ETHUSDT"};

using sigflow::testing_support::http_get;
using sigflow::testing_support::sample;

class InferenceFailures : public testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    ::setenv(kKeyEnv, kKey, 1);
    tools::ExchangeSimConfig ex;
    ex.venues = {{"binance-usdm", kSymbols}};
    ex.rate = 1'000;
    exchange_ = std::make_unique<tools::ExchangeSim>(ex);
    ASSERT_TRUE(exchange_->start().ok());
    tools::InferenceSimConfig llm;
    llm.latency_median_ms = 10;
    llm.latency_sigma = 0.1;
    llm.tokenizer_dir = testing_support::source_dir() + "/data/tokenizers";
    llm.api_key = kKey;
    llm_ = std::make_unique<tools::InferenceSim>(llm);
    ASSERT_TRUE(llm_->start().ok());
  }

  void TearDown() override {
    if (pipeline_) pipeline_->stop();
    pipeline_.reset();
    llm_->stop();
    exchange_->stop();
    ::unsetenv(kKeyEnv);
  }

  void start_pipeline() {
    engine::Config c;
    c.source = "test";
    c.signals_path = "/dev/null";
    c.ring.arena_bytes = 4u << 20;
    c.ring.max_frames = 8192;
    c.status_interval_ms = 0;  // the test renders status lines itself
    c.metrics.enabled = true;
    c.metrics.port = 0;
    c.venues.push_back(loopback_venue("binance-usdm", exchange_->port(), kSymbols));
    c.inference.enabled = true;
    c.inference.base_url = llm_->base_url();
    c.inference.model = "sim-gpt-4o-mini";
    c.inference.api_key_env = kKeyEnv;
    c.inference.rpm = 600;
    c.inference.tpm = 200'000;
    c.inference.ttl_ms = 2'000;
    c.inference.stale_move_bps = 200;
    pipeline_ = std::make_unique<Pipeline>(c, exchange_->ca_pem() + "\n" + llm_->ca_pem());
    pipeline_->start();
    ASSERT_NE(pipeline_->inference(), nullptr);
    ASSERT_NE(pipeline_->metrics_port(), 0);
  }

  std::string status() { return pipeline_->status_line(engine::monotonic_ns()); }
  std::string metrics() { return http_get(pipeline_->metrics_port(), "/metrics"); }

  std::unique_ptr<tools::ExchangeSim> exchange_;
  std::unique_ptr<tools::InferenceSim> llm_;
  std::unique_ptr<Pipeline> pipeline_;
};

struct UnusableCase {
  SimReplyContent content;
  const char* reason;
};

class UnusableReplies : public InferenceFailures, public testing::WithParamInterface<UnusableCase> {};

TEST_P(UnusableReplies, AreCountedByReasonLoggedAndTurnTheStatusToUnusable) {
  const UnusableCase c = GetParam();
  llm_->set_reply_content(c.content);
  testing::internal::CaptureStderr();
  start_pipeline();
  const std::string series =
      std::string("sigflow_inference_replies_unusable_total{reason=\"") + c.reason + "\"}";
  std::string page;
  const bool counted = wait_for(
      [&] {
        page = metrics();
        return sample(page, series) >= 1;
      },
      60s, 100ms);
  std::string line;
  const bool unusable = wait_for(
      [&] {
        line = status();
        return line.find("llm=unusable") != std::string::npos;
      },
      60s);
  const std::uint64_t ok = pipeline_->inference()->client().counters().responses_ok.load();
  pipeline_->stop();
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(counted) << c.reason << "\n" << page;
  EXPECT_TRUE(unusable) << c.reason << ": " << line;
  RecordProperty("status_line", line);  // in the XML report (--gtest_output=xml), for the record
  EXPECT_EQ(pipeline_->totals().llm_signals, 0u) << c.reason;
  EXPECT_NE(err.find(std::string("inference: unusable reply (") + c.reason + ")"), std::string::npos)
      << c.reason << "\n"
      << err;
  // Rate-limited: a handful of lines, however many replies there were.
  std::size_t lines = 0;
  for (std::size_t at = err.find("inference: unusable reply"); at != std::string::npos;
       at = err.find("inference: unusable reply", at + 1))
    ++lines;
  EXPECT_LE(lines, 2u + ok / 20) << err;
  EXPECT_EQ(err.find("FAILURESTESTKEY"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(EveryReason, UnusableReplies,
                         testing::Values(UnusableCase{SimReplyContent::kPlainText, "not_reply_format"},
                                         UnusableCase{SimReplyContent::kNoSignals, "no_signals"},
                                         UnusableCase{SimReplyContent::kUnknownPairs, "unknown_pairs"},
                                         UnusableCase{SimReplyContent::kInvalidEntries, "invalid_entries"},
                                         UnusableCase{SimReplyContent::kRefusal, "refusal"}),
                         [](const testing::TestParamInfo<UnusableCase>& info) {
                           return std::string(info.param.reason);
                         });

TEST_F(InferenceFailures, AServerErrorIsExplainedInTheLogAndOnTheStatusLineWhileTheBreakerIsOpen) {
  llm_->inject(SimFault::kServerError, 1'000'000);
  testing::internal::CaptureStderr();
  start_pipeline();
  std::string line;
  const bool explained = wait_for(
      [&] {
        line = status();
        return line.find("llm=breaker-open (500 server_error: The server had an error") != std::string::npos;
      },
      60s);
  const std::string page = metrics();
  const auto& counters = pipeline_->inference()->client().counters();
  const std::uint64_t refused = counters.breaker_refusals.load();
  const std::uint64_t jobs = counters.jobs_submitted.load();
  pipeline_->stop();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(explained) << line;
  RecordProperty("status_line", line);  // in the XML report (--gtest_output=xml), for the record
  EXPECT_GE(sample(page, "sigflow_inference_http_errors_total{class=\"5xx\"}"), 1) << page;
  // Once per distinct error per minute: one line for all the 500s of this test.
  const std::string logged = "inference: request failed: 500 server_error: The server had an error";
  const auto first = err.find(logged);
  EXPECT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find(logged, first + 1), std::string::npos) << err;
  // Refusals count requests held back, not polls: never more than the requests there were.
  EXPECT_LE(refused, jobs * 2) << "refusals " << refused << " for " << jobs << " jobs";
  EXPECT_EQ(err.find("FAILURESTESTKEY"), std::string::npos);
  EXPECT_EQ(line.find("FAILURESTESTKEY"), std::string::npos);
}

TEST_F(InferenceFailures, AWrongKeyIsExplainedWithoutTheKey) {
  ::setenv(kKeyEnv, "sk-proj-WRONGKEYxxxxxxxxxxxxxxxxxxxxxxxx", 1);
  testing::internal::CaptureStderr();
  start_pipeline();
  std::string line;
  const bool explained = wait_for(
      [&] {
        line = status();
        return line.find("llm=breaker-open (401 ") != std::string::npos;
      },
      60s);
  const std::string page = metrics();
  pipeline_->stop();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(explained) << line;
  EXPECT_GE(sample(page, "sigflow_inference_http_errors_total{class=\"4xx\"}"), 1) << page;
  EXPECT_NE(err.find("inference: request failed: 401 "), std::string::npos) << err;
  EXPECT_EQ(err.find("WRONGKEY"), std::string::npos) << err;
  EXPECT_EQ(line.find("WRONGKEY"), std::string::npos) << line;
}

TEST_F(InferenceFailures, AnExhaustedQuotaIsExplained) {
  llm_->set_insufficient_quota(true);
  testing::internal::CaptureStderr();
  start_pipeline();
  std::string line;
  const bool explained = wait_for(
      [&] {
        line = status();
        return line.find("llm=breaker-open (429 insufficient_quota: You exceeded your current quota") !=
               std::string::npos;
      },
      60s);
  const std::string page = metrics();
  pipeline_->stop();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(explained) << line;
  EXPECT_GE(sample(page, "sigflow_inference_http_errors_total{class=\"429\"}"), 1) << page;
  EXPECT_NE(err.find("inference: request failed: 429 insufficient_quota: You exceeded"), std::string::npos)
      << err;
}

TEST(DescribeFailure, CutsTheMessageMasksKeysAndNamesTransportFailures) {
  engine::FailedResponse f;
  f.status = 401;
  f.type = "invalid_request_error";
  f.code = "invalid_api_key";
  f.message = "Incorrect API key provided: sk-proj-abcd1234. You can find your API key at https://x.";
  EXPECT_EQ(io::describe_failure(f),
            "401 invalid_request_error: Incorrect API key provided: sk-*** You can find your API key at "
            "https://x.");
  const std::string long_message(500, 'x');
  f.message = long_message;
  EXPECT_EQ(io::describe_failure(f).size(), std::string("401 invalid_request_error: ").size() + 200);
  f.message = "line one\nline two\tBearer abc.def";
  EXPECT_EQ(io::describe_failure(f), "401 invalid_request_error: line one line two Bearer ***");
  f.type = "";
  f.code = "";
  f.message = "";
  EXPECT_EQ(io::describe_failure(f), "401 (no error body)");
  engine::FailedResponse t;
  t.transport_error = true;
  EXPECT_EQ(io::describe_failure(t, "connection refused"), "transport: connection refused");
}

}  // namespace
}  // namespace sigflow::app
