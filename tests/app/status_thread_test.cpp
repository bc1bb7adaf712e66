#include "engine/app/status_thread.hpp"

#include "tests/support/metrics_page.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "engine/counter.hpp"
#include "tests/support/wait_for.hpp"

namespace sigflow::app {
namespace {

using sigflow::testing_support::http_get;

StatusThreadConfig loopback_config(std::FILE* out) {
  StatusThreadConfig config;
  config.metrics.enabled = true;
  config.metrics.port = 0;
  config.status_interval_ns = 20'000'000;
  config.status_out = out;
  return config;
}

TEST(StatusThread, ServesTheRegistryAndPrintsStatusLines) {
  engine::MetricsRegistry registry;
  engine::Counter frames;
  frames.add(41);
  registry.add_counter("sigflow_feed_frames_total", "Frames received.", {{"venue", "binance-usdm"}}, frames);
  std::FILE* out = std::tmpfile();
  std::atomic<int> renders{0};  // written by the status thread, read here
  StatusThread status(loopback_config(out), registry, [&](std::int64_t) {
    ++renders;
    return std::string("status line");
  });
  status.start({});
  ASSERT_NE(status.metrics_port(), 0);
  frames.add(1);
  const std::string response = http_get(status.metrics_port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK", 0), 0u) << response;
  EXPECT_NE(response.find("sigflow_feed_frames_total{venue=\"binance-usdm\"} 42"), std::string::npos)
      << response;
  EXPECT_EQ(http_get(status.metrics_port(), "/").rfind("HTTP/1.1 404", 0), 0u);
  // At least two printed lines; the first render only starts the rate windows. On a loaded machine the
  // 20 ms status thread may not run for seconds, hence the generous bound.
  EXPECT_TRUE(testing_support::wait_for([&] { return renders >= 3; }, std::chrono::seconds(60)))
      << renders << " renders";
  status.stop();
  EXPECT_EQ(status.scrapes(), 1u);
  std::rewind(out);
  char line[64] = {};
  ASSERT_NE(std::fgets(line, sizeof line, out), nullptr);
  EXPECT_STREQ(line, "status line\n");
  std::fclose(out);
}

TEST(StatusThread, PortInUseIsAConfigErrorNamingTheKey) {
  engine::MetricsRegistry registry;
  StatusThread first(loopback_config(stderr), registry, [](std::int64_t) { return std::string(); });
  first.start({});
  StatusThreadConfig taken = loopback_config(stderr);
  taken.metrics.port = first.metrics_port();
  StatusThread second(taken, registry, [](std::int64_t) { return std::string(); });
  try {
    second.start({});
    FAIL() << "bound a port that is in use";
  } catch (const engine::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("metrics.listen: 127.0.0.1:", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
}

TEST(StatusThread, MetricsConfigParsesAndRejectsBadAddresses) {
  const std::string venue = "\n[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\n";
  const engine::Config c = engine::load_config_text("[metrics]\nlisten = \"0.0.0.0:9100\"" + venue, "t.toml");
  EXPECT_EQ(c.metrics.address, "0.0.0.0");
  EXPECT_EQ(c.metrics.port, 9100);
  const engine::Config d = engine::load_config_text(venue, "t.toml");
  EXPECT_TRUE(d.metrics.enabled);             // a config file serves /metrics by default
  EXPECT_EQ(d.metrics.address, "127.0.0.1");  // loopback unless configured otherwise
  EXPECT_EQ(d.metrics.port, 9464);
  for (const char* bad : {"9464", "127.0.0.1:", "127.0.0.1:99999", ":80", "127.0.0.1:http"}) {
    try {
      engine::load_config_text(std::string("[metrics]\nlisten = \"") + bad + "\"" + venue, "t.toml");
      ADD_FAILURE() << bad;
    } catch (const engine::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("metrics.listen"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sigflow::app
