// Plaintext endpoints are opt-in per endpoint, named by file, line and key when refused; the metrics
// endpoint stays on loopback unless the file says otherwise, and a wider one is a notice at start.
#include <gtest/gtest.h>

#include <string>

#include "engine/config.hpp"

namespace sigflow::engine {
namespace {

std::string error_of(const std::string& toml) {
  try {
    load_config_text(toml, "sec.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigSecurity, PlaintextWebSocketIsRefusedWithoutTheEndpointsFlag) {
  const std::string e = error_of("[venues.okx]\nsymbols = [\"BTC-USDT\"]\nurl = \"ws://127.0.0.1:9/ws\"\n");
  EXPECT_NE(e.find("sec.toml:3: key 'venues.okx.url': 'ws://127.0.0.1:9/ws' is plaintext"), std::string::npos)
      << e;
  EXPECT_NE(e.find("allow_insecure = true"), std::string::npos) << e;

  const std::string usdm = error_of(
      "[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\npublic_url = \"wss://x/public\"\n"
      "market_url = \"ws://x/market\"\n");
  EXPECT_NE(usdm.find("sec.toml:4: key 'venues.binance-usdm.market_url'"), std::string::npos) << usdm;

  const std::string rest =
      error_of("[venues.binance]\nsymbols = [\"BTCUSDT\"]\n\nrest_url = \"http://127.0.0.1:9\"\n");
  EXPECT_NE(rest.find("sec.toml:4: key 'venues.binance.rest_url'"), std::string::npos) << rest;
  EXPECT_NE(rest.find("plaintext"), std::string::npos) << rest;
}

TEST(ConfigSecurity, TheFlagAllowsPlaintextOnThatEndpointOnlyAndNamesIt) {
  const Config c = load_config_text(
      "[venues.okx]\nsymbols = [\"BTC-USDT\"]\nurl = \"ws://127.0.0.1:9/ws\"\nallow_insecure = true\n"
      "[venues.bybit-spot]\nsymbols = [\"BTCUSDT\"]\nurl = \"wss://127.0.0.1:9/spot\"\n"
      "[venues.binance]\nsymbols = [\"BTCUSDT\"]\nrest_url = \"http://127.0.0.1:9\"\nallow_insecure = true\n",
      "sec.toml");
  ASSERT_EQ(c.venues.size(), 3u);
  EXPECT_TRUE(c.venues[0].allow_insecure);
  EXPECT_FALSE(c.venues[1].allow_insecure);
  const std::vector<std::string> insecure = insecure_endpoints(c);
  // In the order of the parsed tables (toml++ keeps keys sorted).
  EXPECT_EQ(insecure, (std::vector<std::string>{"venues.binance", "venues.okx"}));
  const std::vector<std::string> notices = security_notices(c);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_NE(notices[1].find("venues.okx: plaintext endpoint"), std::string::npos) << notices[1];

  // The flag on one venue does not carry over to another.
  EXPECT_NE(error_of("[venues.okx]\nsymbols = [\"A\"]\nallow_insecure = true\n"
                     "[venues.bybit-spot]\nsymbols = [\"A\"]\nurl = \"ws://x\"\n")
                .find("key 'venues.bybit-spot.url'"),
            std::string::npos);
  // Set but unused (TLS everywhere): nothing is insecure.
  const Config tls = load_config_text("[venues.okx]\nsymbols = [\"A\"]\nallow_insecure = true\n", "sec.toml");
  EXPECT_TRUE(insecure_endpoints(tls).empty());
  EXPECT_TRUE(security_notices(tls).empty());
}

TEST(ConfigSecurity, PlaintextInferenceNeedsItsOwnFlag) {
  const std::string venue = "[venues.okx]\nsymbols = [\"BTC-USDT\"]\n";
  const std::string e = error_of(venue +
                                 "[inference]\nenabled = true\nmodel = \"m\"\n"
                                 "base_url = \"http://127.0.0.1:8000/v1\"\n");
  EXPECT_NE(e.find("sec.toml:6: key 'inference.base_url': 'http://127.0.0.1:8000/v1' is plaintext"),
            std::string::npos)
      << e;
  // A venue's flag does not cover the inference endpoint.
  EXPECT_NE(error_of(venue + "allow_insecure = true\n[inference]\nenabled = true\nmodel = \"m\"\n"
                             "base_url = \"http://127.0.0.1:8000/v1\"\n")
                .find("inference.base_url"),
            std::string::npos);
  const Config c = load_config_text(venue +
                                        "[inference]\nenabled = true\nmodel = \"m\"\nallow_insecure = true\n"
                                        "base_url = \"http://127.0.0.1:8000/v1\"\n",
                                    "sec.toml");
  EXPECT_TRUE(c.inference.allow_insecure);
  EXPECT_EQ(insecure_endpoints(c), std::vector<std::string>{"inference"});
  // A disabled endpoint is not reported.
  Config off = c;
  off.inference.enabled = false;
  EXPECT_TRUE(insecure_endpoints(off).empty());
  EXPECT_NE(error_of(venue + "[inference]\nallow_insecure = 1\n").find("inference.allow_insecure"),
            std::string::npos);
}

TEST(ConfigSecurity, PlaintextNatsBeyondLoopbackNeedsItsOwnFlag) {
  const std::string venue = "[venues.okx]\nsymbols = [\"BTC-USDT\"]\n";
  const std::string e =
      error_of(venue + "[nats]\nenabled = true\nurls = [\"tls://a:4222\", \"nats://b:4222\"]\n");
  EXPECT_NE(e.find("sec.toml:5: key 'nats.urls': 'nats://b:4222' is plaintext beyond loopback"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("allow_insecure = true under [nats]"), std::string::npos) << e;
  // A venue's flag does not cover NATS; user info in the URL does not hide the host.
  EXPECT_NE(
      error_of(venue + "allow_insecure = true\n[nats]\nenabled = true\nurls = [\"nats://u:p@10.1.1.1\"]\n")
          .find("nats.urls"),
      std::string::npos);

  // Loopback never leaves the host, TLS is TLS, and a disabled [nats] connects nowhere: no flag needed.
  for (const char* urls :
       {"[\"nats://127.0.0.1:4222\"]", "[\"nats://localhost:4222\", \"nats://[::1]:4222\"]",
        "[\"nats://u:p@127.0.0.2\"]", "[\"tls://nats-1:4222\"]"}) {
    const Config c = load_config_text(venue + "[nats]\nenabled = true\nurls = " + urls + "\n", "sec.toml");
    EXPECT_TRUE(insecure_endpoints(c).empty()) << urls;
  }
  EXPECT_TRUE(insecure_endpoints(load_config_text(venue + "[nats]\nurls = [\"nats://b:4222\"]\n", "sec.toml"))
                  .empty());

  const Config c = load_config_text(
      venue + "[nats]\nenabled = true\nallow_insecure = true\nurls = [\"nats://b\"]\n", "sec.toml");
  EXPECT_EQ(insecure_endpoints(c), std::vector<std::string>{"nats"});
  ASSERT_EQ(security_notices(c).size(), 1u);
  EXPECT_NE(security_notices(c)[0].find("nats: plaintext endpoint"), std::string::npos)
      << security_notices(c)[0];
}

TEST(ConfigSecurity, MetricsListenOnLoopbackUnlessTheFileSaysOtherwise) {
  const std::string venue = "[venues.okx]\nsymbols = [\"BTC-USDT\"]\n";
  const Config by_default = load_config_text(venue, "sec.toml");
  EXPECT_EQ(by_default.metrics.address, "127.0.0.1");
  EXPECT_TRUE(is_loopback_address(by_default.metrics.address));
  EXPECT_TRUE(security_notices(by_default).empty());
  const Config table_only = load_config_text(venue + "[metrics]\nenabled = true\n", "sec.toml");
  EXPECT_EQ(table_only.metrics.address, "127.0.0.1");
  EXPECT_TRUE(security_notices(table_only).empty());

  // Wider than loopback only when written out, and then said at start.
  const Config wide =
      load_config_text(venue + "[metrics]\nenabled = true\nlisten = \"0.0.0.0:9464\"\n", "sec.toml");
  EXPECT_EQ(wide.metrics.address, "0.0.0.0");
  EXPECT_FALSE(is_loopback_address(wide.metrics.address));
  const std::vector<std::string> notices = security_notices(wide);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("metrics: listening on 0.0.0.0:9464, not loopback"), std::string::npos)
      << notices[0];

  Config disabled = wide;
  disabled.metrics.enabled = false;
  EXPECT_TRUE(security_notices(disabled).empty());
  EXPECT_TRUE(is_loopback_address("127.0.0.2"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
}

}  // namespace
}  // namespace sigflow::engine
