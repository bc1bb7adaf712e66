// Faults in combination, through the whole engine over real TLS on loopback: every market the simulator and
// the engine both know, one exchange simulator, the inference simulator, and a scripted storm
// (engine/app/fault_storm.hpp) of disconnects, silences, withheld deltas, malformed frames and inference
// 5xx/429/hangs. Then a strategy thread made slow on purpose, so that the ring fills. Single faults per venue
// are venue_feed_test.cpp's; here the point is that they compose: signals every cycle, reconnects within
// the venues' limits, books back and consistent, every frame accounted for, no descriptor left behind.
//
// Every wait is a bounded poll; the only timing bounds are generous liveness deadlines.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include "tests/support/paths.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "engine/app/fault_storm.hpp"
#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "io/venues/venue_protocol.hpp"
#include "tests/app/served_venues.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/exchange-sim/venues.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace sigflow::app {
namespace {

using namespace std::chrono_literals;

using testing_support::served_venues;
using testing_support::wait_for;

// The open descriptors, each as "fd -> target".
std::set<std::string> open_fds() {
  std::set<std::string> out;
  if (DIR* dir = opendir("/proc/self/fd")) {
    const int own = dirfd(dir);
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own) continue;
      char target[256] = {};
      const std::string link = std::string("/proc/self/fd/") + entry->d_name;
      const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      out.insert(std::string(entry->d_name) + " -> " + (n > 0 ? std::string(target, n) : "?"));
    }
    closedir(dir);
  }
  return out;
}

// Descriptors open now that were not in `before`, for the failure message.
std::string new_fds(const std::set<std::string>& before) {
  std::string out;
  for (const std::string& fd : open_fds())
    if (!before.count(fd)) out += fd + "; ";
  return out;
}

// Waits until `pred` has held for `quiet` without interruption (bounded by `timeout`): e.g. no new gap.
template <class Value>
bool wait_until_settled(Value value, std::chrono::milliseconds quiet, std::chrono::milliseconds timeout) {
  auto last = value();
  auto since = std::chrono::steady_clock::now();
  return wait_for(
      [&] {
        const auto now = std::chrono::steady_clock::now();
        if (const auto v = value(); v != last) {
          last = v;
          since = now;
        }
        return now - since >= quiet;
      },
      timeout);
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))).string();
}

// The exact frame accounting of PipelineTotals, once the pipeline stopped.
void expect_frames_accounted(const PipelineTotals& t) {
  EXPECT_EQ(t.frames + t.rest_bodies, t.ring_frames + t.ring_frame_drops)
      << "frames=" << t.frames << " rest_bodies=" << t.rest_bodies;
  EXPECT_GE(t.ring_frame_drops, t.ring_drops);
  EXPECT_EQ(t.ring_frames, t.strategy_frames);
  EXPECT_EQ(t.strategy_frames, t.decoded_frames + t.decode_errors + t.unknown_frames);
  EXPECT_EQ(t.unknown_frames, 0u);
}

// Every book live (or, when frames were lost too late for a resync to finish, resyncing), none crossed. Only
// after stop(): the strategy thread owns the books while it runs.
void expect_books_live(const Pipeline& pipeline, bool resync_allowed = false) {
  for (const strategies::InstrumentState& state : pipeline.strategy_core().instruments()) {
    const strategies::BookState book = state.book_state();
    EXPECT_TRUE(book == strategies::BookState::kLive ||
                (resync_allowed &&
                 (book == strategies::BookState::kResync || book == strategies::BookState::kSyncing)))
        << state.spec().venue << " " << state.spec().symbol << " is " << to_string(state.book_state());
    EXPECT_FALSE(state.book().crossed()) << state.spec().venue << " " << state.spec().symbol;
  }
}

struct SignalLine {
  std::uint64_t cycle;
  std::string key;  // venue/symbol
  std::string source;
  std::int64_t ts_ns;
};

