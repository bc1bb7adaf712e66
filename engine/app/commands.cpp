// `sigflow demo` and `sigflow run`: start the pipeline, report status once a second, stop cleanly on
// SIGINT/SIGTERM (a second signal exits at once) or when the duration is up.
#include "engine/app/commands.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string_view>
#include <thread>

#include "engine/app/fault_storm.hpp"
#include "engine/app/pipeline.hpp"
#include "engine/app/stop_signals.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "engine/secret_bytes.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/exchange-sim/venues.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace sigflow::app {
namespace {

// Runs the pipeline until the duration is up or a stop signal arrives. The pipeline's status thread prints
// the status line and serves /metrics meanwhile.
void supervise(const StopSignals& signals, double duration_s) {
  const std::int64_t start = engine::monotonic_ns();
  const std::int64_t end = duration_s > 0 ? start + static_cast<std::int64_t>(duration_s * 1e9) : INT64_MAX;
  while (!signals.stop_requested() && engine::monotonic_ns() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void print_metrics_address(const char* what, const engine::Config& config, const Pipeline& pipeline) {
  if (config.metrics.enabled)
    std::fprintf(stderr, "%s: metrics on http://%s:%u/metrics\n", what, config.metrics.address.c_str(),
                 static_cast<unsigned>(pipeline.metrics_port()));
}

void print_totals(const char* what, const PipelineTotals& t) {
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::fprintf(stderr,
               "%s: frames=%llu ring_drops=%llu events=%llu decode_errors=%llu cycles=%llu signals=%llu "
               "written=%llu signal_drops=%llu reconnects=%llu\n",
               what, u(t.frames), u(t.ring_drops), u(t.decoded_events), u(t.decode_errors), u(t.cycles),
               u(t.signals), u(t.signals_written), u(t.signal_drops), u(t.disconnects));
  std::fprintf(stderr,
               "%s: liveness silent_topics=%llu resubscribes=%llu recycles=%llu reconnects=%llu "
               "rest_snapshots=%llu\n",
               what, u(t.silent_topics), u(t.resubscribes), u(t.recycles), u(t.disconnects),
               u(t.rest_requests));
  // The frame accounting (PipelineTotals): frames + rest_bodies = ring_frames + ring_frame_drops,
  // ring_frames = strategy_frames = decoded_frames + decode_errors + unknown_frames.
  std::fprintf(stderr,
               "%s: accounting rest_bodies=%llu ring_frames=%llu ring_frame_drops=%llu strategy_frames=%llu "
               "decoded_frames=%llu unknown_frames=%llu frame_losses=%llu loss_resyncs=%llu book_gaps=%llu "
               "resync_requests=%llu\n",
               what, u(t.rest_bodies), u(t.ring_frames), u(t.ring_frame_drops), u(t.strategy_frames),
               u(t.decoded_frames), u(t.unknown_frames), u(t.frame_losses), u(t.loss_resyncs), u(t.book_gaps),
               u(t.resync_requests));
}

}  // namespace

std::string default_data_dir() {
  if (const char* dir = std::getenv("SIGFLOW_DATA_DIR"); dir && *dir) return dir;
  return SIGFLOW_DATA_DIR;
}

int run_demo(const DemoOptions& options) {
  const StopSignals signals;
  tools::ExchangeSimConfig sim_config;
  // Every venue the simulator and the engine both know: binance-usdm lists the --symbols, the others their
  // simulated defaults.
  for (const std::string& id : tools::sim_venue_ids()) {
    if (!io::find_protocol(id)) continue;
    sim_config.venues.push_back({id, id == "binance-usdm" ? options.symbols : std::vector<std::string>{}});
  }
  sim_config.symbols = options.symbols;
  sim_config.rate = options.rate;
  sim_config.seed = options.seed;
  sim_config.ping_interval = std::chrono::milliseconds(5'000);
  tools::ExchangeSim sim(sim_config);
  if (const auto started = sim.start(); !started.ok()) {
    std::fprintf(stderr, "sigflow demo: the exchange simulator did not start: %s\n", started.error.c_str());
    return 1;
  }
  std::string served;
  for (const std::string& id : sim.venues()) served += (served.empty() ? "" : ", ") + id;
  if (options.quiet) {
    const tools::ActivityProfile illiquid{0.05, std::chrono::seconds(25), std::chrono::seconds(40)};
    std::string quiet;
    for (const std::string& id : sim.venues()) {
      const std::vector<std::string> symbols = sim.symbols(id);
      if (symbols.size() < 2) continue;  // a venue's only instrument stays busy: something must flow
      sim.set_activity(symbols.back(), illiquid);
      quiet += (quiet.empty() ? "" : ", ") + id + ":" + symbols.back();
    }
    std::fprintf(stderr, "sigflow demo: illiquid instruments (rare updates, 25 s quiet in every 40 s): %s\n",
                 quiet.c_str());
  }
  std::fprintf(stderr,
               "sigflow demo: exchange simulator on wss://127.0.0.1:%u/<venue> (TLS, CA made at start): %s\n",
               static_cast<unsigned>(sim.port()), served.c_str());

  engine::Config config;
  config.source = "demo";
  config.signals_path = options.signals_path;
  for (const std::string& id : sim.venues())
    config.venues.push_back(loopback_venue(id, sim.port(), sim.symbols(id)));

  // The inference simulator answers the engine's prompts (180 ms, 600 RPM / 200k TPM, like a small paid
  // tier), so the demo shows "source":"llm" signals next to the local model's. The key is made up for this
  // run and passed the way a real one is, through the environment.
  tools::InferenceSimConfig llm_config;
  llm_config.rpm = 600;
  llm_config.tpm = 200'000;
  llm_config.tokenizer_dir = default_data_dir() + "/tokenizers";
  std::random_device random;
  char key[40];
  std::snprintf(key, sizeof key, "sk-demo-%08x%08x", random(), random());
  llm_config.api_key = key;
  tools::InferenceSim llm(llm_config);
  std::string ca_pem = sim.ca_pem();
  if (const auto started = llm.start(); started.ok()) {
    ::setenv("SIGFLOW_DEMO_API_KEY", key, 1);
    config.inference.enabled = true;
    config.inference.base_url = llm.base_url();
    config.inference.model = "sim-gpt-4o-mini";
    config.inference.api_key_env = "SIGFLOW_DEMO_API_KEY";
    config.inference.rpm = 600;
    config.inference.tpm = 200'000;
    ca_pem += "\n" + llm.ca_pem();
    std::fprintf(stderr, "sigflow demo: inference simulator on %s (TLS, 180 ms, 600 RPM / 200k TPM)\n",
                 llm.base_url().c_str());
  } else {
    std::fprintf(stderr, "sigflow demo: the inference simulator did not start (%s): local signals only\n",
                 started.error.c_str());
  }

  int status = 0;
  try {
    // The demo serves /metrics like a configured engine: on the default port, or on an ephemeral one when
    // something else holds it (another demo, a running engine).
    config.metrics.enabled = true;
    std::unique_ptr<Pipeline> running;
    for (bool retried = false; !running;) {
      auto candidate = std::make_unique<Pipeline>(config, ca_pem);
      try {
        candidate->start();
        running = std::move(candidate);
      } catch (const engine::ConfigError& e) {
        if (retried || std::string_view(e.what()).rfind("metrics.listen", 0) != 0) throw;
        retried = true;
        config.metrics.port = 0;
      }
    }
    Pipeline& pipeline = *running;
    print_metrics_address("sigflow demo", config, pipeline);
    std::unique_ptr<FaultStorm> storm;
    if (options.faults) {
      FaultStormConfig storm_config;
      storm_config.period = std::chrono::milliseconds(static_cast<std::int64_t>(options.fault_period_ms));
      storm_config.seed = options.seed;
      storm = std::make_unique<FaultStorm>(sim, config.inference.enabled ? &llm : nullptr, storm_config);
      storm->start();
      std::fprintf(stderr, "sigflow demo: fault storm on, one fault every %.0f ms on average\n",
                   options.fault_period_ms);
    }
    supervise(signals, options.duration_s);
    if (storm) {
      storm->stop();
      std::fprintf(stderr, "sigflow demo: %s\n", storm->summary().c_str());
    }
    pipeline.stop();
    const tools::ExchangeSimStats sim_stats = sim.stats();
    std::fprintf(stderr, "sigflow demo: simulator close_frames_received=%llu fault_disconnects=%llu\n",
                 static_cast<unsigned long long>(sim_stats.close_frames_received),
                 static_cast<unsigned long long>(sim_stats.fault_disconnects));
    const PipelineTotals totals = pipeline.totals();
    print_totals("sigflow demo", totals);
    if (config.inference.enabled)
      std::fprintf(stderr, "sigflow demo: llm-sourced signals=%llu\n",
                   static_cast<unsigned long long>(totals.llm_signals));
    if (totals.signals_written == 0) {
      std::fprintf(stderr, "sigflow demo: no signal was written\n");
      status = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sigflow demo: %s\n", e.what());
    status = 1;
  }
  llm.stop();
  sim.stop();
  return status;
}

int run_engine(const RunOptions& options) {
  const StopSignals signals;
  try {
    engine::Config config = engine::load_config_file(options.config_path);
    for (const std::string& notice : engine::security_notices(config))
      std::fprintf(stderr, "sigflow run: WARNING: %s\n", notice.c_str());
    // With an API key in memory the process writes no core dump (engine/secret_bytes.hpp).
    if (config.inference.enabled)
      if (const std::string error = engine::forbid_core_dumps(); !error.empty())
        std::fprintf(stderr, "sigflow run: %s\n", error.c_str());
    Pipeline pipeline(config);
    pipeline.start();
    print_metrics_address("sigflow run", config, pipeline);
    supervise(signals, options.duration_s);
    pipeline.stop();
    print_totals("sigflow run", pipeline.totals());
    return 0;
  } catch (const engine::ConfigError& e) {
    std::fprintf(stderr, "sigflow run: configuration error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sigflow run: %s\n", e.what());
    return 1;
  }
}

}  // namespace sigflow::app
