#include "engine/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace {

using sigflow::engine::ConfigError;
using sigflow::engine::load_config_file;
using sigflow::engine::load_config_text;
using sigflow::engine::WaitMode;

constexpr const char* kValid = R"(
[threads]
feed = 0
strategy = { cpu = 0, wait = "sleep" }

[strategy]
cycle_ms = 50

[venues.binance-usdm]
symbols = ["BTCUSDT", "ETHUSDT"]
ca_file = "/tmp/ca.pem"

[venues.binance-usdm.reconnect]
base_ms = 100
cap_ms = 5000
)";

std::string error_of(const std::string& toml) {
  try {
    load_config_text(toml, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, ReadsAValidFile) {
  const auto config = load_config_text(kValid, "test.toml");
  ASSERT_EQ(config.venues.size(), 1u);
  const auto& venue = config.venues[0];
  EXPECT_EQ(venue.id, "binance-usdm");
  // Unset endpoints stay empty: the venue's protocol supplies its production endpoints.
  EXPECT_EQ(venue.public_url, "");
  EXPECT_EQ(venue.market_url, "");
  EXPECT_EQ(venue.rest_url, "");
  EXPECT_EQ(venue.where("symbols"), "test.toml:10: key 'venues.binance-usdm.symbols'");
  EXPECT_EQ(venue.where("rest_url"), "test.toml:9: key 'venues.binance-usdm.rest_url'");
  EXPECT_EQ(venue.symbols, (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
  EXPECT_EQ(venue.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(venue.reconnect.base_ms, 100);
  EXPECT_EQ(venue.reconnect.cap_ms, 5000);
  EXPECT_EQ(config.thread("feed").cpu, 0);
  EXPECT_EQ(config.thread("strategy").wait, WaitMode::kSleep);
  EXPECT_FALSE(config.thread("sink").cpu.has_value());
  EXPECT_EQ(config.strategy.cycle_ms, 50);
}

TEST(Config, UnknownKeyIsAnErrorNamingKeyAndLine) {
  const std::string error = error_of(std::string(kValid) + "\n[strategy2]\nx = 1\n");
  EXPECT_NE(error.find("test.toml:17"), std::string::npos) << error;
  EXPECT_NE(error.find("'strategy2'"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown key"), std::string::npos) << error;
}

TEST(Config, MisspeltNestedKeyIsNamedWithItsPath) {
  const std::string error = error_of("[venues.binance-usdm]\nsymbols=[\"BTCUSDT\"]\nsymbol = \"x\"\n");
  EXPECT_NE(error.find("'venues.binance-usdm.symbol'"), std::string::npos) << error;
  EXPECT_NE(error.find("test.toml:3"), std::string::npos) << error;
}

TEST(Config, WrongCpuIsAnErrorNamingTheThread) {
  const std::string error =
      error_of("[threads]\nfeed = 4096\n[venues.binance-usdm]\nsymbols=[\"BTCUSDT\"]\n");
  EXPECT_NE(error.find("'threads.feed'"), std::string::npos) << error;
  EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
}

TEST(Config, AWrongCpuInAThreadTableNamesTheThreadsOwnKey) {
  const std::string error =
      error_of("[threads]\nfeed = { cpu = 4096 }\n[venues.binance-usdm]\nsymbols=[\"BTCUSDT\"]\n");
  EXPECT_NE(error.find("test.toml:2: key 'threads.feed.cpu'"), std::string::npos) << error;
}

TEST(Config, TopicSilenceLimitsOverrideTheVenuesPerKind) {
  const auto config = load_config_text(
      "[venues.okx]\nsymbols=[\"BTC-USDT\"]\ntopic_silence_ms = { book = 90000, bbo = 0, ticker = 120000 }\n"
      "first_frame_grace_ms = 8000\n",
      "test.toml");
  ASSERT_EQ(config.venues.size(), 1u);
  const auto& v = config.venues[0];
  EXPECT_EQ(v.book_silence_ms, 90'000);
  EXPECT_EQ(v.bbo_silence_ms, 0);  // the watch off
  EXPECT_EQ(v.ticker_silence_ms, 120'000);
  EXPECT_EQ(v.trades_silence_ms, -1);  // unset: the venue's rule
  EXPECT_EQ(v.first_frame_grace_ms, 8'000);

  const std::string unknown =
      error_of("[venues.okx]\nsymbols=[\"BTC-USDT\"]\ntopic_silence_ms = { depth = 1000 }\n");
  EXPECT_NE(unknown.find("test.toml:3: key 'venues.okx.topic_silence_ms.depth': unknown key"),
            std::string::npos)
      << unknown;
  const std::string negative =
      error_of("[venues.okx]\nsymbols=[\"BTC-USDT\"]\ntopic_silence_ms = { book = -1 }\n");
  EXPECT_NE(negative.find("key 'venues.okx.topic_silence_ms.book': must be in 0..3600000"), std::string::npos)
      << negative;
  const std::string text =
      error_of("[venues.okx]\nsymbols=[\"BTC-USDT\"]\ntopic_silence_ms = { book = \"30s\" }\n");
  EXPECT_NE(text.find("'venues.okx.topic_silence_ms.book': expected an integer"), std::string::npos) << text;
  EXPECT_NE(error_of("[venues.okx]\nsymbols=[\"BTC-USDT\"]\ntopic_silence_ms = 5\n").find("expected a table"),
            std::string::npos);
  EXPECT_NE(error_of("[venues.okx]\nsymbols=[\"BTC-USDT\"]\nfirst_frame_grace_ms = 0\n").find("must be in"),
            std::string::npos);
}

TEST(Config, UnknownThreadAndWrongTypesAreErrors) {
  EXPECT_NE(error_of("[threads]\nfeeder = 0\n").find("'threads.feeder'"), std::string::npos);
  EXPECT_NE(error_of("[strategy]\ncycle_ms = \"50\"\n").find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of("[strategy]\ncycle_ms = 0\n").find("must be in"), std::string::npos);
  EXPECT_NE(error_of("[threads]\nfeed = { cpu = 0, wait = \"spin\" }\n").find("\"sleep\" or \"busy\""),
            std::string::npos);
}

TEST(Config, TwoBusyPollingThreadsOnOneCpuAreRefused) {
  const std::string error = error_of(
      "[threads]\nfeed = { cpu = 0, wait = \"busy\" }\nstrategy = { cpu = 0, wait = \"busy\" }\n"
      "[venues.binance-usdm]\nsymbols=[\"BTCUSDT\"]\n");
  EXPECT_NE(error.find("also busy-polls"), std::string::npos) << error;
}

TEST(Config, VenueChecks) {
  // Which venue ids exist is the venue registry's to say: tests/app/config_files_test.cpp.
  EXPECT_NE(error_of("[venues.binance-usdm]\nsymbols=[]\n").find("at least one symbol"), std::string::npos);
  EXPECT_NE(error_of("[venues.binance-usdm]\nsymbols=[\"A\"]\npublic_url=\"https://x\"\n").find("wss://"),
            std::string::npos);
  EXPECT_NE(error_of("[venues.okx]\nsymbols=[\"A\"]\nurl=\"https://x\"\n").find("wss://"), std::string::npos);
  const std::string rest = error_of("[venues.binance]\nsymbols=[\"A\"]\nrest_url=\"wss://x\"\n");
  EXPECT_NE(rest.find("test.toml:3: key 'venues.binance.rest_url': expected an https://"), std::string::npos)
      << rest;
  EXPECT_NE(error_of("").find("no enabled venue"), std::string::npos);
}

TEST(Config, SyntaxErrorAndMissingFileAreClear) {
  EXPECT_NE(error_of("[threads\n").find("test.toml:1"), std::string::npos);
  try {
    load_config_file("/nonexistent/sigflow.toml");
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/sigflow.toml"), std::string::npos) << e.what();
  }
}

}  // namespace
