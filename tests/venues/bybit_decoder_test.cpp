// The Bybit decoder on every fixture of tests/fixtures/bybit with exact field values, on key orders the
// venue does not send today, and on broken input, which must give an error value naming the problem.
#include "io/venues/bybit/decoder.hpp"

#include <gtest/gtest.h>

#include <map>

#include "tests/venues/bybit_test_support.hpp"

namespace sigflow::io::bybit {
namespace {

using testing::CollectingSink;
using testing::dec;
using testing::fixture;
using testing::messages;

constexpr std::int64_t kMs = 1'000'000;

TEST(BybitDecoder, LinearBookSnapshot) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("linear_orderbook200_snapshot_BTCUSDT.json"), sink, 42))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  const auto& c = sink.events[0];
  EXPECT_EQ(c.event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(c.symbol, "BTCUSDT");
  EXPECT_EQ(c.stream, "orderbook.200.BTCUSDT");
  EXPECT_EQ(c.type_name, "orderbook");
  EXPECT_EQ(c.event.snapshot.last_update_id, 15076952u);
  EXPECT_EQ(c.event.snapshot.depth, 200);
  EXPECT_FALSE(c.event.snapshot.checksum.has_value());
  EXPECT_EQ(c.event.exchange_ts_ns, 1786310818027 * kMs);  // cts, which follows data in linear frames
  EXPECT_EQ(c.event.event_ts_ns, 1786310818129 * kMs);     // ts
  EXPECT_EQ(c.event.recv_ns, 42);
  ASSERT_EQ(c.bids.size(), 200u);
  ASSERT_EQ(c.asks.size(), 200u);
  EXPECT_TRUE(c.bids.front().price.identical(dec("65114.20")));
  EXPECT_TRUE(c.bids.front().size.identical(dec("6.054")));
  EXPECT_TRUE(c.asks.front().price.identical(dec("65114.30")));
  EXPECT_TRUE(c.asks.front().size.identical(dec("10.486")));
  EXPECT_TRUE(c.bids.back().price.identical(dec("65086.00")));
  EXPECT_TRUE(c.asks.back().size.identical(dec("0.020")));
}

TEST(BybitDecoder, SpotBookSnapshotWithTsBeforeType) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("spot_orderbook200_snapshot_BTCUSDT.json"), sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  const auto& c = sink.events[0];
  EXPECT_EQ(c.event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(c.event.snapshot.last_update_id, 62505424u);
  EXPECT_EQ(c.event.snapshot.depth, 200);
  EXPECT_EQ(c.event.exchange_ts_ns, 1786310816512 * kMs);
  EXPECT_EQ(c.event.event_ts_ns, 1786310816516 * kMs);
  ASSERT_EQ(c.bids.size(), 200u);
  ASSERT_EQ(c.asks.size(), 200u);
  EXPECT_TRUE(c.bids.front().price.identical(dec("65140.4")));
  EXPECT_TRUE(c.bids.front().size.identical(dec("0.885797")));
  EXPECT_TRUE(c.asks.front().price.identical(dec("65140.5")));
  EXPECT_TRUE(c.asks.front().size.identical(dec("0.472203")));
}

