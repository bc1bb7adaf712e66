// The Binance decoder on real messages: every fixture of tests/fixtures/binance and every received frame of
// the USD-M capture, with exact field values; and on broken input, which must give an error value.
#include "io/venues/binance/decoder.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/venues/binance/streams.hpp"
#include "tests/venues/fixture_messages.hpp"

namespace sigflow::io::binance {
namespace {

std::string fixture(const std::string& name) {
  return io::testing::venue_fixture("binance", name);
}

using io::testing::messages;
using io::testing::read_file;

// Frames reach the decoder padded, as the FrameRing delivers them.
class PaddedFrame {
 public:
  explicit PaddedFrame(std::string_view bytes) : storage_(bytes), length_(bytes.size()) {
    storage_.append(engine::kFramePadding, '\0');
  }
  engine::FrameView view(std::int64_t recv_ns = 0) const {
    return {1, recv_ns, std::string_view(storage_.data(), length_)};
  }

 private:
  std::string storage_;
  std::size_t length_;
};

std::string text(Decimal d) {
  char buffer[Decimal::kMaxChars];
  char* end = d.format(buffer, buffer + sizeof buffer);
  return end ? std::string(buffer, end) : std::string("<unformattable>");
}

class BinanceDecoderTest : public ::testing::Test {
 protected:
  DecodeError decode(std::string_view bytes, std::string_view stream_hint = {}, std::int64_t recv_ns = 7) {
    frame_ = std::make_unique<PaddedFrame>(bytes);
    return decoder_.decode(frame_->view(recv_ns), stream_hint, event_);
  }

