// Binance spot and USD-M through the engine's venue-neutral interfaces: the registry, VenueDecoder on every
// fixture of tests/fixtures/binance (frames and REST bodies, padded as the FrameRing delivers them), and the
// VenueProtocol plans, limits and REST snapshot requests.
#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/binance/protocol.hpp"
#include "io/venues/binance/venue_decoder.hpp"
#include "io/venues/venue_decoder.hpp"
#include "io/venues/venue_protocol.hpp"
#include "tests/venues/fixture_messages.hpp"

namespace sigflow::io::binance {
namespace {

std::filesystem::path fixture_dir() {
  return std::filesystem::path(sigflow::testing_support::fixtures_dir()) / "binance";
}

std::string fixture(const std::string& name) {
  return io::testing::venue_fixture("binance", name);
}

using io::testing::messages;
using io::testing::read_file;

// Bytes followed by the FrameRing's padding, which the decoder may read past the end.
class Padded {
 public:
  explicit Padded(std::string_view bytes) : storage_(bytes), size_(bytes.size()) {
    storage_.append(engine::kFramePadding, '\0');
  }
  std::string_view view() const { return {storage_.data(), size_}; }

 private:
  std::string storage_;
  std::size_t size_;
};

// Copies what the tests check, since events are valid only during on_event.
struct Seen {
  EventKind kind = EventKind::kNone;
  std::string symbol;
  std::string stream;
  std::int64_t exchange_ts_ns = 0, event_ts_ns = 0, recv_ns = 0;
  std::uint64_t first = 0, final = 0, prev = 0, last_update_id = 0, trade_id = 0, bba_update_id = 0;
  std::size_t bids = 0, asks = 0;
  Side aggressor = Side::kUnknown;
  std::int64_t error_code = 0;
};

struct RecordingSink final : EventSink {
  void on_event(const MarketEvent& e) noexcept override {
    Seen s;
    s.kind = e.kind;
    s.symbol = std::string(e.symbol);
    s.stream = std::string(e.stream);
    s.exchange_ts_ns = e.exchange_ts_ns;
    s.event_ts_ns = e.event_ts_ns;
    s.recv_ns = e.recv_ns;
    if (e.kind == EventKind::kBookDelta) {
      s.first = e.delta.first_update_id;
      s.final = e.delta.final_update_id;
      s.prev = e.delta.prev_final_update_id;
      s.bids = e.delta.bids.size();
      s.asks = e.delta.asks.size();
    } else if (e.kind == EventKind::kBookSnapshot) {
      s.last_update_id = e.snapshot.last_update_id;
      s.bids = e.snapshot.bids.size();
      s.asks = e.snapshot.asks.size();
    } else if (e.kind == EventKind::kTrade) {
      s.trade_id = e.trade.trade_id;
      s.aggressor = e.trade.aggressor;
    } else if (e.kind == EventKind::kBestBidAsk) {
      s.bba_update_id = e.best_bid_ask.update_id;
    } else if (e.kind == EventKind::kVenueError) {
      s.error_code = e.error.code;
    }
    events.push_back(std::move(s));
  }
  std::vector<Seen> events;
};

class BinanceVenueTest : public ::testing::Test {
 protected:
  // One frame through the named market's decoder; the events it produced.
  std::vector<Seen> decode(std::string_view venue, std::string_view frame, std::string_view hint = {},
                           std::int64_t recv_ns = 5) {
    VenueDecoder& d = decoder(venue);
    RecordingSink sink;
    const Padded padded(frame);
    ok_ = d.decode(padded.view(), recv_ns, hint, sink);
    error_ = std::string(d.error_message());
    return sink.events;
  }
  std::vector<Seen> decode_rest(std::string_view venue, std::string_view body, std::string_view symbol) {
    VenueDecoder& d = decoder(venue);
    RecordingSink sink;
    const Padded padded(body);
    ok_ = d.decode_rest_snapshot(padded.view(), symbol, 11, sink);
    error_ = std::string(d.error_message());
    return sink.events;
  }
  VenueDecoder& decoder(std::string_view venue) {
    auto& slot = venue == "binance" ? spot_ : usdm_;
    if (!slot) slot = make_decoder(venue);
    return *slot;
  }