// Every line of the signals file; each must be complete JSON.
std::vector<SignalLine> read_signals(const std::string& path) {
  std::vector<SignalLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    if (j.is_discarded()) continue;
    out.push_back({j.at("cycle").get<std::uint64_t>(),
                   j.at("venue").get<std::string>() + "/" + j.at("symbol").get<std::string>(),
                   j.at("source").get<std::string>(), j.at("ts_ns").get<std::int64_t>()});
  }
  return out;
}

class FaultStormTest : public testing::Test {
 protected:
  void TearDown() override {
    storm_.reset();
    if (pipeline_) pipeline_->stop();
    pipeline_.reset();
    if (llm_) llm_->stop();
    if (sim_) sim_->stop();
    if (!signals_path_.empty()) std::remove(signals_path_.c_str());
  }

  void start_sims(const std::vector<std::string>& venues, double rate) {
    tools::ExchangeSimConfig sim_config;
    for (const std::string& id : venues) sim_config.venues.push_back({id, {}});
    sim_config.rate = rate;
    sim_config.ping_interval = 2s;
    sim_ = std::make_unique<tools::ExchangeSim>(sim_config);
    const auto started = sim_->start();
    ASSERT_TRUE(started.ok()) << started.error;
  }

  void start_llm() {
    tools::InferenceSimConfig llm_config;
    llm_config.latency_median_ms = 20;
    llm_config.latency_sigma = 0.3;
    llm_config.latency_max_ms = 200;
    llm_config.tokenizer_dir = sigflow::testing_support::source_dir() + "/data/tokenizers";
    llm_config.api_key = "sk-storm-test";
    llm_ = std::make_unique<tools::InferenceSim>(llm_config);
    const auto started = llm_->start();
    ASSERT_TRUE(started.ok()) << started.error;
  }

  engine::Config base_config(const std::string& name) {
    signals_path_ = temp_path(name);
    std::remove(signals_path_.c_str());
    engine::Config config;
    config.source = "test";
    config.signals_path = signals_path_;
    config.ring.arena_bytes = 8u << 20;
    config.ring.max_frames = 16384;
    for (const std::string& id : sim_->venues()) {
      engine::VenueConfig venue = loopback_venue(id, sim_->port(), sim_->symbols(id));
      venue.reconnect.base_ms = 50;
      venue.reconnect.cap_ms = 500;
      config.venues.push_back(venue);
    }
    return config;
  }

  void enable_inference(engine::Config& config, std::string& ca_pem) {
    ::setenv("SIGFLOW_STORM_TEST_KEY", "sk-storm-test", 1);
    config.inference.enabled = true;
    config.inference.base_url = llm_->base_url();
    config.inference.model = "sim-gpt-4o-mini";
    config.inference.api_key_env = "SIGFLOW_STORM_TEST_KEY";
    config.inference.request_timeout_ms = 1'000;  // hung requests end within the test
    config.inference.ttl_ms = 1'000;
    ca_pem += "\n" + llm_->ca_pem();
  }

  std::unique_ptr<tools::ExchangeSim> sim_;
  std::unique_ptr<tools::InferenceSim> llm_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<FaultStorm> storm_;
  std::string signals_path_;
};

