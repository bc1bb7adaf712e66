// Decode cost per Binance message. USD-M, on the real frames of
// tests/fixtures/captures/BINANCE_FUTURES.jsonl: io::binance::Decoder (simdjson on-demand, in place on padded
// frames) against a baseline doing the same extraction with nlohmann::json (parse into a DOM, then read the
// same fields into the same event, including exact decimals). Both run in one program, per message type and
// on the whole mix in arrival order. Spot, on the real frames of tests/fixtures/binance/spot_*.json
// (bookTicker without e/E/T, aggTrade, depthUpdate without pu), against the same baseline where it reads the
// shape (aggTrade). REST depth snapshots of both markets (the fixtures' 689 and 1012 levels), decoded in
// place on a padded body as the FrameRing delivers it. Items/s is messages/s; the time per iteration is per
// message.
#include <benchmark/benchmark.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/venues/binance/decoder.hpp"

namespace {

using sigflow::io::Decimal;
using sigflow::io::EventKind;
using sigflow::io::MarketEvent;
using sigflow::io::PriceLevel;
using sigflow::io::Side;

struct Frame {
  std::string storage;  // payload followed by the FrameRing's padding
  std::size_t length;
  std::string_view bytes() const { return {storage.data(), length}; }
};

// type name ("aggTrade", "bookTicker", "depthUpdate", "kline", "all") → frames in arrival order
std::map<std::string, std::vector<Frame>> load_frames() {
  std::map<std::string, std::vector<Frame>> out;
  std::ifstream in(std::string(SIGFLOW_FIXTURES) + "/captures/BINANCE_FUTURES.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (record["t"] != "recv") continue;
    const std::string data = record["data"];
    Frame f{data, data.size()};
    f.storage.append(sigflow::engine::kFramePadding, '\0');
    const std::string type = nlohmann::json::parse(data)["data"]["e"];
    out[type].push_back(f);
    out["all"].push_back(std::move(f));
  }
  return out;
}

Frame padded(std::string text) {
  Frame f{std::move(text), 0};
  f.length = f.storage.size();
  f.storage.append(sigflow::engine::kFramePadding, '\0');
  return f;
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(SIGFLOW_FIXTURES) + "/binance/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// "spot/<type>" → the messages of a spot fixture (a JSON array of combined frames), each padded.
void load_spot_frames(std::map<std::string, std::vector<Frame>>& out) {
  for (const auto& [type, file] :
       {std::pair{"bookTicker", "spot_bookTicker_combined.json"},
        std::pair{"aggTrade", "spot_aggTrade_combined.json"},
        std::pair{"depthUpdate", "spot_depthUpdate_RUNEEUR_after_snapshot.json"}}) {
    const auto array = nlohmann::json::parse(read_fixture(file), nullptr, false);
    if (!array.is_array()) continue;
    for (const auto& message : array) out[std::string("spot/") + type].push_back(padded(message.dump()));
  }
}

const std::map<std::string, std::vector<Frame>>& frames() {
  static const auto loaded = [] {
    auto out = load_frames();
    load_spot_frames(out);
    return out;
  }();
  return loaded;
}

void BM_RestSnapshot(benchmark::State& state, std::string fixture, std::string symbol) {
  const Frame body = padded(read_fixture(fixture));
  sigflow::io::binance::Decoder decoder;
  MarketEvent event;
  std::size_t errors = 0;
  for (auto _ : state) {
    errors += decoder.decode_rest_depth_padded(body.bytes(), symbol, 0, event) !=
              sigflow::io::binance::DecodeError::kNone;
    benchmark::DoNotOptimize(event);
  }
  if (errors || body.length == 0) state.SkipWithError("decode errors");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.length));
}

