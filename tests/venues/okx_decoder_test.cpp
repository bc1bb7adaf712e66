// The OKX decoder on every fixture of tests/fixtures/okx with exact values, and on broken input, which must
// give an error value (and the heartbeat text `pong`, which is not JSON and not an error).
#include "io/venues/okx/decoder.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/venues/okx_fixtures.hpp"

namespace sigflow::io::okx {
namespace {

using testing::CollectingSink;
using testing::fixture;
using testing::messages;
using testing::text;

class OkxDecoderTest : public ::testing::Test {
 protected:
  // Decodes `bytes` and expects success with exactly `count` events.
  const std::vector<testing::CopiedEvent>& decode_ok(std::string_view bytes, std::size_t count = 1) {
    sink_.events.clear();
    EXPECT_TRUE(testing::decode(decoder_, bytes, sink_)) << decoder_.error_message() << "\n" << bytes;
    EXPECT_EQ(sink_.events.size(), count) << bytes;
    return sink_.events;
  }

  // Decodes `bytes` and expects `error` with a message containing `fragment`.
  void decode_fails(std::string_view bytes, DecodeError error, std::string_view fragment) {
    sink_.events.clear();
    EXPECT_FALSE(testing::decode(decoder_, bytes, sink_)) << bytes;
    EXPECT_EQ(decoder_.last_error(), error)
        << to_string(decoder_.last_error()) << ": " << decoder_.error_message();
    EXPECT_NE(decoder_.error_message().find(fragment), std::string_view::npos)
        << decoder_.error_message() << " lacks " << fragment;
  }

