// Scale-out end to end: two engine shards (shard 0/2 and 1/2) against one exchange simulator, publishing
// their signals to one nats-server -js, which is killed mid-run and restarted on the same port and store.
// A durable consumer then reads the stream and finds every signal of every instrument exactly once, each
// instrument owned by one shard, in cycle order, and nothing missing against what each engine's own signal
// file recorded.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/shard.hpp"
#include "io/nats/jetstream_consumer.hpp"
#include "tests/nats/nats_server.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace {

using sigflow::app::Pipeline;
using sigflow::testing::NatsServer;
using sigflow::testing::TempDir;
using sigflow::testing_support::wait_for;

using Key = std::pair<std::string, std::string>;  // venue, symbol

TEST(ScaleOut, TwoShardsThroughANatsRestartEverySignalOnceInOrder) {
  REQUIRE_NATS_SERVER();
  NatsServer server;
  ASSERT_TRUE(server.start());
  TempDir dir;

  sigflow::tools::ExchangeSimConfig sim_config;
  const std::vector<std::string> usdm{"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT"};
  sim_config.venues = {{"binance-usdm", usdm}, {"okx", {}}};
  sim_config.rate = 1'500;
  sigflow::tools::ExchangeSim sim(sim_config);
  ASSERT_TRUE(sim.start().ok());

  std::vector<std::unique_ptr<Pipeline>> shards;
  std::vector<std::string> files;
  std::set<Key> universe;
  for (const std::string& id : sim.venues())
    for (const std::string& symbol : sim.symbols(id)) universe.insert({id, symbol});
  for (int index = 0; index < 2; ++index) {
    sigflow::engine::Config config;
    config.source = "shard" + std::to_string(index);
    config.engine.id = "shard" + std::to_string(index);
    config.shard = {index, 2};
    config.signals_path = dir.path() + "/signals-" + std::to_string(index) + ".jsonl";
    config.ring.arena_bytes = 4u << 20;
    config.ring.max_frames = 8192;
    for (const std::string& id : sim.venues())
      config.venues.push_back(sigflow::app::loopback_venue(id, sim.port(), sim.symbols(id)));
    config.nats.enabled = true;
    config.nats.urls = {server.url()};
    config.nats.spill_dir = dir.path() + "/spill";
    config.nats.ack_timeout_ms = 2'000;
    files.push_back(config.signals_path);
    shards.push_back(std::make_unique<Pipeline>(config, sim.ca_pem()));
  }
  for (auto& p : shards) p->start();
  auto cycles_reach = [&](std::uint64_t n) {
    return wait_for(
        [&] {
          for (auto& p : shards)
            if (p->totals().cycles < n || p->nats()->counters().acked.load() == 0) return false;
          return true;
        },
        std::chrono::seconds(30));
  };
  ASSERT_TRUE(cycles_reach(20));

  // The crash: signals keep coming, the engines spill them, then replay them into the restarted server.
  server.kill();
  // Down until every engine has spilled: a fixed outage could pass with no cycle run on a loaded machine.
  ASSERT_TRUE(wait_for(
      [&] {
        for (auto& p : shards)
          if (p->nats()->counters().spilled.load() == 0) return false;
        return true;
      },
      std::chrono::seconds(30)));
  ASSERT_TRUE(server.start());
  const std::uint64_t after_restart = shards[0]->totals().cycles + 30;
  ASSERT_TRUE(cycles_reach(after_restart));
  for (auto& p : shards) p->stop();
  sim.stop();

  std::uint64_t published = 0;
  for (auto& p : shards) {
    const auto& c = p->nats()->counters();
    EXPECT_GT(c.spilled.load(), 0u) << "the restart should have made the engine spill";
    EXPECT_GT(c.replayed.load(), 0u);
    EXPECT_EQ(p->nats()->backlog(), 0u);
    EXPECT_EQ(p->nats()->bad_lines(), 0u);
    EXPECT_EQ(c.published.load(), p->totals().signals_written);
    published += c.published.load();
    std::printf(
        "[ nats ] published %llu sent %llu acked %llu dup %llu spilled %llu replayed %llu errors %llu "
        "timeouts %llu reconnects %llu\n",
        static_cast<unsigned long long>(c.published.load()), static_cast<unsigned long long>(c.sent.load()),
        static_cast<unsigned long long>(c.acked.load()), static_cast<unsigned long long>(c.duplicates.load()),
        static_cast<unsigned long long>(c.spilled.load()), static_cast<unsigned long long>(c.replayed.load()),
        static_cast<unsigned long long>(c.errors.load()), static_cast<unsigned long long>(c.timeouts.load()),
        static_cast<unsigned long long>(c.reconnects.load()));
  }

  // What each engine's own sink recorded, per instrument: the truth the stream must match.
  std::map<Key, std::vector<std::uint64_t>> recorded;
  std::map<Key, std::string> recorded_by;
  for (int index = 0; index < 2; ++index) {
    std::ifstream in(files[index]);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      const Key key{j.at("venue"), j.at("symbol")};
      EXPECT_EQ(j.at("engine"), "shard" + std::to_string(index));
      recorded[key].push_back(j.at("cycle"));
      recorded_by[key] = j.at("engine");
    }
  }

  sigflow::io::nats::ConsumerOptions co;
  co.urls = {server.url()};
  co.durable = "two-shard-test";
  sigflow::io::nats::JetStreamConsumer consumer(co);
  std::map<Key, std::vector<std::uint64_t>> streamed;
  std::map<Key, std::set<std::string>> engines;
  std::uint64_t messages = 0;
  for (int idle = 0; idle < 2;) {
    const int n = consumer.fetch(512, 500, [&](std::string_view subject, std::string_view data) {
      const auto j = nlohmann::json::parse(data);
      const Key key{j.at("venue"), j.at("symbol")};
      EXPECT_EQ(subject, "sigflow.signals." + key.first + "." + key.second);
      streamed[key].push_back(j.at("cycle"));
      engines[key].insert(j.at("engine"));
      ++messages;
    });
    ASSERT_GE(n, 0);
    idle = n == 0 ? idle + 1 : 0;
  }
  EXPECT_EQ(messages, published);

  std::size_t per_shard[2] = {0, 0};
  for (const Key& key : universe) {
    SCOPED_TRACE(key.first + " " + key.second);
    ASSERT_EQ(engines[key].size(), 1u) << "one owner per instrument";
    const std::uint64_t owner = sigflow::engine::shard_of(key.first, key.second, 2);
    EXPECT_EQ(*engines[key].begin(), "shard" + std::to_string(owner));
    ++per_shard[owner];
    const auto& cycles = streamed[key];
    ASSERT_FALSE(cycles.empty());
    for (std::size_t i = 1; i < cycles.size(); ++i) ASSERT_LT(cycles[i - 1], cycles[i]) << "at " << i;
    EXPECT_EQ(cycles, recorded[key]);
    // Cycle numbers are consecutive unless the strategy thread itself skipped a slot (missed cycles).
    if (shards[owner]->strategy().counters().missed_cycles.load() == 0) {
      EXPECT_EQ(cycles.back() - cycles.front() + 1, cycles.size());
    }
  }
  EXPECT_GT(per_shard[0], 0u);
  EXPECT_GT(per_shard[1], 0u);
  EXPECT_EQ(streamed.size(), universe.size());
}

}  // namespace
