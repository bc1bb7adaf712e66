// BookSync against the venues' own messages (tests/fixtures/<venue>/), turned into MarketEvents here with
// an independent JSON library so that the sync rules are checked whether or not a venue's decoder exists.
#include "strategies/book_sync.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sigflow::strategies {
namespace {

using nlohmann::json;

json load(const std::string& relative) {
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/" + relative);
  EXPECT_TRUE(in) << relative;
  return json::parse(in);
}

io::Decimal decimal(const json& value) {
  // Deribit writes numbers; the others strings. nlohmann prints a double back in its shortest form.
  const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  const auto d = io::Decimal::parse(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(io::Decimal{});
}

// Owns the levels an event's spans point to.
struct Event {
  std::vector<io::PriceLevel> bids, asks;
  io::MarketEvent event;

  void point() {
    if (event.kind == io::EventKind::kBookSnapshot) {
      event.snapshot.bids = bids;
      event.snapshot.asks = asks;
    } else {
      event.delta.bids = bids;
      event.delta.asks = asks;
    }
  }
};

std::vector<io::PriceLevel> levels(const json& array, bool deribit = false) {
  std::vector<io::PriceLevel> out;
  for (const json& level : array) {
    if (deribit) {  // ["new"|"change"|"delete", price, amount]
      const bool remove = level[0] == "delete";
      out.push_back({decimal(level[1]), remove ? io::Decimal{} : decimal(level[2])});
    } else {
      out.push_back({decimal(level[0]), decimal(level[1])});
    }
  }
  return out;
}

Event binance_rest(const json& body) {
  Event e;
  e.event.kind = io::EventKind::kBookSnapshot;
  e.bids = levels(body["bids"]);
  e.asks = levels(body["asks"]);
  e.event.snapshot.last_update_id = body["lastUpdateId"].get<std::uint64_t>();
  e.point();
  return e;
}

Event binance_diff(const json& frame) {
  const json& d = frame.contains("data") ? frame["data"] : frame;
  Event e;
  e.event.kind = io::EventKind::kBookDelta;
  e.bids = levels(d["b"]);
  e.asks = levels(d["a"]);
  e.event.delta.first_update_id = d["U"].get<std::uint64_t>();
  e.event.delta.final_update_id = d["u"].get<std::uint64_t>();
  if (d.contains("pu")) e.event.delta.prev_final_update_id = d["pu"].get<std::uint64_t>();
  e.point();
  return e;
}

Event bybit(const json& frame) {
  const json& d = frame["data"];
  Event e;
  e.bids = levels(d["b"]);
  e.asks = levels(d["a"]);
  const auto u = d["u"].get<std::uint64_t>();
  if (frame["type"] == "snapshot") {
    e.event.kind = io::EventKind::kBookSnapshot;
    e.event.snapshot.last_update_id = u;
  } else {
    e.event.kind = io::EventKind::kBookDelta;
    e.event.delta.first_update_id = e.event.delta.final_update_id = u;
    e.event.delta.prev_final_update_id = u - 1;
  }
  e.point();
  return e;
}

Event okx(const json& frame) {
  const json& d = frame["data"][0];
  Event e;
  e.bids = levels(d["bids"]);
  e.asks = levels(d["asks"]);
  const std::int32_t checksum = d.value("checksum", 0);
  if (frame["action"] == "snapshot") {
    e.event.kind = io::EventKind::kBookSnapshot;
    if (checksum != 0) e.event.snapshot.checksum = checksum;
  } else {
    e.event.kind = io::EventKind::kBookDelta;
    if (checksum != 0) e.event.delta.checksum = checksum;
  }
  e.point();
  return e;
}

Event okx_seq(std::uint64_t seq, std::uint64_t prev, std::vector<io::PriceLevel> bids = {}) {
  Event e;
  e.event.kind = io::EventKind::kBookDelta;
  e.bids = std::move(bids);
  e.event.delta.first_update_id = e.event.delta.final_update_id = seq;
  e.event.delta.prev_final_update_id = prev;
  e.point();
  return e;
}

Event deribit(const json& frame) {
  const json& d = frame["params"]["data"];
  Event e;
  e.bids = levels(d["bids"], true);
  e.asks = levels(d["asks"], true);
  if (d["type"] == "snapshot") {
    e.event.kind = io::EventKind::kBookSnapshot;
    e.event.snapshot.last_update_id = d["change_id"].get<std::uint64_t>();
  } else {
    e.event.kind = io::EventKind::kBookDelta;
    e.event.delta.first_update_id = e.event.delta.final_update_id = d["change_id"].get<std::uint64_t>();
    e.event.delta.prev_final_update_id = d["prev_change_id"].get<std::uint64_t>();
  }
  e.point();
  return e;
}

SyncResult feed(BookSync& sync, OrderBook& book, const Event& e) {
  return e.event.kind == io::EventKind::kBookSnapshot ? sync.on_snapshot(e.event, book)
                                                      : sync.on_delta(e.event, book);
}

io::PriceLevel level(const char* price, const char* size) {
  return {*io::Decimal::parse(price), *io::Decimal::parse(size)};
}

TEST(BookSyncFamily, EveryMarketIdHasOne) {
  EXPECT_EQ(sync_family("binance"), SyncFamily::kBinanceSpot);
  EXPECT_EQ(sync_family("binance-usdm"), SyncFamily::kBinanceUsdm);
  EXPECT_EQ(sync_family("bybit-spot"), SyncFamily::kBybit);
  EXPECT_EQ(sync_family("bybit-linear"), SyncFamily::kBybit);
  EXPECT_EQ(sync_family("okx"), SyncFamily::kOkx);
  EXPECT_EQ(sync_family("deribit"), SyncFamily::kDeribit);
  EXPECT_FALSE(sync_family("kraken"));
}

// feeds.md §1.1 test vector: the four diffs arrive before the snapshot; three end before lastUpdateId and
// are dropped, the fourth straddles it, the rest chain by pu.
TEST(BinanceUsdmSync, KeepUsdtBufferedThenStraddlingThenPuChain) {
  const json diffs = load("binance/futures_depthUpdate_KEEPUSDT_sync_sequence.json");
  const json snapshot = load("binance/futures_rest_depth_snapshot_KEEPUSDT.json");
  BookSync sync(SyncFamily::kBinanceUsdm, {});
  OrderBook book(1000);

  EXPECT_FALSE(sync.take_snapshot_request(0));  // nothing buffered yet: the venue procedure starts there
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(feed(sync, book, binance_diff(diffs[i])), SyncResult::kBuffered);
  EXPECT_EQ(sync.state(), BookState::kEmpty);
  EXPECT_TRUE(sync.take_snapshot_request(1));
  EXPECT_FALSE(sync.take_snapshot_request(2));  // pending: one request, not one per diff

  EXPECT_EQ(feed(sync, book, binance_rest(snapshot)), SyncResult::kApplied);
  EXPECT_EQ(sync.counters().stale, 3u);
  EXPECT_EQ(sync.counters().updates, 1u);
  EXPECT_EQ(sync.state(), BookState::kLive);
  EXPECT_EQ(sync.last_update_id(), 600859619434u);
  for (std::size_t i = 4; i < diffs.size(); ++i)
    EXPECT_EQ(feed(sync, book, binance_diff(diffs[i])), SyncResult::kApplied) << i;
  EXPECT_EQ(sync.counters().gaps, 0u);
  EXPECT_EQ(sync.counters().resyncs, 0u);
  EXPECT_EQ(sync.counters().snapshot_requests, 1u);
  EXPECT_FALSE(book.crossed());
  EXPECT_EQ(sync.last_update_id(), diffs.back()["data"]["u"].get<std::uint64_t>());
  // The last diff set 0.2443 to 5160; the fourth added 0.2350 at 26711.
  bool found_2443 = false, found_2350 = false;
  for (std::size_t i = 0; const PriceLevel* l = book.level(BookSide::kBid, i); ++i) {
    if (l->price == *io::Decimal::parse("0.2443")) found_2443 = l->size == *io::Decimal::parse("5160");
    if (l->price == *io::Decimal::parse("0.2350")) found_2350 = l->size == *io::Decimal::parse("26711");
  }
  EXPECT_TRUE(found_2443);
  EXPECT_TRUE(found_2350);
  EXPECT_FALSE(sync.take_snapshot_request(1'000'000'000'000));
}

TEST(BinanceUsdmSync, SnapshotFirstThenLiveDiffs) {
  const json diffs = load("binance/futures_depthUpdate_KEEPUSDT_sync_sequence.json");
  BookSync sync(SyncFamily::kBinanceUsdm, {});
  OrderBook book(1000);
  EXPECT_EQ(feed(sync, book, binance_rest(load("binance/futures_rest_depth_snapshot_KEEPUSDT.json"))),
            SyncResult::kApplied);
  EXPECT_EQ(sync.state(), BookState::kSyncing);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(feed(sync, book, binance_diff(diffs[i])), SyncResult::kStale);
  EXPECT_EQ(sync.state(), BookState::kSyncing);
  for (std::size_t i = 3; i < diffs.size(); ++i)
    EXPECT_EQ(feed(sync, book, binance_diff(diffs[i])), SyncResult::kApplied);
  EXPECT_EQ(sync.state(), BookState::kLive);
}

// feeds.md §1.1 spot test vector: first event u = 15602511 dropped, second U = 15602512 applied.
TEST(BinanceSpotSync, RuneEurDropsThenApplies) {
  const json diffs = load("binance/spot_depthUpdate_RUNEEUR_after_snapshot.json");
  const json snapshot = load("binance/spot_rest_depth_snapshot_RUNEEUR.json");
  for (const bool buffered_first : {true, false}) {
    BookSync sync(SyncFamily::kBinanceSpot, {});
    OrderBook book(5000);
    if (buffered_first) {
      for (const json& d : diffs) EXPECT_EQ(feed(sync, book, binance_diff(d)), SyncResult::kBuffered);
      EXPECT_EQ(feed(sync, book, binance_rest(snapshot)), SyncResult::kApplied);
    } else {
      EXPECT_EQ(feed(sync, book, binance_rest(snapshot)), SyncResult::kApplied);
      EXPECT_EQ(feed(sync, book, binance_diff(diffs[0])), SyncResult::kStale);
      EXPECT_EQ(feed(sync, book, binance_diff(diffs[1])), SyncResult::kApplied);
    }
    EXPECT_EQ(sync.counters().stale, 1u);
    EXPECT_EQ(sync.counters().updates, 1u);
    EXPECT_EQ(sync.state(), BookState::kLive);
    EXPECT_EQ(sync.last_update_id(), 15602513u);
    EXPECT_FALSE(book.crossed());
    // The applied diff set 6.24800000 to 48.00000000 (the dropped one had said 91.4).
    bool found = false;
    for (std::size_t i = 0; const PriceLevel* l = book.level(BookSide::kBid, i); ++i)
      if (l->price == *io::Decimal::parse("6.248"))
        found = l->size.identical(*io::Decimal::parse("48.00000000"));
    EXPECT_TRUE(found);
    // U = last + 3: a hole; the book is invalidated and one snapshot asked for.
    Event hole = binance_diff(diffs[1]);
    hole.event.delta.first_update_id = 15602516;
    hole.event.delta.final_update_id = 15602517;
    EXPECT_EQ(feed(sync, book, hole), SyncResult::kGap);
    EXPECT_TRUE(book.empty());
    EXPECT_EQ(sync.state(), BookState::kResync);
    EXPECT_EQ(sync.buffered_updates(), 1u);  // the diff that exposed the hole is kept for the resync
  }
}

TEST(BinanceSync, SnapshotOlderThanBufferIsRefetchedBoundedTimes) {
  BookSyncLimits limits;
  limits.immediate_snapshot_retries = 2;
  limits.resync_timeout_ns = 100;
  BookSync sync(SyncFamily::kBinanceSpot, limits);
  OrderBook book(100);
  Event d = binance_diff(json::parse(R"({"U":101,"u":105,"b":[["1.0","2"]],"a":[["2.0","1"]]})"));
  EXPECT_EQ(feed(sync, book, d), SyncResult::kBuffered);
  EXPECT_TRUE(sync.take_snapshot_request(0));
  Event old = binance_rest(json::parse(R"({"lastUpdateId":90,"bids":[["1.0","1"]],"asks":[["2.0","1"]]})"));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(feed(sync, book, old), SyncResult::kSnapshotTooOld);
    EXPECT_TRUE(book.empty());
    EXPECT_TRUE(sync.take_snapshot_request(1));  // at once
  }
  EXPECT_EQ(feed(sync, book, old), SyncResult::kSnapshotTooOld);
  EXPECT_FALSE(sync.take_snapshot_request(1));   // retries spent: only after the timeout
  EXPECT_TRUE(sync.take_snapshot_request(101));  // 1 + 100
  EXPECT_EQ(sync.counters().snapshots_too_old, 3u);
  // A snapshot at 100 continues the buffered U = 101 exactly.
  Event good = binance_rest(json::parse(R"({"lastUpdateId":100,"bids":[["1.0","1"]],"asks":[["2.0","1"]]})"));
  EXPECT_EQ(feed(sync, book, good), SyncResult::kApplied);
  EXPECT_EQ(sync.state(), BookState::kLive);
  EXPECT_EQ(sync.last_update_id(), 105u);
  EXPECT_EQ(book.best_bid()->size, *io::Decimal::parse("2"));
}

TEST(BinanceSync, BufferOverflowDropsAndRestarts) {
  BookSyncLimits limits;
  limits.buffered_updates = 3;
  limits.buffered_levels = 100;
  BookSync sync(SyncFamily::kBinanceSpot, limits);
  OrderBook book(100);
  for (std::uint64_t u = 1; u <= 5; ++u) {
    Event d = binance_diff(json::parse(R"({"U":0,"u":0,"b":[["1.0","2"]],"a":[]})"));
    d.event.delta.first_update_id = d.event.delta.final_update_id = u;
    EXPECT_EQ(feed(sync, book, d), SyncResult::kBuffered);
  }
  EXPECT_EQ(sync.counters().buffer_overflows, 1u);
  EXPECT_EQ(sync.buffered_updates(), 2u);  // u = 4, 5
  // The snapshot at 1 is older than the restarted buffer (U = 4): rejected, another requested.
  EXPECT_EQ(feed(sync, book, binance_rest(json::parse(R"({"lastUpdateId":1,"bids":[],"asks":[]})"))),
            SyncResult::kSnapshotTooOld);
  EXPECT_EQ(feed(sync, book, binance_rest(json::parse(R"({"lastUpdateId":3,"bids":[],"asks":[]})"))),
            SyncResult::kApplied);
  EXPECT_EQ(sync.last_update_id(), 5u);
}

TEST(BookSyncResync, OneRequestPerGapThenCappedBackoff) {
  BookSyncLimits limits;
  limits.resync_timeout_ns = 100;
  limits.max_resync_backoff_ns = 300;
  BookSync sync(SyncFamily::kDeribit, limits);
  OrderBook book(100);
  Event snap;
  snap.event.kind = io::EventKind::kBookSnapshot;
  snap.bids = {level("1.0", "1")};
  snap.asks = {level("2.0", "1")};
  snap.event.snapshot.last_update_id = 10;
  snap.point();
  EXPECT_EQ(feed(sync, book, snap), SyncResult::kApplied);
  EXPECT_FALSE(sync.take_snapshot_request(0));
  Event d = okx_seq(12, 11);  // prev_change_id 11 != 10
  EXPECT_EQ(feed(sync, book, d), SyncResult::kGap);
  EXPECT_TRUE(book.empty());
  EXPECT_FALSE(sync.book_valid());
  EXPECT_TRUE(sync.take_snapshot_request(1000));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(feed(sync, book, okx_seq(13 + i, 12 + i)), SyncResult::kStale);
  EXPECT_FALSE(sync.take_snapshot_request(1099));  // pending
  EXPECT_TRUE(sync.take_snapshot_request(1100));   // timeout 100
  EXPECT_FALSE(sync.take_snapshot_request(1299));
  EXPECT_TRUE(sync.take_snapshot_request(1300));  // 200
  EXPECT_TRUE(sync.take_snapshot_request(1600));  // 300: capped
  EXPECT_FALSE(sync.take_snapshot_request(1899));
  EXPECT_TRUE(sync.take_snapshot_request(1900));  // still 300
  EXPECT_EQ(sync.counters().resyncs, 5u);
  EXPECT_EQ(sync.counters().gaps, 1u);
  EXPECT_EQ(feed(sync, book, snap), SyncResult::kApplied);
  EXPECT_FALSE(sync.take_snapshot_request(1'000'000));
}

TEST(BookSyncResync, CrossedBookIsAGap) {
  BookSync sync(SyncFamily::kBybit, {});
  OrderBook book(100);
  Event snap;
  snap.event.kind = io::EventKind::kBookSnapshot;
  snap.bids = {level("1.0", "1")};
  snap.asks = {level("2.0", "1")};
  snap.event.snapshot.last_update_id = 10;
  snap.point();
  EXPECT_EQ(feed(sync, book, snap), SyncResult::kApplied);
  Event cross = okx_seq(11, 10, {level("2.5", "1")});
  EXPECT_EQ(feed(sync, book, cross), SyncResult::kGap);
  EXPECT_EQ(sync.counters().crossed, 1u);
  EXPECT_TRUE(book.empty());
  EXPECT_TRUE(sync.take_snapshot_request(0));
}

TEST(BybitSync, LinearSnapshotThenDeltaChain) {
  const json snapshot = load("bybit/linear_orderbook200_snapshot_BTCUSDT.json");
  const json deltas = load("bybit/linear_orderbook200_delta_sequence_BTCUSDT.json");
  BookSync sync(SyncFamily::kBybit, {});
  OrderBook book(200);
  EXPECT_EQ(feed(sync, book, bybit(deltas[0])), SyncResult::kStale);  // before any snapshot
  EXPECT_TRUE(sync.take_snapshot_request(0));                         // WS: resubscribe
  EXPECT_EQ(feed(sync, book, bybit(snapshot)), SyncResult::kApplied);
  for (const json& d : deltas) {
    EXPECT_EQ(feed(sync, book, bybit(d)), SyncResult::kApplied) << d["data"]["u"];
    EXPECT_FALSE(book.crossed());
  }
  EXPECT_EQ(sync.counters().gaps, 0u);
  EXPECT_EQ(feed(sync, book, bybit(deltas[3])), SyncResult::kStale);  // a duplicate
  Event skip = bybit(deltas.back());
  skip.event.delta.final_update_id += 2;
  skip.event.delta.prev_final_update_id += 2;
  EXPECT_EQ(feed(sync, book, skip), SyncResult::kGap);
  EXPECT_EQ(feed(sync, book, bybit(snapshot)), SyncResult::kApplied);  // any snapshot resets
  EXPECT_EQ(sync.state(), BookState::kLive);
}

// The 2022 capture predates seqId; it carries the CRC32 of every state (feeds.md §1.3, 290/290 verified).
TEST(OkxSync, ChecksumsOfTheCaptureMatch) {
  const json snapshot = load("okx/books_snapshot_UNI-USD-SWAP.json");
  const json updates = load("okx/books_update_sequence_UNI-USD-SWAP.json");
  BookSync sync(SyncFamily::kOkx, {});
  OrderBook book(400);
  EXPECT_EQ(feed(sync, book, okx(snapshot)), SyncResult::kApplied);
  EXPECT_EQ(okx_book_checksum(book), snapshot["data"][0]["checksum"].get<std::int32_t>());
  for (const json& u : updates) EXPECT_EQ(feed(sync, book, okx(u)), SyncResult::kApplied);
  EXPECT_EQ(sync.counters().checksum_mismatches, 0u);

  Event wrong = okx(updates.back());
  wrong.event.delta.checksum = *wrong.event.delta.checksum + 1;
  EXPECT_EQ(feed(sync, book, wrong), SyncResult::kGap);
  EXPECT_EQ(sync.counters().checksum_mismatches, 1u);

  // checksum 0 is "absent" (pinned to 0 since 2026-06-23), never a failure.
  EXPECT_EQ(feed(sync, book, okx(snapshot)), SyncResult::kApplied);
  Event zero = okx(updates[0]);
  zero.event.delta.checksum = 0;
  EXPECT_EQ(feed(sync, book, zero), SyncResult::kApplied);
}

TEST(OkxSync, SeqIdRules) {
  BookSync sync(SyncFamily::kOkx, {});
  OrderBook book(100);
  Event snap;
  snap.event.kind = io::EventKind::kBookSnapshot;
  snap.bids = {level("1.0", "1")};
  snap.asks = {level("2.0", "1")};
  snap.event.snapshot.last_update_id = 100;
  snap.point();
  EXPECT_EQ(feed(sync, book, snap), SyncResult::kApplied);
  EXPECT_EQ(feed(sync, book, okx_seq(107, 100, {level("1.1", "1")})), SyncResult::kApplied);  // non-unit step
  EXPECT_EQ(feed(sync, book, okx_seq(107, 107)), SyncResult::kApplied);                       // keep-alive
  EXPECT_EQ(feed(sync, book, okx_seq(105, 100)), SyncResult::kStale);                         // stale
  EXPECT_EQ(feed(sync, book, okx_seq(3, 107)), SyncResult::kApplied);                         // reset
  EXPECT_EQ(sync.last_update_id(), 3u);
  EXPECT_EQ(feed(sync, book, okx_seq(9, 3)), SyncResult::kApplied);
  EXPECT_EQ(feed(sync, book, okx_seq(20, 12)), SyncResult::kGap);
  EXPECT_EQ(sync.counters().gaps, 1u);
}

TEST(DeribitSync, SnapshotThenChange) {
  const json frames = load("deribit/book_raw_snapshot_then_change_BTC-24SEP21-34000-P.json");
  BookSync sync(SyncFamily::kDeribit, {});
  OrderBook book(100);
  EXPECT_EQ(feed(sync, book, deribit(frames[0])), SyncResult::kApplied);
  EXPECT_EQ(feed(sync, book, deribit(frames[1])), SyncResult::kApplied);
  EXPECT_EQ(book.best_ask()->price, *io::Decimal::parse("0.1585"));
  EXPECT_EQ(book.depth(BookSide::kAsk), 6u);  // 0.1605 deleted, 0.16 added
  EXPECT_EQ(sync.counters().gaps, 0u);
  EXPECT_EQ(feed(sync, book, deribit(frames[1])), SyncResult::kStale);
}

}  // namespace
}  // namespace sigflow::strategies
