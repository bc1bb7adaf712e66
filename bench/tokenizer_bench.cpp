// Tokenizer throughput (MB/s of UTF-8 input, 10^6 bytes) on English prose and on prompt text.
// Baseline: the tiktoken npm package on the same bytes (bench/tiktoken/bench.mjs); run
// bench/tokenizer_vs_tiktoken.sh for both side by side and the ratio.
//
//   bench_tokenizer [--write-corpus=DIR] [google benchmark flags]
// --write-corpus writes the two corpora (english_prose.txt, prompt_lines.txt) to DIR first, so that the node
// script reads exactly the bytes measured here.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/synthetic_universe.hpp"
#include "strategies/prompt/snapshot_line.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

namespace {

using namespace sigflow::strategies;
namespace fs = std::filesystem;

const fs::path kDataDir = fs::path(SIGFLOW_SOURCE_DIR) / "data" / "tokenizers";

std::string english_prose() {
  // The GNU GPL v3 text: 35 KB of ordinary English prose, verbatim copying permitted.
  std::ifstream in(fs::path(SIGFLOW_SOURCE_DIR) / "bench" / "tiktoken" / "corpus" / "english_prose.txt",
                   std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 2,000 snapshot lines as the prompt builder writes them: the text the strategy thread tokenizes each cycle.
std::string prompt_lines() {
  const sigflow::bench::SyntheticUniverse u = sigflow::bench::make_synthetic_universe(2000, 7);
  std::string text;
  char line[kMaxSnapshotLine];
  for (const InstrumentFeatures& f : u.features) {
    const SnapshotLineResult r = write_snapshot_line(f, line);
    if (r.ok()) text.append(line, r.size);
  }
  return text;
}

const std::string& corpus(int which) {
  static const std::string english = english_prose();
  static const std::string prompt = prompt_lines();
  return which == 0 ? english : prompt;
}

const Tokenizer& tokenizer(Encoding encoding) {
  static std::shared_ptr<const Tokenizer> loaded[2];
  auto& slot = loaded[static_cast<int>(encoding)];
  if (!slot) {
    std::string error;
    slot = Tokenizer::load(encoding, kDataDir, error);
    if (!slot) {
      std::fprintf(stderr, "bench_tokenizer: %s\n", error.c_str());
      std::exit(1);
    }
  }
  return *slot;
}

void set_throughput(benchmark::State& state, std::size_t bytes, std::size_t tokens) {
  state.counters["MB/s"] =
      benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e6,
                         benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes"] = static_cast<double>(bytes);
}

// args: corpus (0 english prose, 1 prompt lines), encoding (0 cl100k_base, 1 o200k_base)
void BM_Count(benchmark::State& state) {
  const std::string& text = corpus(static_cast<int>(state.range(0)));
  const Tokenizer& t = tokenizer(static_cast<Encoding>(state.range(1)));
  TokenizerScratch scratch;
  std::size_t tokens = 0;
  for (auto _ : state) {
    const TokenCount c = t.count(text, scratch);
    tokens = c.tokens;
    benchmark::DoNotOptimize(tokens);
  }
  set_throughput(state, text.size(), tokens);
}

void BM_Encode(benchmark::State& state) {
  const std::string& text = corpus(static_cast<int>(state.range(0)));
  const Tokenizer& t = tokenizer(static_cast<Encoding>(state.range(1)));
  TokenizerScratch scratch;
  std::vector<std::uint32_t> ids;
  ids.reserve(text.size());
  for (auto _ : state) {
    ids.clear();
    (void)t.encode(text, scratch, ids);
    benchmark::DoNotOptimize(ids.data());
  }
  set_throughput(state, text.size(), ids.size());
}

// One snapshot line at a time, as the prompt planner counts them: per-call overhead included.
void BM_CountPerLine(benchmark::State& state) {
  const std::string& text = corpus(1);
  const Tokenizer& t = tokenizer(static_cast<Encoding>(state.range(0)));
  TokenizerScratch scratch;
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at) + 1;
    lines.emplace_back(text.data() + at, end - at);
    at = end;
  }
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (std::string_view line : lines) tokens += t.count(line, scratch).tokens;
    benchmark::DoNotOptimize(tokens);
  }
  set_throughput(state, text.size(), tokens);
}

BENCHMARK(BM_Count)
    ->ArgNames({"corpus", "enc"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Encode)
    ->ArgNames({"corpus", "enc"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CountPerLine)->ArgName("enc")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr std::string_view kFlag = "--write-corpus=";
    if (std::strncmp(argv[i], kFlag.data(), kFlag.size()) == 0) {
      const fs::path dir = argv[i] + kFlag.size();
      fs::create_directories(dir);
      std::ofstream(dir / "english_prose.txt", std::ios::binary) << corpus(0);
      std::ofstream(dir / "prompt_lines.txt", std::ios::binary) << corpus(1);
      continue;
    }
    args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