// The snapshot and the 12 deltas that follow it on the wire: each delta's prev is the id the book is at, and
// applying them in order leaves an uncrossed book whose touch matches an independent computation (Python's
// decimal module over the same fixture files).
TEST(BybitDecoder, LinearDeltasChainOntoTheSnapshot) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("linear_orderbook200_snapshot_BTCUSDT.json"), sink));
  std::map<Decimal, Decimal, std::greater<>> bids;
  std::map<Decimal, Decimal> asks;
  for (const auto& l : sink.events[0].bids) bids[l.price] = l.size;
  for (const auto& l : sink.events[0].asks) asks[l.price] = l.size;
  std::uint64_t at = sink.events[0].event.snapshot.last_update_id;

  const auto deltas = messages(fixture("linear_orderbook200_delta_sequence_BTCUSDT.json"));
  ASSERT_EQ(deltas.size(), 12u);
  for (const auto& text : deltas) {
    sink.events.clear();
    ASSERT_TRUE(testing::decode(decoder, text, sink)) << decoder.error_message();
    ASSERT_EQ(sink.events.size(), 1u);
    const auto& c = sink.events[0];
    ASSERT_EQ(c.event.kind, EventKind::kBookDelta);
    EXPECT_EQ(c.event.delta.prev_final_update_id, at);
    EXPECT_EQ(c.event.delta.first_update_id, at + 1);
    EXPECT_EQ(c.event.delta.final_update_id, at + 1);
    at = c.event.delta.final_update_id;
    for (const auto& l : c.bids) {
      if (l.size.is_zero()) {
        bids.erase(l.price);
      } else {
        bids[l.price] = l.size;
      }
    }
    for (const auto& l : c.asks) {
      if (l.size.is_zero()) {
        asks.erase(l.price);
      } else {
        asks[l.price] = l.size;
      }
    }
  }
  EXPECT_EQ(at, 15076964u);
  ASSERT_FALSE(bids.empty());
  ASSERT_FALSE(asks.empty());
  EXPECT_LT(bids.begin()->first, asks.begin()->first);
  EXPECT_TRUE(bids.begin()->first.identical(dec("65114.20")));
  EXPECT_TRUE(bids.begin()->second.identical(dec("10.128")));
  EXPECT_TRUE(asks.begin()->first.identical(dec("65114.30")));
  EXPECT_TRUE(asks.begin()->second.identical(dec("6.496")));
  EXPECT_EQ(bids.size(), 200u);
  EXPECT_EQ(asks.size(), 200u);
}

TEST(BybitDecoder, FirstDeltaFieldsAndClocks) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder,
                              messages(fixture("linear_orderbook200_delta_sequence_BTCUSDT.json"))[0], sink));
  const auto& c = sink.events.at(0);
  EXPECT_EQ(c.symbol, "BTCUSDT");
  EXPECT_EQ(c.event.exchange_ts_ns, 1786310818129 * kMs);
  EXPECT_EQ(c.event.event_ts_ns, 1786310818130 * kMs);
  ASSERT_EQ(c.bids.size(), 6u);
  ASSERT_EQ(c.asks.size(), 16u);
  EXPECT_TRUE(c.bids[2].price.identical(dec("65093.10")));
  EXPECT_TRUE(c.bids[2].size.is_zero());
  EXPECT_TRUE(c.asks[3].price.identical(dec("65129.50")));
  EXPECT_TRUE(c.asks[3].size.identical(dec("2.302")));
}

TEST(BybitDecoder, SnapshotAfterVenueRestartHasUpdateIdOne) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(
      testing::decode(decoder,
                      R"({"topic":"orderbook.50.ETHUSDT","type":"snapshot","ts":1,"data":{"s":"ETHUSDT",)"
                      R"("b":[["1.5","2"]],"a":[],"u":1,"seq":9},"cts":1})",
                      sink));
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(sink.events[0].event.snapshot.last_update_id, 1u);
  EXPECT_EQ(sink.events[0].event.snapshot.depth, 50);
  EXPECT_EQ(sink.events[0].asks.size(), 0u);
}