  Decoder decoder_;
  CollectingSink sink_;
};

TEST_F(OkxDecoderTest, BooksSnapshotCaptureHasEveryLevelExactly) {
  const std::string frame = fixture("books_snapshot_UNI-USD-SWAP.json");
  const auto& events = decode_ok(frame);
  const auto& e = events.at(0);
  EXPECT_EQ(e.event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(e.symbol, "UNI-USD-SWAP");
  EXPECT_EQ(e.stream, "books:UNI-USD-SWAP");
  EXPECT_EQ(e.type_name, "books");
  EXPECT_EQ(e.event.exchange_ts_ns, 1652459225363LL * 1'000'000);
  EXPECT_EQ(e.event.event_ts_ns, 0);
  EXPECT_EQ(e.event.recv_ns, 42);
  EXPECT_EQ(e.event.snapshot.checksum, std::optional<std::int32_t>(555605283));
  EXPECT_EQ(e.event.snapshot.depth, 400);
  // The 2022 capture predates seqId.
  EXPECT_EQ(e.event.snapshot.last_update_id, kNoUpdateId);
  // Every level, compared with an independent parse of the same text.
  const auto json = nlohmann::json::parse(frame);
  const auto& data = json["data"][0];
  ASSERT_EQ(e.bids.size(), data["bids"].size());
  ASSERT_EQ(e.asks.size(), data["asks"].size());
  for (std::size_t i = 0; i < e.bids.size(); ++i) {
    EXPECT_EQ(text(e.bids[i].price), data["bids"][i][0].get<std::string>());
    EXPECT_EQ(text(e.bids[i].size), data["bids"][i][1].get<std::string>());
  }
  for (std::size_t i = 0; i < e.asks.size(); ++i) {
    EXPECT_EQ(text(e.asks[i].price), data["asks"][i][0].get<std::string>());
    EXPECT_EQ(text(e.asks[i].size), data["asks"][i][1].get<std::string>());
  }
  EXPECT_EQ(text(e.asks.front().price), "5.148");
  EXPECT_EQ(text(e.asks.front().size), "60");
  EXPECT_EQ(text(e.bids.back().price), "1.23");
}

TEST_F(OkxDecoderTest, BooksUpdateCaptureGivesDeltasWithChecksums) {
  const auto frames = messages(fixture("books_update_sequence_UNI-USD-SWAP.json"));
  ASSERT_EQ(frames.size(), 20u);
  const auto& first = decode_ok(frames[0]).at(0);
  EXPECT_EQ(first.event.kind, EventKind::kBookDelta);
  EXPECT_EQ(first.symbol, "UNI-USD-SWAP");
  EXPECT_EQ(first.event.exchange_ts_ns, 1652459225464LL * 1'000'000);
  EXPECT_EQ(first.event.delta.checksum, std::optional<std::int32_t>(1361161687));
  EXPECT_EQ(first.event.delta.first_update_id, kNoUpdateId);
  EXPECT_EQ(first.event.delta.prev_final_update_id, kNoUpdateId);
  ASSERT_EQ(first.asks.size(), 2u);
  ASSERT_EQ(first.bids.size(), 3u);
  EXPECT_EQ(text(first.asks[0].price), "5.158");
  EXPECT_EQ(text(first.asks[0].size), "129");
  EXPECT_EQ(text(first.bids[2].price), "5.117");
  EXPECT_TRUE(first.bids[2].size.is_zero());  // size 0 deletes the level
  for (const auto& f : frames) {
    const auto& e = decode_ok(f).at(0);
    EXPECT_EQ(e.event.kind, EventKind::kBookDelta);
    EXPECT_TRUE(e.event.delta.checksum.has_value());
  }
  EXPECT_EQ(sink_.events.at(0).event.delta.checksum, std::optional<std::int32_t>(-1108930323))
      << "the last frame's checksum";
}

TEST_F(OkxDecoderTest, BooksUpdateDocsCarriesTheSeqIdChain) {
  const auto& e = decode_ok(fixture("books_update_seqId_docs.json")).at(0);
  EXPECT_EQ(e.event.kind, EventKind::kBookDelta);
  EXPECT_EQ(e.symbol, "BTC-USDT");
  EXPECT_EQ(e.event.delta.first_update_id, 123457u);
  EXPECT_EQ(e.event.delta.final_update_id, 123457u);
  EXPECT_EQ(e.event.delta.prev_final_update_id, 123456u);
  EXPECT_EQ(e.event.delta.checksum, std::optional<std::int32_t>(-855196043));
  ASSERT_EQ(e.asks.size(), 8u);
  ASSERT_EQ(e.bids.size(), 8u);
  EXPECT_EQ(text(e.asks[1].price), "8477");
  EXPECT_EQ(text(e.bids[7].price), "8446");
  EXPECT_EQ(text(e.bids[7].size), "95");
  EXPECT_EQ(e.event.exchange_ts_ns, 1597026383085LL * 1'000'000);
}

TEST_F(OkxDecoderTest, ChecksumZeroMeansNoChecksumAndSnapshotPrevSeqIdIsNone) {
  // Since 2026-06-23 OKX sends checksum 0: "absent", never a failed check.
  const auto& snapshot = decode_ok(
      R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["64000.1","0.5","0","3"]],"bids":[["64000","1.25","0","7"]],"ts":"1786540435948","checksum":0,"prevSeqId":-1,"seqId":333793117432}]})");
  EXPECT_EQ(snapshot.at(0).event.kind, EventKind::kBookSnapshot);
  EXPECT_FALSE(snapshot.at(0).event.snapshot.checksum.has_value());
  EXPECT_EQ(snapshot.at(0).event.snapshot.last_update_id, 333793117432u);
  const auto& update = decode_ok(
      R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["64000","0","0","0"]],"ts":"1786540436048","checksum":0,"prevSeqId":333793117432,"seqId":333793117501}]})");
  EXPECT_EQ(update.at(0).event.kind, EventKind::kBookDelta);
  EXPECT_FALSE(update.at(0).event.delta.checksum.has_value());
  EXPECT_EQ(update.at(0).event.delta.prev_final_update_id, 333793117432u);
  EXPECT_EQ(update.at(0).event.delta.final_update_id, 333793117501u);
  EXPECT_TRUE(update.at(0).asks.empty());
}

TEST_F(OkxDecoderTest, KeyOrderIsNotAssumed) {
  // data before action and arg: the decoder rewinds once and still reads it as an update.
  const auto& e = decode_ok(
      R"({"data":[{"seqId":11,"ts":"1700000000000","bids":[["1.5","2","0","1"]],"prevSeqId":4,"asks":[]}],"action":"update","arg":{"instId":"ETH-USDT","channel":"books"}})");
  EXPECT_EQ(e.at(0).event.kind, EventKind::kBookDelta);
  EXPECT_EQ(e.at(0).symbol, "ETH-USDT");
  EXPECT_EQ(e.at(0).event.delta.prev_final_update_id, 4u);
  EXPECT_EQ(e.at(0).event.delta.final_update_id, 11u);
  ASSERT_EQ(e.at(0).bids.size(), 1u);
  EXPECT_EQ(text(e.at(0).bids[0].price), "1.5");
}

