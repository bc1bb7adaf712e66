// Decode cost per OKX message type on real fixture frames (tests/fixtures/okx): io::okx::Decoder
// (simdjson on-demand, in place on padded frames, events to a sink) against the baseline of parsing the same
// frame into an nlohmann::json DOM without even extracting fields — a lower bound for a DOM-based decoder.
// And the book checksum: io::okx::book_checksum over the top 25 levels of the UNI-USD-SWAP snapshot
// (formatting 100 decimals and CRC32) against the CRC32 alone over the prebuilt string.
// The time per iteration is per message (per checksum).
#include <benchmark/benchmark.h>

#include <boost/crc.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/okx/checksum.hpp"
#include "io/venues/okx/decoder.hpp"

namespace {

using sigflow::io::EventKind;
using sigflow::io::MarketEvent;
using sigflow::io::PriceLevel;

struct Frame {
  std::string storage;  // payload followed by the FrameRing's padding
  std::size_t length;
  std::string_view bytes() const { return {storage.data(), length}; }
};

std::string read(const std::string& name) {
  std::ifstream in(std::string(SIGFLOW_FIXTURES) + "/okx/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The frames of a fixture as the venue sends them: one per line of an array file, whitespace of
// pretty-printed documentation examples removed (the venue sends compact JSON).
std::vector<Frame> load(const std::string& name) {
  const auto value = nlohmann::ordered_json::parse(read(name));
  std::vector<Frame> out;
  for (const auto& item : value.is_array() ? value : nlohmann::ordered_json::array({value})) {
    const std::string text = item.dump();
    Frame f{text, text.size()};
    f.storage.append(sigflow::engine::kFramePadding, '\0');
    out.push_back(std::move(f));
  }
  return out;
}

const std::map<std::string, std::vector<Frame>>& frames() {
  static const std::map<std::string, std::vector<Frame>> loaded = {
      {"books_update", load("books_update_sequence_UNI-USD-SWAP.json")},
      {"books_snapshot", load("books_snapshot_UNI-USD-SWAP.json")},
      {"trades", load("trades_2026_with_seqId.json")},
      {"bbo_tbt", load("bbo_tbt_docs.json")},
      {"tickers", load("tickers_2022.json")},
  };
  return loaded;
}

class CountingSink final : public sigflow::io::EventSink {
 public:
  void on_event(const MarketEvent& e) noexcept override {
    ++events;
    benchmark::DoNotOptimize(e.kind);
  }
  std::size_t events = 0;
};

void BM_OkxDecoder(benchmark::State& state, std::string type) {
  const auto& list = frames().at(type);
  sigflow::io::okx::Decoder decoder;
  CountingSink sink;
  std::size_t i = 0, errors = 0, bytes = 0;
  for (auto _ : state) {
    const Frame& f = list[i];
    if (!decoder.decode(f.bytes(), 1, {}, sink)) ++errors;
    bytes += f.length;
    if (++i == list.size()) i = 0;
  }
  if (errors != 0) state.SkipWithError("decode errors");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_NlohmannParseOnly(benchmark::State& state, std::string type) {
  const auto& list = frames().at(type);
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const Frame& f = list[i];
    auto doc = nlohmann::json::parse(f.bytes());
    benchmark::DoNotOptimize(doc);
    bytes += f.length;
    if (++i == list.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

struct SnapshotLevels {
  std::vector<PriceLevel> bids, asks;
  std::string crc_text;  // the checksum's input string, prebuilt
};

const SnapshotLevels& snapshot_levels() {
  static const SnapshotLevels levels = [] {
    SnapshotLevels out;
    class Copy final : public sigflow::io::EventSink {
     public:
      explicit Copy(SnapshotLevels& o) : out_(o) {}
      void on_event(const MarketEvent& e) noexcept override {
        out_.bids.assign(e.snapshot.bids.begin(), e.snapshot.bids.end());
        out_.asks.assign(e.snapshot.asks.begin(), e.snapshot.asks.end());
      }
      SnapshotLevels& out_;
    } copy(out);
    sigflow::io::okx::Decoder decoder;
    const Frame& f = frames().at("books_snapshot").front();
    decoder.decode(f.bytes(), 1, {}, copy);
    const auto append = [&](const PriceLevel& l) {
      char text[sigflow::io::Decimal::kMaxChars];
      if (!out.crc_text.empty()) out.crc_text += ':';
      out.crc_text.append(text, l.price.format(text, text + sizeof text));
      out.crc_text += ':';
      out.crc_text.append(text, l.size.format(text, text + sizeof text));
    };
    for (std::size_t i = 0; i < 25; ++i) {
      if (i < out.bids.size()) append(out.bids[i]);
      if (i < out.asks.size()) append(out.asks[i]);
    }
    return out;
  }();
  return levels;
}

void BM_OkxBookChecksum(benchmark::State& state) {
  const auto& l = snapshot_levels();
  for (auto _ : state) benchmark::DoNotOptimize(sigflow::io::okx::book_checksum(l.bids, l.asks));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Crc32OfPrebuiltString(benchmark::State& state) {
  const auto& l = snapshot_levels();
  for (auto _ : state) {
    boost::crc_32_type crc;
    crc.process_bytes(l.crc_text.data(), l.crc_text.size());
    benchmark::DoNotOptimize(crc.checksum());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK_CAPTURE(BM_OkxDecoder, books_update, std::string("books_update"));
BENCHMARK_CAPTURE(BM_NlohmannParseOnly, books_update, std::string("books_update"));
BENCHMARK_CAPTURE(BM_OkxDecoder, books_snapshot, std::string("books_snapshot"));
BENCHMARK_CAPTURE(BM_NlohmannParseOnly, books_snapshot, std::string("books_snapshot"));
BENCHMARK_CAPTURE(BM_OkxDecoder, trades, std::string("trades"));
BENCHMARK_CAPTURE(BM_NlohmannParseOnly, trades, std::string("trades"));
BENCHMARK_CAPTURE(BM_OkxDecoder, bbo_tbt, std::string("bbo_tbt"));
BENCHMARK_CAPTURE(BM_NlohmannParseOnly, bbo_tbt, std::string("bbo_tbt"));
BENCHMARK_CAPTURE(BM_OkxDecoder, tickers, std::string("tickers"));
BENCHMARK_CAPTURE(BM_NlohmannParseOnly, tickers, std::string("tickers"));
BENCHMARK(BM_OkxBookChecksum);
BENCHMARK(BM_Crc32OfPrebuiltString);

BENCHMARK_MAIN();
