// The Deribit decoder on real messages: every fixture of tests/fixtures/deribit with exact values, the JSON
// number → Decimal conversion, key orders Deribit does not use, liquidation trades, and broken input, which
// must give an error value with a message that names the problem.
#include "io/venues/deribit/decoder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "io/venues/deribit/json_number.hpp"
#include "io/venues/frame_parser.hpp"
#include "io/venues/venue_decoder.hpp"
#include "tests/venues/deribit_test_support.hpp"

namespace sigflow::io::deribit {
namespace {

using testing::decode_text;
using testing::fixture;
using testing::identical;
using testing::messages;
using testing::RecordingSink;

constexpr std::int64_t kMs = 1'000'000;

// ---- JSON numbers ----

TEST(DeribitJsonNumber, KeepsTheVenuesDigits) {
  const auto check = [](std::string_view token, std::int64_t mantissa, int exponent) {
    const auto d = parse_json_number(token);
    ASSERT_TRUE(d.has_value()) << token;
    EXPECT_EQ(d->mantissa(), mantissa) << token;
    EXPECT_EQ(d->exponent(), exponent) << token;
  };
  check("60000.0", 600000, -1);
  check("92288.5", 922885, -1);
  check("0.00001742", 1742, -8);
  check("1e-05", 1, -5);
  check("1E-5", 1, -5);
  check("1.50e-3", 150, -5);
  check("2.5E+3", 2500, 0);
  check("7e2", 700, 0);
  check("1e19", 1000000000000000000, 1);  // exact: the mantissa takes what fits, the exponent the rest
  check("0", 0, 0);
  check("-0.0", 0, -1);
  check("-12.25", -1225, -2);
  check("0.0028213400122472977", 28213400122472977, -19);  // interest_value of the ticker fixture
  check("9223372036854775807", INT64_MAX, 0);
}

TEST(DeribitJsonNumber, RejectsWhatItCannotKeepExactly) {
  for (const std::string_view bad : {"",
                                     "-",
                                     "+1",
                                     "01",
                                     "1.",
                                     ".5",
                                     "1e",
                                     "1e+",
                                     "1.e5",
                                     "0x10",
                                     "NaN",
                                     "Infinity",
                                     "1 ",
                                     "1..2",
                                     "--1",
                                     "9223372036854775808",
                                     "12345678901234567890.5",
                                     "1e-31",
                                     "1e400",
                                     "1e40",
                                     "0.0000000000000000000000000000001"})
    EXPECT_FALSE(parse_json_number(bad).has_value()) << bad;
}

TEST(DeribitJsonNumber, FormatsExponentFormsAsPlainDecimals) {
  char buf[Decimal::kMaxChars];
  const Decimal d = *parse_json_number("1e-05");
  EXPECT_EQ(std::string_view(buf, static_cast<std::size_t>(d.format(buf, buf + sizeof buf) - buf)),
            "0.00001");
  const Decimal e = *parse_json_number("60000.0");
  EXPECT_EQ(std::string_view(buf, static_cast<std::size_t>(e.format(buf, buf + sizeof buf) - buf)),
            "60000.0");
}

// ---- fixtures ----

TEST(DeribitDecoder, BookSnapshotThenChangeChains) {
  const auto frames = messages(fixture("book_raw_snapshot_then_change_BTC-24SEP21-34000-P.json"));
  ASSERT_EQ(frames.size(), 2u);
  Decoder decoder;
  RecordingSink sink;
  for (const auto& f : frames) ASSERT_TRUE(decode_text(decoder, f, sink)) << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);