TEST_F(OkxDecoderTest, Books5IsAFullTopFiveSnapshot) {
  const auto& e = decode_ok(
      R"({"arg":{"channel":"books5","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["63913.5","120","0","9"],["63913.6","3","0","1"]],"bids":[["63913.4","44","0","5"]],"instId":"BTC-USDT-SWAP","ts":"1786540435950","seqId":333793117500}]})");
  EXPECT_EQ(e.at(0).event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(e.at(0).event.snapshot.depth, 5);
  EXPECT_EQ(e.at(0).event.snapshot.last_update_id, 333793117500u);
  EXPECT_EQ(e.at(0).stream, "books5:BTC-USDT-SWAP");
  EXPECT_EQ(e.at(0).asks.size(), 2u);
}

TEST_F(OkxDecoderTest, BboTbtIsBestBidAsk) {
  const auto& e = decode_ok(fixture("bbo_tbt_docs.json")).at(0);
  EXPECT_EQ(e.event.kind, EventKind::kBestBidAsk);
  EXPECT_EQ(e.symbol, "BTC-USDT");
  EXPECT_EQ(text(e.event.best_bid_ask.bid_price), "8476.97");
  EXPECT_EQ(text(e.event.best_bid_ask.bid_size), "256");
  EXPECT_EQ(text(e.event.best_bid_ask.ask_price), "8476.98");
  EXPECT_EQ(text(e.event.best_bid_ask.ask_size), "415");
  EXPECT_EQ(e.event.best_bid_ask.update_id, 123456u);
  EXPECT_EQ(e.event.exchange_ts_ns, 1597026383085LL * 1'000'000);
}

TEST_F(OkxDecoderTest, Trades2022) {
  const auto frames = messages(fixture("trades_2022.json"));
  ASSERT_EQ(frames.size(), 3u);
  const auto& a = decode_ok(frames[0]).at(0);
  EXPECT_EQ(a.event.kind, EventKind::kTrade);
  EXPECT_EQ(a.symbol, "BTC-USD-220527");
  EXPECT_EQ(a.stream, "trades:BTC-USD-220527");
  EXPECT_EQ(a.event.trade.trade_id, 7849u);
  EXPECT_EQ(text(a.event.trade.price), "30218.8");
  EXPECT_EQ(text(a.event.trade.size), "1");
  EXPECT_EQ(a.event.trade.aggressor, Side::kBuy);
  EXPECT_EQ(a.event.exchange_ts_ns, 1652459199958LL * 1'000'000);
  const auto& b = decode_ok(frames[1]).at(0);
  EXPECT_EQ(b.symbol, "UNI-USD-SWAP");
  EXPECT_EQ(b.event.trade.trade_id, 12883020u);
  EXPECT_EQ(b.event.trade.aggressor, Side::kSell);
  EXPECT_EQ(text(b.event.trade.price), "5.123");
  const auto& c = decode_ok(frames[2]).at(0);
  EXPECT_EQ(text(c.event.trade.size), "0.0002");
  EXPECT_EQ(c.event.trade.trade_id, 338476307u);
}

TEST_F(OkxDecoderTest, Trades2026WithSeqIdAndCount) {
  const auto frames = messages(fixture("trades_2026_with_seqId.json"));
  ASSERT_EQ(frames.size(), 2u);
  const auto& a = decode_ok(frames[0]).at(0);
  EXPECT_EQ(a.event.trade.trade_id, 2832749635u);
  EXPECT_EQ(text(a.event.trade.price), "63913.5");
  EXPECT_EQ(a.event.trade.aggressor, Side::kBuy);
  EXPECT_EQ(a.event.exchange_ts_ns, 1786540435948LL * 1'000'000);
  const auto& b = decode_ok(frames[1]).at(0);
  EXPECT_EQ(text(b.event.trade.size), "34.95");
  EXPECT_EQ(b.event.trade.aggressor, Side::kSell);
}

