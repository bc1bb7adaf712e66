// End-to-end inference harness (not a Google Benchmark: one long run, figures printed at the end).
//
// The whole engine against both loopback simulators over TLS: the exchange simulator feeds N instruments,
// the inference simulator answers like a paid tier with 180 ms median latency and a 600 RPM / 200k TPM
// limit (with real x-ratelimit-* headers and 429s). Baseline: the provider's limit itself — how much of it
// the engine uses without a single 429, and how long a cycle's prompt takes to become an "llm" signal.
//
//   build-infer/bench/bench_inference_e2e [--seconds 70] [--warmup 10] [--symbols 40] [--latency-ms 180]
//
// Prints: requests/min and tokens/min over the measured window as a fraction of RPM and TPM (tokens as the
// server counted them, and as the engine reserved them: prompt + max completion), 429s, and p50/p99/max of
// the time from the cycle that prompted an instrument to the first signal made from its reply.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "engine/histogram.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace {

using namespace sigflow;

double arg(int argc, char** argv, const char* name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atof(argv[i + 1]);
  return fallback;
}

struct Sample {
  std::uint64_t requests = 0;  // engine-side requests sent
  std::uint64_t completions = 0;
  std::uint64_t sim_prompt_tokens = 0;
  std::uint64_t sim_completion_tokens = 0;
  std::uint64_t status_429 = 0;
  std::uint64_t llm_signals = 0;
  std::uint64_t signals = 0;
  std::uint64_t cycles = 0;
  std::int64_t at_ns = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const double seconds = arg(argc, argv, "--seconds", 70);
  const double warmup = arg(argc, argv, "--warmup", 10);
  const int symbols = static_cast<int>(arg(argc, argv, "--symbols", 40));
  const double latency_ms = arg(argc, argv, "--latency-ms", 180);
  constexpr std::uint64_t kRpm = 600;
  constexpr std::uint64_t kTpm = 200'000;
  const char* key_env = "SIGFLOW_BENCH_API_KEY";
  const std::string key = "sk-bench-0123456789abcdef";
  ::setenv(key_env, key.c_str(), 1);

  std::vector<std::string> names;
  const char* bases[] = {"BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT"};
  for (int i = 0; i < symbols; ++i)
    names.push_back(std::string(bases[i % 10]) + (i >= 10 ? std::to_string(i / 10) : "") + "USDT");

  tools::ExchangeSimConfig ex;
  ex.symbols = names;
  ex.rate = 100.0 * symbols;
  tools::ExchangeSim exchange(ex);
  if (auto r = exchange.start(); !r.ok()) {
    std::fprintf(stderr, "exchange simulator: %s\n", r.error.c_str());
    return 1;
  }
  tools::InferenceSimConfig sim;
  sim.latency_median_ms = latency_ms;
  sim.latency_sigma = 0.3;
  sim.rpm = kRpm;
  sim.tpm = kTpm;
  sim.api_key = key;
  sim.tokenizer_dir = std::string(SIGFLOW_SOURCE_DIR) + "/data/tokenizers";
  tools::InferenceSim llm(sim);
  if (auto r = llm.start(); !r.ok()) {
    std::fprintf(stderr, "inference simulator: %s\n", r.error.c_str());
    return 1;
  }

  engine::Config config;
  config.source = "bench";
  config.signals_path = "/dev/null";
  config.venues.push_back(app::loopback_venue("binance-usdm", exchange.port(), names));
  config.inference.enabled = true;
  config.inference.base_url = llm.base_url();
  config.inference.model = "sim-gpt-4o-mini";
  config.inference.api_key_env = key_env;
  config.inference.rpm = kRpm;
  config.inference.tpm = kTpm;
  config.inference.max_in_flight = 4;

  auto sample = [&](const app::Pipeline& p) {
    Sample s;
    const auto stats = llm.stats();
    s.requests = p.inference()->client().counters().requests.load();
    s.completions = stats.completions;
    s.sim_prompt_tokens = stats.prompt_tokens;
    s.sim_completion_tokens = stats.completion_tokens;
    s.status_429 = stats.status_429;
    const auto totals = p.totals();
    s.llm_signals = totals.llm_signals;
    s.signals = totals.signals;
    s.cycles = totals.cycles;
    s.at_ns = engine::monotonic_ns();
    return s;
  };

