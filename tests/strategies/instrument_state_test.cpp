// InstrumentState on constructed events: book sequencing, top of book, windows, features.
#include "strategies/instrument_state.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace sigflow::strategies {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'000 * kSec;  // an arbitrary monotonic origin

Decimal dec(std::string_view text) {
  return Decimal::parse(text).value();
}

io::MarketEvent trade(std::int64_t recv_ns, std::string_view price, std::string_view size,
                      io::Side aggressor) {
  io::MarketEvent e;
  e.kind = io::EventKind::kTrade;
  e.symbol = "BTCUSDT";
  e.recv_ns = recv_ns;
  e.exchange_ts_ns = recv_ns;
  e.trade = io::Trade{dec(price), dec(size), aggressor, 1, io::kNoUpdateId, io::kNoUpdateId};
  return e;
}

io::MarketEvent bbo(std::int64_t recv_ns, std::string_view bid, std::string_view bid_size,
                    std::string_view ask, std::string_view ask_size) {
  io::MarketEvent e;
  e.kind = io::EventKind::kBestBidAsk;
  e.recv_ns = recv_ns;
  e.exchange_ts_ns = recv_ns;
  e.best_bid_ask = io::BestBidAsk{dec(bid), dec(bid_size), dec(ask), dec(ask_size), 1};
  return e;
}

struct Levels {
  std::vector<PriceLevel> bids, asks;
};

io::MarketEvent snapshot(std::int64_t recv_ns, const Levels& l, std::uint64_t last_update_id) {
  io::MarketEvent e;
  e.kind = io::EventKind::kBookSnapshot;
  e.recv_ns = recv_ns;
  e.exchange_ts_ns = recv_ns;
  e.snapshot = io::BookSnapshot{l.bids, l.asks, last_update_id, 0, std::nullopt};
  return e;
}

io::MarketEvent delta(std::int64_t recv_ns, const Levels& l, std::uint64_t first, std::uint64_t final,
                      std::uint64_t prev = io::kNoUpdateId) {
  io::MarketEvent e;
  e.kind = io::EventKind::kBookDelta;
  e.recv_ns = recv_ns;
  e.exchange_ts_ns = recv_ns;
  e.delta = io::BookDelta{l.bids, l.asks, first, final, prev, std::nullopt};
  return e;
}

Levels book_levels() {
  return Levels{{{dec("100.0"), dec("8")}, {dec("99.9"), dec("8")}, {dec("99.8"), dec("4")}},
                {{dec("100.1"), dec("2")}, {dec("100.2"), dec("2")}, {dec("100.3"), dec("6")}}};
}

InstrumentState make_state() {
  return InstrumentState(InstrumentSpec{"binance-usdm", "BTCUSDT", "BTC-USDT-PERP"}, 50);
}

TEST(InstrumentState, NoDataMeansAbsentFeatures) {
  const InstrumentState s = make_state();
  const InstrumentFeatures f = s.features(kT0);
  EXPECT_EQ(f.venue, "binance-usdm");
  EXPECT_EQ(f.symbol, "BTCUSDT");
  EXPECT_EQ(f.instrument, "BTC-USDT-PERP");
  for (double v : {f.mid, f.spread_bps, f.microprice_offset_bps, f.imbalance_l1, f.imbalance_l5,
                   f.imbalance_l20, f.return_1s_bps, f.return_10s_bps, f.taker_buy_ratio_10s, f.funding_rate,
                   f.mark_offset_bps, f.data_age_ms}) {
    EXPECT_TRUE(std::isnan(v));
  }
  EXPECT_EQ(f.volume_10s, 0);
  EXPECT_FALSE(f.book_valid);
  EXPECT_FALSE(s.has_market_data());
}

TEST(InstrumentState, BestBidAskGivesTopOfBookFeatures) {
  InstrumentState s = make_state();
  ASSERT_EQ(s.apply(bbo(kT0, "99.0", "3", "101.0", "1")), ApplyResult::kApplied);
  const InstrumentFeatures f = s.features(kT0 + 250 * kMs);
  EXPECT_DOUBLE_EQ(f.mid, 100.0);
  EXPECT_DOUBLE_EQ(f.spread_bps, 200.0);
  EXPECT_DOUBLE_EQ(f.imbalance_l1, 0.5);
  // microprice = (99*1 + 101*3) / 4 = 100.5 → +50 bps
  EXPECT_NEAR(f.microprice_offset_bps, 50.0, 1e-9);
  EXPECT_TRUE(std::isnan(f.imbalance_l5));  // no L2 book
  EXPECT_FALSE(f.book_valid);
  EXPECT_DOUBLE_EQ(f.data_age_ms, 250.0);
}