// Bybit's key order differs by category and channel; a frame with `data` first (no venue sends one today)
// must decode to the same event through the second pass.
TEST(BybitDecoder, KeyOrderDoesNotMatter) {
  const std::string in_order =
      R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1786310818130,"data":{"s":"BTCUSDT",)"
      R"("b":[["65095.30","0.005"]],"a":[["65116.60","0"]],"u":15076953,"seq":7},"cts":1786310818129})";
  const std::string data_first =
      R"({"data":{"u":15076953,"a":[["65116.60","0"]],"seq":7,"b":[["65095.30","0.005"]],"s":"BTCUSDT"},)"
      R"("cts":1786310818129,"ts":1786310818130,"type":"delta","topic":"orderbook.50.BTCUSDT"})";
  Decoder decoder;
  CollectingSink a, b;
  ASSERT_TRUE(testing::decode(decoder, in_order, a)) << decoder.error_message();
  ASSERT_TRUE(testing::decode(decoder, data_first, b)) << decoder.error_message();
  ASSERT_EQ(a.events.size(), 1u);
  ASSERT_EQ(b.events.size(), 1u);
  for (const auto* s : {&a, &b}) {
    const auto& c = s->events[0];
    EXPECT_EQ(c.event.kind, EventKind::kBookDelta);
    EXPECT_EQ(c.symbol, "BTCUSDT");
    EXPECT_EQ(c.event.delta.final_update_id, 15076953u);
    EXPECT_EQ(c.event.delta.prev_final_update_id, 15076952u);
    EXPECT_EQ(c.event.exchange_ts_ns, 1786310818129 * kMs);
    EXPECT_EQ(c.event.event_ts_ns, 1786310818130 * kMs);
    ASSERT_EQ(c.bids.size(), 1u);
    EXPECT_TRUE(c.bids[0].price.identical(dec("65095.30")));
    ASSERT_EQ(c.asks.size(), 1u);
    EXPECT_TRUE(c.asks[0].size.is_zero());
  }
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

TEST(BybitDecoder, LinearPublicTrades) {
  Decoder decoder;
  const auto frames = messages(fixture("linear_publicTrade_BTCUSDT.json"));
  ASSERT_EQ(frames.size(), 2u);
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, frames[0], sink)) << decoder.error_message();
  ASSERT_TRUE(testing::decode(decoder, frames[1], sink)) << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);
  const auto& t = sink.events[0];
  EXPECT_EQ(t.event.kind, EventKind::kTrade);
  EXPECT_EQ(t.symbol, "BTCUSDT");
  EXPECT_EQ(t.stream, "publicTrade.BTCUSDT");
  EXPECT_EQ(t.event.exchange_ts_ns, 1786310819680 * kMs);
  EXPECT_EQ(t.event.event_ts_ns, 1786310819681 * kMs);
  EXPECT_TRUE(t.event.trade.price.identical(dec("65114.20")));
  EXPECT_TRUE(t.event.trade.size.identical(dec("0.004")));
  EXPECT_EQ(t.event.trade.aggressor, Side::kSell);
  // A UUID id is kept as its FNV-1a hash.
  EXPECT_EQ(t.event.trade.trade_id, fnv1a("a9188a0a-82bc-50de-be60-03eedbe3cdd7"));
  EXPECT_EQ(t.event.trade.first_trade_id, kNoUpdateId);
  EXPECT_EQ(sink.events[1].event.trade.trade_id, fnv1a("0de3f0d8-7f25-5f61-bdb5-75ad36ca187c"));
  EXPECT_TRUE(sink.events[1].event.trade.size.identical(dec("0.003")));
}

TEST(BybitDecoder, SpotTradeIdIsNumericAndFramesMayCarrySeveralTrades) {
  // The spot capture's key order (i first), with a second trade added to the same frame.
  const std::string frame =
      R"({"topic":"publicTrade.ETHUSDT","ts":1786310821917,"type":"snapshot","data":[{"i":"2280000001739247417",)"
      R"("T":1786310821917,"p":"1923.28","v":"0.04537","S":"Sell","seq":178477362706,"s":"ETHUSDT","BT":false,)"
      R"("RPI":false},{"i":"2280000001739247418","T":1786310821918,"p":"1923.29","v":"1","S":"Buy","s":"ETHUSDT"}]})";
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, frame, sink)) << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].event.trade.trade_id, 2280000001739247417u);
  EXPECT_EQ(sink.events[0].event.trade.aggressor, Side::kSell);
  EXPECT_TRUE(sink.events[0].event.trade.price.identical(dec("1923.28")));
  EXPECT_EQ(sink.events[1].event.trade.trade_id, 2280000001739247418u);
  EXPECT_EQ(sink.events[1].event.trade.aggressor, Side::kBuy);
  EXPECT_EQ(sink.events[1].event.exchange_ts_ns, 1786310821918 * kMs);
  EXPECT_EQ(sink.events[1].event.event_ts_ns, 1786310821917 * kMs);
}

