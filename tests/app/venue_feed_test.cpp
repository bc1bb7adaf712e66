// Every venue the exchange simulator serves, through the whole engine over real TLS on loopback: the venues
// are the ones registered in both tools/exchange-sim/venues.cpp and io/venues/registry.cpp when the test
// runs, so a venue that lands later is covered by the same checks. Every wait is bounded by a deadline; no
// assertion depends on how fast the machine is, except the one lower bound the venue's own Retry-After sets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "tests/app/books_match.hpp"
#include "tests/app/served_venues.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/exchange-sim/venues.hpp"

namespace sigflow::app {
namespace {

using namespace std::chrono_literals;

using testing_support::served_venues;

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout = 15s) {
  return testing_support::wait_for(pred, timeout, 2ms);
}

class VenueFeed : public testing::TestWithParam<std::string> {
 protected:
  // `book_silence_ms` > 0: that limit for books and best bid/ask, 3× for tickers (the venue's own otherwise).
  void start(strategies::StrategyConfig strategy = {}, std::int64_t book_silence_ms = 0) {
    tools::ExchangeSimConfig sim_config;
    sim_config.venues = {{GetParam(), {}}};
    sim_config.rate = 1500;
    sim_config.ping_interval = 2s;
    sim_ = std::make_unique<tools::ExchangeSim>(sim_config);
    const auto started = sim_->start();
    ASSERT_TRUE(started.ok()) << started.error;
    symbols_ = sim_->symbols(GetParam());
    signals_path_ = (std::filesystem::temp_directory_path() /
                     ("sigflow-venue-feed-" + GetParam() + "-" + std::to_string(getpid())))
                        .string();
    std::remove(signals_path_.c_str());
    engine::Config config;
    config.source = "test";
    config.signals_path = signals_path_;
    config.ring.arena_bytes = 8u << 20;
    config.ring.max_frames = 16384;
    engine::VenueConfig venue = loopback_venue(GetParam(), sim_->port(), symbols_);
    venue.reconnect.base_ms = 50;
    venue.reconnect.cap_ms = 500;
    if (book_silence_ms > 0) {
      venue.book_silence_ms = book_silence_ms;
      venue.bbo_silence_ms = book_silence_ms;
      venue.ticker_silence_ms = 3 * book_silence_ms;
    }
    config.venues.push_back(venue);
    pipeline_ = std::make_unique<Pipeline>(config, sim_->ca_pem(), strategy);
    pipeline_->start();
    ASSERT_TRUE(wait_for([&] { return pipeline_->totals().decoded_events > 50; }))
        << GetParam() << ": no data within 15 s";
  }

  void TearDown() override {
    if (pipeline_) pipeline_->stop();
    pipeline_.reset();
    if (sim_) sim_->stop();
    std::remove(signals_path_.c_str());
  }

  bool events_keep_flowing(std::uint64_t more = 50) {
    const auto events = pipeline_->totals().decoded_events;
    return wait_for([&] { return pipeline_->totals().decoded_events > events + more; });
  }

  // Symbols that had a signal computed from market data (data_age_ms set) in the signals file so far.
  std::set<std::string> symbols_with_data() {
    std::ifstream in(signals_path_);
    std::set<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line.back() != '}') continue;  // the writer may be mid-line
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || j.at("data_age_ms").is_null()) continue;
      EXPECT_EQ(j.at("venue"), GetParam());
      out.insert(j.at("symbol").get<std::string>());
    }
    return out;
  }

  // Every book synced (first snapshot in) and nothing asked for since: the state a fault test starts from.
  void wait_for_books_settled() {
    const std::set<std::string> all(symbols_.begin(), symbols_.end());
    ASSERT_TRUE(wait_for([&] { return symbols_with_data() == all; }, 20s))
        << GetParam() << ": not every instrument got a signal from market data";
  }

  // The end of a test: every book live, then the simulator's market paused, everything sent before the pause
  // taken in, the pipeline stopped, and every book equal to the simulator's.
  void expect_books_match_the_venue() {
    ASSERT_TRUE(wait_for([&] { return pipeline_->totals().books_not_live == 0; }, 20s))
        << GetParam() << ": " << pipeline_->totals().books_not_live << " books not live";
    ASSERT_TRUE(sim_->set_market_paused(true));
    ASSERT_TRUE(testing_support::drain_to_marker(*pipeline_, *sim_, 20s)) << GetParam();
    pipeline_->stop();
    testing_support::expect_books_match_simulator(*pipeline_, *sim_);
  }

  std::unique_ptr<tools::ExchangeSim> sim_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::string> symbols_;
  std::string signals_path_;
};