TEST(InstrumentState, BookImbalanceAndFresherSourceWins) {
  InstrumentState s = make_state();
  const Levels l = book_levels();
  ASSERT_EQ(s.apply(snapshot(kT0, l, 100)), ApplyResult::kApplied);
  InstrumentFeatures f = s.features(kT0);
  EXPECT_TRUE(f.book_valid);
  EXPECT_DOUBLE_EQ(f.mid, 100.05);
  EXPECT_DOUBLE_EQ(f.imbalance_l1, (8.0 - 2.0) / 10.0);
  EXPECT_DOUBLE_EQ(f.imbalance_l5, (20.0 - 10.0) / 30.0);
  EXPECT_DOUBLE_EQ(f.imbalance_l20, (20.0 - 10.0) / 30.0);

  // A later bookTicker is fresher than the book: it sets the top.
  s.apply(bbo(kT0 + 10 * kMs, "100.0", "1", "100.1", "1"));
  f = s.features(kT0 + 10 * kMs);
  EXPECT_DOUBLE_EQ(f.imbalance_l1, 0.0);
  EXPECT_DOUBLE_EQ(f.imbalance_l5, (20.0 - 10.0) / 30.0);  // depth still from the book
}

TEST(InstrumentState, DiffChainFollowsPuAndDetectsGaps) {
  InstrumentState s = make_state();
  const Levels none;
  const Levels add_bid{{{dec("100.05"), dec("1")}}, {}};
  EXPECT_EQ(s.apply(delta(kT0, add_bid, 90, 95, 89)), ApplyResult::kBuffered);   // before any snapshot
  EXPECT_TRUE(s.take_snapshot_request(kT0));                                     // the REST procedure
  ASSERT_EQ(s.apply(snapshot(kT0, book_levels(), 100)), ApplyResult::kApplied);  // the buffered diff drops
  EXPECT_EQ(s.book_state(), BookState::kSyncing);
  EXPECT_EQ(s.apply(delta(kT0, add_bid, 96, 99, 95)), ApplyResult::kStale);     // ends before the snapshot
  EXPECT_EQ(s.apply(delta(kT0, add_bid, 98, 105, 97)), ApplyResult::kApplied);  // straddles it
  EXPECT_EQ(s.book().best_bid()->price, dec("100.05"));
  const Levels remove_bid{{{dec("100.05"), dec("0")}}, {}};
  EXPECT_EQ(s.apply(delta(kT0, remove_bid, 110, 120, 105)), ApplyResult::kApplied);  // pu == previous u
  EXPECT_EQ(s.book().best_bid()->price, dec("100.0"));
  EXPECT_EQ(s.book_last_update_id(), 120u);
  EXPECT_EQ(s.apply(delta(kT0, none, 110, 120, 105)), ApplyResult::kStale);   // replayed duplicate
  EXPECT_EQ(s.apply(delta(kT0, add_bid, 130, 140, 125)), ApplyResult::kGap);  // pu != 120
  EXPECT_EQ(s.book_state(), BookState::kResync);
  EXPECT_TRUE(s.book().empty());
  EXPECT_FALSE(s.features(kT0).book_valid);
  EXPECT_EQ(s.gaps(), 1u);
  EXPECT_TRUE(s.take_snapshot_request(kT0));
  EXPECT_EQ(s.resyncs(), 1u);
  EXPECT_EQ(s.apply(delta(kT0, add_bid, 141, 150, 140)), ApplyResult::kBuffered);  // waits for a snapshot
  EXPECT_FALSE(s.take_snapshot_request(kT0));                                      // one request per gap
  ASSERT_EQ(s.apply(snapshot(kT0, book_levels(), 200)), ApplyResult::kApplied);
  EXPECT_TRUE(s.features(kT0).book_valid);
  EXPECT_EQ(s.snapshots(), 2u);
}