  const auto& snap = sink.events[0];
  EXPECT_EQ(snap.event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(snap.symbol, "BTC-24SEP21-34000-P");
  EXPECT_EQ(snap.stream, "book.BTC-24SEP21-34000-P.raw");
  EXPECT_EQ(snap.type_name, "snapshot");
  EXPECT_EQ(snap.event.exchange_ts_ns, 1626993721912 * kMs);
  EXPECT_EQ(snap.event.recv_ns, 7);
  EXPECT_EQ(snap.event.snapshot.last_update_id, 33195894124u);
  EXPECT_EQ(snap.event.snapshot.depth, 0);
  ASSERT_EQ(snap.bids.size(), 7u);
  ASSERT_EQ(snap.asks.size(), 6u);
  EXPECT_TRUE(identical(snap.bids[0].price, "0.1555"));
  EXPECT_TRUE(identical(snap.bids[0].size, "0.8"));
  EXPECT_TRUE(identical(snap.bids[1].price, "0.155"));
  EXPECT_TRUE(identical(snap.bids[1].size, "5.0"));
  EXPECT_TRUE(identical(snap.bids[6].price, "0.0005"));
  EXPECT_TRUE(identical(snap.bids[6].size, "0.1"));
  EXPECT_TRUE(identical(snap.asks[0].price, "0.1585"));
  EXPECT_TRUE(identical(snap.asks[0].size, "11.2"));
  EXPECT_TRUE(identical(snap.asks[5].price, "0.1645"));
  EXPECT_TRUE(identical(snap.asks[5].size, "5.0"));

  const auto& change = sink.events[1];
  EXPECT_EQ(change.event.kind, EventKind::kBookDelta);
  EXPECT_EQ(change.type_name, "change");
  EXPECT_EQ(change.event.exchange_ts_ns, 1626993743371 * kMs);
  EXPECT_EQ(change.event.delta.first_update_id, 33195897416u);
  EXPECT_EQ(change.event.delta.final_update_id, 33195897416u);
  EXPECT_EQ(change.event.delta.prev_final_update_id, snap.event.snapshot.last_update_id);  // zero gaps
  EXPECT_TRUE(change.bids.empty());
  ASSERT_EQ(change.asks.size(), 2u);
  EXPECT_TRUE(identical(change.asks[0].price, "0.1605"));
  EXPECT_TRUE(change.asks[0].size.is_zero());  // "delete"
  EXPECT_TRUE(identical(change.asks[1].price, "0.16"));
  EXPECT_TRUE(identical(change.asks[1].size, "11.5"));
}

TEST(DeribitDecoder, TradesPerpetual) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(decoder, fixture("trades_perpetual.json"), sink)) << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);
  const auto& a = sink.events[0];
  EXPECT_EQ(a.event.kind, EventKind::kTrade);
  EXPECT_EQ(a.symbol, "BTC-PERPETUAL");
  EXPECT_EQ(a.stream, "trades.BTC-PERPETUAL.100ms");
  EXPECT_EQ(a.event.exchange_ts_ns, 1765531356452 * kMs);
  EXPECT_TRUE(identical(a.event.trade.price, "92294.5"));
  EXPECT_TRUE(identical(a.event.trade.size, "10.0"));
  EXPECT_EQ(a.event.trade.aggressor, Side::kSell);
  EXPECT_EQ(a.event.trade.trade_id, 403691824u);
  EXPECT_EQ(a.event.trade.first_trade_id, kNoUpdateId);
  const auto& b = sink.events[1];
  EXPECT_EQ(b.event.kind, EventKind::kTrade);
  EXPECT_TRUE(identical(b.event.trade.price, "92288.5"));
  EXPECT_TRUE(identical(b.event.trade.size, "750.0"));
  EXPECT_EQ(b.event.trade.aggressor, Side::kSell);
  EXPECT_EQ(b.event.trade.trade_id, 403691825u);
}

TEST(DeribitDecoder, TickerGivesMarkFundingThenBestBidAsk) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(decoder, fixture("ticker_perpetual_funding.json"), sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);
  const auto& m = sink.events[0];
  EXPECT_EQ(m.event.kind, EventKind::kMarkFunding);
  EXPECT_EQ(m.symbol, "BTC-PERPETUAL");
  EXPECT_EQ(m.stream, "ticker.BTC-PERPETUAL.100ms");
  EXPECT_EQ(m.event.exchange_ts_ns, 1765541474086 * kMs);
  ASSERT_TRUE(m.event.mark_funding.mark_price.has_value());
  EXPECT_TRUE(identical(*m.event.mark_funding.mark_price, "92281.78"));
  ASSERT_TRUE(m.event.mark_funding.index_price.has_value());
  EXPECT_TRUE(identical(*m.event.mark_funding.index_price, "92263.55"));
  ASSERT_TRUE(m.event.mark_funding.estimated_settle_price.has_value());
  EXPECT_TRUE(identical(*m.event.mark_funding.estimated_settle_price, "92263.55"));
  ASSERT_TRUE(m.event.mark_funding.funding_rate.has_value());
  EXPECT_TRUE(
      identical(*m.event.mark_funding.funding_rate, "0.00001742"));  // funding_8h, not current_funding
  EXPECT_EQ(m.event.mark_funding.next_funding_ts_ns, 0);
  const auto& q = sink.events[1];
  EXPECT_EQ(q.event.kind, EventKind::kBestBidAsk);
  EXPECT_EQ(q.event.exchange_ts_ns, 1765541474086 * kMs);
  EXPECT_TRUE(identical(q.event.best_bid_ask.bid_price, "92283.5"));
  EXPECT_TRUE(identical(q.event.best_bid_ask.bid_size, "117660.0"));
  EXPECT_TRUE(identical(q.event.best_bid_ask.ask_price, "92284.0"));
  EXPECT_TRUE(identical(q.event.best_bid_ask.ask_size, "186520.0"));
  EXPECT_EQ(q.event.best_bid_ask.update_id, kNoUpdateId);
}