TEST_P(VenueFeed, SubscribesAndEveryInstrumentGetsSignalsFromData) {
  start();
  wait_for_books_settled();
  const auto totals = pipeline_->totals();
  EXPECT_EQ(totals.opens, pipeline_->feed().connection_count());
  EXPECT_EQ(totals.disconnects, 0u);
  EXPECT_EQ(totals.decode_errors, 0u);
  EXPECT_EQ(totals.ring_drops, 0u);
  EXPECT_EQ(pipeline_->feed().connections_open(GetParam()), pipeline_->feed().connection_count(GetParam()));
  expect_books_match_the_venue();
}

TEST_P(VenueFeed, ReconnectsAfterADropAndSubscribesAgain) {
  start();
  const std::size_t connections = pipeline_->feed().connection_count();
  const auto opens = pipeline_->totals().opens;
  ASSERT_GT(sim_->disconnect(), 0u);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().disconnects >= connections; }));
  // New connections, spaced by the backoff (50 ms base), each subscribed again after its upgrade.
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().opens >= opens + connections; }));
  // Every new connection subscribed again (the simulator lists what each one is served).
  EXPECT_TRUE(wait_for([&] {
    const auto all = sim_->connections();
    return all.size() == connections &&
           std::all_of(all.begin(), all.end(), [](const auto& info) { return !info.topics.empty(); });
  })) << GetParam();
  EXPECT_TRUE(events_keep_flowing());
  expect_books_match_the_venue();  // the new connections' books start from fresh snapshots
}

TEST_P(VenueFeed, ADroppedBookDeltaGivesOneResyncAndTheBookComesBack) {
  start();
  wait_for_books_settled();
  // Quiet first: the initial snapshots of every book were asked for and answered. A REST-synced book buffers
  // its diffs until its snapshot arrives; a delta withheld then may be one the snapshot already covers, which
  // is correctly no gap. So wait until no book buffers any more: no diff buffered for half a second.
  const auto& core = pipeline_->strategy().core().counters();
  ASSERT_TRUE(
      wait_for([&, last = core.buffered_deltas.load(), since = std::chrono::steady_clock::now()]() mutable {
        const auto now = std::chrono::steady_clock::now();
        if (const auto b = core.buffered_deltas.load(); b != last) {
          last = b;
          since = now;
        }
        return now - since > 500ms;
      }));
  const auto before = pipeline_->totals();
  ASSERT_GT(sim_->skip_depth_update(), 0u);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().book_gaps > before.book_gaps; }))
      << GetParam() << ": the withheld delta was not noticed as a gap";
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().resync_requests > before.resync_requests; }));
  // The feed acted on it: a REST snapshot (Binance) or a resubscribe of the book topic (the others).
  ASSERT_TRUE(wait_for([&] {
    const auto t = pipeline_->totals();
    return t.rest_requests + t.resubscribes > before.rest_requests + before.resubscribes;
  }));
  EXPECT_TRUE(events_keep_flowing(100));
  const auto after = pipeline_->totals();
  const bool rest_synced = io::find_protocol(GetParam())->book_resync() == io::BookResync::kRestSnapshot;
  if (rest_synced) {
    // A REST snapshot may predate the diffs buffered meanwhile and is then asked for again (feeds.md §1.1).
    EXPECT_GE(after.resync_requests - before.resync_requests, after.book_gaps - before.book_gaps);
  } else {
    // One resync per gap: the book asked once and its fresh snapshot arrived (no retry after the timeout).
    EXPECT_EQ(after.resync_requests - before.resync_requests, after.book_gaps - before.book_gaps);
  }
  EXPECT_EQ(after.disconnects, 0u);
  EXPECT_EQ(after.feed_requests_dropped, 0u);
  expect_books_match_the_venue();  // the resync repaired the book: nothing lost, nothing applied twice
}