TEST(InstrumentState, FirstDiffMayContinueTheSnapshotExactly) {
  InstrumentState s = make_state();
  ASSERT_EQ(s.apply(snapshot(kT0, book_levels(), 100)), ApplyResult::kApplied);
  EXPECT_EQ(s.apply(delta(kT0, {}, 150, 160, 100)), ApplyResult::kApplied);
  EXPECT_EQ(s.apply(delta(kT0, {}, 170, 180, 170)), ApplyResult::kGap);
}

TEST(InstrumentState, SpotDiffsChainOnFirstId) {
  InstrumentState s(InstrumentSpec{"binance", "RUNEEUR", "RUNE-EUR"}, 50);
  ASSERT_EQ(s.apply(snapshot(kT0, book_levels(), 15602511)), ApplyResult::kApplied);
  EXPECT_EQ(s.apply(delta(kT0, {}, 15602510, 15602511)), ApplyResult::kStale);  // u <= lastUpdateId drops
  EXPECT_EQ(s.apply(delta(kT0, {}, 15602512, 15602513)), ApplyResult::kApplied);
  EXPECT_EQ(s.apply(delta(kT0, {}, 15602515, 15602516)), ApplyResult::kGap);
}

TEST(InstrumentState, CrossedBookIsNotValid) {
  InstrumentState s = make_state();
  const Levels crossed{{{dec("101"), dec("1")}}, {{dec("100"), dec("1")}}};
  s.apply(snapshot(kT0, crossed, 1));
  EXPECT_FALSE(s.features(kT0).book_valid);
  EXPECT_EQ(s.crossed_books(), 1u);
  EXPECT_TRUE(std::isnan(s.features(kT0).mid));  // a crossed book gives no top of book
}

TEST(InstrumentState, TradeVolumeWindowOfTenSeconds) {
  InstrumentState s = make_state();
  s.apply(trade(kT0, "100", "2", io::Side::kBuy));
  s.apply(trade(kT0 + 5 * kSec, "100", "1", io::Side::kSell));
  InstrumentFeatures f = s.features(kT0 + 5 * kSec);
  EXPECT_DOUBLE_EQ(f.volume_10s, 3.0);
  EXPECT_DOUBLE_EQ(f.taker_buy_ratio_10s, 2.0 / 3.0);
  f = s.features(kT0 + 10 * kSec + 50 * kMs);  // the first trade's bucket has left the window
  EXPECT_DOUBLE_EQ(f.volume_10s, 1.0);
  EXPECT_DOUBLE_EQ(f.taker_buy_ratio_10s, 0.0);
  f = s.features(kT0 + 30 * kSec);
  EXPECT_DOUBLE_EQ(f.volume_10s, 0.0);
  EXPECT_TRUE(std::isnan(f.taker_buy_ratio_10s));
  // A trade 10 s later reuses the first trade's ring slot and must not inherit its volume.
  s.apply(trade(kT0 + 10 * kSec, "100", "4", io::Side::kBuy));
  f = s.features(kT0 + 10 * kSec);
  EXPECT_DOUBLE_EQ(f.volume_10s, 5.0);
  EXPECT_EQ(s.trades(), 3u);
  EXPECT_EQ(s.last_trade().size, dec("4"));
}

