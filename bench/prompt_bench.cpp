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

#include "bench/synthetic_universe.hpp"
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

// args: instruments, allowance (0: everything fits, 1: a quarter fits)
void BM_PlanAndBuild(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  sigflow::bench::SyntheticUniverse u = sigflow::bench::make_synthetic_universe(n);
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
