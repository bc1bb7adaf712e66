// `sigflow replay` on the real captures (tests/fixtures/captures/): every book chains with zero gaps, never
// crosses, and ends equal to an independent oracle built here from the same records with nlohmann::json,
// following the venues' documented rules (feeds.md §1).
#include "engine/app/replay_command.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/app/capture_file.hpp"
#include "io/venues/decimal.hpp"
#include "io/venues/venue_decoder.hpp"

namespace sigflow::app {
namespace {

using nlohmann::json;

std::string capture_path(const std::string& name) {
  return sigflow::testing_support::fixtures_dir() + "/captures/" + name;
}

io::Decimal dec(const json& v) {
  const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  return io::Decimal::parse(text).value();
}

// An oracle book: price → size, nothing bounded, nothing clever.
struct OracleBook {
  std::map<io::Decimal, io::Decimal> bids, asks;
  bool live = false;
  std::uint64_t last = 0;
  std::vector<json> buffered;  // Binance diffs before the snapshot

  void set(bool bid, io::Decimal price, io::Decimal size) {
    auto& side = bid ? bids : asks;
    if (size.is_zero()) {
      side.erase(price);
    } else {
      side[price] = size;
    }
  }
};

struct Summary {
  json line;
  io::Decimal best_bid() const { return io::Decimal::parse(line["best_bid"].get<std::string>()).value(); }
  io::Decimal best_ask() const { return io::Decimal::parse(line["best_ask"].get<std::string>()).value(); }
};

bool have_decoders(std::initializer_list<const char*> venues) {
  for (const char* v : venues)
    if (!io::make_decoder(v)) return false;
  return true;
}

std::map<std::string, Summary> replay_summary(const std::string& capture, int expected_status = 0) {
  std::ostringstream out, err;
  ReplayOptions options;
  options.capture = capture_path(capture);
  options.summary = true;
  EXPECT_EQ(run_replay(options, out, err), expected_status) << err.str();
  std::map<std::string, Summary> by_key;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    EXPECT_EQ(j.size(), 10u) << line;  // exactly the documented fields
    const std::string key = j["venue"].get<std::string>() + " " + j["symbol"].get<std::string>();
    EXPECT_FALSE(by_key.count(key)) << key;
    by_key[key] = Summary{std::move(j)};
  }
  return by_key;
}

// Every line of the capture with its record parsed by nlohmann.
std::vector<json> records(const std::string& capture) {
  std::ifstream in(capture_path(capture));
  std::vector<json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

void expect_matches(const std::map<std::string, OracleBook>& oracle,
                    const std::map<std::string, Summary>& got) {
  ASSERT_EQ(got.size(), oracle.size());
  for (const auto& [key, book] : oracle) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(got.count(key));
    const Summary& s = got.at(key);
    EXPECT_EQ(s.line["gaps"], 0);
    EXPECT_EQ(s.line["resyncs"], 0);
    EXPECT_GT(s.line["book_updates"].get<int>(), 0);
    ASSERT_TRUE(book.live);
    EXPECT_EQ(s.line["bids"].get<std::size_t>(), book.bids.size());
    EXPECT_EQ(s.line["asks"].get<std::size_t>(), book.asks.size());
    ASSERT_FALSE(book.bids.empty());
    ASSERT_FALSE(book.asks.empty());
    EXPECT_EQ(s.best_bid(), book.bids.rbegin()->first);
    EXPECT_EQ(s.best_ask(), book.asks.begin()->first);
    EXPECT_LT(s.best_bid(), s.best_ask());  // never crossed at the end (and a crossing would be a gap)
  }
}

TEST(Replay, BinanceFuturesCaptureChainsAndMatchesTheOracle) {
  if (!have_decoders({"binance-usdm"})) GTEST_SKIP() << "no binance-usdm decoder in the registry yet";
  std::map<std::string, OracleBook> oracle;
  std::map<std::string, int> trades;
  const auto apply = [](OracleBook& b, const json& d) {
    for (const json& l : d["b"]) b.set(true, dec(l[0]), dec(l[1]));
    for (const json& l : d["a"]) b.set(false, dec(l[0]), dec(l[1]));
    b.last = d["u"];
  };
  // USD-M procedure: drop u < lastUpdateId, first applied straddles, then pu == previous u.
  const auto diff = [&](OracleBook& b, const json& d) {
    if (!b.live) {
      b.buffered.push_back(d);
      return;
    }
    if (d["u"].get<std::uint64_t>() < b.last) return;
    if (b.buffered.empty() && d["pu"].get<std::uint64_t>() != b.last) {
      EXPECT_LE(d["U"].get<std::uint64_t>(), b.last);  // the straddling one
    }
    b.buffered.clear();
    apply(b, d);
  };
  for (const json& r : records("BINANCE_FUTURES.jsonl")) {
    if (r["t"] == "http") {
      const std::string symbol(depth_snapshot_symbol(r["url"].get<std::string>()));
      if (symbol.empty()) continue;
      OracleBook& b = oracle["binance-usdm " + symbol];
      const json snap = json::parse(r["data"].get<std::string>());
      for (const json& l : snap["bids"]) b.set(true, dec(l[0]), dec(l[1]));
      for (const json& l : snap["asks"]) b.set(false, dec(l[0]), dec(l[1]));
      b.last = snap["lastUpdateId"];
      b.live = true;
      std::vector<json> pending;
      pending.swap(b.buffered);
      for (const json& d : pending)
        if (d["u"].get<std::uint64_t>() >= b.last) apply(b, d);
      continue;
    }
    if (r["t"] != "recv") continue;
    const json frame = json::parse(r["data"].get<std::string>());
    const json& d = frame["data"];
    const std::string key = "binance-usdm " + d.value("s", std::string());
    if (d["e"] == "depthUpdate") diff(oracle[key], d);
    if (d["e"] == "aggTrade") ++trades[key];
  }
  const auto got = replay_summary("BINANCE_FUTURES.jsonl");
  expect_matches(oracle, got);
  for (const auto& [key, n] : trades) EXPECT_EQ(got.at(key).line["trades"], n) << key;
}

TEST(Replay, BybitCaptureChainsAndMatchesTheOracle) {
  if (!have_decoders({"bybit-linear", "bybit-spot"})) GTEST_SKIP() << "no bybit decoders in the registry yet";
  std::map<std::string, OracleBook> oracle;
  std::map<std::string, std::string> venue_of_conn;
  for (const json& r : records("BYBIT.jsonl")) {
    if (r["t"] == "connect") {
      venue_of_conn[r["conn"]] = std::string(venue_of_cryptofeed("BYBIT", r["addr"].get<std::string>()));
      continue;
    }
    if (r["t"] != "recv") continue;
    const json frame = json::parse(r["data"].get<std::string>());
    const std::string topic = frame.value("topic", std::string());
    if (!topic.starts_with("orderbook.")) continue;
    const json& d = frame["data"];
    OracleBook& b = oracle[venue_of_conn.at(r["conn"]) + " " + d["s"].get<std::string>()];
    const std::uint64_t u = d["u"];
    if (frame["type"] == "snapshot") {
      b = OracleBook{};
      b.live = true;
    } else {
      ASSERT_TRUE(b.live) << "a delta before its snapshot";
      ASSERT_EQ(u, b.last + 1) << topic;  // the capture itself chains
    }
    for (const json& l : d["b"]) b.set(true, dec(l[0]), dec(l[1]));
    for (const json& l : d["a"]) b.set(false, dec(l[0]), dec(l[1]));
    b.last = u;
  }
  const auto got = replay_summary("BYBIT.jsonl");
  // The summary also lists instruments that only traded or ticked; the books are those with a topic.
  std::map<std::string, Summary> books;
  for (const auto& [key, s] : got)
    if (oracle.count(key)) books.emplace(key, s);
  expect_matches(oracle, books);
  for (const auto& [key, s] : got) EXPECT_EQ(s.line["gaps"], 0) << key;
}

TEST(Replay, DeribitCaptureChainsAndMatchesTheOracle) {
  if (!have_decoders({"deribit"})) GTEST_SKIP() << "no deribit decoder in the registry yet";
  std::map<std::string, OracleBook> oracle;
  for (const json& r : records("DERIBIT.jsonl")) {
    if (r["t"] != "recv") continue;
    const json frame = json::parse(r["data"].get<std::string>());
    if (frame.value("method", std::string()) != "subscription") continue;
    const std::string channel = frame["params"]["channel"];
    if (!channel.starts_with("book.")) continue;
    const json& d = frame["params"]["data"];
    OracleBook& b = oracle["deribit " + d["instrument_name"].get<std::string>()];
    if (d["type"] == "snapshot") {
      b = OracleBook{};
      b.live = true;
    } else {
      ASSERT_TRUE(b.live);
      ASSERT_EQ(d["prev_change_id"].get<std::uint64_t>(), b.last) << channel;
    }
    for (const char* side : {"bids", "asks"}) {
      for (const json& l : d[side]) {
        const bool remove = l[0] == "delete";
        b.set(std::string_view(side) == "bids", dec(l[1]), remove ? io::Decimal{} : dec(l[2]));
      }
    }
    b.last = d["change_id"];
  }
  const auto got = replay_summary("DERIBIT.jsonl");
  std::map<std::string, Summary> books;
  for (const auto& [key, s] : got)
    if (oracle.count(key)) books.emplace(key, s);
  // Option books can be one-sided; compare what exists.
  for (auto& [key, book] : oracle) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(books.count(key));
    const json& line = books.at(key).line;
    EXPECT_EQ(line["gaps"], 0);
    EXPECT_EQ(line["bids"].get<std::size_t>(), book.bids.size());
    EXPECT_EQ(line["asks"].get<std::size_t>(), book.asks.size());
    if (!book.bids.empty()) {
      EXPECT_EQ(books.at(key).best_bid(), book.bids.rbegin()->first);
    } else {
      EXPECT_TRUE(line["best_bid"].is_null());
    }
    if (!book.asks.empty()) {
      EXPECT_EQ(books.at(key).best_ask(), book.asks.begin()->first);
    } else {
      EXPECT_TRUE(line["best_ask"].is_null());
    }
    if (!book.bids.empty() && !book.asks.empty()) {
      EXPECT_LT(books.at(key).best_bid(), books.at(key).best_ask());
    }
  }
}

