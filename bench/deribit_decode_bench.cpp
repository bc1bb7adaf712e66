// Decode cost per Deribit message type, on real frames: book changes, book snapshots and option tickers from
// tests/fixtures/captures/DERIBIT.jsonl (cryptofeed's recording of the live venue), the perpetual trades and
// ticker fixtures (tests/fixtures/deribit, compacted to the venue's wire form). io::deribit::Decoder
// (simdjson on-demand in place on padded frames, JSON numbers to exact decimals) is set against a baseline
// that only builds a nlohmann::json DOM of the same frame — less work than the decoder does (no field
// extraction, numbers to double) — so the ratio understates the decoder's advantage. Time per iteration is
// per message.
#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/deribit/decoder.hpp"

namespace {

struct Frame {
  std::string storage;  // payload followed by the FrameRing's padding
  std::size_t length;
  std::string_view bytes() const { return {storage.data(), length}; }
};

Frame padded(std::string text) {
  Frame f{std::move(text), 0};
  f.length = f.storage.size();
  f.storage.append(sigflow::engine::kFramePadding, '\0');
  return f;
}

// Whitespace outside strings removed: the fixtures are pretty-printed, the venue sends compact JSON.
std::string compact(const std::string& text) {
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out += c;
    }
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "book_change", "book_snapshot", "ticker_option", "trades_perpetual", "ticker_perpetual" → frames
const std::map<std::string, std::vector<Frame>>& frames() {
  static const auto loaded = [] {
    std::map<std::string, std::vector<Frame>> out;
    std::istringstream lines(read_file(std::string(SIGFLOW_FIXTURES) + "/captures/DERIBIT.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
      const auto record = nlohmann::json::parse(line);
      if (record["t"] != "recv") continue;
      const std::string data = record["data"];
      const auto message = nlohmann::json::parse(data);
      if (!message.contains("params")) continue;
      const std::string channel = message["params"]["channel"];
      if (channel.starts_with("book.")) {
        out[message["params"]["data"]["type"] == "change" ? "book_change" : "book_snapshot"].push_back(
            padded(data));
      } else if (channel.starts_with("ticker.")) {
        out["ticker_option"].push_back(padded(data));
      }
    }
    const std::string dir = std::string(SIGFLOW_FIXTURES) + "/deribit/";
    out["trades_perpetual"].push_back(padded(compact(read_file(dir + "trades_perpetual.json"))));
    out["ticker_perpetual"].push_back(padded(compact(read_file(dir + "ticker_perpetual_funding.json"))));
    return out;
  }();
  return loaded;
}

class CountingSink final : public sigflow::io::EventSink {
 public:
  void on_event(const sigflow::io::MarketEvent& e) noexcept override {
    ++events;
    benchmark::DoNotOptimize(e.exchange_ts_ns);
  }
  std::int64_t events = 0;
};

void BM_Decoder(benchmark::State& state, const std::string& type) {
  const auto& set = frames().at(type);
  sigflow::io::deribit::Decoder decoder;
  CountingSink sink;
  std::size_t i = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const Frame& f = set[i];
    if (!decoder.decode(f.bytes(), 1, "", sink)) {
      state.SkipWithError(std::string(decoder.error_message()).c_str());
      return;
    }
    bytes += static_cast<std::int64_t>(f.length);
    if (++i == set.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
  state.counters["events/msg"] = static_cast<double>(sink.events) / static_cast<double>(state.iterations());
}

void BM_NlohmannDomBaseline(benchmark::State& state, const std::string& type) {
  const auto& set = frames().at(type);
  std::size_t i = 0;
  for (auto _ : state) {
    const Frame& f = set[i];
    auto dom = nlohmann::json::parse(f.bytes());
    benchmark::DoNotOptimize(dom);
    if (++i == set.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(BM_Decoder, book_change, std::string("book_change"));
BENCHMARK_CAPTURE(BM_Decoder, book_snapshot, std::string("book_snapshot"));
BENCHMARK_CAPTURE(BM_Decoder, trades_perpetual, std::string("trades_perpetual"));
BENCHMARK_CAPTURE(BM_Decoder, ticker_perpetual, std::string("ticker_perpetual"));
BENCHMARK_CAPTURE(BM_Decoder, ticker_option, std::string("ticker_option"));
BENCHMARK_CAPTURE(BM_NlohmannDomBaseline, book_change, std::string("book_change"));
BENCHMARK_CAPTURE(BM_NlohmannDomBaseline, book_snapshot, std::string("book_snapshot"));
BENCHMARK_CAPTURE(BM_NlohmannDomBaseline, trades_perpetual, std::string("trades_perpetual"));
BENCHMARK_CAPTURE(BM_NlohmannDomBaseline, ticker_perpetual, std::string("ticker_perpetual"));
BENCHMARK_CAPTURE(BM_NlohmannDomBaseline, ticker_option, std::string("ticker_option"));

BENCHMARK_MAIN();
