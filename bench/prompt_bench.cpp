// Prompt building per 50 ms cycle: PromptPlanner::plan (priority sort, snapshot lines, exact token counts,
// chunk packing) plus writing every chunk's user message and response_format, for 50, 500 and 5,000
// instruments. Reported as µs per cycle (CPU time of the strategy thread).
//
// Each iteration moves every instrument's mid and change_score first, as a real cycle would: every line has
// to be rewritten and recounted, nothing is served from the previous cycle. Two token allowances: "all" (the
// whole universe fits this cycle) and "quarter" (a quarter of it does; the rest is carried over).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "strategies/prompt/prompt_planner.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

namespace {

using namespace sigflow::strategies;

std::shared_ptr<const Tokenizer> o200k() {
  static const std::shared_ptr<const Tokenizer> loaded = [] {
    std::string error;
    auto t = Tokenizer::load(Encoding::kO200kBase,
                             std::filesystem::path(SIGFLOW_SOURCE_DIR) / "data" / "tokenizers", error);
    if (!t) {
      std::fprintf(stderr, "bench_prompt: %s\n", error.c_str());
      std::exit(1);
    }
    return t;
  }();
  return loaded;
}

struct Universe {
  std::vector<std::string> symbols;
  std::vector<InstrumentFeatures> features;
};

Universe make_universe(std::size_t n) {
  static const char* kVenues[] = {"binance", "binance-usdm", "bybit-spot", "bybit-linear", "okx", "deribit"};
  static const char* kBases[] = {"BTC",  "ETH", "SOL",  "1000PEPE", "UNI",
                                 "KEEP", "XRP", "DOGE", "ARB",      "LINK"};
  static const char* kQuotes[] = {"USDT", "-USD-SWAP", "-PERPETUAL", "USDC"};
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(-1, 1);
  Universe u;
  u.symbols.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    u.symbols.push_back(std::string(kBases[rng() % 10]) + kQuotes[rng() % 4] + std::to_string(i));
    InstrumentFeatures f;
    f.venue = kVenues[rng() % 6];
    f.mid = std::pow(10.0, unit(rng) * 5) * (1.5 + unit(rng));
    f.spread_bps = std::fabs(unit(rng)) * 20;
    f.microprice_offset_bps = unit(rng) * 3;
    f.imbalance_l1 = unit(rng);
    f.imbalance_l5 = unit(rng);
    f.imbalance_l20 = unit(rng);
    f.return_1s_bps = unit(rng) * 10;
    f.return_10s_bps = unit(rng) * 40;
    f.volume_10s = std::fabs(unit(rng)) * 5000;
    f.taker_buy_ratio_10s = std::fabs(unit(rng));
    if (rng() % 2) f.funding_rate = unit(rng) * 0.0005;
    if (rng() % 2) f.mark_offset_bps = unit(rng) * 4;
    f.data_age_ms = std::fabs(unit(rng)) * 400;
    f.book_valid = true;
    u.features.push_back(f);
  }
  for (std::size_t i = 0; i < n; ++i) u.features[i].symbol = u.symbols[i];
  return u;
}

// args: instruments, allowance (0: everything fits, 1: a quarter fits)
void BM_PlanAndBuild(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Universe u = make_universe(n);
  PromptBudget budget;  // 8,000 prompt tokens and at most 100 instruments per chunk
  PromptPlanner planner(o200k(), budget, n);
  planner.plan(u.features, SIZE_MAX);
  const std::size_t allowance = state.range(1) == 0 ? SIZE_MAX : planner.stats().tokens / 4;

  std::string user, format;
  user.reserve(1 << 20);
  format.reserve(1 << 16);
  std::mt19937_64 rng(7);
  std::size_t chunks = 0, planned = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (InstrumentFeatures& f : u.features) {
      f.mid *= 1 + 1e-4 * (static_cast<double>(rng() % 200) - 100);
      f.return_1s_bps = static_cast<double>(rng() % 2000) / 100 - 10;
      f.change_score = static_cast<double>(rng() % 1000);
    }
    state.ResumeTiming();

    planner.plan(u.features, allowance);
    bytes = 0;
    for (const PromptChunk& chunk : planner.chunks()) {
      user.clear();
      format.clear();
      planner.append_user_message(chunk, user);
      planner.append_response_format(chunk, format);
      bytes += user.size() + format.size();
    }
    benchmark::DoNotOptimize(bytes);
    chunks = planner.chunks().size();
    planned = planner.stats().planned;
  }
  state.counters["chunks"] = static_cast<double>(chunks);
  state.counters["planned"] = static_cast<double>(planned);
  state.counters["prompt_bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_PlanAndBuild)
    ->ArgNames({"instruments", "quarter"})
    ->ArgsProduct({{50, 500, 5000}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
