// Bybit's feed protocol: URLs, topics, how subscriptions split over connections within the venue's limits,
// the ping and resubscribe requests, instrument names, and the registry entries.
#include "io/venues/bybit/protocol.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace sigflow::io::bybit {
namespace {

const VenueProtocol& spot() {
  return bybit_spot_protocol();
}
const VenueProtocol& linear() {
  return bybit_linear_protocol();
}

TEST(BybitProtocol, Ids) {
  EXPECT_EQ(spot().id(), "bybit-spot");
  EXPECT_EQ(linear().id(), "bybit-linear");
  EXPECT_EQ(spot().book_resync(), BookResync::kResubscribe);
  EXPECT_EQ(linear().book_resync(), BookResync::kResubscribe);
}

TEST(BybitProtocol, UrlMapping) {
  EXPECT_EQ(stream_url("", Category::kSpot), "wss://stream.bybit.com/v5/public/spot");
  EXPECT_EQ(stream_url("", Category::kLinear), "wss://stream.bybit.com/v5/public/linear");
  // A base gets the category path; a full URL is kept.
  EXPECT_EQ(stream_url("wss://127.0.0.1:9443/bybit-linear", Category::kLinear),
            "wss://127.0.0.1:9443/bybit-linear/v5/public/linear");
  EXPECT_EQ(stream_url("wss://127.0.0.1:9443/bybit-linear/", Category::kLinear),
            "wss://127.0.0.1:9443/bybit-linear/v5/public/linear");
  EXPECT_EQ(stream_url("wss://127.0.0.1:9443/bybit-spot/v5/public/spot", Category::kSpot),
            "wss://127.0.0.1:9443/bybit-spot/v5/public/spot");
  EXPECT_EQ(stream_url("wss://stream.bybit.kz", Category::kSpot), "wss://stream.bybit.kz/v5/public/spot");

  VenueEndpoints endpoints;
  endpoints.url = "wss://127.0.0.1:1234/bybit-spot";
  const std::vector<std::string> symbols = {"BTCUSDT"};
  const auto plans = spot().plan(endpoints, symbols);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].url, "wss://127.0.0.1:1234/bybit-spot/v5/public/spot");
}

TEST(BybitProtocol, TopicsPerSymbol) {
  const std::vector<std::string> symbols = {"BTCUSDT"};
  const auto s = spot().plan({}, symbols);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].topics.size(), 3u);
  EXPECT_EQ(s[0].topics[0].name, "orderbook.50.BTCUSDT");
  EXPECT_EQ(s[0].topics[0].kind, TopicKind::kBook);
  EXPECT_GT(s[0].topics[0].max_silence_ns, 0);
  EXPECT_EQ(s[0].topics[1].name, "publicTrade.BTCUSDT");
  EXPECT_EQ(s[0].topics[1].kind, TopicKind::kTrades);
  EXPECT_EQ(s[0].topics[1].max_silence_ns, 0);
  EXPECT_EQ(s[0].topics[2].name, "tickers.BTCUSDT");
  EXPECT_EQ(s[0].topics[2].kind, TopicKind::kTicker);
  EXPECT_GT(s[0].topics[2].max_silence_ns, 0);
  for (const auto& t : s[0].topics) EXPECT_EQ(t.symbol, "BTCUSDT");

  const auto l = linear().plan({}, symbols);
  ASSERT_EQ(l.size(), 1u);
  ASSERT_EQ(l[0].topics.size(), 4u);
  EXPECT_EQ(l[0].topics[3].name, "allLiquidation.BTCUSDT");
  EXPECT_EQ(l[0].topics[3].kind, TopicKind::kLiquidation);
  EXPECT_EQ(l[0].topics[3].max_silence_ns, 0);
}

// Spot takes at most 10 args per subscribe request; every request is the venue's JSON shape with a string
// req_id, and together they subscribe exactly the connection's topics.
TEST(BybitProtocol, SpotSubscribeRequestsHoldAtMostTenArgs) {
  const std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BTCUSDT"};
  const auto plans = spot().plan({}, symbols);
  ASSERT_EQ(plans.size(), 1u);
  ASSERT_EQ(plans[0].topics.size(), 12u);  // the duplicate symbol is planned once
  ASSERT_EQ(plans[0].subscribe_messages.size(), 2u);
  std::vector<std::string> subscribed;
  std::set<std::string> ids;
  for (const auto& text : plans[0].subscribe_messages) {
    const auto request = nlohmann::json::parse(text);
    EXPECT_EQ(request["op"], "subscribe");
    ASSERT_TRUE(request["req_id"].is_string());
    ids.insert(request["req_id"].get<std::string>());
    EXPECT_LE(request["args"].size(), 10u);
    for (const auto& a : request["args"]) subscribed.push_back(a.get<std::string>());
  }
  EXPECT_EQ(ids.size(), 2u);
  ASSERT_EQ(subscribed.size(), plans[0].topics.size());
  for (std::size_t i = 0; i < subscribed.size(); ++i) EXPECT_EQ(subscribed[i], plans[0].topics[i].name);
  EXPECT_EQ(spot().limits().max_topics_per_message, 10u);
}

