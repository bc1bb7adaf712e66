// Decode cost per Bybit v5 message type, on the real frames of tests/fixtures/captures/BYBIT.jsonl (linear
// and spot, books 200, tickers, trades): io::bybit::Decoder (simdjson on-demand, in place on padded frames)
// against a baseline doing the same extraction with nlohmann::json (parse into a DOM, then read the same
// fields into the same normalized values, exact decimals included). Items/s is messages/s; the time per
// iteration is per message.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/bybit/decoder.hpp"

// Counts heap allocations, to show the decoder's per-frame path makes none (reported as allocs/msg). This
// program is the only one linking this replacement; it forwards to malloc and only counts.
namespace {
std::size_t g_allocations = 0;
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
__attribute__((noinline)) void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace {

using sigflow::io::Decimal;
using sigflow::io::EventKind;
using sigflow::io::MarketEvent;

struct Frame {
  std::string storage;  // payload followed by the FrameRing's padding
  std::size_t length;
  std::string_view bytes() const { return {storage.data(), length}; }
};

// "book_delta", "book_snapshot", "publicTrade", "tickers", "kline", "control", "all" → frames in arrival
// order
std::map<std::string, std::vector<Frame>> load_frames() {
  std::map<std::string, std::vector<Frame>> out;
  std::ifstream in(std::string(SIGFLOW_FIXTURES) + "/captures/BYBIT.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (record["t"] != "recv") continue;
    const std::string data = record["data"];
    Frame f{data, data.size()};
    f.storage.append(sigflow::engine::kFramePadding, '\0');
    const auto message = nlohmann::json::parse(data);
    std::string type = "control";
    if (message.contains("topic")) {
      const std::string topic = message["topic"];
      type = topic.substr(0, topic.find('.'));
      if (type == "orderbook") type = message["type"] == "delta" ? "book_delta" : "book_snapshot";
    }
    out[type].push_back(f);
    out["all"].push_back(std::move(f));
  }
  return out;
}

const std::map<std::string, std::vector<Frame>>& frames() {
  static const auto loaded = load_frames();
  return loaded;
}

class CountingSink final : public sigflow::io::EventSink {
 public:
  void on_event(const MarketEvent& e) noexcept override {
    ++events;
    if (e.kind == EventKind::kBookDelta) levels += e.delta.bids.size() + e.delta.asks.size();
    if (e.kind == EventKind::kBookSnapshot) levels += e.snapshot.bids.size() + e.snapshot.asks.size();
  }
  std::size_t events = 0;
  std::size_t levels = 0;
};

void BM_Simdjson(benchmark::State& state, std::string type) {
  const auto& list = frames().at(type);
  sigflow::io::bybit::Decoder decoder;
  CountingSink sink;
  std::size_t i = 0, errors = 0;
  const std::size_t allocations_before = g_allocations;
  for (auto _ : state) {
    const Frame& f = list[i];
    if (!decoder.decode(f.bytes(), 1, {}, sink)) ++errors;
    benchmark::DoNotOptimize(sink.events);
    if (++i == list.size()) i = 0;
  }
  state.counters["allocs/msg"] =
      static_cast<double>(g_allocations - allocations_before) / static_cast<double>(state.iterations());
  if (errors) state.SkipWithError("decode errors");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["frames"] = static_cast<double>(list.size());
}

// The baseline: the same fields into the same values, through nlohmann's DOM.
Decimal decimal(const nlohmann::json& v) {
  return *Decimal::parse(v.get_ref<const std::string&>());
}

void BM_Nlohmann(benchmark::State& state, std::string type) {
  const auto& list = frames().at(type);
  std::size_t i = 0;
  std::int64_t sink = 0;
  for (auto _ : state) {
    const Frame& f = list[i];
    const auto message = nlohmann::json::parse(f.bytes());
    if (message.contains("data")) {
      const auto& data = message["data"];
      sink += message.value("ts", std::int64_t{0}) + message.value("cts", std::int64_t{0});
      if (data.is_object() && data.contains("b")) {
        for (const auto& l : data["b"]) sink += decimal(l[0]).mantissa() + decimal(l[1]).mantissa();
        for (const auto& l : data["a"]) sink += decimal(l[0]).mantissa() + decimal(l[1]).mantissa();
        sink += data["u"].get<std::int64_t>() +
                static_cast<std::int64_t>(data["s"].get_ref<const std::string&>().size());
      } else if (data.is_object()) {
        for (const char* key :
             {"markPrice", "indexPrice", "fundingRate", "bid1Price", "bid1Size", "ask1Price", "ask1Size"}) {
          if (data.contains(key)) sink += decimal(data[key]).mantissa();
        }
      } else if (data.is_array()) {
        for (const auto& t : data) {
          if (!t.contains("p")) continue;
          sink += decimal(t["p"]).mantissa() + decimal(t["v"]).mantissa() + t["T"].get<std::int64_t>() +
                  (t["S"] == "Buy" ? 1 : 2);
        }
      }
    }
    benchmark::DoNotOptimize(sink);
    if (++i == list.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void register_all() {
  for (const char* type : {"book_delta", "book_snapshot", "publicTrade", "tickers", "all"}) {
    benchmark::RegisterBenchmark((std::string("bybit/simdjson/") + type).c_str(), BM_Simdjson,
                                 std::string(type));
    benchmark::RegisterBenchmark((std::string("bybit/nlohmann/") + type).c_str(), BM_Nlohmann,
                                 std::string(type));
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