TEST(BybitDecoder, LinearTickerSnapshotGivesMarkFundingThenQuote) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("linear_tickers_snapshot_BTCUSDT.json"), sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);
  const auto& m = sink.events[0];
  EXPECT_EQ(m.event.kind, EventKind::kMarkFunding);
  EXPECT_EQ(m.symbol, "BTCUSDT");
  EXPECT_EQ(m.stream, "tickers.BTCUSDT");
  EXPECT_EQ(m.event.event_ts_ns, 1786310817583 * kMs);
  EXPECT_EQ(m.event.exchange_ts_ns, 1786310817583 * kMs);
  ASSERT_TRUE(m.event.mark_funding.mark_price);
  EXPECT_TRUE(m.event.mark_funding.mark_price->identical(dec("65117.44")));
  ASSERT_TRUE(m.event.mark_funding.index_price);
  EXPECT_TRUE(m.event.mark_funding.index_price->identical(dec("65137.76")));
  ASSERT_TRUE(m.event.mark_funding.funding_rate);
  EXPECT_TRUE(m.event.mark_funding.funding_rate->identical(dec("0.0001")));
  EXPECT_FALSE(m.event.mark_funding.estimated_settle_price);
  EXPECT_EQ(m.event.mark_funding.next_funding_ts_ns, 1786320000000 * kMs);
  const auto& q = sink.events[1];
  EXPECT_EQ(q.event.kind, EventKind::kBestBidAsk);
  EXPECT_TRUE(q.event.best_bid_ask.bid_price.identical(dec("65114.20")));
  EXPECT_TRUE(q.event.best_bid_ask.bid_size.identical(dec("5.954")));
  EXPECT_TRUE(q.event.best_bid_ask.ask_price.identical(dec("65114.30")));
  EXPECT_TRUE(q.event.best_bid_ask.ask_size.identical(dec("10.470")));
  EXPECT_EQ(q.event.best_bid_ask.update_id, kNoUpdateId);
}

// Linear ticker deltas carry only what changed: only those fields are set, and a quote needs both sides.
TEST(BybitDecoder, LinearTickerDeltasSetOnlyPresentFields) {
  Decoder decoder;
  const auto frames = messages(fixture("linear_tickers_delta_BTCUSDT.json"));
  ASSERT_EQ(frames.size(), 4u);
  std::vector<CollectingSink> sinks(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    ASSERT_TRUE(testing::decode(decoder, frames[i], sinks[i])) << i << ": " << decoder.error_message();

  ASSERT_EQ(sinks[0].events.size(), 1u);
  EXPECT_EQ(sinks[0].events[0].event.kind, EventKind::kBestBidAsk);
  EXPECT_TRUE(sinks[0].events[0].event.best_bid_ask.ask_size.identical(dec("10.486")));
  EXPECT_EQ(sinks[0].events[0].event.event_ts_ns, 1786310817883 * kMs);

  ASSERT_EQ(sinks[1].events.size(), 1u);  // markPrice and the ask side only
  const auto& m = sinks[1].events[0].event;
  EXPECT_EQ(m.kind, EventKind::kMarkFunding);
  ASSERT_TRUE(m.mark_funding.mark_price);
  EXPECT_TRUE(m.mark_funding.mark_price->identical(dec("65117.43")));
  EXPECT_FALSE(m.mark_funding.index_price);
  EXPECT_FALSE(m.mark_funding.funding_rate);
  EXPECT_EQ(m.mark_funding.next_funding_ts_ns, 0);

  ASSERT_EQ(sinks[2].events.size(), 1u);  // the bid side only: nothing the engine can use alone
  EXPECT_EQ(sinks[2].events[0].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sinks[2].events[0].symbol, "BTCUSDT");

  ASSERT_EQ(sinks[3].events.size(), 1u);
  EXPECT_EQ(sinks[3].events[0].event.kind, EventKind::kBestBidAsk);
  EXPECT_TRUE(sinks[3].events[0].event.best_bid_ask.bid_size.identical(dec("6.054")));
}

TEST(BybitDecoder, SpotTickerCarriesNothingTheEngineUses) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("spot_tickers_snapshot_BTCUSDT.json"), sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sink.events[0].symbol, "BTCUSDT");
  EXPECT_EQ(sink.events[0].type_name, "tickers");
  EXPECT_EQ(sink.events[0].event.event_ts_ns, 1786310819126 * kMs);
}