TEST(Replay, SignalsWithoutSummaryOnePerInstrumentPerCycle) {
  if (!have_decoders({"binance-usdm"})) GTEST_SKIP() << "no binance-usdm decoder in the registry yet";
  std::ostringstream out, err;
  ReplayOptions options;
  options.capture = capture_path("BINANCE_FUTURES.jsonl");
  ASSERT_EQ(run_replay(options, out, err), 0) << err.str();
  std::istringstream lines(out.str());
  std::map<std::uint64_t, std::vector<std::string>> by_cycle;
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    by_cycle[j["cycle"].get<std::uint64_t>()].push_back(j["symbol"]);
  }
  ASSERT_GT(by_cycle.size(), 500u);  // ~30 s of capture at 50 ms
  for (const auto& [cycle, symbols] : by_cycle) EXPECT_EQ(symbols.size(), 4u) << cycle;
  // In instruments() order: the order of first appearance in the capture, the same every cycle.
  EXPECT_EQ(by_cycle.begin()->second, by_cycle.rbegin()->second);
}

TEST(Replay, SigflowCaptureFormatRoundTrip) {
  if (!have_decoders({"binance-usdm"})) GTEST_SKIP() << "no binance-usdm decoder in the registry yet";
  // Rewrite the cryptofeed capture in sigflow's format (what `sigflow record` writes): same books.
  const std::string path = ::testing::TempDir() + "/sigflow_capture_roundtrip.jsonl";
  {
    std::string text;
    append_capture_header(text, 1'626'992'740'000'000'000);
    append_capture_connect(text, 1, "binance-usdm", "/stream", "", "wss://fstream.binance.com/stream");
    std::map<std::string, std::uint32_t> rest_conn;
    for (const json& r : records("BINANCE_FUTURES.jsonl")) {
      if (r["t"] != "recv" && r["t"] != "http") continue;
      const std::int64_t ns = static_cast<std::int64_t>(r["ts"].get<double>() * 1e9);
      if (r["t"] == "recv") append_capture_recv(text, 1, "binance-usdm", ns, r["data"].get<std::string>());
      if (r["t"] != "http") continue;
      const std::string symbol(depth_snapshot_symbol(r["url"].get<std::string>()));
      if (symbol.empty()) continue;
      if (!rest_conn.count(symbol)) {
        const auto id = static_cast<std::uint32_t>(100 + rest_conn.size());
        rest_conn[symbol] = id;
        append_capture_connect(text, id, "binance-usdm", "rest", symbol, "");
      }
      append_capture_recv(text, rest_conn[symbol], "binance-usdm", ns, r["data"].get<std::string>());
    }
    std::ofstream(path) << text;
  }
  std::ostringstream a, b, err;
  ReplayOptions options;
  options.summary = true;
  options.capture = capture_path("BINANCE_FUTURES.jsonl");
  ASSERT_EQ(run_replay(options, a, err), 0) << err.str();
  options.capture = path;
  ASSERT_EQ(run_replay(options, b, err), 0) << err.str();
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str().find("\"gaps\":0"), std::string::npos);
}

