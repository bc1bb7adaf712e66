// The whole engine against the exchange simulator over real TLS WebSockets on loopback.
#include "engine/app/pipeline.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "engine/app/venue_wiring.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace {

using sigflow::testing_support::wait_for;

using sigflow::app::Pipeline;
using sigflow::tools::ExchangeSim;
using sigflow::tools::ExchangeSimConfig;

const std::vector<std::string> kSymbols{"BTCUSDT", "ETHUSDT", "SOLUSDT"};

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string(name) + "-" + std::to_string(getpid())))
      .string();
}

sigflow::engine::Config demo_config(std::uint16_t port, const std::string& signals_path) {
  sigflow::engine::Config config;
  config.source = "test";
  config.signals_path = signals_path;
  config.ring.arena_bytes = 4u << 20;
  config.ring.max_frames = 8192;
  // The simulator routes by venue id: wss://127.0.0.1:PORT/binance-usdm/public, REST on the same port.
  sigflow::engine::VenueConfig venue = sigflow::app::loopback_venue("binance-usdm", port, kSymbols);
  venue.reconnect.base_ms = 50;
  venue.reconnect.cap_ms = 500;
  config.venues.push_back(venue);
  return config;
}

TEST(Pipeline, SimulatorToSignalsEveryInstrumentEveryCycle) {
  ExchangeSimConfig sim_config;
  sim_config.symbols = kSymbols;
  sim_config.rate = 3000;
  ExchangeSim sim(sim_config);
  ASSERT_TRUE(sim.start().ok());

  const std::string signals_path = temp_path("sigflow-signals");
  std::remove(signals_path.c_str());
  {
    Pipeline pipeline(demo_config(sim.port(), signals_path), sim.ca_pem());
    pipeline.start();
    // Forty cycles (2 s) once data flows; bounded by 30 s however slow the machine.
    ASSERT_TRUE(wait_for([&] { return pipeline.totals().decoded_events > 100; }, std::chrono::seconds(30)));
    const std::uint64_t cycles_before = pipeline.totals().cycles;
    ASSERT_TRUE(
        wait_for([&] { return pipeline.totals().cycles >= cycles_before + 40; }, std::chrono::seconds(30)));
    pipeline.stop();
    const auto totals = pipeline.totals();
    EXPECT_EQ(totals.decode_errors, 0u);
    EXPECT_EQ(totals.ring_drops, 0u);
    EXPECT_EQ(totals.signal_drops, 0u);
    EXPECT_EQ(totals.signals_written, totals.signals);
    EXPECT_EQ(totals.signals, totals.cycles * kSymbols.size());
  }
  sim.stop();

  // Every cycle carries exactly one signal per instrument, and once data flowed they come from real state.
  std::ifstream in(signals_path);
  std::map<std::uint64_t, std::multiset<std::string>> by_cycle;
  std::size_t with_data = 0;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("venue"), "binance-usdm");
    EXPECT_EQ(j.at("source"), "local");
    const std::string signal = j.at("signal");
    EXPECT_TRUE(signal == "BUY" || signal == "SELL" || signal == "HOLD") << line;
    const double confidence = j.at("confidence");
    EXPECT_GE(confidence, 0.0);
    EXPECT_LE(confidence, 1.0);
    if (!j.at("data_age_ms").is_null()) ++with_data;
    by_cycle[j.at("cycle")].insert(j.at("symbol").get<std::string>());
  }
  std::remove(signals_path.c_str());
  ASSERT_GE(by_cycle.size(), 40u);
  const std::multiset<std::string> expected(kSymbols.begin(), kSymbols.end());
  for (const auto& [cycle, symbols] : by_cycle) EXPECT_EQ(symbols, expected) << "cycle " << cycle;
  EXPECT_GT(with_data, by_cycle.size());  // most cycles saw market data for the instruments
}

// One instrument at a low rate, with data already flowing when the test body starts.
class SingleSymbolPipeline : public testing::Test {
 protected:
  void SetUp() override {
    ExchangeSimConfig sim_config;
    sim_config.symbols = {"BTCUSDT"};
    sim_config.rate = 500;
    sim_ = std::make_unique<ExchangeSim>(sim_config);
    ASSERT_TRUE(sim_->start().ok());
    signals_path_ = temp_path("sigflow-signals-single");
    auto config = demo_config(sim_->port(), signals_path_);
    config.venues[0].symbols = {"BTCUSDT"};
    pipeline_ = std::make_unique<Pipeline>(config, sim_->ca_pem());
    pipeline_->start();
    ASSERT_TRUE(wait_for([&] { return pipeline_->totals().decoded_events > 20; }, std::chrono::seconds(30)));
  }
  void TearDown() override {
    if (pipeline_) pipeline_->stop();
    pipeline_.reset();
    if (sim_) sim_->stop();
    std::remove(signals_path_.c_str());
  }
  // Waits until `more` events beyond the current count have been decoded.
  bool events_keep_flowing(std::uint64_t more) {
    const auto events = pipeline_->totals().decoded_events;
    return wait_for([&] { return pipeline_->totals().decoded_events > events + more; },
                    std::chrono::seconds(30));
  }

  std::unique_ptr<ExchangeSim> sim_;
  std::unique_ptr<Pipeline> pipeline_;
  std::string signals_path_;
};

TEST_F(SingleSymbolPipeline, MalformedFramesAreCountedAndTheEngineKeepsRunning) {
  ASSERT_GT(sim_->send_malformed_json(), 0u);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().decode_errors >= 1; }, std::chrono::seconds(30)));
  EXPECT_TRUE(events_keep_flowing(20));
  EXPECT_EQ(pipeline_->totals().disconnects, 0u);  // a bad frame is not a reason to drop the connection
}

TEST_F(SingleSymbolPipeline, ReconnectsAfterTheVenueDropsTheConnection) {
  ASSERT_GT(sim_->disconnect(), 0u);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().disconnects >= 2; }, std::chrono::seconds(30)));
  // Data flows again on the new connections (resubscribed after the upgrade).
  EXPECT_TRUE(events_keep_flowing(50));
}

TEST(Pipeline, UntrustedCertificateIsRefusedAndNoDataIsTaken) {
  ExchangeSimConfig sim_config;
  sim_config.symbols = {"BTCUSDT"};
  ExchangeSim sim(sim_config);
  ASSERT_TRUE(sim.start().ok());
  const std::string signals_path = temp_path("sigflow-signals-untrusted");
  {
    // No extra CA: the simulator's certificate does not chain to the system store.
    Pipeline pipeline(demo_config(sim.port(), signals_path));
    pipeline.start();
    // Each attempt fails verification and is retried with backoff; nothing is ever decoded.
    ASSERT_TRUE(wait_for([&] { return pipeline.totals().disconnects >= 2; }, std::chrono::seconds(30)));
    EXPECT_EQ(pipeline.totals().decoded_events, 0u);
    pipeline.stop();
  }
  sim.stop();
  std::remove(signals_path.c_str());
}

}  // namespace
