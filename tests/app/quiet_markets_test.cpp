// Quiet markets through the whole engine against the exchange simulator: an illiquid instrument beside a busy
// one on the same connection, and a connection that stalls outright. The venues' silence limits are shortened
// through the config ([venues.<id>] topic_silence_ms) so that a "25 s" silence takes a few seconds; every
// wait is a bounded poll and no assertion depends on how fast the machine is: the first-frame grace (5 s by
// default) is what separates a fresh clock from a silence, and it is far above any scheduling delay here.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace sigflow::app {
namespace {

using namespace std::chrono_literals;
using testing_support::wait_for;

// Limits for the data topics; a topic the venue pushes on a clock (mark price, 1 s) keeps a limit above
// its push interval, as the venue's own rules have it.
constexpr std::int64_t kBookLimitMs = 1'000;
constexpr std::int64_t kClockedLimitMs = 5'000;

class QuietMarkets : public testing::TestWithParam<std::string> {
 protected:
  void start_sim(std::chrono::milliseconds ping_interval) {
    tools::ExchangeSimConfig sim_config;
    sim_config.venues = {{GetParam(), {}}};
    sim_config.rate = 1500;
    sim_config.ping_interval = ping_interval;
    sim_ = std::make_unique<tools::ExchangeSim>(sim_config);
    const auto started = sim_->start();
    ASSERT_TRUE(started.ok()) << started.error;
    symbols_ = sim_->symbols(GetParam());
    ASSERT_GE(symbols_.size(), 2u);
  }

  void start_pipeline(std::int64_t grace_ms = 5'000) {
    engine::Config config;
    config.source = "test";
    config.signals_path = "/dev/null";
    config.ring.arena_bytes = 8u << 20;
    config.ring.max_frames = 16384;
    engine::VenueConfig venue = loopback_venue(GetParam(), sim_->port(), symbols_);
    venue.reconnect.base_ms = 50;
    venue.reconnect.cap_ms = 500;
    venue.book_silence_ms = kBookLimitMs;
    venue.bbo_silence_ms = kBookLimitMs;
    venue.ticker_silence_ms = kClockedLimitMs;
    venue.trades_silence_ms = 0;
    venue.first_frame_grace_ms = grace_ms;
    config.venues.push_back(venue);
    pipeline_ = std::make_unique<Pipeline>(config, sim_->ca_pem());
    pipeline_->start();
    ASSERT_TRUE(wait_for([&] { return pipeline_->totals().decoded_events > 200; }, 20s))
        << GetParam() << ": no data";
    ASSERT_TRUE(wait_for([&] { return pipeline_->totals().books_not_live == 0; }, 20s))
        << GetParam() << ": books not live";
  }

  void TearDown() override {
    if (pipeline_) pipeline_->stop();
    pipeline_.reset();
    if (sim_) sim_->stop();
  }

  std::size_t instrument_index(const std::string& symbol) const {
    const auto& instruments = pipeline_->strategy_core().instruments();
    for (std::size_t i = 0; i < instruments.size(); ++i)
      if (instruments[i].spec().symbol == symbol) return i;
    ADD_FAILURE() << symbol << " is not an instrument";
    return 0;
  }

  std::unique_ptr<tools::ExchangeSim> sim_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::string> symbols_;
};

// The case: one connection carries a busy and an illiquid instrument; the illiquid one goes quiet for
// many times its limit. A quiet market costs at most one resubscribe of its topic and never the connection;
// the busy instrument's book is never touched.
TEST_P(QuietMarkets, AQuietInstrumentBesideABusyOneCostsNoRecycleAndAtMostOneResubscribe) {
  start_sim(1s);
  start_pipeline();
  const std::string quiet = symbols_.back();
  const auto before = pipeline_->totals();
  sim_->set_activity(quiet, tools::ActivityProfile{0.0});
  // The quiet topics are reported (after their 1 s limit) and resubscribed once: the connection still
  // carries the busy instruments' frames.
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().resubscribes > before.resubscribes; }, 20s))
      << GetParam() << ": silent reports " << pipeline_->totals().silent_topics - before.silent_topics;
  // The silence goes on for two limits more (time passing, not a synchronisation); the next resubscribe of
  // the same silence would only come after the limit plus the 5 s grace.
  std::this_thread::sleep_for(2000ms);
  sim_->set_activity(quiet, tools::ActivityProfile{1.0});
  const auto during = pipeline_->totals();
  // The market moves again, and the quiet instrument's data with it.
  ASSERT_TRUE(
      wait_for([&] { return pipeline_->totals().decoded_events > during.decoded_events + 500; }, 20s));
  pipeline_->stop();
  const auto after = pipeline_->totals();
  EXPECT_EQ(after.recycles, before.recycles) << GetParam();
  EXPECT_EQ(after.disconnects, before.disconnects) << GetParam();
  EXPECT_GT(after.silent_topics, before.silent_topics) << GetParam();
  // One resubscribe per quiet topic at most: a book topic and the topic carrying its best bid/ask.
  EXPECT_LE(after.resubscribes - before.resubscribes, 2u) << GetParam();
  // Every instrument but the quiet one kept its book: no gap, no resync, ever.
  for (const std::string& symbol : symbols_) {
    if (symbol == quiet) continue;
    const auto& state = pipeline_->strategy_core().instruments()[instrument_index(symbol)];
    EXPECT_EQ(state.gaps(), 0u) << GetParam() << " " << symbol;
    EXPECT_EQ(state.resyncs(), 0u) << GetParam() << " " << symbol;
  }
}

// A connection that stalls outright (no data and, with the simulator's pings far apart, no frame at all) is
// recycled once, with a WebSocket close the venue receives; the new connection's topics start their clocks
// afresh, so the reports the strategy keeps making about the old silence cost nothing within the grace.
TEST_P(QuietMarkets, AStalledConnectionIsRecycledOnceWithACloseFrameAndItsTopicsStartAfresh) {
  start_sim(60s);
  start_pipeline(3'000);
  const std::size_t connections = pipeline_->feed().connection_count();
  const auto before = pipeline_->totals();
  ASSERT_EQ(sim_->set_silent(true), connections);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().recycles > before.recycles; }, 20s)) << GetParam();
  // The recycle said goodbye: a close frame with 1001 going away, which the simulator received.
  EXPECT_TRUE(wait_for([&] { return sim_->stats().close_frames_going_away >= 1; }, 20s)) << GetParam();
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().opens > before.opens; }, 20s)) << GetParam();
  // From the reopen on, no resubscribe: the topics' clocks restarted with the connection.
  const auto reopened = pipeline_->totals();
  ASSERT_TRUE(
      wait_for([&] { return pipeline_->totals().decoded_events > reopened.decoded_events + 500; }, 20s));
  // Past the grace (time passing, not a synchronisation): nothing the old silence left behind recycled the
  // new connection or resubscribed its topics.
  std::this_thread::sleep_for(3500ms);
  const auto after = pipeline_->totals();
  EXPECT_EQ(after.recycles, before.recycles + 1) << GetParam();
  EXPECT_EQ(after.disconnects, before.disconnects + 1) << GetParam();
  EXPECT_EQ(after.resubscribes, reopened.resubscribes) << GetParam();
  EXPECT_EQ(pipeline_->feed().connections_open(), connections);
}

// Binance spot (books synced over REST, every stream of a symbol on one connection) and OKX (books resynced
// by resubscribing; the tickers carry the best bid/ask).
INSTANTIATE_TEST_SUITE_P(Simulated, QuietMarkets, testing::Values("binance", "okx"),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace sigflow::app