TEST(DeribitDecoder, Quote) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(decoder, fixture("quote_bbo.json"), sink)) << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  const auto& q = sink.events[0];
  EXPECT_EQ(q.event.kind, EventKind::kBestBidAsk);
  EXPECT_EQ(q.symbol, "BTC-PERPETUAL");
  EXPECT_EQ(q.stream, "quote.BTC-PERPETUAL");
  EXPECT_EQ(q.event.exchange_ts_ns, 1765541767174 * kMs);
  EXPECT_TRUE(identical(q.event.best_bid_ask.bid_price, "92288.0"));
  EXPECT_TRUE(identical(q.event.best_bid_ask.bid_size, "133440.0"));
  EXPECT_TRUE(identical(q.event.best_bid_ask.ask_price, "92288.5"));
  EXPECT_TRUE(identical(q.event.best_bid_ask.ask_size, "99470.0"));
}

TEST(DeribitDecoder, ControlMessages) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(decoder, fixture("error_10028_too_many_requests.json"), sink));
  ASSERT_TRUE(decode_text(decoder, fixture("heartbeat_test_request.json"), sink));
  ASSERT_TRUE(decode_text(decoder, fixture("subscribe_request_capture.json"), sink));
  ASSERT_TRUE(decode_text(decoder, fixture("subscribe_response_capture.json"), sink));
  ASSERT_TRUE(decode_text(decoder, fixture("subscribe_response_nautilus.json"), sink));
  ASSERT_TRUE(
      decode_text(decoder, R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}})", sink));
  ASSERT_TRUE(decode_text(decoder, R"({"jsonrpc":"2.0","id":7,"result":{"version":"1.2.26"}})", sink));
  ASSERT_EQ(sink.events.size(), 7u);
  EXPECT_EQ(sink.events[0].event.kind, EventKind::kVenueError);
  EXPECT_EQ(sink.events[0].event.error.code, 10028);
  EXPECT_EQ(sink.events[0].text, "too_many_requests");
  EXPECT_EQ(sink.events[0].event.ack.request_id, 1);
  EXPECT_EQ(sink.events[1].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sink.events[1].type_name, "test_request");
  EXPECT_EQ(sink.events[2].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sink.events[2].type_name, "public/subscribe");
  EXPECT_EQ(sink.events[3].event.kind, EventKind::kSubscribeAck);
  EXPECT_EQ(sink.events[3].event.ack.request_id, 0);
  EXPECT_EQ(sink.events[4].event.kind, EventKind::kSubscribeAck);
  EXPECT_EQ(sink.events[4].event.ack.request_id, 1);
  EXPECT_EQ(sink.events[5].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sink.events[5].type_name, "heartbeat");
  EXPECT_EQ(sink.events[6].event.kind, EventKind::kSubscribeAck);
  EXPECT_EQ(sink.events[6].event.ack.request_id, 7);
}

TEST(DeribitDecoder, RegistryServesTheDecoder) {
  auto decoder = make_decoder("deribit");
  ASSERT_NE(decoder, nullptr);
  RecordingSink sink;
  std::string text = fixture("quote_bbo.json");
  const std::size_t size = text.size();
  text.append(engine::kFramePadding, '\0');
  ASSERT_TRUE(decoder->decode(std::string_view(text.data(), size), 1, "", sink)) << decoder->error_message();
  EXPECT_EQ(sink.events.size(), 1u);
  EXPECT_FALSE(decoder->decode_rest_snapshot(std::string_view(text.data(), size), "BTC-PERPETUAL", 1, sink));
  EXPECT_NE(decoder->error_message().find("resubscrib"), std::string_view::npos);
}