TEST(BybitDecoder, LiquidationSideIsTheForcedOrdersSide) {
  Decoder decoder;
  CollectingSink docs;
  ASSERT_TRUE(testing::decode(decoder, fixture("allLiquidation_docs.json"), docs)) << decoder.error_message();
  ASSERT_EQ(docs.events.size(), 1u);
  const auto& l = docs.events[0];
  EXPECT_EQ(l.event.kind, EventKind::kLiquidation);
  EXPECT_EQ(l.symbol, "ROSEUSDT");
  EXPECT_EQ(l.stream, "allLiquidation.ROSEUSDT");
  EXPECT_EQ(l.event.liquidation.side, Side::kBuy);  // S=Sell: a short was liquidated, the forced order buys
  EXPECT_TRUE(l.event.liquidation.price.identical(dec("0.04499")));
  EXPECT_TRUE(l.event.liquidation.quantity.identical(dec("20000")));
  EXPECT_FALSE(l.event.liquidation.average_price);
  EXPECT_FALSE(l.event.liquidation.filled_quantity);
  EXPECT_EQ(l.event.exchange_ts_ns, 1739502302929 * kMs);
  EXPECT_EQ(l.event.event_ts_ns, 1739502303204 * kMs);

  CollectingSink two;
  ASSERT_TRUE(testing::decode(decoder, fixture("allLiquidation_nautilus.json"), two))
      << decoder.error_message();
  ASSERT_EQ(two.events.size(), 2u);
  EXPECT_EQ(two.events[0].event.liquidation.side, Side::kSell);  // S=Buy: a long was liquidated
  EXPECT_TRUE(two.events[0].event.liquidation.price.identical(dec("96250.5")));
  EXPECT_TRUE(two.events[0].event.liquidation.quantity.identical(dec("0.015")));
  EXPECT_EQ(two.events[1].event.liquidation.side, Side::kBuy);
  EXPECT_TRUE(two.events[1].event.liquidation.price.identical(dec("97410.0")));
  EXPECT_EQ(two.events[1].event.exchange_ts_ns, 1739502303011 * kMs);
}