TEST(Replay, UnreadableAndMalformedCaptures) {
  std::ostringstream out, err;
  ReplayOptions options;
  options.capture = ::testing::TempDir() + "/does_not_exist.jsonl";
  EXPECT_EQ(run_replay(options, out, err), 2);
  EXPECT_NE(err.str().find("cannot read"), std::string::npos);

  const std::string path = ::testing::TempDir() + "/sigflow_capture_bad.jsonl";
  std::ofstream(path)
      << "{\"t\":\"header\",\"format\":\"sigflow-1\"}\nnot json\n{\"t\":\"recv\",\"conn\":\"1\"}\n";
  err.str("");
  options.capture = path;
  EXPECT_EQ(run_replay(options, out, err), 2);  // nothing replayable
  EXPECT_NE(err.str().find(":2: not JSON"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find(":3: a recv/http record without \"data\""), std::string::npos) << err.str();
}

TEST(CaptureFile, ReaderParsesBothFormatsAndNamesErrors) {
  CaptureReader reader;
  CaptureRecord r;
  EXPECT_EQ(reader.parse(R"({"t":"recv","conn":"BYBIT.ws.2","ts":"1786310818.5","data":"{\"a\":1}"})", r),
            "");
  EXPECT_EQ(r.type, CaptureRecordType::kRecv);
  EXPECT_EQ(r.conn, "BYBIT.ws.2");
  EXPECT_EQ(r.data, R"({"a":1})");
  EXPECT_EQ(r.recv_ns, 1'786'310'818'500'000'000);
  EXPECT_EQ(reader.parse(R"({"t":"recv","conn":"3","venue":"okx","recv_ns":42,"data":""})", r), "");
  EXPECT_EQ(r.venue, "okx");
  EXPECT_EQ(r.recv_ns, 42);
  EXPECT_EQ(reader.parse(R"({"t":"header","format":2,"exchange":"BYBIT"})", r), "");
  EXPECT_EQ(r.format, "2");
  EXPECT_EQ(r.exchange, "BYBIT");
  EXPECT_NE(reader.parse(R"({"t":"recv","conn":"3","recv_ns":-1,"data":""})", r), "");
  EXPECT_NE(reader.parse(R"({"t":"recv","conn":3,"data":""})", r), "");
  EXPECT_NE(reader.parse(R"({"conn":"3"})", r), "");
  EXPECT_NE(reader.parse(R"([1,2])", r), "");
  EXPECT_NE(reader.parse(R"({"t":"recv","ts":"x","data":""})", r), "");

  EXPECT_EQ(venue_of_cryptofeed("BYBIT", "wss://stream.bybit.com/v5/public/linear"), "bybit-linear");
  EXPECT_EQ(venue_of_cryptofeed("BYBIT", "wss://stream.bybit.com/v5/public/spot"), "bybit-spot");
  EXPECT_EQ(venue_of_cryptofeed("BINANCE_FUTURES", ""), "binance-usdm");
  EXPECT_EQ(venue_of_cryptofeed("BINANCE", ""), "binance");
  EXPECT_EQ(venue_of_cryptofeed("OKX", ""), "okx");
  EXPECT_EQ(venue_of_cryptofeed("DERIBIT", ""), "deribit");
  EXPECT_EQ(venue_of_cryptofeed("KRAKEN", ""), "");
  EXPECT_EQ(depth_snapshot_symbol("https://fapi.binance.com/fapi/v1/depth?symbol=KEEPUSDT&limit=1000"),
            "KEEPUSDT");
  EXPECT_EQ(depth_snapshot_symbol("https://api.binance.com/api/v3/depth?limit=5000&symbol=RUNEEUR"),
            "RUNEEUR");
  EXPECT_EQ(depth_snapshot_symbol("https://fapi.binance.com/fapi/v1/exchangeInfo"), "");

  std::string line;
  append_capture_recv(line, 7, "binance", 123, "{\"x\":\"a\\\"b\"}\n");
  EXPECT_EQ(reader.parse(line.substr(0, line.size() - 1), r), "");
  EXPECT_EQ(r.data, "{\"x\":\"a\\\"b\"}\n");
  EXPECT_EQ(r.conn, "7");
  EXPECT_EQ(r.recv_ns, 123);
}

}  // namespace
}  // namespace sigflow::app