TEST_F(FaultStormTest, SixMarketsThroughAStormKeepSignallingAndRecover) {
  const std::set<std::string> fds_before = open_fds();
  start_sims(served_venues(), 3000);
  start_llm();
  engine::Config config = base_config("sigflow-fault-storm");
  std::string ca_pem = sim_->ca_pem();
  enable_inference(config, ca_pem);
  // Short silence limits, so that the storm's silences are noticed and acted on within it.
  for (engine::VenueConfig& venue : config.venues) {
    venue.book_silence_ms = 1'500;
    venue.bbo_silence_ms = 1'500;
    venue.ticker_silence_ms = 4'000;
    venue.first_frame_grace_ms = 1'000;
  }
  strategies::StrategyConfig strategy;
  strategy.book_sync.resync_timeout_ns = 2'000'000'000;
  pipeline_ = std::make_unique<Pipeline>(config, ca_pem, strategy);
  pipeline_->start();
  const std::size_t instruments = pipeline_->strategy_core().instruments().size();
  const std::size_t connections = pipeline_->feed().connection_count();
  ASSERT_TRUE(wait_for([&] { return pipeline_->feed().connections_open() == connections; }, 20s));
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().llm_signals > 0; }, 20s))
      << "the model's view never reached a signal before the storm";

  // ~20 s of storm: a fault every ~0.6 s on average, every kind.
  FaultStormConfig storm_config;
  storm_config.period = 600ms;
  storm_config.silence = 2500ms;
  storm_config.seed = 7;
  storm_ = std::make_unique<FaultStorm>(*sim_, llm_.get(), storm_config);
  storm_->start();
  // The storm's minimum length: how many faults land in it depends on the machine's speed, and nothing
  // below depends on how many did, only on each kind having been injected at least once.
  std::this_thread::sleep_for(20s);
  // A fault counts only once it reached a connection, and on a loaded machine connections may still be
  // reconnecting when one is drawn: the storm goes on until every kind has landed.
  EXPECT_TRUE(wait_for(
      [&] {
        const FaultStormCounts c = storm_->counts();
        return std::all_of(c.injected.begin(), c.injected.end(), [](std::uint64_t n) { return n > 0; });
      },
      60s))
      << storm_->summary();
  storm_->stop();
  const FaultStormCounts counts = storm_->counts();
  for (std::size_t k = 0; k < kStormFaultKinds; ++k) EXPECT_GT(counts.injected[k], 0u) << "fault kind " << k;

  // The model goes down for good: after its view's TTL every signal must come from the local model.
  llm_->set_insufficient_quota(true);
  // A reply accepted by the strategy thread reaches signals until its TTL. When the last one was accepted is
  // bounded from above by when this thread saw the accepted count change: however late this thread runs, it
  // never sees a change before it happened, so a slow machine only moves the bound later.
  const engine::Counter& replies_accepted = pipeline_->strategy().merger()->counters().replies_accepted;
  std::uint64_t accepted_seen = replies_accepted.load();
  std::int64_t last_reply_by_wall_ns = engine::wall_ns();

  // Recovery: every connection open again, every book live, and quiet (no new gap or request for 2 s). A
  // book whose repairing snapshot a fault swallowed waits for its request timeout (2 s, doubling).
  ASSERT_TRUE(wait_for([&] { return pipeline_->feed().connections_open() == connections; }, 20s));
  EXPECT_TRUE(wait_for([&] { return pipeline_->totals().books_not_live == 0; }, 40s))
      << pipeline_->totals().books_not_live << " books still not live";
  EXPECT_TRUE(wait_until_settled(
      [&] {
        const auto t = pipeline_->totals();
        return std::make_tuple(t.book_gaps, t.resync_requests, t.rest_requests, t.disconnects);
      },
      2s, 30s))
      << "the books kept breaking after the storm";
  // No reply accepted for a request timeout and a TTL (plus slack for the cycle's clock reads): every request
  // sent before the model went down has ended, and the last view has expired.
  const std::int64_t ttl_ns = config.inference.ttl_ms * 1'000'000;
  const std::int64_t slack_ns = 500'000'000;
  ASSERT_TRUE(wait_for(
      [&] {
        if (const std::uint64_t a = replies_accepted.load(); a != accepted_seen) {
          accepted_seen = a;
          last_reply_by_wall_ns = engine::wall_ns();
        }
        return engine::wall_ns() >
               last_reply_by_wall_ns + config.inference.request_timeout_ms * 1'000'000 + ttl_ns + slack_ns;
      },
      60s))
      << "replies kept being accepted with the model down";
  const std::int64_t local_only_from = last_reply_by_wall_ns + ttl_ns + slack_ns;
  // A second's worth of cycles (20) past that, with the books settled: counted in cycles, not time, so that
  // the local-only check below has lines to look at however slow the machine.
  const std::uint64_t cycles_down = pipeline_->totals().cycles;
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().cycles >= cycles_down + 20; }, 30s));
  // The silence watchdog may still have recycled a connection in that second: let every reconnect finish
  // before counting opens against disconnects.
  ASSERT_TRUE(wait_until_settled(
      [&] {
        const auto t = pipeline_->totals();
        return std::make_tuple(pipeline_->feed().connections_open(), t.opens, t.disconnects);
      },
      1s, 20s));
  ASSERT_EQ(pipeline_->feed().connections_open(), connections);
  pipeline_->stop();
  const PipelineTotals t = pipeline_->totals();
  expect_books_live(*pipeline_);
  expect_frames_accounted(t);
  std::printf(
      "storm: %s; opens=%llu disconnects=%llu book_gaps=%llu resync_requests=%llu resubscribes=%llu "
      "recycles=%llu silent_topics=%llu decode_errors=%llu cycles=%llu signals=%llu llm_signals=%llu "
      "frames=%llu rest_bodies=%llu ring_frames=%llu strategy_frames=%llu\n",
      storm_->summary().c_str(), static_cast<unsigned long long>(t.opens),
      static_cast<unsigned long long>(t.disconnects), static_cast<unsigned long long>(t.book_gaps),
      static_cast<unsigned long long>(t.resync_requests), static_cast<unsigned long long>(t.resubscribes),
      static_cast<unsigned long long>(t.recycles), static_cast<unsigned long long>(t.silent_topics),
      static_cast<unsigned long long>(t.decode_errors), static_cast<unsigned long long>(t.cycles),
      static_cast<unsigned long long>(t.signals), static_cast<unsigned long long>(t.llm_signals),
      static_cast<unsigned long long>(t.frames), static_cast<unsigned long long>(t.rest_bodies),
      static_cast<unsigned long long>(t.ring_frames), static_cast<unsigned long long>(t.strategy_frames));

  // Signals: exactly one per instrument per cycle, all written.
  EXPECT_EQ(t.signals, t.cycles * instruments);
  EXPECT_EQ(t.signals_written, t.signals);
  EXPECT_EQ(t.signal_drops, 0u);
  EXPECT_GT(t.decode_errors, 0u);  // the malformed frames
  EXPECT_EQ(t.ring_drops, 0u);     // a big ring: nothing lost to the strategy here

  // Reconnects: every close got one new attempt and no more (no attempt loop), and the attempts of each
  // venue stay within its connection-attempt window. The opens are the first connections plus the closes,
  // less the attempts a storm disconnect cut short before the upgrade completed (on loopback nothing else
  // fails an attempt): at most one per disconnect fault, which hits one connection.
  EXPECT_GT(t.disconnects, 0u);
  EXPECT_LE(t.opens, connections + t.disconnects);
  EXPECT_LE(connections + t.disconnects - t.opens,
            counts.injected[static_cast<std::size_t>(StormFault::kDisconnect)])
      << "opens=" << t.opens << " disconnects=" << t.disconnects;
  for (const std::string& venue : sim_->venues()) {
    const io::VenueProtocol* protocol = io::find_protocol(venue);
    ASSERT_NE(protocol, nullptr);
    const auto limits = protocol->limits();
    const std::vector<std::int64_t> upgrades = sim_->upgrade_times(venue);
    if (limits.connect_attempts_per_window == 0) continue;
    for (std::size_t i = 0; i + limits.connect_attempts_per_window < upgrades.size(); ++i)
      EXPECT_GE(upgrades[i + limits.connect_attempts_per_window] - upgrades[i], limits.connect_window_ns)
          << venue << ": more than " << limits.connect_attempts_per_window
          << " connection attempts in a window";
  }
  // Every open was an upgrade the venue served. The venue may have served more: a storm disconnect that
  // lands between the simulator's 101 and the engine reading it cuts an attempt short.
  std::size_t upgrades_served = 0;
  for (const std::string& venue : sim_->venues()) upgrades_served += sim_->upgrade_times(venue).size();
  EXPECT_GE(upgrades_served, t.opens);

  // Gaps are repaired with one request each, never a loop: requests beyond the books' first syncs are
  // bounded by the invalidations plus the timeouts of the snapshots a storm fault swallowed.
  EXPECT_GT(t.book_gaps, 0u);
  EXPECT_LE(t.resync_requests, t.book_gaps + 3 * instruments) << "book_gaps=" << t.book_gaps;

  // Graceful close on stop: the simulator saw a close frame from every connection.
  EXPECT_TRUE(wait_for([&] { return sim_->stats().close_frames_received >= connections; }, 30s))
      << sim_->stats().close_frames_received << " close frames for " << connections << " connections";

  // The signals file: every instrument in every cycle; once the model's last view was past its TTL, local
  // signals only.
  EXPECT_EQ(replies_accepted.load(), accepted_seen) << "a reply was accepted after the model went quiet";
  const std::vector<SignalLine> lines = read_signals(signals_path_);
  ASSERT_EQ(lines.size(), t.signals_written);
  std::map<std::string, std::uint64_t> per_instrument;
  std::map<std::uint64_t, std::size_t> per_cycle;
  std::size_t after_down = 0;
  for (const SignalLine& line : lines) {
    ++per_instrument[line.key];
    ++per_cycle[line.cycle];
    if (line.ts_ns > local_only_from) {
      ++after_down;
      EXPECT_EQ(line.source, "local") << line.key << " cycle " << line.cycle;
    }
  }
  EXPECT_EQ(per_instrument.size(), instruments);
  for (const auto& [key, n] : per_instrument) EXPECT_EQ(n, t.cycles) << key;
  for (const auto& [cycle, n] : per_cycle) EXPECT_EQ(n, instruments) << "cycle " << cycle;
  EXPECT_GT(after_down, 0u);
  EXPECT_GT(t.llm_signals, 0u);

  // Everything the test made is gone (the simulators close some descriptors only when destroyed).
  pipeline_.reset();
  storm_.reset();
  llm_.reset();
  sim_.reset();
  EXPECT_TRUE(wait_for([&] { return open_fds().size() <= fds_before.size(); }, 10s))
      << "descriptors left open: " << new_fds(fds_before);
}