TEST(BybitDecoder, ControlReplies) {
  Decoder decoder;
  struct Case {
    const char* file;
    EventKind kind;
    const char* type_name;
  };
  for (const Case& c : {Case{"linear_subscribe_ack.json", EventKind::kSubscribeAck, "subscribe"},
                        Case{"spot_subscribe_ack.json", EventKind::kSubscribeAck, "subscribe"},
                        Case{"pong_linear.json", EventKind::kIgnored, "pong"},
                        Case{"pong_spot.json", EventKind::kIgnored, "pong"},
                        Case{"pong_option.json", EventKind::kIgnored, "pong"},
                        Case{"ping_request.json", EventKind::kIgnored, "ping"}}) {
    CollectingSink sink;
    ASSERT_TRUE(testing::decode(decoder, fixture(c.file), sink)) << c.file << ": " << decoder.error_message();
    ASSERT_EQ(sink.events.size(), 1u) << c.file;
    EXPECT_EQ(sink.events[0].event.kind, c.kind) << c.file;
    EXPECT_EQ(sink.events[0].type_name, c.type_name) << c.file;
    EXPECT_TRUE(sink.events[0].symbol.empty()) << c.file;
  }
  CollectingSink ack;
  ASSERT_TRUE(testing::decode(decoder, fixture("linear_subscribe_ack.json"), ack));
  EXPECT_EQ(ack.events[0].event.ack.request_id, -1);  // req_id ""
  CollectingSink numbered;
  ASSERT_TRUE(testing::decode(
      decoder, R"({"success":true,"ret_msg":"","conn_id":"x","req_id":"17","op":"subscribe"})", numbered));
  EXPECT_EQ(numbered.events[0].event.ack.request_id, 17);

  CollectingSink failure;
  ASSERT_TRUE(testing::decode(decoder, fixture("subscribe_failure.json"), failure))
      << decoder.error_message();
  ASSERT_EQ(failure.events.size(), 1u);
  EXPECT_EQ(failure.events[0].event.kind, EventKind::kVenueError);
  EXPECT_EQ(failure.events[0].event.error.code, 0);
  EXPECT_EQ(failure.events[0].message, "Invalid topic: invalid.topic.BTCUSDT");
}

TEST(BybitDecoder, IgnoredChannels) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(
      testing::decode(decoder,
                      R"({"topic":"kline.1.BTCUSDT","data":[{"start":1,"end":2,"interval":"1","open":"1",)"
                      R"("confirm":false,"timestamp":3}],"ts":1786310818440,"type":"snapshot"})",
                      sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sink.events[0].type_name, "kline");
}

struct BadCase {
  std::string name;
  std::string frame;
  DecodeError error;
  std::string message_part;
};