TEST_F(OkxDecoderTest, OneTradeEventPerDataElement) {
  const auto& e = decode_ok(
      R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1.1","sz":"2","side":"buy","ts":"1"},{"instId":"BTC-USDT","tradeId":"2","px":"1.2","sz":"3","side":"sell","ts":"2"}]})",
      2);
  EXPECT_EQ(e[0].event.trade.trade_id, 1u);
  EXPECT_EQ(e[1].event.trade.trade_id, 2u);
  EXPECT_EQ(text(e[1].event.trade.price), "1.2");
}

TEST_F(OkxDecoderTest, Tickers2022) {
  const auto frames = messages(fixture("tickers_2022.json"));
  ASSERT_EQ(frames.size(), 3u);
  const auto& a = decode_ok(frames[0]).at(0);
  EXPECT_EQ(a.event.kind, EventKind::kBestBidAsk);
  EXPECT_EQ(a.symbol, "BTC-USD-220527");
  EXPECT_EQ(text(a.event.best_bid_ask.bid_price), "30210.4");
  EXPECT_EQ(text(a.event.best_bid_ask.bid_size), "4");
  EXPECT_EQ(text(a.event.best_bid_ask.ask_price), "30220.1");
  EXPECT_EQ(text(a.event.best_bid_ask.ask_size), "3");
  EXPECT_EQ(a.event.exchange_ts_ns, 1652459223003LL * 1'000'000);
  const auto& c = decode_ok(frames[2]).at(0);
  EXPECT_EQ(text(c.event.best_bid_ask.ask_size), "1.55896972");
  EXPECT_EQ(text(c.event.best_bid_ask.bid_size), "0.23393");
}

TEST_F(OkxDecoderTest, FundingRate) {
  const auto& e = decode_ok(fixture("funding_rate_docs.json")).at(0);
  EXPECT_EQ(e.event.kind, EventKind::kMarkFunding);
  EXPECT_EQ(e.symbol, "BTC-USDT-SWAP");
  EXPECT_EQ(text(e.event.mark_funding.funding_rate), "0.0001");
  EXPECT_EQ(e.event.mark_funding.next_funding_ts_ns, 1744590349506LL * 1'000'000);
  EXPECT_FALSE(e.event.mark_funding.mark_price.has_value());
  EXPECT_EQ(e.event.exchange_ts_ns, 1744590349506LL * 1'000'000);
}

TEST_F(OkxDecoderTest, MarkPriceAndIndexTickers) {
  const auto& m = decode_ok(
      R"({"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"63912.7","ts":"1786540436000"}]})");
  EXPECT_EQ(m.at(0).event.kind, EventKind::kMarkFunding);
  EXPECT_EQ(text(m.at(0).event.mark_funding.mark_price), "63912.7");
  EXPECT_FALSE(m.at(0).event.mark_funding.funding_rate.has_value());
  EXPECT_EQ(m.at(0).event.exchange_ts_ns, 1786540436000LL * 1'000'000);
  const auto& i = decode_ok(
      R"({"arg":{"channel":"index-tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","idxPx":"63910.2","high24h":"1","low24h":"1","open24h":"1","sodUtc0":"1","sodUtc8":"1","ts":"1786540436001"}]})");
  EXPECT_EQ(text(i.at(0).event.mark_funding.index_price), "63910.2");
  EXPECT_FALSE(i.at(0).event.mark_funding.mark_price.has_value());
}

TEST_F(OkxDecoderTest, LiquidationOrders) {
  const auto& e = decode_ok(fixture("liquidation_orders_docs.json")).at(0);
  EXPECT_EQ(e.event.kind, EventKind::kLiquidation);
  EXPECT_EQ(e.symbol, "IOST-USDT-SWAP");
  EXPECT_EQ(e.stream, "liquidation-orders:SWAP");
  EXPECT_EQ(e.event.liquidation.side, Side::kBuy);
  EXPECT_EQ(text(e.event.liquidation.price), "0.007831");
  EXPECT_EQ(text(e.event.liquidation.quantity), "13");
  EXPECT_EQ(e.event.exchange_ts_ns, 1692266434010LL * 1'000'000);
  // Two details, instId after details: two events, both on that instrument.
  decode_ok(
      R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"side":"sell","sz":"1","bkPx":"2.5","ts":"1"},{"side":"buy","sz":"3","bkPx":"2.6","ts":"2"}],"instId":"ETH-USDT-SWAP"}]})",
      2);
  EXPECT_EQ(sink_.events[0].symbol, "ETH-USDT-SWAP");
  EXPECT_EQ(sink_.events[1].symbol, "ETH-USDT-SWAP");
  EXPECT_EQ(sink_.events[0].event.liquidation.side, Side::kSell);
  EXPECT_EQ(text(sink_.events[1].event.liquidation.price), "2.6");
}

