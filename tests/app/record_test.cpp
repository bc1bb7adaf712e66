// `sigflow record` against the exchange simulator over TLS on loopback: the frames it writes replay into
// the same books the recorder held live.
#include "engine/app/record_command.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "engine/app/replay_command.hpp"
#include "engine/app/venue_wiring.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace sigflow::app {
namespace {

using sigflow::testing_support::wait_for;

const std::vector<std::string> kSymbols{"BTCUSDT", "ETHUSDT"};

engine::Config sim_config(std::uint16_t port) {
  engine::Config config;
  config.source = "record test";
  config.ring.arena_bytes = 4u << 20;
  config.ring.max_frames = 8192;
  config.venues.push_back(app::loopback_venue("binance-usdm", port, kSymbols));
  return config;
}

std::string price_or_null(const strategies::PriceLevel* level) {
  if (!level) return "null";
  char buf[io::Decimal::kMaxChars + 1];
  return std::string(buf, level->price.format(buf, buf + sizeof buf));
}

TEST(Record, SimulatorFramesReplayIntoTheSameBooks) {
  tools::ExchangeSimConfig sim_cfg;
  sim_cfg.symbols = kSymbols;
  sim_cfg.rate = 2000;
  tools::ExchangeSim sim(sim_cfg);
  ASSERT_TRUE(sim.start().ok());
  const std::string path =
      (std::filesystem::temp_directory_path() / ("sigflow-record-" + std::to_string(getpid()) + ".jsonl"))
          .string();

  std::map<std::string, nlohmann::json> live;
  {
    Recorder recorder(sim_config(sim.port()), path, sim.ca_pem());
    recorder.start();
    // Enough frames for the books to sync over REST and move, bounded however slow the machine. The books
    // belong to the writer thread until stop(): only the core's atomic counters are read meanwhile — no diff
    // buffered for half a second means every book has its REST snapshot.
    const auto& counters = recorder.core().counters();
    ASSERT_TRUE(wait_for([&] { return recorder.frames_written() >= 2000; }, std::chrono::seconds(60)));
    EXPECT_TRUE(wait_for(
        [&, last = counters.buffered_deltas.load(), since = std::chrono::steady_clock::now()]() mutable {
          const auto now = std::chrono::steady_clock::now();
          if (const auto b = counters.buffered_deltas.load(); b != last) {
            last = b;
            since = now;
          }
          return now - since > std::chrono::milliseconds(500);
        },
        std::chrono::seconds(30)));
    // Then let the live books move: a couple of seconds of events (diffs come every 100 ms per symbol).
    const auto synced_at = counters.decoded_events.load();
    EXPECT_TRUE(wait_for([&] { return counters.decoded_events.load() >= synced_at + 4000; },
                         std::chrono::seconds(30)));
    recorder.stop();
    for (const strategies::InstrumentState& s : recorder.core().instruments()) {
      EXPECT_EQ(s.book_state(), strategies::BookState::kLive) << s.spec().symbol;
      EXPECT_GE(s.book_updates(), 20u) << s.spec().symbol;
    }
    EXPECT_EQ(recorder.totals().ring_drops, 0u);
    EXPECT_EQ(recorder.totals().write_errors, 0u);
    EXPECT_GE(recorder.totals().frames, 2000u);
    for (const strategies::InstrumentState& s : recorder.core().instruments()) {
      live[s.spec().symbol] = {{"bids", s.book().depth(strategies::BookSide::kBid)},
                               {"asks", s.book().depth(strategies::BookSide::kAsk)},
                               {"best_bid", price_or_null(s.book().best_bid())},
                               {"best_ask", price_or_null(s.book().best_ask())},
                               {"book_updates", s.book_updates()},
                               {"gaps", s.gaps()}};
    }
  }
  sim.stop();

  std::ostringstream out, err;
  ReplayOptions options;
  options.capture = path;
  options.summary = true;
  options.book_capacity = strategies::OrderBook::kDefaultCapacity;  // as the recorder's core
  ASSERT_EQ(run_replay(options, out, err), 0) << err.str();
  std::istringstream lines(out.str());
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto j = nlohmann::json::parse(line);
    SCOPED_TRACE(line);
    ASSERT_TRUE(live.count(j["symbol"]));
    const auto& l = live[j["symbol"]];
    EXPECT_EQ(j["bids"], l["bids"]);
    EXPECT_EQ(j["asks"], l["asks"]);
    EXPECT_EQ(j["best_bid"].is_null() ? "null" : j["best_bid"].get<std::string>(), l["best_bid"]);
    EXPECT_EQ(j["best_ask"].is_null() ? "null" : j["best_ask"].get<std::string>(), l["best_ask"]);
    EXPECT_EQ(j["book_updates"], l["book_updates"]);
    EXPECT_EQ(j["gaps"], l["gaps"]);
    EXPECT_EQ(j["gaps"], 0);
  }
  EXPECT_EQ(n, kSymbols.size());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sigflow::app