// ---- shapes the fixtures do not cover ----

TEST(DeribitDecoder, KeyOrderDoesNotMatter) {
  // params before method, data before channel: decoded after the pass, to the same events.
  const std::string canonical =
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":)"
      R"({"type":"change","timestamp":1700000000000,"prev_change_id":5,"instrument_name":"BTC-PERPETUAL",)"
      R"("change_id":9,"bids":[["change",60000.0,1e-05]],"asks":[]}}})";
  const std::string reordered =
      R"({"params":{"data":{"asks":[],"bids":[["change",60000.0,1e-05]],"change_id":9,)"
      R"("instrument_name":"BTC-PERPETUAL","prev_change_id":5,"timestamp":1700000000000,"type":"change"},)"
      R"("channel":"book.BTC-PERPETUAL.100ms"},"method":"subscription","jsonrpc":"2.0"})";
  for (const auto& text : {canonical, reordered}) {
    Decoder decoder;
    RecordingSink sink;
    ASSERT_TRUE(decode_text(decoder, text, sink)) << decoder.error_message();
    ASSERT_EQ(sink.events.size(), 1u);
    const auto& d = sink.events[0];
    EXPECT_EQ(d.event.kind, EventKind::kBookDelta);
    EXPECT_EQ(d.symbol, "BTC-PERPETUAL");
    EXPECT_EQ(d.event.delta.final_update_id, 9u);
    EXPECT_EQ(d.event.delta.prev_final_update_id, 5u);
    ASSERT_EQ(d.bids.size(), 1u);
    EXPECT_TRUE(identical(d.bids[0].price, "60000.0"));
    EXPECT_EQ(d.bids[0].size.mantissa(), 1);
    EXPECT_EQ(d.bids[0].size.exponent(), -5);
  }
}

TEST(DeribitDecoder, GroupedBookIsATopNSnapshot) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(
      decoder,
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.ETH-PERPETUAL.1.10.100ms","data":)"
      R"({"timestamp":1700000000001,"instrument_name":"ETH-PERPETUAL","change_id":77,)"
      R"("bids":[[2000.5,100.0],[2000.0,5.0]],"asks":[[2001.0,7.0]]}}})",
      sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].event.kind, EventKind::kBookSnapshot);
  EXPECT_EQ(sink.events[0].event.snapshot.depth, 10);
  EXPECT_EQ(sink.events[0].event.snapshot.last_update_id, 77u);
  ASSERT_EQ(sink.events[0].bids.size(), 2u);
  EXPECT_TRUE(identical(sink.events[0].bids[1].price, "2000.0"));
}

std::string liquidation_trade(std::string_view direction, std::string_view liquidation) {
  std::string text =
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.ETH-PERPETUAL.100ms","data":[)"
      R"({"trade_seq":1201,"trade_id":"ETH-172918","timestamp":1700000000123,"tick_direction":1,"price":2012.35,)"
      R"("mark_price":2012.1,"instrument_name":"ETH-PERPETUAL","index_price":2011.9,"direction":")";
  text += direction;
  text += R"(","amount":250.0)";
  if (!liquidation.empty()) {
    text += R"(,"liquidation":")";
    text += liquidation;
    text += '"';
  }
  text += "}]}}";
  return text;
}

