#pragma once
// The engine's books against the exchange simulator's own. Pause the simulator's market
// (ExchangeSim::set_market_paused), let the engine take in everything sent before the pause
// (drain_to_marker), stop the pipeline, and every instrument's best levels must be the simulator's, price
// and size: the proof that book sync neither lost nor repeated an update, through whatever faults came
// before.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "engine/app/pipeline.hpp"
#include "io/venues/decimal.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace sigflow::testing_support {

// Queues a malformed frame on every simulator connection, behind everything queued before it, and waits
// until the strategy thread has decoded all of them (each is one decode error): by then every frame sent
// before the markers has been applied. False when that did not happen within `timeout`.
inline bool drain_to_marker(const app::Pipeline& pipeline, tools::ExchangeSim& sim,
                            std::chrono::milliseconds timeout) {
  const std::uint64_t before = pipeline.totals().decode_errors;
  const std::size_t marked = sim.send_malformed_json();
  return marked > 0 && wait_for([&] { return pipeline.totals().decode_errors >= before + marked; }, timeout);
}

inline std::string to_text(const io::Decimal& d) {
  char text[io::Decimal::kMaxChars];
  return std::string(text, d.format(text, text + sizeof text));
}

// The best `levels` of one side, or all of them when the simulator's side is shorter; the first difference
// only, so that one shifted level does not report the whole side.
inline void expect_side_matches(const strategies::OrderBook& book, strategies::BookSide side,
                                const std::vector<tools::SimBookLevel>& venue, std::size_t levels,
                                const std::string& what) {
  const std::size_t n = std::min(levels, venue.size());
  EXPECT_GE(book.depth(side), n) << what;
  for (std::size_t i = 0; i < n; ++i) {
    const io::PriceLevel* level = book.level(side, i);
    const auto price = io::Decimal::parse(venue[i].price);
    const auto size = io::Decimal::parse(venue[i].size);
    if (level != nullptr && price && size && level->price == *price && level->size == *size) continue;
    ADD_FAILURE() << what << " level " << i << ": engine "
                  << (level ? to_text(level->price) + " x " + to_text(level->size) : std::string("none"))
                  << ", simulator " << venue[i].price << " x " << venue[i].size;
    return;
  }
}

// Call with the pipeline stopped (its strategy thread joined) and the simulator's market paused.
inline void expect_books_match_simulator(const app::Pipeline& pipeline, const tools::ExchangeSim& sim,
                                         std::size_t levels = 20) {
  std::size_t compared = 0;
  for (const strategies::InstrumentState& state : pipeline.strategy_core().instruments()) {
    const std::string what = state.spec().venue + " " + state.spec().symbol;
    EXPECT_EQ(state.book_state(), strategies::BookState::kLive) << what;
    const std::vector<tools::SimBook> books = sim.paused_books(state.spec().venue);
    const auto it = std::find_if(books.begin(), books.end(),
                                 [&](const tools::SimBook& b) { return b.symbol == state.spec().symbol; });
    if (it == books.end()) {
      ADD_FAILURE() << what << ": the simulator has no paused book of it";
      continue;
    }
    expect_side_matches(state.book(), strategies::BookSide::kBid, it->bids, levels, what + " bid");
    expect_side_matches(state.book(), strategies::BookSide::kAsk, it->asks, levels, what + " ask");
    ++compared;
  }
  EXPECT_GT(compared, 0u);
}

}  // namespace sigflow::testing_support