  int status = 0;
  try {
    app::Pipeline pipeline(config, exchange.ca_pem() + "\n" + llm.ca_pem());
    if (!pipeline.inference()) {
      std::fprintf(stderr, "inference did not start\n");
      return 1;
    }
    pipeline.start();
    std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
    const Sample a = sample(pipeline);
    engine::HistogramSnapshot before;
    pipeline.strategy().merger()->prompt_to_signal().snapshot_into(before);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds - warmup));
    const Sample b = sample(pipeline);
    engine::HistogramSnapshot after;
    pipeline.strategy().merger()->prompt_to_signal().snapshot_into(after);
    pipeline.stop();

    // The window's latencies: bucket counts after minus before.
    engine::HistogramSnapshot window = after;
    window.count = 0;
    for (std::size_t i = 0; i < window.counts.size(); ++i) {
      window.counts[i] -= before.counts[i];
      window.count += window.counts[i];
    }
    window.sum_ns -= before.sum_ns;

    const double minutes = static_cast<double>(b.at_ns - a.at_ns) / 60e9;
    const auto& ic = pipeline.inference()->client().counters();
    const double rpm = static_cast<double>(b.requests - a.requests) / minutes;
    const double completions_pm = static_cast<double>(b.completions - a.completions) / minutes;
    const double tokens_pm = static_cast<double>((b.sim_prompt_tokens + b.sim_completion_tokens) -
                                                 (a.sim_prompt_tokens + a.sim_completion_tokens)) /
                             minutes;
    const auto& merger = pipeline.strategy().merger()->counters();
    std::printf(
        "inference e2e: %d instruments, simulator %.0f ms median latency, limits %llu RPM / %llu TPM\n",
        symbols, latency_ms, static_cast<unsigned long long>(kRpm), static_cast<unsigned long long>(kTpm));
    std::printf("window            %.1f s (after %.0f s warm-up)\n", minutes * 60, warmup);
    std::printf("requests/min      %.1f  (%.1f%% of RPM), completions/min %.1f\n", rpm, 100 * rpm / kRpm,
                completions_pm);
    std::printf("tokens/min        %.0f  (%.1f%% of TPM, as the server counted prompt+completion)\n",
                tokens_pm, 100 * tokens_pm / kTpm);
    std::printf("429s              %llu in the window, %llu in total (engine saw %llu)\n",
                static_cast<unsigned long long>(b.status_429 - a.status_429),
                static_cast<unsigned long long>(b.status_429),
                static_cast<unsigned long long>(ic.http_429.load()));
    std::printf("cycle->llm signal p50 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%llu)\n",
                static_cast<double>(window.percentile(0.5)) / 1e6,
                static_cast<double>(window.percentile(0.99)) / 1e6, static_cast<double>(after.max_ns) / 1e6,
                static_cast<unsigned long long>(window.count));
    std::printf("signals           %llu in the window, %.1f%% llm-sourced; cycles %llu (x%d instruments)\n",
                static_cast<unsigned long long>(b.signals - a.signals),
                100.0 * static_cast<double>(b.llm_signals - a.llm_signals) /
                    static_cast<double>(std::max<std::uint64_t>(1, b.signals - a.signals)),
                static_cast<unsigned long long>(b.cycles - a.cycles), symbols);
    std::printf(
        "replies           accepted %llu, dropped stale %llu, late %llu; retries %llu, splits %llu, "
        "limiter waits %llu\n",
        static_cast<unsigned long long>(merger.replies_accepted.load()),
        static_cast<unsigned long long>(merger.replies_stale.load()),
        static_cast<unsigned long long>(merger.replies_not_waiting.load()),
        static_cast<unsigned long long>(ic.retries.load()), static_cast<unsigned long long>(ic.splits.load()),
        static_cast<unsigned long long>(ic.limiter_waits.load()));
    if (b.status_429 != 0) status = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    status = 1;
  }
  llm.stop();
  exchange.stop();
  return status;
}