  std::unique_ptr<VenueDecoder> spot_, usdm_;
  bool ok_ = false;
  std::string error_;
};

TEST_F(BinanceVenueTest, RegistryKnowsBothMarkets) {
  for (std::string_view id : {"binance", "binance-usdm"}) {
    ASSERT_NE(find_protocol(id), nullptr) << id;
    EXPECT_EQ(find_protocol(id)->id(), id);
    EXPECT_NE(make_decoder(id), nullptr) << id;
    EXPECT_EQ(find_protocol(id)->book_resync(), BookResync::kRestSnapshot);
  }
  const auto ids = venue_ids();
  EXPECT_NE(std::find(ids.begin(), ids.end(), "binance"), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), "binance-usdm"), ids.end());
}

// Every fixture, through the decoder of the market it was recorded on: each WebSocket message is one event,
// each REST body one snapshot (or the venue's error), and nothing fails.
TEST_F(BinanceVenueTest, EveryFixtureDecodesToOneEvent) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir())) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json") continue;
    ++files;
    const std::string venue = name.starts_with("spot_") ? "binance" : "binance-usdm";
    const std::string text = read_file(entry.path());
    if (name.find("rest_") != std::string::npos) {
      const auto events = decode_rest(venue, text, "KEEPUSDT");
      ASSERT_TRUE(ok_) << name << ": " << error_;
      ASSERT_EQ(events.size(), 1u) << name;
      EXPECT_TRUE(events[0].kind == EventKind::kBookSnapshot || events[0].kind == EventKind::kVenueError)
          << name;
      continue;
    }
    for (const std::string& message : messages(text)) {
      const auto events = decode(venue, message);
      ASSERT_TRUE(ok_) << name << ": " << error_ << "\n" << message;
      ASSERT_EQ(events.size(), 1u) << name;
      EXPECT_NE(events[0].kind, EventKind::kNone) << name;
      EXPECT_EQ(events[0].recv_ns, 5) << name;
    }
  }
  EXPECT_GE(files, 15u);
}

TEST_F(BinanceVenueTest, SpotSnapshotThenDiffsFollowTheDocumentedVector) {
  // web-socket-streams.md: drop events with u <= lastUpdateId; the first kept one has U == lastUpdateId + 1.
  const auto snapshot = decode_rest("binance", fixture("spot_rest_depth_snapshot_RUNEEUR.json"), "RUNEEUR");
  ASSERT_TRUE(ok_) << error_;
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].kind, EventKind::kBookSnapshot);
  EXPECT_EQ(snapshot[0].symbol, "RUNEEUR");
  EXPECT_EQ(snapshot[0].last_update_id, 15602511u);
  EXPECT_EQ(snapshot[0].bids, 221u);
  EXPECT_EQ(snapshot[0].asks, 468u);
  EXPECT_EQ(snapshot[0].recv_ns, 11);

  const auto diffs = messages(fixture("spot_depthUpdate_RUNEEUR_after_snapshot.json"));
  ASSERT_EQ(diffs.size(), 2u);
  const auto dropped = decode("binance", diffs[0]);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].kind, EventKind::kBookDelta);
  EXPECT_LE(dropped[0].final, snapshot[0].last_update_id);
  const auto applied = decode("binance", diffs[1]);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].first, snapshot[0].last_update_id + 1);
  EXPECT_EQ(applied[0].prev, kNoUpdateId);  // spot diffs carry no pu
  EXPECT_EQ(applied[0].symbol, "RUNEEUR");
  EXPECT_EQ(applied[0].exchange_ts_ns, 1633998541982LL * 1'000'000);  // no T on spot: E stands in
}

