// The Deribit feed protocol: connection plans and their JSON-RPC requests, the heartbeat answer, resubscribe
// and the instrument names.
#include "io/venues/deribit/protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/venues/deribit/instrument_name.hpp"
#include "tests/venues/deribit_test_support.hpp"

namespace sigflow::io::deribit {
namespace {

TEST(DeribitProtocol, IsRegistered) {
  const VenueProtocol* protocol = find_protocol("deribit");
  ASSERT_NE(protocol, nullptr);
  EXPECT_EQ(protocol->id(), "deribit");
  EXPECT_EQ(protocol->book_resync(), BookResync::kResubscribe);
  EXPECT_EQ(protocol->heartbeat().client_ping_interval_ns, 0);
}

TEST(DeribitProtocol, PlansThe100msChannelsOnOneConnection) {
  const std::vector<std::string> symbols = {"BTC-PERPETUAL", "ETH-PERPETUAL"};
  const auto plans = deribit_protocol().plan({}, symbols);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].url, "wss://www.deribit.com/ws/api/v2");
  ASSERT_EQ(plans[0].topics.size(), 6u);
  EXPECT_EQ(plans[0].topics[0].name, "book.BTC-PERPETUAL.100ms");
  EXPECT_EQ(plans[0].topics[0].kind, TopicKind::kBook);
  EXPECT_GT(plans[0].topics[0].max_silence_ns, 0);
  EXPECT_EQ(plans[0].topics[1].name, "trades.BTC-PERPETUAL.100ms");
  EXPECT_EQ(plans[0].topics[1].max_silence_ns, 0);
  EXPECT_EQ(plans[0].topics[2].name, "ticker.BTC-PERPETUAL.100ms");
  EXPECT_EQ(plans[0].topics[2].kind, TopicKind::kTicker);
  EXPECT_EQ(plans[0].topics[5].symbol, "ETH-PERPETUAL");
  ASSERT_EQ(plans[0].subscribe_messages.size(), 1u);
  const auto request = nlohmann::json::parse(plans[0].subscribe_messages[0]);
  EXPECT_EQ(request.at("jsonrpc"), "2.0");
  EXPECT_EQ(request.at("method"), "public/subscribe");
  EXPECT_EQ(request.at("id"), 1);
  ASSERT_EQ(request.at("params").at("channels").size(), 6u);
  EXPECT_EQ(request.at("params").at("channels")[3], "book.ETH-PERPETUAL.100ms");
}

TEST(DeribitProtocol, EndpointOverrideAndSplitting) {
  std::vector<std::string> symbols;
  for (int i = 0; i < 400; ++i) symbols.push_back("BTC-24SEP21-" + std::to_string(10000 + i * 500) + "-P");
  VenueEndpoints endpoints;
  endpoints.url = "wss://127.0.0.1:4443/deribit/ws/api/v2";
  const auto plans = deribit_protocol().plan(endpoints, symbols);
  const VenueLimits limits = deribit_protocol().limits();
  std::size_t topics = 0;
  for (const auto& plan : plans) {
    EXPECT_EQ(plan.url, endpoints.url);
    EXPECT_LE(plan.topics.size(), limits.max_topics_per_connection);
    std::size_t listed = 0;
    for (const auto& message : plan.subscribe_messages) {
      const auto channels = nlohmann::json::parse(message).at("params").at("channels");
      EXPECT_LE(channels.size(), limits.max_topics_per_message);
      listed += channels.size();
    }
    EXPECT_EQ(listed, plan.topics.size());
    topics += plan.topics.size();
    // An instrument's three channels never straddle two connections.
    EXPECT_EQ(plan.topics.size() % 3, 0u);
  }
  EXPECT_EQ(topics, 1200u);
  EXPECT_EQ(plans.size(), 3u);
  EXPECT_LE(limits.max_outgoing_per_s, 20);  // under the credit pool's sustained rate
}

TEST(DeribitProtocol, OpenMessageSetsTheHeartbeat) {
  const auto messages = deribit_protocol().open_messages();
  ASSERT_EQ(messages.size(), 1u);
  const auto request = nlohmann::json::parse(messages[0]);
  EXPECT_EQ(request.at("method"), "public/set_heartbeat");
  EXPECT_GE(request.at("params").at("interval").get<int>(), 10);
  EXPECT_EQ(request.at("id").get<std::uint64_t>(), kSetHeartbeatId);
}

