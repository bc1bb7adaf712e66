// The strategy thread's side of inference, with the test standing in for the inference thread on the two
// SPSC channels (the InferenceThread object is built but not started, so the test is the channels' other
// end): prompts go out for instruments with a book, replies become "llm" signals while fresh, stale replies
// are dropped, and every instrument still gets a signal every cycle.
#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/app/inference_thread.hpp"
#include "engine/app/strategy_thread.hpp"
#include "engine/clock.hpp"
#include "tests/support/wait_for.hpp"

namespace {

using namespace sigflow;
using sigflow::testing_support::wait_for;

constexpr std::int64_t kCycleNs = 50'000'000;

std::string depth_frame(double bid, std::uint64_t u) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer,
                R"({"e":"depthUpdate","E":1700000000100,"T":1700000000090,"s":"BTCUSDT","U":%llu,"u":%llu,)"
                R"("pu":%llu,"b":[["%.2f","9.0"],["%.2f","9.0"]],"a":[["%.2f","1.0"],["%.2f","1.0"]]})",
                static_cast<unsigned long long>(u - 1), static_cast<unsigned long long>(u),
                static_cast<unsigned long long>(u - 2), bid, bid - 0.1, bid + 0.1, bid + 0.2);
  return buffer;
}

struct PromptJob {
  app::PromptJobHeader header;
  std::vector<app::PromptItemHeader> items;
  std::vector<std::string> lines;
};

PromptJob parse_job(std::string_view bytes) {
  PromptJob job;
  std::memcpy(&job.header, bytes.data(), sizeof job.header);
  bytes.remove_prefix(sizeof job.header);
  for (std::uint32_t i = 0; i < job.header.items; ++i) {
    app::PromptItemHeader item;
    std::memcpy(&item, bytes.data(), sizeof item);
    bytes.remove_prefix(sizeof item);
    job.items.push_back(item);
    job.lines.emplace_back(bytes.substr(0, item.line_size));
    bytes.remove_prefix(item.line_size);
  }
  return job;
}

class InferenceStrategyTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto tokenizer = strategies::Tokenizer::load(
        strategies::Encoding::kO200kBase, sigflow::testing_support::source_dir() + "/data/tokenizers", error);
    ASSERT_TRUE(tokenizer) << error;
    app::InferenceThreadOptions options;
    options.config.enabled = true;
    options.config.base_url = "http://127.0.0.1:9/v1";
    options.config.allow_insecure = true;  // plaintext to a closed loopback port: nothing is ever sent
    options.config.model = "test-model";
    options.tokenizer = tokenizer;
    options.budget = app::prompt_budget(options.config);
    inference_ = std::make_unique<app::InferenceThread>(options);

    auto core = std::make_unique<strategies::StrategyCore>(
        std::vector<strategies::InstrumentSpec>{{"binance-usdm", "BTCUSDT", "BTC-USDT-PERP"},
                                                {"binance-usdm", "ETHUSDT", "ETH-USDT-PERP"}},
        std::vector<strategies::ConnectionSpec>{{5, "binance-usdm", "/public", "btcusdt@depth20@100ms"}},
        strategies::StrategyConfig{.error_log = nullptr});
    strategy_ = std::make_unique<app::StrategyThread>(
        std::move(core), std::vector<engine::FrameRing*>{&input_}, signals_, kCycleNs);
    strategies::SignalMergerConfig merger;
    merger.ttl_ns = 60'000'000'000;  // never expires within the test
    merger.stale_move_bps = 10;
    merger.model = "test-model";
    strategy_->attach_inference(*inference_, tokenizer, options.budget, merger);
    strategy_->start(engine::ThreadConfig{});
  }
  void TearDown() override {
    if (strategy_) strategy_->stop();
  }

  void feed(double bid) {
    const std::string frame = depth_frame(bid, next_u_ += 10);
    ASSERT_TRUE(input_.push(5, engine::monotonic_ns(), frame));
  }

  bool take_job(PromptJob& job) {
    bool got = false;
    wait_for(
        [&] {
          inference_->prompts().consume_one([&](const engine::FrameView& f) {
            job = parse_job(f.bytes);
            got = true;
          });
          return got;
        },
        std::chrono::seconds(20));
    return got;
  }

  // Waits until `n` more strategy cycles have completed. A cycle under way now counts as one, so n >= 2
  // guarantees n - 1 whole cycles that started after the call.
  bool wait_cycles(std::uint64_t n) {
    const std::uint64_t target = strategy_->counters().cycles.load() + n;
    return wait_for([&] { return strategy_->counters().cycles.load() >= target; }, std::chrono::seconds(20));
  }

  void reply(std::uint64_t job, std::uint32_t instrument, strategies::Action action, double confidence) {
    app::ReplyRecord r;
    r.kind = app::ReplyRecord::Kind::kEntry;
    r.job = job;
    r.instrument = instrument;
    r.action = action;
    r.confidence = confidence;
    const std::string_view reason = "asks thin";
    r.reason_size = static_cast<std::uint8_t>(reason.size());
    std::memcpy(r.reason, reason.data(), reason.size());
    ASSERT_TRUE(inference_->replies().push(r));
    app::ReplyRecord done;
    done.kind = app::ReplyRecord::Kind::kJobDone;
    done.job = job;
    ASSERT_TRUE(inference_->replies().push(done));
  }

  // Signal lines written so far, parsed.
  void drain_signals() {
    signals_.consume([&](const engine::FrameView& f) { lines_.push_back(nlohmann::json::parse(f.bytes)); });
  }

  engine::FrameRing input_{1 << 20, 1024};
  engine::FrameRing signals_{8 << 20, 65536};
  std::unique_ptr<app::InferenceThread> inference_;
  std::unique_ptr<app::StrategyThread> strategy_;
  std::vector<nlohmann::json> lines_;
  std::uint64_t next_u_ = 100;
};

