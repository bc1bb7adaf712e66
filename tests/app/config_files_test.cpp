// The shipped configuration files load, and the engine refuses to start on a bad one.
#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

#include <filesystem>
#include <fstream>

#include "engine/app/commands.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/config.hpp"

namespace {

TEST(ConfigFiles, EveryShippedConfigLoads) {
  int loaded = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(sigflow::testing_support::source_dir() + "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    EXPECT_NO_THROW(sigflow::engine::load_config_file(entry.path().string())) << entry.path();
    ++loaded;
  }
  EXPECT_GT(loaded, 0);
}

TEST(ConfigFiles, EveryShippedConfigWiresAgainstTheVenueRegistry) {
  for (const auto& entry :
       std::filesystem::directory_iterator(sigflow::testing_support::source_dir() + "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    const auto config = sigflow::engine::load_config_file(entry.path().string());
    EXPECT_NO_THROW(sigflow::app::wire_venues(config)) << entry.path();
  }
}

std::string wiring_error(const std::string& toml) {
  try {
    sigflow::app::wire_venues(sigflow::engine::load_config_text(toml, "v.toml"));
  } catch (const sigflow::engine::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigFiles, EveryRegisteredVenueIdIsAccepted) {
  for (std::string_view id : sigflow::io::venue_ids()) {
    const auto* protocol = sigflow::io::find_protocol(id);
    ASSERT_NE(protocol, nullptr);
    // A symbol the venue understands: the simulator-independent way is to try the common shapes.
    std::string symbol;
    for (const char* candidate : {"BTCUSDT", "BTC-USDT-SWAP", "BTC-PERPETUAL", "BTC-USDT"})
      if (symbol.empty() && !protocol->normalized_instrument(candidate).empty()) symbol = candidate;
    ASSERT_FALSE(symbol.empty()) << id;
    EXPECT_EQ(wiring_error("[venues." + std::string(id) + "]\nsymbols = [\"" + symbol + "\"]\n"), "no error")
        << id;
  }
}

TEST(ConfigFiles, WiringRefusesWhatTheRegistrySaysIsWrongNamingFileLineAndKey) {
  const std::string unknown = wiring_error("[venues.kraken]\nsymbols = [\"XBTUSD\"]\n");
  EXPECT_NE(unknown.find("v.toml:1: key 'venues.kraken': unknown venue (supported: "), std::string::npos)
      << unknown;
  EXPECT_NE(unknown.find("binance-usdm"), std::string::npos) << unknown;

  const std::string quote = wiring_error("[venues.binance-usdm]\n\nsymbols = [\"BTCUSDT\", \"BTCXYZ\"]\n");
  EXPECT_NE(quote.find("v.toml:3: key 'venues.binance-usdm.symbols': 'BTCXYZ'"), std::string::npos) << quote;

  const std::string twice = wiring_error("[venues.binance-usdm]\nsymbols = [\"BTCUSDT\", \"btcusdt\"]\n");
  EXPECT_NE(twice.find("listed twice"), std::string::npos) << twice;

  const std::string wrong_key =
      wiring_error("[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\nurl = \"wss://fstream.binance.com\"\n");
  EXPECT_NE(
      wrong_key.find("v.toml:3: key 'venues.binance-usdm.url': venue 'binance-usdm' does not take this key"),
      std::string::npos)
      << wrong_key;
  EXPECT_NE(wrong_key.find("public_url, market_url"), std::string::npos) << wrong_key;

  if (sigflow::io::find_protocol("okx")) {
    const std::string rest =
        wiring_error("[venues.okx]\nsymbols = [\"BTC-USDT-SWAP\"]\nrest_url = \"https://www.okx.com\"\n");
    EXPECT_NE(rest.find("v.toml:3: key 'venues.okx.rest_url'"), std::string::npos) << rest;
  }
}

TEST(ConfigFiles, WiringNumbersRestPseudoConnectionsAfterTheWebSockets) {
  const auto config = sigflow::engine::load_config_text(
      "[venues.binance-usdm]\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n", "v.toml");
  const auto w = sigflow::app::wire_venues(config);
  ASSERT_EQ(w.instruments.size(), 2u);
  ASSERT_EQ(w.feed_routes.size(), 2u);
  const auto ws = static_cast<std::uint32_t>(w.connections.size());
  EXPECT_EQ(w.feed_routes[0].rest_conn_id, ws + 1);
  EXPECT_EQ(w.feed_routes[1].rest_conn_id, ws + 2);
  const auto& rest = w.strategy_connections.back();
  EXPECT_EQ(rest.conn_id, ws + 2);
  EXPECT_EQ(rest.route, "rest");
  EXPECT_EQ(rest.stream, "ETHUSDT");
  for (const auto& route : w.feed_routes)
    EXPECT_TRUE(route.topics[static_cast<std::size_t>(sigflow::io::TopicKind::kBook)].valid());
}

TEST(ConfigFiles, EachInstrumentIsWatchedByItsVenuesSilenceLimitsOrTheConfiguredOnes) {
  constexpr std::int64_t kS = 1'000'000'000;
  const auto config = sigflow::engine::load_config_text(
      "[venues.binance]\nsymbols = [\"BTCUSDT\"]\n"
      "[venues.okx]\nsymbols = [\"BTC-USDT\"]\ntopic_silence_ms = { book = 90000 }\n",
      "v.toml");
  const auto w = sigflow::app::wire_venues(config);
  ASSERT_EQ(w.instruments.size(), 2u);
  // Binance spot's own rules: diff depth 30 s, bookTicker 60 s (io/venues/binance/protocol.cpp).
  ASSERT_TRUE(w.instruments[0].liveness.has_value());
  EXPECT_EQ(w.instruments[0].liveness->book_ns, 30 * kS);
  EXPECT_EQ(w.instruments[0].liveness->best_bid_ask_ns, 60 * kS);
  // OKX: the book as configured; its tickers carry the best bid/ask, so that watch takes the tickers' 60 s.
  ASSERT_TRUE(w.instruments[1].liveness.has_value());
  EXPECT_EQ(w.instruments[1].liveness->book_ns, 90 * kS);
  EXPECT_EQ(w.instruments[1].liveness->best_bid_ask_ns, 60 * kS);
  EXPECT_EQ(w.instruments[1].liveness->ticker_ns, 60 * kS);
  // The feed connection's topics carry the same limits.
  const auto& okx = w.connections.back();
  for (const auto& topic : okx.topics) {
    if (topic.kind == sigflow::io::TopicKind::kBook) {
      EXPECT_EQ(topic.max_silence_ns, 90 * kS) << topic.name;
    }
  }
}

TEST(ConfigFiles, RunRefusesToStartOnAnUnknownKey) {
  const auto path = std::filesystem::temp_directory_path() / "sigflow-bad-config.toml";
  {
    std::ofstream out(path);
    out << "[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\nsymbls = [\"ETHUSDT\"]\n";
  }
  sigflow::app::RunOptions options;
  options.config_path = path.string();
  testing::internal::CaptureStderr();
  const int status = sigflow::app::run_engine(options);
  const std::string err = testing::internal::GetCapturedStderr();
  std::filesystem::remove(path);
  EXPECT_EQ(status, 2);
  EXPECT_NE(err.find("venues.binance-usdm.symbls"), std::string::npos) << err;
  EXPECT_NE(err.find(":3"), std::string::npos) << err;
}

}  // namespace