// A strategy thread that falls behind: the ring fills, the feed thread keeps reading (never blocks: the
// venue never sees a slow consumer), drops are counted, and every book whose frames were dropped is resynced
// instead of being left wrong. One WebSocket-snapshot venue and one REST-snapshot venue.
TEST_F(FaultStormTest, ASlowStrategyDropsFramesAndResyncsTheBooksInsteadOfLeavingThemWrong) {
  const std::set<std::string> fds_before = open_fds();
  std::vector<std::string> venues;
  for (const std::string& id : served_venues())
    if (id == "binance-usdm" || id == "bybit-linear") venues.push_back(id);
  ASSERT_EQ(venues.size(), 2u);
  start_sims(venues, 4000);
  engine::Config config = base_config("sigflow-slow-strategy");
  // Small enough to fill within seconds of the slow drain below, large enough (a second of the simulator's
  // 4k frames/s) that the strategy thread, back at speed, outruns it even on a crowded machine where it may
  // wait hundreds of milliseconds for a core.
  config.ring.arena_bytes = 4u << 20;
  config.ring.max_frames = 4096;
  pipeline_ = std::make_unique<Pipeline>(config, sim_->ca_pem());
  pipeline_->start();
  const std::size_t connections = pipeline_->feed().connection_count();
  ASSERT_TRUE(wait_for([&] { return pipeline_->feed().connections_open() == connections; }, 20s));
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().decoded_events > 500; }, 20s));
  ASSERT_TRUE(wait_until_settled([&] { return pipeline_->totals().resync_requests; }, 1s, 20s));

  // 100 ms per drained batch of at most 256 frames: ~2.5k frames/s, under the simulator's 4k, so the ring
  // fills in about 3 s.
  pipeline_->strategy().set_drain_delay_ns(100'000'000);
  ASSERT_TRUE(wait_for([&] { return pipeline_->totals().loss_resyncs >= 2; }, 20s))
      << "ring drops " << pipeline_->totals().ring_frame_drops << ", frame losses "
      << pipeline_->totals().frame_losses;
  // A while longer in the slow state, a deliberate duration: the checks below hold whatever amount of
  // traffic it saw.
  std::this_thread::sleep_for(2s);
  // The feed thread kept reading: what it received tracks what the simulator sent. Waited for, still in the
  // slow state, because a feed thread starved of a core lags the simulator for a while without having
  // stopped reading; one that stopped would fall further behind and never catch up.
  EXPECT_TRUE(wait_for([&] { return pipeline_->totals().frames > sim_->stats().frames_sent / 2; }, 30s))
      << pipeline_->totals().frames << " frames of " << sim_->stats().frames_sent << " sent";
  const auto slow = pipeline_->totals();
  const auto sim_slow = sim_->stats();
  pipeline_->strategy().set_drain_delay_ns(0);

  // Neither did the simulator have to drop it as a slow consumer, nor was a connection lost.
  EXPECT_EQ(sim_slow.slow_consumer_disconnects, 0u);
  EXPECT_EQ(slow.disconnects, 0u);
  EXPECT_GT(slow.ring_drops, 0u);

  // Back to speed: every book resynced, and nothing changing for two seconds. Quiet is judged on the feed's
  // ring drops too: a strategy thread starved of a core counts no loss until it reads the loss's marker, so
  // its own counters alone look settled while the ring overflows again.
  const auto progress = [&] {
    const auto t = pipeline_->totals();
    return std::make_tuple(t.books_not_live, t.ring_frame_drops, t.book_gaps, t.resync_requests,
                           t.frame_losses);
  };
  bool live_and_quiet = false;
  for (int round = 0; round < 5 && !live_and_quiet; ++round) {
    EXPECT_TRUE(wait_for([&] { return pipeline_->totals().books_not_live == 0; }, 30s))
        << pipeline_->totals().books_not_live << " books still not live";
    live_and_quiet = wait_until_settled(progress, 2s, 30s) && pipeline_->totals().books_not_live == 0;
  }
  EXPECT_TRUE(live_and_quiet);
  const std::uint64_t drops_when_quiet = pipeline_->totals().ring_frame_drops;
  pipeline_->stop();
  const PipelineTotals t = pipeline_->totals();
  // Frames dropped between that look and the feed's stop (the strategy thread lost its core again) leave
  // their books resyncing when the pipeline stops: the honest state, not a wrong one.
  const bool dropped_while_stopping = t.ring_frame_drops != drops_when_quiet;
  if (dropped_while_stopping)
    std::printf("slow strategy: %llu frames dropped while stopping\n",
                static_cast<unsigned long long>(t.ring_frame_drops - drops_when_quiet));
  expect_books_live(*pipeline_, dropped_while_stopping);
  expect_frames_accounted(t);
  std::printf(
      "slow strategy: ring_drops=%llu ring_frame_drops=%llu frame_losses=%llu loss_resyncs=%llu "
      "book_gaps=%llu resync_requests=%llu frames=%llu sim_frames_sent_while_slow=%llu\n",
      static_cast<unsigned long long>(t.ring_drops), static_cast<unsigned long long>(t.ring_frame_drops),
      static_cast<unsigned long long>(t.frame_losses), static_cast<unsigned long long>(t.loss_resyncs),
      static_cast<unsigned long long>(t.book_gaps), static_cast<unsigned long long>(t.resync_requests),
      static_cast<unsigned long long>(t.frames), static_cast<unsigned long long>(sim_slow.frames_sent));
  EXPECT_GT(t.frame_losses, 0u);
  EXPECT_GE(t.book_gaps, t.loss_resyncs);
  EXPECT_EQ(t.signals_written, t.signals);

  pipeline_.reset();
  sim_.reset();
  EXPECT_TRUE(wait_for([&] { return open_fds().size() <= fds_before.size(); }, 10s))
      << "descriptors left open: " << new_fds(fds_before);
}

}  // namespace
}  // namespace sigflow::app