void BM_Simdjson(benchmark::State& state, std::string type) {
  const auto& list = frames().at(type);
  sigflow::io::binance::Decoder decoder;
  MarketEvent event;
  std::size_t i = 0, errors = 0;
  for (auto _ : state) {
    const Frame& f = list[i];
    if (++i == list.size()) i = 0;
    errors += decoder.decode_padded(f.bytes(), 0, {}, event) != sigflow::io::binance::DecodeError::kNone;
    benchmark::DoNotOptimize(event);
  }
  if (errors) state.SkipWithError("decode errors");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The baseline: the same fields into the same event, through a DOM.
class NlohmannDecoder {
 public:
  bool decode(std::string_view bytes, MarketEvent& out) {
    const auto doc = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return false;
    const auto stream_it = doc.find("stream");
    stream_ =
        stream_it != doc.end() && stream_it->is_string() ? stream_it->get<std::string>() : std::string();
    const auto data_it = doc.find("data");
    const nlohmann::json& d = data_it != doc.end() ? *data_it : doc;
    const auto e = d.find("e");
    if (e == d.end() || !e->is_string()) return false;
    type_ = e->get<std::string>();
    symbol_ = d.value("s", std::string());
    out.symbol = symbol_;
    out.stream = stream_;
    out.event_ts_ns = d.value("E", std::int64_t{0}) * 1'000'000;
    out.exchange_ts_ns = d.value("T", std::int64_t{0}) * 1'000'000;
    if (type_ == "aggTrade") {
      out.kind = EventKind::kTrade;
      out.trade.price = decimal(d.at("p"));
      out.trade.size = decimal(d.at("q"));
      out.trade.aggressor = d.at("m").get<bool>() ? Side::kSell : Side::kBuy;
      out.trade.trade_id = d.at("a").get<std::uint64_t>();
      return true;
    }
    if (type_ == "bookTicker") {
      out.kind = EventKind::kBestBidAsk;
      out.best_bid_ask = {decimal(d.at("b")), decimal(d.at("B")), decimal(d.at("a")), decimal(d.at("A")),
                          d.at("u").get<std::uint64_t>()};
      return true;
    }
    if (type_ == "depthUpdate") {
      out.kind = EventKind::kBookDelta;
      levels(d.at("b"), bids_);
      levels(d.at("a"), asks_);
      out.delta = {bids_,
                   asks_,
                   d.at("U").get<std::uint64_t>(),
                   d.at("u").get<std::uint64_t>(),
                   d.at("pu").get<std::uint64_t>(),
                   std::nullopt};
      return true;
    }
    out.kind = EventKind::kIgnored;
    return true;
  }

 private:
  static Decimal decimal(const nlohmann::json& v) {
    return Decimal::parse(v.get_ref<const std::string&>()).value_or(Decimal{});
  }
  static void levels(const nlohmann::json& array, std::vector<PriceLevel>& out) {
    out.clear();
    for (const auto& level : array) out.push_back({decimal(level.at(0)), decimal(level.at(1))});
  }

  std::string stream_, type_, symbol_;
  std::vector<PriceLevel> bids_, asks_;
};

void BM_Nlohmann(benchmark::State& state, std::string type) {
  const auto& list = frames().at(type);
  NlohmannDecoder decoder;
  MarketEvent event;
  std::size_t i = 0, errors = 0;
  for (auto _ : state) {
    const Frame& f = list[i];
    if (++i == list.size()) i = 0;
    errors += !decoder.decode(f.bytes(), event);
    benchmark::DoNotOptimize(event);
  }
  if (errors) state.SkipWithError("decode errors");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

int main(int argc, char** argv) {
  const auto& all = frames();
  if (all.empty() || !all.count("all")) {
    std::cerr << "decode_bench: no frames in " << SIGFLOW_FIXTURES << "/captures/BINANCE_FUTURES.jsonl\n";
    return 1;
  }
  for (const char* type : {"aggTrade", "bookTicker", "depthUpdate", "kline", "all"}) {
    if (!all.count(type)) continue;
    benchmark::RegisterBenchmark((std::string("simdjson_ondemand/") + type).c_str(), BM_Simdjson,
                                 std::string(type));
    benchmark::RegisterBenchmark((std::string("nlohmann_baseline/") + type).c_str(), BM_Nlohmann,
                                 std::string(type));
  }
  for (const char* type : {"spot/bookTicker", "spot/aggTrade", "spot/depthUpdate"}) {
    if (!all.count(type)) continue;
    benchmark::RegisterBenchmark((std::string("simdjson_ondemand/") + type).c_str(), BM_Simdjson,
                                 std::string(type));
  }
  if (all.count("spot/aggTrade"))
    benchmark::RegisterBenchmark("nlohmann_baseline/spot/aggTrade", BM_Nlohmann,
                                 std::string("spot/aggTrade"));
  benchmark::RegisterBenchmark("simdjson_ondemand/rest/spot_RUNEEUR", BM_RestSnapshot,
                               std::string("spot_rest_depth_snapshot_RUNEEUR.json"), std::string("RUNEEUR"));
  benchmark::RegisterBenchmark("simdjson_ondemand/rest/usdm_KEEPUSDT", BM_RestSnapshot,
                               std::string("futures_rest_depth_snapshot_KEEPUSDT.json"),
                               std::string("KEEPUSDT"));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