TEST(DeribitProtocol, AnswersTestRequestsOnly) {
  const VenueProtocol& protocol = deribit_protocol();
  std::string reply;
  ASSERT_TRUE(protocol.reply_to(testing::fixture("heartbeat_test_request.json"), reply));
  const auto test = nlohmann::json::parse(reply);
  EXPECT_EQ(test.at("method"), "public/test");
  EXPECT_EQ(test.at("jsonrpc"), "2.0");
  EXPECT_EQ(test.at("id").get<std::uint64_t>(), kTestReplyId);
  EXPECT_TRUE(test.at("params").is_object());

  reply.clear();
  EXPECT_TRUE(
      protocol.reply_to(R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}})", reply));
  EXPECT_FALSE(reply.empty());
  // Reused without growing: the feed thread calls this per frame.
  const char* storage = reply.data();
  EXPECT_TRUE(protocol.reply_to(R"({"params":{"type" : "test_request"},"method" : "heartbeat"})", reply));
  EXPECT_EQ(reply.data(), storage);

  const std::string not_requests[] = {
      R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}})",
      R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"x","data":{"type":"test_request"}}})",
      R"({"jsonrpc":"2.0","id":1,"result":"test_request heartbeat"})",
      testing::fixture("trades_perpetual.json"),
      testing::fixture("quote_bbo.json"),
  };
  for (const auto& frame : not_requests) EXPECT_FALSE(protocol.reply_to(frame, reply)) << frame;
}

TEST(DeribitProtocol, ResubscribeIsUnsubscribeThenSubscribe) {
  const Topic topic{"book.BTC-PERPETUAL.100ms", "BTC-PERPETUAL", TopicKind::kBook, 0};
  const auto messages = deribit_protocol().resubscribe(topic, 41);
  ASSERT_EQ(messages.size(), 2u);
  const auto unsubscribe = nlohmann::json::parse(messages[0]);
  const auto subscribe = nlohmann::json::parse(messages[1]);
  EXPECT_EQ(unsubscribe.at("method"), "public/unsubscribe");
  EXPECT_EQ(unsubscribe.at("id"), 41);
  EXPECT_EQ(unsubscribe.at("params").at("channels")[0], topic.name);
  EXPECT_EQ(subscribe.at("method"), "public/subscribe");
  EXPECT_EQ(subscribe.at("id"), 42);
  EXPECT_EQ(subscribe.at("params").at("channels")[0], topic.name);
}

TEST(DeribitInstrumentName, Normalizes) {
  EXPECT_EQ(normalized_instrument("BTC-PERPETUAL"), "BTC-USD-PERP");
  EXPECT_EQ(normalized_instrument("ETH-PERPETUAL"), "ETH-USD-PERP");
  EXPECT_EQ(normalized_instrument("SOL_USDC-PERPETUAL"), "SOL-USDC-PERP");
  EXPECT_EQ(normalized_instrument("BTC-27DEC24"), "BTC-USD-27DEC24");
  EXPECT_EQ(normalized_instrument("BTC_USDC-7JUN24"), "BTC-USDC-7JUN24");
  EXPECT_EQ(normalized_instrument("BTC-24SEP21-34000-P"), "BTC-USD-24SEP21-34000-P");
  EXPECT_EQ(normalized_instrument("XRP_USDC-30JUN23-0d625-C"), "XRP-USDC-30JUN23-0d625-C");
  EXPECT_EQ(deribit_protocol().normalized_instrument("ETH-30JUL21-2800-C"), "ETH-USD-30JUL21-2800-C");
  for (const std::string_view bad :
       {"", "BTC", "BTCUSDT", "btc-PERPETUAL", "BTC-PERP", "BTC-27XYZ24", "BTC-24SEP21-34000-X",
        "BTC-24SEP21-34000", "BTC-24SEP21--P", "_USDC-PERPETUAL"})
    EXPECT_EQ(normalized_instrument(bad), "") << bad;
}

}  // namespace
}  // namespace sigflow::io::deribit