TEST(InstrumentState, ReturnsAndChangeScoreFromCycleSamples) {
  InstrumentState s = make_state();
  s.apply(bbo(kT0, "99.9", "1", "100.1", "1"));  // mid 100
  for (std::int64_t t = 0; t < 1000; t += 50) s.on_cycle(kT0 + t * kMs);
  EXPECT_DOUBLE_EQ(s.change_score(), 0.0);
  s.apply(bbo(kT0 + 990 * kMs, "100.9", "1", "101.1", "1"));  // mid 101
  s.on_cycle(kT0 + 1000 * kMs);
  const InstrumentFeatures f = s.features(kT0 + 1000 * kMs);
  EXPECT_NEAR(f.return_1s_bps, 100.0, 1e-9);
  EXPECT_TRUE(std::isnan(f.return_10s_bps));  // less than 10 s of history
  EXPECT_NEAR(f.change_score, 100.0, 1e-9);
  s.reset_change_score();
  EXPECT_EQ(s.change_score(), 0.0);
  for (std::int64_t t = 1050; t <= 10'000; t += 50) s.on_cycle(kT0 + t * kMs);
  EXPECT_NEAR(s.features(kT0 + 10'000 * kMs).return_10s_bps, 100.0, 1e-9);
  EXPECT_NEAR(s.features(kT0 + 10'000 * kMs).return_1s_bps, 0.0, 1e-9);
  // After a long silence the old samples do not describe "the last second".
  EXPECT_TRUE(std::isnan(s.features(kT0 + 60 * kSec).return_1s_bps));
}

TEST(InstrumentState, MarkAndFunding) {
  InstrumentState s = make_state();
  s.apply(bbo(kT0, "99.9", "1", "100.1", "1"));
  io::MarketEvent e;
  e.kind = io::EventKind::kMarkFunding;
  e.recv_ns = kT0;
  e.mark_funding.mark_price = dec("100.1");
  e.mark_funding.funding_rate = dec("0.00038167");
  e.mark_funding.next_funding_ts_ns = 5;
  ASSERT_EQ(s.apply(e), ApplyResult::kApplied);
  const InstrumentFeatures f = s.features(kT0);
  EXPECT_DOUBLE_EQ(f.funding_rate, 0.00038167);
  EXPECT_NEAR(f.mark_offset_bps, 10.0, 1e-9);
  EXPECT_EQ(s.next_funding_ts_ns(), 5);
}

TEST(InstrumentState, UnknownVenueHasNoSyncRules) {
  EXPECT_THROW(InstrumentState(InstrumentSpec{"kraken", "XBTUSD", "BTC-USD"}), std::invalid_argument);
}

TEST(InstrumentState, SilentTopicReportedOnceThenRateLimited) {
  LivenessBounds bounds;
  bounds.best_bid_ask_ns = 2 * kSec;
  bounds.retry_ns = 10 * kSec;
  InstrumentState s(InstrumentSpec{"binance-usdm", "BTCUSDT", "BTC-USDT-PERP"}, 50, {}, bounds);
  EXPECT_FALSE(s.take_silent_topic(kT0 + 60 * kSec));  // never flowed: nothing to miss
  s.apply(bbo(kT0, "99.9", "1", "100.1", "1"));
  EXPECT_FALSE(s.take_silent_topic(kT0 + 2 * kSec));
  EXPECT_EQ(s.take_silent_topic(kT0 + 2 * kSec + 1), io::TopicKind::kBestBidAsk);
  EXPECT_FALSE(s.take_silent_topic(kT0 + 5 * kSec));
  EXPECT_EQ(s.take_silent_topic(kT0 + 12 * kSec + 1), io::TopicKind::kBestBidAsk);  // still silent
  s.apply(bbo(kT0 + 13 * kSec, "99.9", "1", "100.1", "1"));
  EXPECT_FALSE(s.take_silent_topic(kT0 + 14 * kSec));
  EXPECT_EQ(s.take_silent_topic(kT0 + 15 * kSec + 1), io::TopicKind::kBestBidAsk);  // a new silence
  EXPECT_EQ(s.silent_topic_reports(), 3u);
}

TEST(InstrumentState, ASilentTopicIsReportedAgainAfterItsOwnBoundAndSaysWhenItLastHadData) {
  LivenessBounds bounds;  // retry_ns 0: each watch's own bound
  bounds.best_bid_ask_ns = 3 * kSec;
  InstrumentState s(InstrumentSpec{"binance-usdm", "BTCUSDT", "BTC-USDT-PERP"}, 50, {}, bounds);
  EXPECT_EQ(s.last_data_ns(io::TopicKind::kBestBidAsk), INT64_MIN);
  s.apply(bbo(kT0, "99.9", "1", "100.1", "1"));
  EXPECT_EQ(s.last_data_ns(io::TopicKind::kBestBidAsk), kT0);
  EXPECT_EQ(s.take_silent_topic(kT0 + 3 * kSec + 1), io::TopicKind::kBestBidAsk);
  EXPECT_FALSE(s.take_silent_topic(kT0 + 6 * kSec));
  EXPECT_EQ(s.take_silent_topic(kT0 + 6 * kSec + 1), io::TopicKind::kBestBidAsk);
  EXPECT_EQ(s.last_data_ns(io::TopicKind::kBestBidAsk), kT0);  // the silence's start, for the feed thread
}

TEST(InstrumentState, ControlEventsAreNotMarketData) {
  InstrumentState s = make_state();
  io::MarketEvent e;
  e.kind = io::EventKind::kSubscribeAck;
  EXPECT_EQ(s.apply(e), ApplyResult::kNotMarket);
  EXPECT_FALSE(s.has_market_data());
}

}  // namespace
}  // namespace sigflow::strategies