TEST_F(InferenceStrategyTest, ReplyBecomesAnLlmSignalAndEveryCycleHasEveryInstrument) {
  feed(37000.0);
  PromptJob job;
  ASSERT_TRUE(take_job(job));
  ASSERT_EQ(job.items.size(), 1u) << "only the instrument with a book is prompted";
  EXPECT_EQ(job.items[0].instrument, 0u);
  EXPECT_TRUE(job.lines[0].starts_with("BTCUSDT@binance-usdm ")) << job.lines[0];
  EXPECT_EQ(job.lines[0].substr(0, job.items[0].pair_size), "BTCUSDT@binance-usdm");
  EXPECT_EQ(job.lines[0].back(), '\n');

  // While BTC waits on its reply it is not prompted again: counted in cycles that planned prompts after
  // the job was taken, not in time, since a starved strategy thread may run none for a while.
  ASSERT_TRUE(wait_cycles(3));
  EXPECT_EQ(inference_->prompts().frames_available(), 0u);

  reply(job.header.job, 0, strategies::Action::kSell, 0.66);
  bool seen_llm = false;
  ASSERT_TRUE(wait_for(
      [&] {
        drain_signals();
        for (const auto& j : lines_)
          if (j["source"] == "llm") seen_llm = true;
        return seen_llm;
      },
      std::chrono::seconds(20)));
  strategy_->stop();
  drain_signals();

  std::map<std::uint64_t, std::vector<nlohmann::json>> by_cycle;
  for (const auto& j : lines_) by_cycle[j["cycle"].get<std::uint64_t>()].push_back(j);
  ASSERT_GE(by_cycle.size(), 4u);
  for (const auto& [cycle, lines] : by_cycle) {
    ASSERT_EQ(lines.size(), 2u) << "cycle " << cycle;
    EXPECT_EQ(lines[0]["symbol"], "BTCUSDT");
    EXPECT_EQ(lines[1]["symbol"], "ETHUSDT");
    EXPECT_EQ(lines[1]["source"], "local") << "ETH was never answered";
  }
  const auto& last = by_cycle.rbegin()->second[0];
  EXPECT_EQ(last["source"], "llm");
  EXPECT_EQ(last["signal"], "SELL");
  EXPECT_DOUBLE_EQ(last["confidence"].get<double>(), 0.66);
  EXPECT_EQ(last["model"], "test-model");
  EXPECT_EQ(last["reason"], "asks thin");
  EXPECT_GT(last["data_age_ms"].get<double>(), 0.0);
  const auto* merger = strategy_->merger();
  ASSERT_NE(merger, nullptr);
  EXPECT_EQ(merger->counters().replies_accepted.load(), 1u);
  EXPECT_EQ(merger->prompt_to_signal().count(), 1u);
}

TEST_F(InferenceStrategyTest, ReplyAfterTheMidMovedIsDroppedAsStale) {
  feed(37000.0);
  PromptJob job;
  ASSERT_TRUE(take_job(job));
  const std::uint64_t events = strategy_->core().counters().decoded_events.load();
  feed(37100.0);  // ~27 bps: past the 10 bps bound
  // The reply is judged against the features of the last cycle before it: the new mid must be applied and a
  // cycle must have run since, or the reply would be judged against the old mid and accepted.
  ASSERT_TRUE(wait_for([&] { return strategy_->core().counters().decoded_events.load() > events; },
                       std::chrono::seconds(20)));
  ASSERT_TRUE(wait_cycles(2));
  reply(job.header.job, 0, strategies::Action::kBuy, 0.9);
  const auto* merger = strategy_->merger();
  ASSERT_TRUE(
      wait_for([&] { return merger->counters().replies_stale.load() == 1; }, std::chrono::seconds(20)));
  strategy_->stop();
  drain_signals();
  for (const auto& j : lines_) EXPECT_EQ(j["source"], "local");
  EXPECT_EQ(merger->counters().replies_accepted.load(), 0u);
}

}  // namespace