TEST_F(BinanceVenueTest, UsdmSnapshotThenDiffsFollowTheDocumentedVector) {
  // USD-M procedure: drop u < lastUpdateId; the first applied has U <= lastUpdateId <= u; then pu == prev u.
  const auto snapshot =
      decode_rest("binance-usdm", fixture("futures_rest_depth_snapshot_KEEPUSDT.json"), "KEEPUSDT");
  ASSERT_TRUE(ok_) << error_;
  ASSERT_EQ(snapshot.size(), 1u);
  const std::uint64_t last = snapshot[0].last_update_id;
  EXPECT_EQ(last, 600859619434u);
  const auto diffs = messages(fixture("futures_depthUpdate_KEEPUSDT_sync_sequence.json"));
  ASSERT_EQ(diffs.size(), 7u);
  std::vector<Seen> decoded;
  for (const auto& d : diffs) {
    const auto events = decode("binance-usdm", d);
    ASSERT_TRUE(ok_) << error_;
    ASSERT_EQ(events.size(), 1u);
    ASSERT_EQ(events[0].kind, EventKind::kBookDelta);
    decoded.push_back(events[0]);
  }
  for (std::size_t i = 0; i < 3; ++i) EXPECT_LT(decoded[i].final, last) << i;
  EXPECT_LE(decoded[3].first, last);
  EXPECT_GE(decoded[3].final, last);
  for (std::size_t i = 4; i < decoded.size(); ++i) EXPECT_EQ(decoded[i].prev, decoded[i - 1].final) << i;
}

TEST_F(BinanceVenueTest, SpotShapesWithoutFuturesFields) {
  // bookTicker: no e, E or T; the stream (combined wrapper or raw hint) says what it is.
  const auto bba = decode("binance", messages(fixture("spot_bookTicker_combined.json"))[0]);
  ASSERT_EQ(bba.size(), 1u);
  EXPECT_EQ(bba[0].kind, EventKind::kBestBidAsk);
  EXPECT_EQ(bba[0].exchange_ts_ns, 0);
  EXPECT_EQ(bba[0].bba_update_id, 499869768u);
  const auto raw = decode(
      "binance",
      R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})",
      "bnbusdt@bookTicker");
  ASSERT_TRUE(ok_) << error_;
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].kind, EventKind::kBestBidAsk);
  EXPECT_EQ(raw[0].symbol, "BNBUSDT");

  // @trade, in the docs' older shape (numeric buyer/seller order ids `b`/`a`) and the current one.
  for (
      const char* trade :
      {R"({"e":"trade","E":123456789,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","b":88,"a":50,"T":123456785,"m":true,"M":true})",
       R"({"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":false,"M":true})"}) {
    const auto t = decode("binance", trade, "bnbbtc@trade");
    ASSERT_TRUE(ok_) << error_ << "\n" << trade;
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].kind, EventKind::kTrade);
    EXPECT_EQ(t[0].trade_id, 12345u);
  }
  EXPECT_EQ(
      decode("binance", R"({"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"0.001","q":"100","T":1,"m":true})")[0]
          .aggressor,
      Side::kSell);

  // aggTrade (spot sends M too).
  const auto agg = decode("binance", messages(fixture("spot_aggTrade_combined.json"))[0]);
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_EQ(agg[0].kind, EventKind::kTrade);
  EXPECT_EQ(agg[0].trade_id, 15683430u);
  EXPECT_EQ(agg[0].aggressor, Side::kBuy);
}

TEST_F(BinanceVenueTest, RestErrorBodiesAndGarbage) {
  const auto ban = decode_rest("binance", fixture("rest_418_ip_ban_-1003.json"), "BTCUSDT");
  ASSERT_TRUE(ok_) << error_;
  ASSERT_EQ(ban.size(), 1u);
  EXPECT_EQ(ban[0].kind, EventKind::kVenueError);
  EXPECT_EQ(ban[0].error_code, -1003);

  EXPECT_TRUE(
      decode_rest("binance-usdm", "{\"lastUpdateId\":1,\"bids\":[[\"1\",\"x\"]],\"asks\":[]}", "X").empty());
  EXPECT_FALSE(ok_);
  EXPECT_NE(error_.find("\"bids\""), std::string::npos) << error_;
  EXPECT_TRUE(decode_rest("binance-usdm", R"({"e":"aggTrade"})", "X").empty());
  EXPECT_FALSE(ok_);
  EXPECT_TRUE(decode_rest("binance", "", "X").empty());
  EXPECT_FALSE(ok_);
  EXPECT_TRUE(decode("binance", "{\"stream\":").empty());
  EXPECT_FALSE(ok_);
  EXPECT_FALSE(error_.empty());
}