TEST_P(VenueFeed, ASilentStreamIsReportedAndResubscribed) {
  start({}, 1'000);
  const auto before = pipeline_->totals();
  ASSERT_GT(sim_->set_silent(true), 0u);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().silent_topics > before.silent_topics; }))
      << GetParam() << ": silence was not reported";
  ASSERT_TRUE(wait_for([&] {
    const auto t = pipeline_->totals();
    return t.resubscribes + t.recycles > before.resubscribes + before.recycles;
  })) << GetParam()
      << ": silent reports " << pipeline_->totals().silent_topics << ", requests dropped "
      << pipeline_->totals().feed_requests_dropped << ", feed requests taken "
      << pipeline_->feed().totals().requests;
  sim_->set_silent(false);
  EXPECT_TRUE(events_keep_flowing());
}

TEST_P(VenueFeed, MalformedJsonIsCountedAndTheConnectionStaysUp) {
  start();
  ASSERT_GT(sim_->send_malformed_json(), 0u);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().decode_errors >= 1; }));
  EXPECT_TRUE(events_keep_flowing());
  EXPECT_EQ(pipeline_->totals().disconnects, 0u);
}

INSTANTIATE_TEST_SUITE_P(Simulated, VenueFeed, testing::ValuesIn(served_venues()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// Binance USD-M books sync from REST depth snapshots served by the simulator on the same port; a 429 with
// Retry-After holds the next snapshot back for at least that long.
TEST(BinanceUsdmRest, SnapshotsSyncBooksAndA429DelaysTheNextByRetryAfter) {
  tools::ExchangeSimConfig sim_config;
  sim_config.venues = {{"binance-usdm", {"BTCUSDT", "ETHUSDT"}}};
  sim_config.rate = 1000;
  tools::ExchangeSim sim(sim_config);
  ASSERT_TRUE(sim.start().ok());
  engine::Config config;
  config.source = "test";
  config.signals_path = "/dev/null";
  engine::VenueConfig venue = loopback_venue("binance-usdm", sim.port(), {"BTCUSDT", "ETHUSDT"});
  config.venues.push_back(venue);
  Pipeline pipeline(config, sim.ca_pem());
  pipeline.start();
  // Every book's first snapshot came over REST.
  ASSERT_TRUE(wait_for([&] { return sim.stats().rest_requests >= 2; }, 20s));
  ASSERT_TRUE(wait_for([&] { return pipeline.totals().decoded_events > 100; }));

  // Taken before the 429 is armed, so it cannot be later than the 429, whenever this thread gets to run;
  // the first look at the retry cannot be earlier than the retry. A test thread that is slow to look only
  // widens the measured span, which must cover Retry-After.
  const auto armed_at = std::chrono::steady_clock::now();
  sim.fail_rest("binance-usdm", 1, 429, 2s);
  const auto before = sim.stats().rest_requests;
  ASSERT_GT(sim.skip_depth_update(), 0u);
  ASSERT_TRUE(wait_for([&] { return sim.stats().rest_faults >= 1; }));
  ASSERT_TRUE(wait_for([&] { return sim.stats().rest_requests > before + 1; }, 20s))
      << "no snapshot after the 429";
  const auto next_at = std::chrono::steady_clock::now();
  EXPECT_GE(next_at - armed_at, 2s);
  EXPECT_TRUE(wait_for([&] { return pipeline.totals().resync_requests >= pipeline.totals().book_gaps; }));
  pipeline.stop();
  sim.stop();
}

}  // namespace
}  // namespace sigflow::app
