// The OKX protocol description: instrument names, topic plan and its split over connections and requests,
// heartbeat, limits and the book resync requests.
#include "io/venues/okx/protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace sigflow::io::okx {
namespace {

TEST(OkxProtocol, NormalizedInstrument) {
  const Protocol p;
  EXPECT_EQ(p.normalized_instrument("BTC-USDT"), "BTC-USDT");
  EXPECT_EQ(p.normalized_instrument("BTC-USDT-SWAP"), "BTC-USDT-PERP");
  EXPECT_EQ(p.normalized_instrument("UNI-USD-SWAP"), "UNI-USD-PERP");
  EXPECT_EQ(p.normalized_instrument("BTC-USD-250328"), "BTC-USD-250328");
  EXPECT_EQ(p.normalized_instrument("BTC-USD-250328-90000-C"), "BTC-USD-250328-90000-C");
  EXPECT_EQ(p.normalized_instrument("1INCH-USDT"), "1INCH-USDT");
  for (std::string_view bad : {"", "BTCUSDT", "btc-usdt", "BTC-", "-USDT", "BTC-USDT-PERP", "BTC-USD-2503",
                               "BTC-USD-250328-90000-X", "BTC--USDT"})
    EXPECT_EQ(p.normalized_instrument(bad), "") << bad;
}

TEST(OkxProtocol, PlanSubscribesBooksTradesTickersAndSwapFunding) {
  const Protocol p;
  const std::vector<std::string> symbols{"BTC-USDT", "BTC-USDT-SWAP"};
  const auto plans = p.plan({}, symbols);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].url, "wss://ws.okx.com:8443/ws/v5/public");
  std::vector<std::string> names;
  for (const Topic& t : plans[0].topics) names.push_back(t.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"books:BTC-USDT", "trades:BTC-USDT", "tickers:BTC-USDT",
                                      "books:BTC-USDT-SWAP", "trades:BTC-USDT-SWAP", "tickers:BTC-USDT-SWAP",
                                      "funding-rate:BTC-USDT-SWAP", "mark-price:BTC-USDT-SWAP"}));
  EXPECT_EQ(plans[0].topics[0].kind, TopicKind::kBook);
  EXPECT_GT(plans[0].topics[0].max_silence_ns, 0);
  EXPECT_EQ(plans[0].topics[1].kind, TopicKind::kTrades);
  EXPECT_EQ(plans[0].topics[1].max_silence_ns, 0);
  EXPECT_EQ(plans[0].topics[2].kind, TopicKind::kTicker);
  EXPECT_GT(plans[0].topics[2].max_silence_ns, 0);
  EXPECT_EQ(plans[0].topics[3].symbol, "BTC-USDT-SWAP");
  ASSERT_EQ(plans[0].subscribe_messages.size(), 1u);
  const auto request = nlohmann::json::parse(plans[0].subscribe_messages[0]);
  EXPECT_EQ(request["op"], "subscribe");
  EXPECT_TRUE(request["id"].is_string());
  ASSERT_EQ(request["args"].size(), 8u);
  EXPECT_EQ(request["args"][0], (nlohmann::json{{"channel", "books"}, {"instId", "BTC-USDT"}}));
  EXPECT_EQ(request["args"][7], (nlohmann::json{{"channel", "mark-price"}, {"instId", "BTC-USDT-SWAP"}}));
}

TEST(OkxProtocol, EndpointOverrideForTheSimulator) {
  const Protocol p;
  VenueEndpoints endpoints;
  endpoints.url = "wss://127.0.0.1:4433/okx/ws/v5/public";
  const std::vector<std::string> symbols{"BTC-USDT"};
  EXPECT_EQ(p.plan(endpoints, symbols).at(0).url, endpoints.url);
}

TEST(OkxProtocol, ManySymbolsSplitWithinTheLimits) {
  const Protocol p;
  std::vector<std::string> symbols;
  for (int i = 0; i < 150; ++i) symbols.push_back("C" + std::to_string(i) + "-USDT-SWAP");  // 5 topics each
  const auto plans = p.plan({}, symbols);
  const VenueLimits limits = p.limits();
  std::set<std::string> all;
  std::set<std::uint64_t> ids;
  for (const auto& plan : plans) {
    EXPECT_LE(plan.topics.size(), limits.max_topics_per_connection);
    std::size_t args = 0;
    for (const auto& message : plan.subscribe_messages) {
      EXPECT_LT(message.size(), kMaxArgsBytesPerRequest);
      const auto request = nlohmann::json::parse(message);
      EXPECT_LE(request["args"].size(), limits.max_topics_per_message);
      EXPECT_TRUE(ids.insert(std::stoull(request["id"].get<std::string>())).second);
      for (const auto& arg : request["args"]) {
        const std::string name = arg["channel"].get<std::string>() + ":" + arg["instId"].get<std::string>();
        EXPECT_EQ(name, plan.topics[args].name);
        ++args;
        EXPECT_TRUE(all.insert(name).second) << name;
      }
    }
    EXPECT_EQ(args, plan.topics.size());
  }
  EXPECT_EQ(all.size(), 750u);
  EXPECT_EQ(plans.size(), 4u);
}

TEST(OkxProtocol, HeartbeatLimitsAndResync) {
  const Protocol p;
  const Heartbeat h = p.heartbeat();
  EXPECT_EQ(h.ping_text, "ping");
  EXPECT_TRUE(h.only_when_idle);
  EXPECT_GT(h.client_ping_interval_ns, 0);
  EXPECT_LT(h.client_ping_interval_ns, 30'000'000'000LL);
  const VenueLimits l = p.limits();
  EXPECT_EQ(l.connect_attempts_per_window, 3u);
  EXPECT_EQ(l.connect_window_ns, 1'000'000'000LL);
  EXPECT_EQ(p.book_resync(), BookResync::kResubscribe);
  EXPECT_EQ(p.id(), "okx");

  Topic books;
  books.name = "books:UNI-USD-SWAP";
  books.symbol = "UNI-USD-SWAP";
  books.kind = TopicKind::kBook;
  const auto messages = p.resubscribe(books, 99);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0],
            R"({"id":"99","op":"unsubscribe","args":[{"channel":"books","instId":"UNI-USD-SWAP"}]})");
  EXPECT_EQ(messages[1],
            R"({"id":"99","op":"subscribe","args":[{"channel":"books","instId":"UNI-USD-SWAP"}]})");
}

}  // namespace
}  // namespace sigflow::io::okx