TEST(BybitDecoder, BrokenInputGivesErrorValues) {
  const std::string book_head = R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":)";
  const std::vector<BadCase> cases = {
      {"empty", "", DecodeError::kEmptyFrame, "empty"},
      {"truncated",
       R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1",)",
       DecodeError::kInvalidJson, ""},
      {"not json", "not json at all", DecodeError::kInvalidJson, ""},
      {"array", "[1,2,3]", DecodeError::kNotAnObject, "not an object"},
      {"no topic no op", R"({"foo":1})", DecodeError::kUnknownMessage, "neither"},
      {"unknown topic", R"({"topic":"weird.BTCUSDT","type":"snapshot","ts":1,"data":{}})",
       DecodeError::kUnknownTopic, "weird.BTCUSDT"},
      {"book depth not a number", R"({"topic":"orderbook.x.BTCUSDT","type":"snapshot","ts":1,"data":{}})",
       DecodeError::kUnknownTopic, "orderbook.x"},
      {"u as string", book_head + R"({"s":"BTCUSDT","b":[],"a":[],"u":"5"}})", DecodeError::kWrongType,
       "data.u"},
      {"levels not an array", book_head + R"({"s":"BTCUSDT","b":"x","a":[],"u":5}})", DecodeError::kWrongType,
       "data.b"},
      {"price as number", book_head + R"({"s":"BTCUSDT","b":[[65000.1,"1"]],"a":[],"u":5}})",
       DecodeError::kWrongType, "data.b"},
      {"exponent decimal", book_head + R"({"s":"BTCUSDT","b":[["1e5","1"]],"a":[],"u":5}})",
       DecodeError::kBadDecimal, "1e5"},
      {"level without size", book_head + R"({"s":"BTCUSDT","b":[["1"]],"a":[],"u":5}})",
       DecodeError::kMissingField, "price and a size"},
      {"delta without u", book_head + R"({"s":"BTCUSDT","b":[],"a":[]}})", DecodeError::kMissingField,
       "data.u"},
      {"delta with u 0", book_head + R"({"s":"BTCUSDT","b":[],"a":[],"u":0}})", DecodeError::kBadValue,
       "u = 0"},
      {"book without type", R"({"topic":"orderbook.50.BTCUSDT","ts":1,"data":{"b":[],"a":[],"u":3}})",
       DecodeError::kMissingField, "type"},
      {"book with odd type",
       R"({"topic":"orderbook.50.BTCUSDT","type":"full","ts":1,"data":{"b":[],"a":[],"u":3}})",
       DecodeError::kBadValue, "full"},
      {"missing data", R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1})",
       DecodeError::kMissingField, "data"},
      {"ts as string", R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":"1","data":[]})",
       DecodeError::kWrongType, "\"ts\""},
      {"negative ts", R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":-5,"data":[]})",
       DecodeError::kBadValue, "out of range"},
      {"trade data not an array", R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":{}})",
       DecodeError::kWrongType, "data"},
      {"trade without price",
       R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","i":"7"}]})",
       DecodeError::kMissingField, "\"p\""},
      {"trade with odd side",
       R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Hold","v":"1","p":"2","i":"7"}]})",
       DecodeError::kBadValue, "Hold"},
      {"ticker mark as number",
       R"({"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","markPrice":65117.43}})",
       DecodeError::kWrongType, "data.markPrice"},
      {"ticker next funding not a time",
       R"({"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","nextFundingTime":"soon"}})",
       DecodeError::kBadValue, "nextFundingTime"},
      {"success not a bool", R"({"success":"yes","op":"subscribe"})", DecodeError::kWrongType, "success"},
      {"unknown op", R"({"op":"dance"})", DecodeError::kUnknownMessage, "dance"},
  };
  Decoder decoder;
  for (const BadCase& c : cases) {
    CollectingSink sink;
    EXPECT_FALSE(testing::decode(decoder, c.frame, sink)) << c.name;
    EXPECT_EQ(decoder.last_error(), c.error)
        << c.name << ": " << to_string(decoder.last_error()) << " " << decoder.error_message();
    EXPECT_TRUE(sink.events.empty()) << c.name;
    EXPECT_FALSE(decoder.error_message().empty()) << c.name;
    EXPECT_NE(decoder.error_message().find(c.message_part), std::string_view::npos)
        << c.name << ": " << decoder.error_message();
  }
  // A good frame after errors decodes normally: no state leaks from a failed decode.
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("linear_orderbook200_snapshot_BTCUSDT.json"), sink));
  EXPECT_EQ(decoder.last_error(), DecodeError::kNone);
  EXPECT_TRUE(decoder.error_message().empty());
}

TEST(BybitDecoder, LimitsAreEnforced) {
  Decoder decoder(DecoderLimits{2, 1});
  CollectingSink sink;
  EXPECT_FALSE(testing::decode(decoder, fixture("linear_orderbook200_snapshot_BTCUSDT.json"), sink));
  EXPECT_EQ(decoder.last_error(), DecodeError::kTooManyLevels);
  EXPECT_FALSE(testing::decode(decoder, fixture("allLiquidation_nautilus.json"), sink));
  EXPECT_EQ(decoder.last_error(), DecodeError::kTooManyItems);
  EXPECT_TRUE(sink.events.empty());
  EXPECT_TRUE(testing::decode(decoder, fixture("allLiquidation_docs.json"), sink));
}

TEST(BybitDecoder, NoRestSnapshots) {
  Decoder decoder;
  CollectingSink sink;
  std::string body = "{}";
  body.append(engine::kFramePadding, '\0');
  EXPECT_FALSE(decoder.decode_rest_snapshot(std::string_view(body.data(), 2), "BTCUSDT", 1, sink));
  EXPECT_EQ(decoder.last_error(), DecodeError::kNoRestSnapshot);
  EXPECT_NE(decoder.error_message().find("WebSocket snapshot"), std::string_view::npos);
}

}  // namespace
}  // namespace sigflow::io::bybit