// Many symbols: connections split so that no connection's args exceed 21,000 characters, every topic is
// subscribed exactly once, and all topics of a symbol share one connection.
TEST(BybitProtocol, LargeUniverseSplitsByArgsCharacters) {
  std::vector<std::string> symbols;
  for (int i = 0; i < 1500; ++i) symbols.push_back("SYMBOL" + std::to_string(i) + "USDT");
  for (const VenueProtocol* protocol : {&spot(), &linear()}) {
    const auto plans = protocol->plan({}, symbols);
    ASSERT_GT(plans.size(), 1u) << protocol->id();
    std::map<std::string, std::size_t> connection_of_symbol;
    std::set<std::string> topics;
    for (std::size_t c = 0; c < plans.size(); ++c) {
      std::size_t chars = 0;
      for (const auto& text : plans[c].subscribe_messages) {
        const auto request = nlohmann::json::parse(text);
        EXPECT_LE(request["args"].size(), protocol->limits().max_topics_per_message);
        // Measured as the args array's JSON text, the strictest reading of the limit.
        chars += request["args"].dump().size();
        for (const auto& a : request["args"]) EXPECT_TRUE(topics.insert(a.get<std::string>()).second);
      }
      EXPECT_LE(chars, Protocol::kMaxArgsCharsPerConnection) << protocol->id() << " connection " << c;
      EXPECT_LE(plans[c].topics.size(), protocol->limits().max_topics_per_connection);
      for (const auto& t : plans[c].topics) {
        const auto [it, inserted] = connection_of_symbol.emplace(t.symbol, c);
        EXPECT_EQ(it->second, c) << t.name;
      }
    }
    EXPECT_EQ(connection_of_symbol.size(), symbols.size());
    EXPECT_EQ(topics.size(), symbols.size() * (protocol == &spot() ? 3 : 4));
  }
}

TEST(BybitProtocol, HeartbeatAndLimits) {
  for (const VenueProtocol* protocol : {&spot(), &linear()}) {
    const Heartbeat h = protocol->heartbeat();
    EXPECT_EQ(h.client_ping_interval_ns, 20'000'000'000);
    EXPECT_FALSE(h.only_when_idle);
    const auto ping = nlohmann::json::parse(h.ping_text);
    EXPECT_EQ(ping["op"], "ping");
    EXPECT_TRUE(ping["req_id"].is_string());
    const VenueLimits l = protocol->limits();
    EXPECT_EQ(l.connect_attempts_per_window, 500u);
    EXPECT_EQ(l.connect_window_ns, 300'000'000'000);
  }
}

TEST(BybitProtocol, ResubscribeIsUnsubscribeThenSubscribe) {
  const Topic topic{"orderbook.50.BTCUSDT", "BTCUSDT", TopicKind::kBook, 1};
  const auto messages = linear().resubscribe(topic, 41);
  ASSERT_EQ(messages.size(), 2u);
  const auto first = nlohmann::json::parse(messages[0]);
  const auto second = nlohmann::json::parse(messages[1]);
  EXPECT_EQ(first["op"], "unsubscribe");
  EXPECT_EQ(second["op"], "subscribe");
  EXPECT_EQ(first["req_id"], "41");
  EXPECT_EQ(first["args"], nlohmann::json::array({"orderbook.50.BTCUSDT"}));
  EXPECT_EQ(second["args"], nlohmann::json::array({"orderbook.50.BTCUSDT"}));
}

TEST(BybitProtocol, NormalizedInstruments) {
  EXPECT_EQ(spot().normalized_instrument("BTCUSDT"), "BTC-USDT");
  EXPECT_EQ(spot().normalized_instrument("ETHBTC"), "ETH-BTC");
  EXPECT_EQ(linear().normalized_instrument("BTCUSDT"), "BTC-USDT-PERP");
  EXPECT_EQ(linear().normalized_instrument("1000PEPEUSDT"), "1000PEPE-USDT-PERP");
  EXPECT_EQ(linear().normalized_instrument("BTCPERP"), "BTC-USDC-PERP");
  EXPECT_EQ(linear().normalized_instrument("BTCUSDT-26DEC25"), "");  // dated future: no perpetual name
  EXPECT_EQ(spot().normalized_instrument("NOQUOTE"), "");
}

TEST(BybitProtocol, Registered) {
  for (std::string_view id : {"bybit-spot", "bybit-linear"}) {
    const VenueProtocol* protocol = find_protocol(id);
    ASSERT_NE(protocol, nullptr) << id;
    EXPECT_EQ(protocol->id(), id);
    EXPECT_NE(make_decoder(id), nullptr) << id;
  }
}

}  // namespace
}  // namespace sigflow::io::bybit