TEST_F(OkxDecoderTest, SubscribeAcks) {
  for (const auto& frame : messages(fixture("subscribe_ack_events.json"))) {
    const auto& e = decode_ok(frame).at(0);
    EXPECT_EQ(e.event.kind, EventKind::kSubscribeAck);
    EXPECT_EQ(e.event.ack.request_id, -1);
    EXPECT_TRUE(e.stream.starts_with("tickers:")) << e.stream;
  }
  const auto& e = decode_ok(fixture("subscribe_ack_2026_connId.json")).at(0);
  EXPECT_EQ(e.event.kind, EventKind::kSubscribeAck);
  EXPECT_EQ(e.symbol, "BTC-USDT-SWAP");
  EXPECT_EQ(e.stream, "trades:BTC-USDT-SWAP");
  EXPECT_EQ(e.type_name, "subscribe");
  const auto& with_id = decode_ok(
      R"({"id":"17","event":"unsubscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"})");
  EXPECT_EQ(with_id.at(0).event.ack.request_id, 17);
  EXPECT_EQ(with_id.at(0).type_name, "unsubscribe");
}

TEST_F(OkxDecoderTest, ErrorAndNoticeEvents) {
  const auto& e = decode_ok(
      R"({"event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\", \"argss\":[]}","connId":"a4d3ae55"})");
  EXPECT_EQ(e.at(0).event.kind, EventKind::kVenueError);
  EXPECT_EQ(e.at(0).event.error.code, 60012);
  EXPECT_EQ(e.at(0).message, R"(Invalid request: {"op": "subscribe", "argss":[]})");
  const auto& n = decode_ok(
      R"({"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"})");
  EXPECT_EQ(n.at(0).event.kind, EventKind::kVenueError);
  EXPECT_EQ(n.at(0).event.error.code, 64008);
  EXPECT_EQ(n.at(0).type_name, "notice");
  const auto& rest = decode_ok(fixture("rest_error_50011_rate_limit.json"));
  EXPECT_EQ(rest.at(0).event.kind, EventKind::kVenueError);
  EXPECT_EQ(rest.at(0).event.error.code, 50011);
  EXPECT_EQ(rest.at(0).message, "Too Many Requests");
}

TEST_F(OkxDecoderTest, PongIsIgnoredNotAnError) {
  const auto& e = decode_ok("pong");
  EXPECT_EQ(e.at(0).event.kind, EventKind::kIgnored);
  EXPECT_EQ(e.at(0).type_name, "pong");
  decode_fails("pong!", DecodeError::kInvalidJson, "not valid JSON");
  decode_fails("ping", DecodeError::kInvalidJson, "not valid JSON");
}

TEST_F(OkxDecoderTest, UnusedChannelsAreIgnored) {
  const auto& e = decode_ok(
      R"({"arg":{"channel":"open-interest","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","oi":"5000","oiCcy":"50","ts":"1"}]})");
  EXPECT_EQ(e.at(0).event.kind, EventKind::kIgnored);
  EXPECT_EQ(e.at(0).type_name, "open-interest");
}