TEST(DeribitDecoder, LiquidationTradesAlsoGiveLiquidations) {
  struct Case {
    std::string_view direction, flag;
    std::vector<Side> liquidated;
  };
  const Case cases[] = {
      {"buy", "", {}},
      {"buy", "T", {Side::kBuy}},   // the taker bought: a short was forced to buy
      {"buy", "M", {Side::kSell}},  // the maker sold into it: a long was liquidated
      {"sell", "MT", {Side::kSell, Side::kBuy}},
  };
  for (const Case& c : cases) {
    Decoder decoder;
    RecordingSink sink;
    ASSERT_TRUE(decode_text(decoder, liquidation_trade(c.direction, c.flag), sink))
        << decoder.error_message();
    ASSERT_EQ(sink.events.size(), 1 + c.liquidated.size()) << c.flag;
    EXPECT_EQ(sink.events[0].event.kind, EventKind::kTrade);
    EXPECT_EQ(sink.events[0].event.trade.trade_id, 172918u);  // "ETH-172918": the number after the prefix
    for (std::size_t i = 0; i < c.liquidated.size(); ++i) {
      const auto& l = sink.events[1 + i];
      EXPECT_EQ(l.event.kind, EventKind::kLiquidation);
      EXPECT_EQ(l.symbol, "ETH-PERPETUAL");
      EXPECT_EQ(l.event.liquidation.side, c.liquidated[i]) << c.flag << " " << i;
      EXPECT_TRUE(identical(l.event.liquidation.price, "2012.35"));
      EXPECT_TRUE(identical(l.event.liquidation.quantity, "250.0"));
      EXPECT_EQ(l.text, c.flag);
      EXPECT_EQ(l.event.exchange_ts_ns, 1700000000123 * kMs);
    }
  }
}

// A 100 ms trade batch in a liquidation cascade can pass the parser's 1 MiB reserve; the WebSocket accepts
// frames up to max_message_bytes, so the decoder must too (it grows its parser once).
TEST(DeribitDecoder, ATradeBatchLargerThanTheParsersReserveDecodes) {
  constexpr int kTrades = 9000;
  std::string text =
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms","data":[)";
  for (int i = 0; i < kTrades; ++i) {
    if (i > 0) text += ',';
    text += R"({"trade_seq":)" + std::to_string(i) + R"(,"trade_id":")" + std::to_string(500000 + i) +
            R"(","timestamp":1700000000123,"tick_direction":1,"price":92294.5,"mark_price":92290.1,)"
            R"("instrument_name":"BTC-PERPETUAL","index_price":92288.9,"direction":"sell","amount":10.0})";
  }
  text += "]}}";
  ASSERT_GT(text.size(), kReservedParserBytes);
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(decoder, text, sink)) << decoder.error_message();
  ASSERT_EQ(sink.events.size(), static_cast<std::size_t>(kTrades));
  EXPECT_EQ(sink.events.back().event.trade.trade_id, 500000u + kTrades - 1);
}

TEST(DeribitDecoder, OptionTickerWithNullsAndOneSidedBook) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(
      decoder,
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-24SEP21-34000-P.100ms","data":)"
      R"({"timestamp":1626993723632,"stats":{"volume":null,"low":null},"mark_price":0.1561,"instrument_name":)"
      R"("BTC-24SEP21-34000-P","index_price":32174.47,"best_bid_price":0.0,"best_bid_amount":0.0,)"
      R"("best_ask_price":null,"best_ask_amount":null,"interest_rate":0.0}}})",
      sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_FALSE(sink.events[0].event.mark_funding.funding_rate.has_value());
  EXPECT_TRUE(sink.events[1].event.best_bid_ask.ask_price.is_zero());
  EXPECT_TRUE(sink.events[1].event.best_bid_ask.ask_size.is_zero());
}

TEST(DeribitDecoder, UnusedChannelsAreIgnored) {
  Decoder decoder;
  RecordingSink sink;
  ASSERT_TRUE(decode_text(
      decoder,
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"deribit_price_index.btc_usd","data":)"
      R"({"timestamp":1700000000000,"price":60000.12,"index_name":"btc_usd"}}})",
      sink));
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].event.kind, EventKind::kIgnored);
  EXPECT_EQ(sink.events[0].type_name, "deribit_price_index");
}

// ---- errors ----