  Decoder decoder_;
  MarketEvent event_;
  std::unique_ptr<PaddedFrame> frame_;
};

TEST_F(BinanceDecoderTest, AggTradeCombined) {
  const auto msgs = messages(fixture("futures_aggTrade_combined.json"));
  ASSERT_EQ(msgs.size(), 2u);
  ASSERT_EQ(decode(msgs[0]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kTrade);
  EXPECT_EQ(event_.symbol, "CTKUSDT");
  EXPECT_EQ(event_.stream, "ctkusdt@aggTrade");
  EXPECT_EQ(text(event_.trade.price), "1.01100");
  EXPECT_EQ(text(event_.trade.size), "10");
  EXPECT_EQ(event_.trade.aggressor, Side::kBuy);  // m=false: the buyer was the taker
  EXPECT_EQ(event_.trade.trade_id, 16599292u);
  EXPECT_EQ(event_.trade.first_trade_id, 23961322u);
  EXPECT_EQ(event_.trade.last_trade_id, 23961322u);
  EXPECT_EQ(event_.exchange_ts_ns, 1626992741421LL * 1'000'000);  // T, the matching time
  EXPECT_EQ(event_.event_ts_ns, 1626992741575LL * 1'000'000);     // E
  EXPECT_EQ(event_.recv_ns, 7);

  ASSERT_EQ(decode(msgs[1]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.symbol, "AKROUSDT");
  EXPECT_EQ(text(event_.trade.price), "0.01731");
  EXPECT_EQ(text(event_.trade.size), "312");
  EXPECT_EQ(event_.trade.aggressor, Side::kSell);  // m=true: the buyer was the maker
}

TEST_F(BinanceDecoderTest, SpotAggTradeCombined) {
  const auto msgs = messages(fixture("spot_aggTrade_combined.json"));
  ASSERT_EQ(msgs.size(), 2u);
  ASSERT_EQ(decode(msgs[1]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kTrade);
  EXPECT_EQ(event_.symbol, "LRCBTC");
  EXPECT_EQ(text(event_.trade.price), "0.00000638");
  EXPECT_EQ(text(event_.trade.size), "177.00000000");
  EXPECT_EQ(event_.trade.trade_id, 9213679u);
}

TEST_F(BinanceDecoderTest, BookTickerCombined) {
  const auto msgs = messages(fixture("futures_bookTicker_combined.json"));
  ASSERT_EQ(msgs.size(), 3u);
  ASSERT_EQ(decode(msgs[2]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBestBidAsk);
  EXPECT_EQ(event_.symbol, "CTKUSDT");
  EXPECT_EQ(text(event_.best_bid_ask.bid_price), "1.01000");
  EXPECT_EQ(text(event_.best_bid_ask.bid_size), "85782");
  EXPECT_EQ(text(event_.best_bid_ask.ask_price), "1.01100");
  EXPECT_EQ(text(event_.best_bid_ask.ask_size), "6483");
  EXPECT_EQ(event_.best_bid_ask.update_id, 600859609004u);
  EXPECT_EQ(event_.exchange_ts_ns, 1626992741421LL * 1'000'000);
  EXPECT_EQ(event_.event_ts_ns, 1626992741429LL * 1'000'000);
}

TEST_F(BinanceDecoderTest, SpotBookTickerHasNoEventTypeOrTimes) {
  const auto msgs = messages(fixture("spot_bookTicker_combined.json"));
  ASSERT_EQ(msgs.size(), 3u);
  ASSERT_EQ(decode(msgs[1]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBestBidAsk);
  EXPECT_EQ(event_.symbol, "NKNUSDT");
  EXPECT_EQ(text(event_.best_bid_ask.ask_price), "0.35250000");
  EXPECT_EQ(text(event_.best_bid_ask.ask_size), "1123.00000000");
  EXPECT_EQ(event_.best_bid_ask.update_id, 499869769u);
  EXPECT_EQ(event_.exchange_ts_ns, 0);
}

TEST_F(BinanceDecoderTest, DiffDepthChainsOnPu) {
  const auto msgs = messages(fixture("futures_depthUpdate_100ms_pu_chain.json"));
  ASSERT_EQ(msgs.size(), 8u);
  ASSERT_EQ(decode(msgs[0]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookDelta);
  EXPECT_EQ(event_.symbol, "SUSHIUSDT");
  EXPECT_EQ(event_.delta.first_update_id, 600859599090u);
  EXPECT_EQ(event_.delta.final_update_id, 600859600917u);
  EXPECT_EQ(event_.delta.prev_final_update_id, 600859598061u);
  ASSERT_EQ(event_.delta.bids.size(), 3u);
  EXPECT_EQ(text(event_.delta.bids[1].price), "7.6090");
  EXPECT_EQ(text(event_.delta.bids[1].size), "0");
  EXPECT_TRUE(event_.delta.bids[1].size.is_zero());
  ASSERT_EQ(event_.delta.asks.size(), 2u);
  EXPECT_EQ(text(event_.delta.asks[1].price), "7.6220");
  EXPECT_EQ(text(event_.delta.asks[1].size), "3284");
  EXPECT_EQ(event_.exchange_ts_ns, 1626992741024LL * 1'000'000);

  std::uint64_t previous_final = event_.delta.final_update_id;
  for (std::size_t i = 1; i < msgs.size(); ++i) {
    ASSERT_EQ(decode(msgs[i]), DecodeError::kNone) << decoder_.error_message();
    EXPECT_EQ(event_.delta.prev_final_update_id, previous_final) << i;
    previous_final = event_.delta.final_update_id;
  }
  EXPECT_EQ(previous_final, 600859615762u);
  ASSERT_EQ(event_.delta.bids.size(), 5u);
  EXPECT_EQ(text(event_.delta.bids[4].price), "7.6080");
  EXPECT_EQ(text(event_.delta.asks[3].size), "4205");
}

TEST_F(BinanceDecoderTest, KeepUsdtSyncSequenceAndRestSnapshot) {
  const auto msgs = messages(fixture("futures_depthUpdate_KEEPUSDT_sync_sequence.json"));
  ASSERT_EQ(msgs.size(), 7u);
  ASSERT_EQ(decode(msgs[1]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_TRUE(event_.delta.bids.empty());  // "b":[]
  ASSERT_EQ(event_.delta.asks.size(), 1u);
  EXPECT_EQ(text(event_.delta.asks[0].size), "812");
  ASSERT_EQ(decode(msgs[3]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.delta.first_update_id, 600859618057u);
  EXPECT_EQ(event_.delta.final_update_id, 600859619434u);

  const std::string body = fixture("futures_rest_depth_snapshot_KEEPUSDT.json");
  ASSERT_EQ(decoder_.decode_rest_depth(body, "KEEPUSDT", 99, event_), DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(event_.symbol, "KEEPUSDT");
  EXPECT_EQ(event_.snapshot.last_update_id, 600859619434u);
  EXPECT_EQ(event_.snapshot.depth, 0);
  ASSERT_EQ(event_.snapshot.bids.size(), 400u);
  ASSERT_EQ(event_.snapshot.asks.size(), 612u);
  EXPECT_EQ(text(event_.snapshot.bids[0].price), "0.2463");
  EXPECT_EQ(text(event_.snapshot.bids[0].size), "631");
  EXPECT_EQ(text(event_.snapshot.bids[399].price), "0.0040");
  EXPECT_EQ(text(event_.snapshot.bids[399].size), "489818");
  EXPECT_EQ(text(event_.snapshot.asks[0].price), "0.2464");
  EXPECT_EQ(text(event_.snapshot.asks[611].price), "12.6806");
  EXPECT_EQ(event_.exchange_ts_ns, 1626992742012LL * 1'000'000);
  EXPECT_EQ(event_.recv_ns, 99);
}

TEST_F(BinanceDecoderTest, SpotRestSnapshotAndDiffs) {
  const std::string body = fixture("spot_rest_depth_snapshot_RUNEEUR.json");
  ASSERT_EQ(decoder_.decode_rest_depth(body, "RUNEEUR", 0, event_), DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.snapshot.last_update_id, 15602511u);
  ASSERT_EQ(event_.snapshot.bids.size(), 221u);
  ASSERT_EQ(event_.snapshot.asks.size(), 468u);
  EXPECT_EQ(text(event_.snapshot.bids[0].price), "6.25100000");
  EXPECT_EQ(text(event_.snapshot.asks[467].price), "45.00000000");
  EXPECT_EQ(text(event_.snapshot.asks[467].size), "9.30000000");

  const auto msgs = messages(fixture("spot_depthUpdate_RUNEEUR_after_snapshot.json"));
  ASSERT_EQ(msgs.size(), 2u);
  ASSERT_EQ(decode(msgs[1]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookDelta);
  EXPECT_EQ(event_.delta.first_update_id, 15602512u);
  EXPECT_EQ(event_.delta.final_update_id, 15602513u);
  EXPECT_EQ(event_.delta.prev_final_update_id, kNoUpdateId);  // spot diffs carry no `pu`
  ASSERT_EQ(event_.delta.bids.size(), 2u);
  EXPECT_EQ(text(event_.delta.bids[1].size), "414.30000000");
}

TEST_F(BinanceDecoderTest, PartialDepthIsASnapshotOnlyByItsStreamName) {
  // A USD-M depth20 frame has exactly a diff's fields; the stream name decides.
  const std::string data =
      R"({"e":"depthUpdate","E":1700000000100,"T":1700000000090,"s":"BTCUSDT","U":10,"u":20,"pu":9,)"
      R"("b":[["37000.10","1.500"],["37000.00","0.004"]],"a":[["37000.20","2.000"]]})";
  ASSERT_EQ(decode(R"({"stream":"btcusdt@depth20@100ms","data":)" + data + "}"), DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(event_.snapshot.depth, 20);
  EXPECT_EQ(event_.snapshot.last_update_id, 20u);
  ASSERT_EQ(event_.snapshot.bids.size(), 2u);
  EXPECT_EQ(text(event_.snapshot.bids[0].price), "37000.10");

  // Raw connection: the stream comes from the connection.
  ASSERT_EQ(decode(data, "btcusdt@depth20@100ms"), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookSnapshot);
  ASSERT_EQ(decode(data, "btcusdt@depth@100ms"), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookDelta);
  EXPECT_EQ(event_.delta.prev_final_update_id, 9u);

  // Without a stream name the two cannot be told apart: an error, not a guess.
  EXPECT_EQ(decode(data), DecodeError::kMissingStream);
  EXPECT_EQ(event_.kind, EventKind::kNone);

  // Nor with a depth no venue streams: a number past any partial depth is neither, and no overflow either
  // (the fuzzer's find, a run of digits after "@depth").
  EXPECT_EQ(decode(data, "btcusdt@depth5001@100ms"), DecodeError::kMissingStream);
  EXPECT_EQ(decode(data, "btcusdt@depth99999999999999999999999@100ms"), DecodeError::kMissingStream);
  EXPECT_EQ(event_.kind, EventKind::kNone);
}

TEST_F(BinanceDecoderTest, DataBeforeStreamAndShuffledKeys) {
  ASSERT_EQ(decode(R"({"data":{"a":[["2.0","1"]],"u":5,"b":[],"U":4,"s":"XUSDT","e":"depthUpdate"},)"
                   R"("stream":"xusdt@depth5"})"),
            DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(event_.snapshot.depth, 5);
  ASSERT_EQ(decode(R"({"m":true,"q":"3","p":"1.5","T":2,"a":77,"s":"XUSDT","e":"aggTrade"})"),
            DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kTrade);
  EXPECT_EQ(event_.trade.trade_id, 77u);
  EXPECT_EQ(event_.trade.aggressor, Side::kSell);
  EXPECT_EQ(event_.exchange_ts_ns, 2'000'000);
}

TEST_F(BinanceDecoderTest, MarkPriceUpdate) {
  ASSERT_EQ(decode(fixture("futures_markPriceUpdate.json")), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kMarkFunding);
  EXPECT_EQ(event_.symbol, "BTCUSDT");
  ASSERT_TRUE(event_.mark_funding.mark_price);
  EXPECT_EQ(text(*event_.mark_funding.mark_price), "11794.15000000");
  ASSERT_TRUE(event_.mark_funding.index_price);
  EXPECT_EQ(text(*event_.mark_funding.index_price), "11784.62659091");
  ASSERT_TRUE(event_.mark_funding.estimated_settle_price);
  EXPECT_EQ(text(*event_.mark_funding.estimated_settle_price), "11784.25641265");
  ASSERT_TRUE(event_.mark_funding.funding_rate);
  EXPECT_EQ(text(*event_.mark_funding.funding_rate), "0.00038167");
  EXPECT_EQ(event_.mark_funding.next_funding_ts_ns, 1562306400000LL * 1'000'000);
  EXPECT_EQ(event_.exchange_ts_ns, 1562305380000LL * 1'000'000);  // E: markPrice's T is not a matching time

  // Delivery contracts send an empty funding rate: absent, not an error.
  ASSERT_EQ(decode(R"({"e":"markPriceUpdate","E":1,"s":"BTCUSDT_231229","p":"1.0","i":"1.0","r":"","T":0})"),
            DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_FALSE(event_.mark_funding.funding_rate);
}

TEST_F(BinanceDecoderTest, ForceOrder) {
  ASSERT_EQ(decode(fixture("futures_forceOrder_liquidation.json")), DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kLiquidation);
  EXPECT_EQ(event_.symbol, "BTCUSDT");
  EXPECT_EQ(event_.liquidation.side, Side::kSell);
  EXPECT_EQ(text(event_.liquidation.price), "9910.00000000");
  ASSERT_TRUE(event_.liquidation.average_price);
  EXPECT_EQ(text(*event_.liquidation.average_price), "9910.12345678");
  EXPECT_EQ(text(event_.liquidation.quantity), "0.014");
  ASSERT_TRUE(event_.liquidation.filled_quantity);
  EXPECT_EQ(text(*event_.liquidation.filled_quantity), "0.014");
  EXPECT_EQ(event_.liquidation.status, "FILLED");
  EXPECT_EQ(event_.exchange_ts_ns, 1568014460893LL * 1'000'000);
}

TEST_F(BinanceDecoderTest, ControlReplies) {
  ASSERT_EQ(decode(fixture("ws_subscribe_response.json")), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kSubscribeAck);
  EXPECT_EQ(event_.ack.request_id, 1);

  const auto errors = messages(fixture("ws_error_replies.json"));
  ASSERT_EQ(errors.size(), 3u);
  ASSERT_EQ(decode(errors[0]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kVenueError);
  EXPECT_EQ(event_.error.code, 1);
  EXPECT_EQ(event_.error.message, "Invalid value type: expected Boolean");
  ASSERT_EQ(decode(errors[2]), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.error.code, 2);
  EXPECT_EQ(event_.error.message, "Invalid request: property name must be a string");

  ASSERT_EQ(decode(fixture("rest_418_ip_ban_-1003.json")), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kVenueError);
  EXPECT_EQ(event_.error.code, -1003);
  EXPECT_TRUE(event_.error.message.starts_with("Way too much request weight used;"));

  ASSERT_EQ(decode(R"({"error":{"code":2,"msg":"Invalid request: \"x\""},"id":4})"), DecodeError::kNone)
      << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kVenueError);
  EXPECT_EQ(event_.error.message, R"(Invalid request: "x")");
}

TEST_F(BinanceDecoderTest, SubscribeRequestFixtureIsNotAnAck) {
  // The client's own request (as captures record it) carries an "id" too; it must not pass as an ack.
  EXPECT_EQ(decode(fixture("ws_subscribe_request.json")), DecodeError::kNone) << decoder_.error_message();
  EXPECT_EQ(event_.kind, EventKind::kIgnored);
  EXPECT_EQ(event_.type_name, "SUBSCRIBE");
}

TEST_F(BinanceDecoderTest, EveryCapturedFrameDecodes) {
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/captures/BINANCE_FUTURES.jsonl");
  ASSERT_TRUE(in);
  std::string line;
  std::size_t frames = 0, trades = 0, tickers = 0, deltas = 0, ignored = 0, rest = 0;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    const std::string kind = record["t"];
    if (kind == "http" && record["url"].get<std::string>().find("/depth?") != std::string::npos) {
      ASSERT_EQ(decoder_.decode_rest_depth(record["data"].get<std::string>(), "X", 0, event_),
                DecodeError::kNone)
          << decoder_.error_message();
      EXPECT_GT(event_.snapshot.bids.size(), 100u);
      ++rest;
      continue;
    }
    if (kind != "recv") continue;
    ++frames;
    const std::string data = record["data"];
    ASSERT_EQ(decode(data), DecodeError::kNone) << decoder_.error_message() << "\n" << data;
    const auto expected = nlohmann::json::parse(data);
    const auto& payload = expected["data"];
    EXPECT_EQ(event_.symbol, payload["s"].get<std::string>());
    EXPECT_EQ(event_.event_ts_ns, payload["E"].get<std::int64_t>() * 1'000'000);
    switch (event_.kind) {
      case EventKind::kTrade:
        ++trades;
        EXPECT_EQ(text(event_.trade.price), payload["p"].get<std::string>());
        EXPECT_EQ(text(event_.trade.size), payload["q"].get<std::string>());
        break;
      case EventKind::kBestBidAsk:
        ++tickers;
        EXPECT_EQ(text(event_.best_bid_ask.bid_price), payload["b"].get<std::string>());
        EXPECT_EQ(text(event_.best_bid_ask.ask_size), payload["A"].get<std::string>());
        break;
      case EventKind::kBookDelta: {
        ++deltas;
        ASSERT_EQ(event_.delta.bids.size(), payload["b"].size());
        ASSERT_EQ(event_.delta.asks.size(), payload["a"].size());
        for (std::size_t i = 0; i < event_.delta.bids.size(); ++i) {
          EXPECT_EQ(text(event_.delta.bids[i].price), payload["b"][i][0].get<std::string>());
          EXPECT_EQ(text(event_.delta.bids[i].size), payload["b"][i][1].get<std::string>());
        }
        EXPECT_EQ(event_.delta.final_update_id, payload["u"].get<std::uint64_t>());
        break;
      }
      case EventKind::kIgnored:
        ++ignored;
        EXPECT_EQ(event_.type_name, "kline");
        break;
      default:
        ADD_FAILURE() << "unexpected kind " << to_string(event_.kind);
    }
  }
  EXPECT_EQ(frames, 1535u);
  EXPECT_EQ(trades, 91u);
  EXPECT_EQ(tickers, 613u);
  EXPECT_EQ(deltas, 764u);
  EXPECT_EQ(ignored, 67u);
  EXPECT_EQ(rest, 4u);
}

TEST_F(BinanceDecoderTest, MalformedInputGivesErrorValues) {
  const std::string good = messages(fixture("futures_aggTrade_combined.json"))[0];
  // Every truncation of a real frame is an error (or, for none of them, a crash).
  for (std::size_t n = 0; n < good.size(); ++n) {
    const DecodeError r = decode(std::string_view(good).substr(0, n));
    EXPECT_NE(r, DecodeError::kNone) << n;
    EXPECT_EQ(event_.kind, EventKind::kNone);
    EXPECT_FALSE(decoder_.error_message().empty()) << n;
  }
  EXPECT_EQ(decode(""), DecodeError::kEmptyFrame);
  EXPECT_EQ(decode("not json"), DecodeError::kInvalidJson);
  EXPECT_EQ(decode("[1,2,3]"), DecodeError::kNotAnObject);
  EXPECT_EQ(decode("{\"e\":\"aggTrade\",\"s\":\"X\",\"p\":\"1\",\"q\":\"1\",\"a\":1,\"m\":false,}"),
            DecodeError::kInvalidJson);
  EXPECT_EQ(decode(R"({"e":"aggTrade","s":"X","p":1.5,"q":"1","a":1,"m":false,"T":1})"),
            DecodeError::kWrongType);
  EXPECT_NE(decoder_.error_message().find("\"p\""), std::string_view::npos) << decoder_.error_message();
  EXPECT_EQ(decode(R"({"e":"aggTrade","s":"X","p":"1.5","q":"1","a":1,"m":"no","T":1})"),
            DecodeError::kWrongType);
  EXPECT_EQ(decode(R"({"e":"aggTrade","s":"X","p":"1.5e3","q":"1","a":1,"m":false,"T":1})"),
            DecodeError::kBadDecimal);
  EXPECT_EQ(decode(R"({"e":"aggTrade","s":"X","p":"1.5","a":1,"m":false,"T":1})"),
            DecodeError::kMissingField);
  EXPECT_NE(decoder_.error_message().find("\"q\""), std::string_view::npos) << decoder_.error_message();
  EXPECT_EQ(decode(R"({"e":"aggTrade","E":"soon","s":"X","p":"1","q":"1","a":1,"m":false})"),
            DecodeError::kNone)
      << "a malformed optional field the event does not need is tolerated";
  EXPECT_EQ(
      decode(R"({"stream":"x@depth","data":{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["1"]],"a":[]}})"),
      DecodeError::kWrongType);
  EXPECT_EQ(decode(R"({"stream":"x@depth","data":{"e":"depthUpdate","s":"X","U":1,"u":2,"b":{},"a":[]}})"),
            DecodeError::kWrongType);
  EXPECT_EQ(decode(R"({"stream":"x@depth","data":[]})"), DecodeError::kWrongType);
  EXPECT_EQ(decode(R"({"e":"somethingNew","E":1})"), DecodeError::kUnknownEventType);
  EXPECT_EQ(decode(R"({"hello":"world"})"), DecodeError::kUnknownEventType);
  EXPECT_EQ(decode(R"({"e":"aggTrade","s":"X","p":"99999999999999999999","q":"1","a":1,"m":false})"),
            DecodeError::kBadDecimal);
  EXPECT_EQ(decode(R"({"e":"forceOrder","E":1,"o":{"s":"X","S":"SIDEWAYS","p":"1","q":"1"}})"),
            DecodeError::kWrongType);
  // And the decoder still works afterwards.
  EXPECT_EQ(decode(good), DecodeError::kNone);
}

TEST(BinanceDecoderLimits, TooManyLevelsIsAnError) {
  Decoder decoder(DecoderLimits{.max_levels_per_side = 2, .max_rest_body_bytes = 1 << 20});
  MarketEvent event;
  EXPECT_EQ(decoder.decode_rest_depth(R"({"lastUpdateId":1,"bids":[["3","1"],["2","1"]],"asks":[]})", "X", 0,
                                      event),
            DecodeError::kNone);
  EXPECT_EQ(decoder.decode_rest_depth(
                R"({"lastUpdateId":1,"bids":[["3","1"],["2","1"],["1","1"]],"asks":[]})", "X", 0, event),
            DecodeError::kTooManyLevels);
  EXPECT_EQ(decoder.decode_rest_depth(R"({"code":-1003,"msg":"banned"})", "X", 0, event), DecodeError::kNone);
  EXPECT_EQ(event.kind, EventKind::kVenueError);
  EXPECT_EQ(decoder.decode_rest_depth(R"({"lastUpdateId":1})", "X", 0, event), DecodeError::kMissingField);
}

// Found by fuzz_binance_decoder: a millisecond timestamp whose nanoseconds overflow int64.
TEST(BinanceDecoderRegression, TimestampBeyondInt64NanosecondsIsAnError) {
  Decoder decoder;
  MarketEvent event;
  const std::string frame =
      R"({"stream":"keepusdt@depth@100ms","data":{"e":"depthUpdate","E":1626992742492742450,"s":"KEEPUSDT",)"
      R"("U":201719251410,"u":600859627652,"pu":600859619434,"b":[["0.2398","181"]],"a":[["0.2465","812"]]}})";
  // The decoder reads kFramePadding bytes past the frame, as the FrameRing provides.
  const std::string padded = frame + std::string(engine::kFramePadding, '\0');
  EXPECT_EQ(decoder.decode_padded(std::string_view(padded.data(), frame.size()), 0, "", event),
            DecodeError::kWrongType);
  EXPECT_NE(decoder.error_message().find("timestamp"), std::string_view::npos);
  const std::string negative =
      R"({"e":"aggTrade","E":-5,"s":"BTCUSDT","a":1,"p":"1","q":"1","T":1,"m":true})" +
      std::string(engine::kFramePadding, '\0');
  EXPECT_EQ(decoder.decode_padded(std::string_view(negative.data(), negative.size() - engine::kFramePadding),
                                  0, "", event),
            DecodeError::kWrongType);
}

TEST(BinanceStreams, UrlsAndSubscribeRequest) {
  const auto pub = usdm_streams("BTCUSDT", UsdmRoute::kPublic);
  ASSERT_EQ(pub.size(), 2u);
  EXPECT_EQ(pub[0], "btcusdt@bookTicker");
  EXPECT_EQ(pub[1], "btcusdt@depth20@100ms");
  const auto market = usdm_streams("BTCUSDT", UsdmRoute::kMarket, UsdmChannels{.mark_price = false});
  ASSERT_EQ(market.size(), 1u);
  EXPECT_EQ(market[0], "btcusdt@aggTrade");
  for (const auto& s : pub) EXPECT_EQ(usdm_route_of(s), UsdmRoute::kPublic);
  for (const auto& s : usdm_streams("ETHUSDT", UsdmRoute::kMarket, UsdmChannels{.force_order = true})) {
    EXPECT_EQ(usdm_route_of(s), UsdmRoute::kMarket) << s;
  }

  EXPECT_EQ(combined_stream_url(Endpoint{}, UsdmRoute::kPublic, pub),
            "wss://fstream.binance.com/public/stream?streams=btcusdt@bookTicker/btcusdt@depth20@100ms");
  EXPECT_EQ(
      combined_stream_url(Endpoint{.host = "127.0.0.1", .port = 9443, .tls = true, .path_prefix = "/sim"},
                          UsdmRoute::kMarket, market),
      "wss://127.0.0.1:9443/sim/market/stream?streams=btcusdt@aggTrade");
  EXPECT_EQ(raw_stream_url(Endpoint{}, UsdmRoute::kMarket, "btcusdt@aggTrade"),
            "wss://fstream.binance.com/market/ws/btcusdt@aggTrade");

  const std::string request = subscribe_request(pub, 7);
  EXPECT_EQ(request,
            R"({"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth20@100ms"],"id":7})");
  const auto parsed = nlohmann::json::parse(request);
  EXPECT_EQ(parsed["params"].size(), 2u);
  EXPECT_EQ(unsubscribe_request(market, 8),
            R"({"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":8})");
}

}  // namespace
}  // namespace sigflow::io::binance