TEST_F(OkxDecoderTest, BrokenInputGivesErrorValues) {
  decode_fails("", DecodeError::kEmptyFrame, "empty");
  decode_fails(R"({"arg":{"channel":"trades","instId":"X"},"data":[{"px":"1")", DecodeError::kInvalidJson,
               "");
  decode_fails("[1,2]", DecodeError::kNotAnObject, "not an object");
  decode_fails("42", DecodeError::kNotAnObject, "not an object");
  decode_fails("nope", DecodeError::kInvalidJson, "not valid JSON");
  decode_fails(R"({"hello":1})", DecodeError::kUnknownMessage, "no \"event\"");
  decode_fails(R"({"arg":{"channel":"books","instId":"X"},"data":[]})", DecodeError::kMissingField, "action");
  decode_fails(R"({"arg":{"channel":"books","instId":"X"},"action":"merge","data":[]})",
               DecodeError::kWrongType, "action");
  decode_fails(R"({"arg":{"channel":"nope","instId":"X"},"data":[{}]})", DecodeError::kUnknownChannel,
               "nope");
  decode_fails(R"({"arg":{"channel":"trades"},"data":[{}]})", DecodeError::kMissingField, "arg.instId");
  decode_fails(R"({"arg":{"channel":"trades","instId":"X"}})", DecodeError::kMissingField, "data");
  decode_fails(R"({"arg":"trades","data":[]})", DecodeError::kWrongType, "arg");
  decode_fails(R"({"event":"subscribed"})", DecodeError::kUnknownEvent, "subscribed");
  decode_fails(R"({"event":"error","msg":"x"})", DecodeError::kMissingField, "code");
  decode_fails(R"({"event":"error","code":"60x12","msg":"x"})", DecodeError::kBadInteger, "60x12");
  // Wrong types and missing fields, per channel.
  const std::string trade_head = R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[)";
  decode_fails(trade_head + R"({"tradeId":"1","px":30236,"sz":"1","side":"buy","ts":"1"}]})",
               DecodeError::kWrongType, "\"px\"");
  decode_fails(trade_head + R"({"tradeId":"1","px":"3e4","sz":"1","side":"buy","ts":"1"}]})",
               DecodeError::kBadDecimal, "\"px\"");
  decode_fails(trade_head + R"({"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]})",
               DecodeError::kWrongType, "side");
  decode_fails(trade_head + R"({"tradeId":"1","px":"1","sz":"1","side":"buy"}]})", DecodeError::kMissingField,
               "\"ts\"");
  decode_fails(trade_head + R"({"tradeId":"abc","px":"1","sz":"1","side":"buy","ts":"1"}]})",
               DecodeError::kBadInteger, "tradeId");
  decode_fails(trade_head + R"({"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"99999999999999999"}]})",
               DecodeError::kBadInteger, "timestamp out of range");
  decode_fails(trade_head + R"(1]})", DecodeError::kWrongType, "array of objects");
  const std::string book_head =
      R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[)";
  decode_fails(book_head + R"({"asks":[["1"]],"bids":[],"ts":"1"}]})", DecodeError::kMissingField, "size");
  decode_fails(book_head + R"({"asks":["1","2"],"bids":[],"ts":"1"}]})", DecodeError::kWrongType, "levels");
  decode_fails(book_head + R"({"asks":[],"ts":"1"}]})", DecodeError::kMissingField, "\"bids\"");
  decode_fails(book_head + R"({"asks":[],"bids":[],"ts":"1","checksum":"abc"}]})", DecodeError::kBadInteger,
               "checksum");
  decode_fails(book_head + R"({"asks":[],"bids":[],"ts":"1","checksum":4294967295}]})",
               DecodeError::kBadInteger, "32-bit");
  decode_fails(book_head + R"({"asks":[],"bids":[],"ts":"1","seqId":true}]})", DecodeError::kWrongType,
               "seqId");
  decode_fails(
      R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"bidPx":"","bidSz":"1","askPx":"2","askSz":"1","ts":"1"}]})",
      DecodeError::kBadDecimal, "bidPx");
  decode_fails(R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"X"}]})",
               DecodeError::kMissingField, "details");
}

TEST_F(OkxDecoderTest, TooManyLevelsIsAnErrorNotAnOverflow) {
  Decoder small(DecoderLimits{.max_levels_per_side = 2});
  CollectingSink sink;
  EXPECT_FALSE(testing::decode(
      small,
      R"({"arg":{"channel":"books","instId":"X"},"action":"snapshot","data":[{"asks":[["1","1"],["2","1"],["3","1"]],"bids":[],"ts":"1"}]})",
      sink));
  EXPECT_EQ(small.last_error(), DecodeError::kTooManyLevels);
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(OkxDecoderTest, NoRestSnapshots) {
  CollectingSink sink;
  const testing::PaddedFrame body(R"({"code":"0","data":[]})");
  EXPECT_FALSE(decoder_.decode_rest_snapshot(body.padded(), "BTC-USDT", 1, sink));
  EXPECT_NE(decoder_.error_message().find("WebSocket snapshots"), std::string_view::npos);
}

}  // namespace
}  // namespace sigflow::io::okx