TEST(DeribitDecoder, BrokenInputGivesErrorsThatSayWhy) {
  struct Case {
    std::string text;
    DecodeError error;
    std::string_view message_part;
  };
  const std::string head = R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":)";
  const Case cases[] = {
      {"", DecodeError::kEmptyFrame, "empty"},
      {"not json", DecodeError::kInvalidJson, "document"},
      {"[1,2]", DecodeError::kNotAnObject, "not an object"},
      {R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.X.100ms","data":{"type":)",
       DecodeError::kInvalidJson, ""},
      {head +
           R"("book.BTC-PERPETUAL.100ms","data":{"type":"change","timestamp":1,"change_id":2,"bids":[],"asks":[]}}})",
       DecodeError::kMissingField, "prev_change_id"},
      {head +
           R"("book.BTC-PERPETUAL.100ms","data":{"type":"snapshot","timestamp":1,"change_id":2,"bids":[["new","60000.0",1.0]],"asks":[]}}})",
       DecodeError::kWrongType, "bids"},
      {head +
           R"("book.BTC-PERPETUAL.100ms","data":{"type":"snapshot","timestamp":1,"change_id":2,"bids":[["add",60000.0,1.0]],"asks":[]}}})",
       DecodeError::kWrongType, "unknown level action \"add\""},
      {head +
           R"("book.BTC-PERPETUAL.100ms","data":{"type":"reset","timestamp":1,"change_id":2,"bids":[],"asks":[]}}})",
       DecodeError::kWrongType, "\"reset\""},
      {head +
           R"("book.BTC-PERPETUAL.100ms","data":{"type":"snapshot","timestamp":1,"change_id":2,"bids":[[1e-40,1.0]],"asks":[]}}})",
       DecodeError::kBadDecimal, "exact decimal"},
      {head +
           R"("trades.BTC-PERPETUAL.100ms","data":[{"timestamp":1,"price":1.0,"amount":1.0,"direction":"up","trade_id":"1"}]}})",
       DecodeError::kWrongType, "direction"},
      {head +
           R"("trades.BTC-PERPETUAL.100ms","data":[{"timestamp":1,"price":"1.0","amount":1.0,"direction":"buy","trade_id":"1"}]}})",
       DecodeError::kWrongType, "trades[0] field \"price\""},
      {head + R"("trades.BTC-PERPETUAL.100ms","data":{"price":1.0}}})", DecodeError::kWrongType,
       "not an array"},
      {head +
           R"("ticker.BTC-PERPETUAL.100ms","data":{"timestamp":1,"instrument_name":"BTC-PERPETUAL","best_bid_price":1.0}}})",
       DecodeError::kMissingField, "mark_price"},
      {head +
           R"("quote.BTC-PERPETUAL","data":{"timestamp":99999999999999999,"best_bid_price":1.0,"best_bid_amount":1.0,"best_ask_price":1.0,"best_ask_amount":1.0}}})",
       DecodeError::kWrongType, "timestamp out of range"},
      {R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.X.100ms"}})",
       DecodeError::kMissingField, "params.data"},
      {R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"ping"}})", DecodeError::kUnknownMessage,
       "ping"},
      {R"({"jsonrpc":"2.0","method":"announcement","params":{}})", DecodeError::kUnknownMessage,
       "announcement"},
      {R"({"jsonrpc":"2.0","id":3,"error":{"message":"x"}})", DecodeError::kMissingField, "error.code"},
      {R"({"jsonrpc":"2.0"})", DecodeError::kUnknownMessage, "JSON-RPC"},
  };
  for (const Case& c : cases) {
    Decoder decoder;
    RecordingSink sink;
    EXPECT_FALSE(decode_text(decoder, c.text, sink)) << c.text;
    EXPECT_EQ(decoder.last_error(), c.error) << c.text << " → " << decoder.error_message();
    EXPECT_NE(decoder.error_message().find(c.message_part), std::string_view::npos)
        << c.text << " → " << decoder.error_message();
    EXPECT_FALSE(decoder.error_message().empty());
  }
}

TEST(DeribitDecoder, TooManyLevelsIsAnError) {
  Decoder decoder(DecoderLimits{2});
  RecordingSink sink;
  EXPECT_FALSE(decode_text(
      decoder,
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.X-PERPETUAL.100ms","data":)"
      R"({"type":"snapshot","timestamp":1,"change_id":2,"bids":[["new",3.0,1.0],["new",2.0,1.0],["new",1.0,1.0]],"asks":[]}}})",
      sink));
  EXPECT_EQ(decoder.last_error(), DecodeError::kTooManyLevels);
  EXPECT_TRUE(sink.events.empty());
}

TEST(DeribitDecoder, RecoversAfterAnError) {
  Decoder decoder;
  RecordingSink sink;
  EXPECT_FALSE(decode_text(decoder, "{", sink));
  ASSERT_TRUE(decode_text(decoder, fixture("quote_bbo.json"), sink)) << decoder.error_message();
  EXPECT_TRUE(decoder.error_message().empty());
  EXPECT_EQ(sink.events.size(), 1u);
}

}  // namespace
}  // namespace sigflow::io::deribit
