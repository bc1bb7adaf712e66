// `sigflow demo` and `sigflow run`: start the pipeline, report status once a second, stop cleanly on
// SIGINT/SIGTERM (a second signal exits at once) or when the duration is up.
#include "engine/app/commands.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/exchange-sim/venues.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace sigflow::app {
namespace {

std::atomic<int> g_signals{0};

void on_stop_signal(int) {
  if (g_signals.fetch_add(1) >= 1) _exit(130);  // the second signal: the user wants out now
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout reader must not kill the engine mid-write
}

// Runs the pipeline until the duration is up or a stop signal arrives, printing the status line.
void supervise(Pipeline& pipeline, double duration_s, std::int64_t status_interval_ms) {
  const std::int64_t start = engine::monotonic_ns();
  const std::int64_t end = duration_s > 0 ? start + static_cast<std::int64_t>(duration_s * 1e9) : INT64_MAX;
  const std::int64_t interval = status_interval_ms * 1'000'000;
  std::int64_t next_status = start + interval;
  pipeline.status_line(start);  // starts the rate windows
  while (g_signals.load() == 0) {
    const std::int64_t now = engine::monotonic_ns();
    if (now >= end) break;
    if (now >= next_status) {
      std::fprintf(stderr, "%s\n", pipeline.status_line(now).c_str());
      next_status += interval;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void print_totals(const char* what, const PipelineTotals& t) {
  std::fprintf(stderr,
               "%s: frames=%llu ring_drops=%llu events=%llu decode_errors=%llu cycles=%llu signals=%llu "
               "written=%llu signal_drops=%llu reconnects=%llu\n",
               what, static_cast<unsigned long long>(t.frames), static_cast<unsigned long long>(t.ring_drops),
               static_cast<unsigned long long>(t.decoded_events),
               static_cast<unsigned long long>(t.decode_errors), static_cast<unsigned long long>(t.cycles),
               static_cast<unsigned long long>(t.signals), static_cast<unsigned long long>(t.signals_written),
               static_cast<unsigned long long>(t.signal_drops),
               static_cast<unsigned long long>(t.disconnects));
}

}  // namespace

std::string default_data_dir() {
  if (const char* dir = std::getenv("SIGFLOW_DATA_DIR"); dir && *dir) return dir;
  return SIGFLOW_DATA_DIR;
}

int run_demo(const DemoOptions& options) {
  install_stop_handlers();
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
    Pipeline pipeline(config, ca_pem);
    pipeline.start();
    supervise(pipeline, options.duration_s, config.status_interval_ms);
    pipeline.stop();
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
  install_stop_handlers();
  try {
    engine::Config config = engine::load_config_file(options.config_path);
    Pipeline pipeline(config);
    pipeline.start();
    supervise(pipeline, options.duration_s, config.status_interval_ms);
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