TEST_F(BinanceVenueTest, UsdmLevelLimitRejectsOversizedSnapshots) {
  std::string body = "{\"lastUpdateId\":7,\"bids\":[";
  for (int i = 0; i < 1001; ++i) body += (i ? ",[\"" : "[\"") + std::to_string(1000 + i) + "\",\"1\"]";
  body += "],\"asks\":[]}";
  EXPECT_TRUE(decode_rest("binance-usdm", body, "BTCUSDT").empty());
  EXPECT_FALSE(ok_);
  // Spot snapshots go up to 5000 levels per side.
  const auto spot = decode_rest("binance", body, "BTCUSDT");
  ASSERT_TRUE(ok_) << error_;
  EXPECT_EQ(spot[0].bids, 1001u);
}

// ---- protocols ----

std::vector<std::string> symbols(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("SYM" + std::to_string(i) + "USDT");
  return out;
}

TEST(BinanceProtocol, UsdmPlanSplitsRoutesAndSubscribes) {
  const VenueProtocol& p = usdm_protocol();
  const std::vector<std::string> syms = {"BTCUSDT", "ethusdt"};
  const auto plans = p.plan({}, syms);
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].route, "/public");
  EXPECT_EQ(plans[0].url, "wss://fstream.binance.com/public/stream");
  EXPECT_EQ(plans[1].route, "/market");
  EXPECT_EQ(plans[1].url, "wss://fstream.binance.com/market/stream");
  ASSERT_EQ(plans[0].topics.size(), 4u);
  EXPECT_EQ(plans[0].topics[0].name, "btcusdt@bookTicker");
  EXPECT_EQ(plans[0].topics[0].kind, TopicKind::kBestBidAsk);
  EXPECT_EQ(plans[0].topics[1].name, "btcusdt@depth@100ms");
  EXPECT_EQ(plans[0].topics[1].kind, TopicKind::kBook);
  EXPECT_EQ(plans[0].topics[3].symbol, "ETHUSDT");
  ASSERT_EQ(plans[1].topics.size(), 6u);
  EXPECT_EQ(plans[1].topics[0].name, "btcusdt@aggTrade");
  EXPECT_EQ(plans[1].topics[1].name, "btcusdt@markPrice@1s");
  EXPECT_EQ(plans[1].topics[2].name, "btcusdt@forceOrder");
  EXPECT_EQ(plans[1].topics[2].max_silence_ns, 0);  // liquidations are sparse: never a liveness signal
  ASSERT_EQ(plans[0].subscribe_messages.size(), 1u);
  const auto request = nlohmann::json::parse(plans[0].subscribe_messages[0]);
  EXPECT_EQ(request["method"], "SUBSCRIBE");
  EXPECT_EQ(request["params"].size(), 4u);
  EXPECT_EQ(request["params"][1], "btcusdt@depth@100ms");
  EXPECT_EQ(request["id"], 1);

  VenueEndpoints sim;
  sim.public_url = "wss://127.0.0.1:9000/binance-usdm/public/";
  sim.market_url = "wss://127.0.0.1:9000/binance-usdm/market";
  const auto local = p.plan(sim, syms);
  EXPECT_EQ(local[0].url, "wss://127.0.0.1:9000/binance-usdm/public/stream");
  EXPECT_EQ(local[1].url, "wss://127.0.0.1:9000/binance-usdm/market/stream");
  EXPECT_TRUE(p.plan({}, {}).empty());
}

