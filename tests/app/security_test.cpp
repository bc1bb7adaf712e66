// Issue #7, security: plaintext endpoints only by their own flag and named on the status line; the API key
// in a page left out of core dumps, absent from captures and from errors; the metrics endpoint's exposure
// said at start. Everything runs on loopback and is bounded.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/app/commands.hpp"
#include "engine/app/inference_thread.hpp"
#include "engine/app/pipeline.hpp"
#include "engine/app/record_command.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/secret_bytes.hpp"
#include "tests/engine/vm_flags.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace sigflow::app {
namespace {

constexpr const char* kKeyEnv = "SIGFLOW_SECURITY_TEST_KEY";
constexpr const char* kKey = "sk-proj-SIGFLOWSECURITYKEY0123456789NEVERWRITE";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))).string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A venue of the simulator's whose WebSocket URL is turned into plaintext.
engine::VenueConfig plaintext_okx(bool allow_insecure) {
  engine::VenueConfig venue = loopback_venue("okx", 9, {"BTC-USDT"});
  venue.url.replace(0, 3, "ws");  // wss:// → ws://
  venue.allow_insecure = allow_insecure;
  return venue;
}

TEST(Security, ApiKeyIsReadIntoAPageLeftOutOfCoreDumps) {
  engine::InferenceConfig c;
  c.api_key_env = kKeyEnv;
  ::setenv(kKeyEnv, kKey, 1);
  engine::SecretBytes key;
  std::string problem;
  ASSERT_TRUE(read_api_key(c, key, problem)) << problem;
  ::unsetenv(kKeyEnv);
  EXPECT_EQ(key.view(), kKey);
  const std::string flags = testing_support::vm_flags_of(key.view().data());
  EXPECT_TRUE(testing_support::has_vm_flag(flags, "dd")) << "the key's page is not MADV_DONTDUMP: " << flags;
}

TEST(Security, ForbidCoreDumpsMakesTheProcessUndumpable) {
  // In a child, so that this test process (and LeakSanitizer, which ptraces it) keeps its dumpability.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool ok = engine::forbid_core_dumps().empty() && ::prctl(PR_GET_DUMPABLE) == 0;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Security, PlaintextVenueBuiltInCodeIsRefusedWithoutItsFlag) {
  engine::Config config;
  config.source = "test";
  config.venues.push_back(plaintext_okx(false));
  try {
    (void)wire_venues(config);
    FAIL() << "a ws:// venue without allow_insecure was wired";
  } catch (const engine::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'venues.okx.url'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("allow_insecure"), std::string::npos) << e.what();
  }
  engine::Config rest;
  rest.source = "test";
  rest.venues.push_back(loopback_venue("binance", 9, {"BTCUSDT"}));
  rest.venues.back().rest_url = "http://127.0.0.1:9/binance";
  EXPECT_THROW((void)wire_venues(rest), engine::ConfigError);
  rest.venues.back().allow_insecure = true;
  EXPECT_NO_THROW((void)wire_venues(rest));
}

TEST(Security, StatusLineNamesEveryPlaintextEndpointAndOnlyThen) {
  engine::Config config;
  config.source = "test";
  config.ring.arena_bytes = 1u << 20;
  config.ring.max_frames = 1024;
  config.signals_path = temp_path("sigflow-security-signals");
  config.venues.push_back(plaintext_okx(true));
  {
    Pipeline pipeline(config);  // never started: nothing connects
    const std::string line = pipeline.status_line(1);
    EXPECT_NE(line.find(" insecure=venues.okx "), std::string::npos) << line;
  }
  config.venues[0] = loopback_venue("okx", 9, {"BTC-USDT"});
  {
    Pipeline pipeline(config);
    const std::string line = pipeline.status_line(1);
    EXPECT_EQ(line.find("insecure"), std::string::npos) << line;
  }
  std::filesystem::remove(config.signals_path);
}

TEST(Security, RunSaysAtStartWhenMetricsListenBeyondLoopback) {
  const std::string path = temp_path("sigflow-security-config") + ".toml";
  {
    // The unknown venue stops the run after the notices, before anything connects or binds.
    std::ofstream out(path);
    out << "[metrics]\nenabled = true\nlisten = \"0.0.0.0:9464\"\n"
           "[venues.no-such-venue]\nsymbols = [\"BTCUSDT\"]\n";
  }
  RunOptions options;
  options.config_path = path;
  testing::internal::CaptureStderr();
  const int status = run_engine(options);
  const std::string err = testing::internal::GetCapturedStderr();
  std::filesystem::remove(path);
  EXPECT_EQ(status, 2) << err;
  EXPECT_NE(err.find("sigflow run: WARNING: metrics: listening on 0.0.0.0:9464, not loopback"),
            std::string::npos)
      << err;
}

TEST(Security, CaptureNeverHoldsTheApiKey) {
  tools::ExchangeSimConfig sim_config;
  sim_config.symbols = {"BTCUSDT"};
  sim_config.rate = 2000;
  tools::ExchangeSim sim(sim_config);
  ASSERT_TRUE(sim.start().ok());
  ::setenv(kKeyEnv, kKey, 1);
  engine::Config config;
  config.source = "test";
  config.ring.arena_bytes = 4u << 20;
  config.ring.max_frames = 8192;
  config.venues.push_back(loopback_venue("binance-usdm", sim.port(), {"BTCUSDT"}));
  // An engine with inference on: the recorder must still write venue frames and nothing of the key.
  config.inference.enabled = true;
  config.inference.base_url = "https://127.0.0.1:9/v1";
  config.inference.model = "m";
  config.inference.api_key_env = kKeyEnv;
  const std::string path = temp_path("sigflow-security-capture") + ".jsonl";
  {
    Recorder recorder(config, path, sim.ca_pem());
    recorder.start();
    EXPECT_TRUE(testing_support::wait_for([&] { return recorder.frames_written() >= 200; },
                                          std::chrono::seconds(60)));
    recorder.stop();
    EXPECT_GE(recorder.totals().frames, 200u);
  }
  sim.stop();
  ::unsetenv(kKeyEnv);
  const std::string capture = read_file(path);
  std::filesystem::remove(path);
  EXPECT_NE(capture.find("\"format\":\"sigflow-1\""), std::string::npos);
  EXPECT_EQ(capture.find("SIGFLOWSECURITYKEY"), std::string::npos);
  EXPECT_EQ(capture.find(kKeyEnv), std::string::npos);
}

}  // namespace
}  // namespace sigflow::app