TEST(BinanceProtocol, LargeUniversesSplitByConnectionAndRequestLimits) {
  const VenueProtocol& p = usdm_protocol();
  const VenueLimits limits = p.limits();
  EXPECT_EQ(limits.max_topics_per_connection, 1024u);
  EXPECT_EQ(limits.max_topics_per_message, 200u);
  const auto syms = symbols(700);
  const auto plans = p.plan({}, syms);
  std::size_t market_topics = 0, public_topics = 0;
  for (const auto& plan : plans) {
    EXPECT_LE(plan.topics.size(), limits.max_topics_per_connection);
    std::size_t subscribed = 0;
    for (const auto& message : plan.subscribe_messages) {
      const auto request = nlohmann::json::parse(message);
      EXPECT_LE(request["params"].size(), limits.max_topics_per_message);
      subscribed += request["params"].size();
    }
    EXPECT_EQ(subscribed, plan.topics.size());
    // A symbol's streams never straddle two connections.
    EXPECT_EQ(plan.topics.size() % (plan.route == "/public" ? 2 : 3), 0u);
    (plan.route == "/public" ? public_topics : market_topics) += plan.topics.size();
  }
  EXPECT_EQ(public_topics, 1400u);
  EXPECT_EQ(market_topics, 2100u);
  EXPECT_EQ(plans.size(), 2u + 3u);  // 1400 / 1024 → 2 connections, 2100 / 1023 → 3
}

TEST(BinanceProtocol, SpotPlanLimitsAndSnapshots) {
  const VenueProtocol& p = spot_protocol();
  EXPECT_EQ(p.id(), "binance");
  EXPECT_EQ(p.normalized_instrument("BTCUSDT"), "BTC-USDT");
  EXPECT_EQ(usdm_protocol().normalized_instrument("BTCUSDT"), "BTC-USDT-PERP");
  const std::vector<std::string> syms = {"RUNEEUR"};
  const auto plans = p.plan({}, syms);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].url, "wss://stream.binance.com:9443/stream");
  ASSERT_EQ(plans[0].topics.size(), 3u);
  EXPECT_EQ(plans[0].topics[0].name, "runeeur@bookTicker");
  EXPECT_EQ(plans[0].topics[1].name, "runeeur@depth@100ms");
  EXPECT_EQ(plans[0].topics[2].name, "runeeur@aggTrade");
  EXPECT_LT(p.limits().max_outgoing_per_s, 5);  // pongs count against the venue's 5/s
  EXPECT_LT(usdm_protocol().limits().max_outgoing_per_s, 10);
  EXPECT_EQ(p.limits().connect_attempts_per_window, 100u);
  EXPECT_EQ(p.heartbeat().client_ping_interval_ns, 0);

  const auto spot = p.rest_snapshot({}, "runeeur");
  EXPECT_EQ(spot.url, "https://api.binance.com/api/v3/depth?symbol=RUNEEUR&limit=1000");
  EXPECT_EQ(spot.weight, 50u);
  const auto usdm = usdm_protocol().rest_snapshot({}, "KEEPUSDT");
  EXPECT_EQ(usdm.url, "https://fapi.binance.com/fapi/v1/depth?symbol=KEEPUSDT&limit=1000");
  EXPECT_EQ(usdm.weight, 20u);
  VenueEndpoints sim;
  sim.rest_url = "https://127.0.0.1:4433/binance-usdm/";
  EXPECT_EQ(usdm_protocol().rest_snapshot(sim, "BTCUSDT").url,
            "https://127.0.0.1:4433/binance-usdm/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
}

TEST(BinanceProtocol, ResubscribeRenewsOneStream) {
  Topic topic{"btcusdt@depth@100ms", "BTCUSDT", TopicKind::kBook, 0};
  const auto messages = usdm_protocol().resubscribe(topic, 40);
  ASSERT_EQ(messages.size(), 2u);
  const auto un = nlohmann::json::parse(messages[0]);
  const auto sub = nlohmann::json::parse(messages[1]);
  EXPECT_EQ(un["method"], "UNSUBSCRIBE");
  EXPECT_EQ(un["params"], nlohmann::json::array({"btcusdt@depth@100ms"}));
  EXPECT_EQ(un["id"], 40);
  EXPECT_EQ(sub["method"], "SUBSCRIBE");
  EXPECT_EQ(sub["params"], nlohmann::json::array({"btcusdt@depth@100ms"}));
  EXPECT_EQ(sub["id"], 41);
}

}  // namespace
}  // namespace sigflow::io::binance
