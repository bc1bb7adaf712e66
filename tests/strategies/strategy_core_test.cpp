// StrategyCore end to end: the recorded Binance USD-M session through decode, books, features, the local
// model and signals; bad frames counted and logged; one signal per instrument per cycle.
#include "strategies/strategy_core.hpp"
#include "tests/support/paths.hpp"

#include "engine/clock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sigflow::strategies {
namespace {

constexpr std::int64_t kMs = 1'000'000;

class CollectingSink : public SignalSink {
 public:
  void on_signal(const Signal& s) override {
    lines.clear();
    append_json_line(s, lines);
    records.push_back(nlohmann::json::parse(lines));
  }
  std::string lines;
  std::vector<nlohmann::json> records;
};

// Frames keep the FrameRing's padding contract.
engine::FrameView padded(std::uint32_t conn, std::int64_t recv_ns, std::string& storage) {
  const std::size_t n = storage.size();
  storage.append(engine::kFramePadding, '\0');
  return {conn, recv_ns, std::string_view(storage.data(), n)};
}

std::vector<InstrumentSpec> capture_universe() {
  std::vector<InstrumentSpec> out;
  for (const char* base : {"SUSHI", "AKRO", "KEEP", "CTK"}) {
    out.push_back({"binance-usdm", std::string(base) + "USDT", std::string(base) + "-USDT-PERP"});
  }
  return out;
}

struct CaptureRecord {
  double ts;
  std::string kind;  // "recv" or "http"
  std::string url;
  std::string data;
};

std::vector<CaptureRecord> load_capture() {
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/captures/BINANCE_FUTURES.jsonl");
  EXPECT_TRUE(in);
  std::vector<CaptureRecord> out;
  std::string line;
  while (std::getline(in, line)) {
    const auto r = nlohmann::json::parse(line);
    const std::string kind = r["t"];
    if (kind == "recv") out.push_back({r["ts"].get<double>(), kind, "", r["data"]});
    if (kind == "http" && r["url"].get<std::string>().find("/depth?") != std::string::npos) {
      out.push_back({r["ts"].get<double>(), kind, r["url"], r["data"]});
    }
  }
  // Replay in arrival order: the recorder wrote the REST bodies first, though they arrived mid-stream.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts < b.ts; });
  return out;
}

std::string symbol_of_url(const std::string& url) {
  const std::size_t at = url.find("symbol=") + 7;
  return url.substr(at, url.find('&', at) - at);
}

// An independent oracle for the books: Binance's documented procedure on std::map, fed from nlohmann.
struct OracleBook {
  std::map<double, std::string, std::greater<>> bids;  // best first
  std::map<double, std::string> asks;
  std::uint64_t last = 0;
  bool live = false, first = true;

  void set(bool bid, const nlohmann::json& level) {
    const std::string price = level[0];
    const std::string size = level[1];
    const double key = std::stod(price);
    if (std::stod(size) == 0) {
      bid ? (void)bids.erase(key) : (void)asks.erase(key);
    } else {
      (bid ? bids[key] : asks[key]) = price + " " + size;
    }
  }
  void snapshot(const nlohmann::json& body) {
    bids.clear();
    asks.clear();
    for (const auto& l : body["bids"]) set(true, l);
    for (const auto& l : body["asks"]) set(false, l);
    last = body["lastUpdateId"];
    live = true;
    first = true;
  }
  void diff(const nlohmann::json& d) {
    if (!live || d["u"].get<std::uint64_t>() < last) return;
    if (!first) {
      EXPECT_EQ(d["pu"].get<std::uint64_t>(), last);
    }
    first = false;
    for (const auto& l : d["b"]) set(true, l);
    for (const auto& l : d["a"]) set(false, l);
    last = d["u"];
  }
};

std::string level_text(const PriceLevel& l) {
  char buffer[2 * Decimal::kMaxChars + 1];
  char* end = l.price.format(buffer, buffer + Decimal::kMaxChars);
  *end++ = ' ';
  end = l.size.format(end, buffer + sizeof buffer);
  return std::string(buffer, end);
}

// Feeds the capture in arrival order with a 50 ms cycle in capture time; returns the number of cycles.
std::uint64_t replay(StrategyCore& core, SignalSink& sink, std::map<std::string, OracleBook>& oracle) {
  const auto records = load_capture();
  EXPECT_EQ(records.size(), 1539u);
  const double t0 = records.front().ts;
  const auto mono = [t0](double ts) { return static_cast<std::int64_t>((ts - t0) * 1e9) + 1'000'000'000; };
  std::uint64_t cycle = 0;
  std::int64_t next_cycle = mono(t0);
  std::string storage;
  for (const CaptureRecord& r : records) {
    const std::int64_t now = mono(r.ts);
    for (; next_cycle <= now; next_cycle += 50 * kMs) core.on_cycle(cycle++, next_cycle, next_cycle, sink);
    if (r.kind == "http") {
      const std::string symbol = symbol_of_url(r.url);
      EXPECT_TRUE(core.on_rest_depth_snapshot("binance-usdm", symbol, r.data, now));
      oracle[symbol].snapshot(nlohmann::json::parse(r.data));
      continue;
    }
    storage = r.data;
    core.on_frame(padded(1, now, storage));
    const auto frame = nlohmann::json::parse(r.data);
    if (frame["data"]["e"] == "depthUpdate") oracle[frame["data"]["s"]].diff(frame["data"]);
  }
  return cycle;
}

TEST(StrategyCore, ReplaysTheUsdmCaptureEndToEnd) {
  // Capacity above the deepest book in the capture (1006 levels), so the whole book can be compared.
  StrategyCore core(capture_universe(), {ConnectionSpec{1, "binance-usdm", "/stream", ""}},
                    StrategyConfig{.book_capacity = 2000, .error_log = nullptr});
  CollectingSink sink;
  std::map<std::string, OracleBook> oracle;
  const std::uint64_t cycle = replay(core, sink, oracle);

  const StrategyCounters& c = core.counters();
  EXPECT_EQ(c.frames.load(), 1535u);
  EXPECT_EQ(c.decode_errors.load(), 0u);
  EXPECT_EQ(c.ignored_messages.load(), 67u);  // klines
  EXPECT_EQ(c.unknown_symbols.load(), 0u);
  EXPECT_EQ(c.unknown_connections.load(), 0u);
  EXPECT_EQ(c.decoded_events.load(), 1535u - 67u + 4u);  // + the four REST snapshots
  EXPECT_EQ(c.book_gaps.load(), 0u);
  EXPECT_GT(cycle, 500u);  // ~30 s of capture
  EXPECT_EQ(c.signals.load(), cycle * 4);
  ASSERT_EQ(sink.records.size(), cycle * 4);

  // Every book is live and equals the oracle's, level by level, in the exchange's own text.
  for (const InstrumentState& s : core.instruments()) {
    const OracleBook& o = oracle.at(s.spec().symbol);
    EXPECT_EQ(s.book_state(), BookState::kLive) << s.spec().symbol;
    EXPECT_EQ(s.book_last_update_id(), o.last) << s.spec().symbol;
    ASSERT_EQ(s.book().depth(BookSide::kBid), o.bids.size()) << s.spec().symbol;
    ASSERT_EQ(s.book().depth(BookSide::kAsk), o.asks.size()) << s.spec().symbol;
    std::size_t i = 0;
    for (const auto& [key, text] : o.bids) EXPECT_EQ(level_text(*s.book().level(BookSide::kBid, i++)), text);
    i = 0;
    for (const auto& [key, text] : o.asks) EXPECT_EQ(level_text(*s.book().level(BookSide::kAsk, i++)), text);
    EXPECT_FALSE(s.book().crossed());
    EXPECT_GT(s.trades(), 0u) << s.spec().symbol;
  }

  // The last cycle's signals: one per instrument, in the DESIGN format, from real data.
  for (std::size_t i = sink.records.size() - 4; i < sink.records.size(); ++i) {
    const auto& j = sink.records[i];
    EXPECT_EQ(j["cycle"].get<std::uint64_t>(), cycle - 1);
    EXPECT_EQ(j["venue"], "binance-usdm");
    EXPECT_EQ(j["source"], "local");
    EXPECT_EQ(j["model"], "local-microstructure-v1");
    EXPECT_TRUE(j["signal"] == "BUY" || j["signal"] == "SELL" || j["signal"] == "HOLD");
    EXPECT_GE(j["confidence"].get<double>(), 0.0);
    EXPECT_LE(j["confidence"].get<double>(), 1.0);
    EXPECT_TRUE(j["data_age_ms"].is_number());
    EXPECT_NE(j["reason"].get<std::string>(), "no data");
  }
  for (const InstrumentFeatures& f : core.features()) {
    EXPECT_TRUE(f.book_valid) << f.symbol;
    EXPECT_FALSE(std::isnan(f.mid)) << f.symbol;
    EXPECT_FALSE(std::isnan(f.imbalance_l5)) << f.symbol;
    EXPECT_FALSE(std::isnan(f.return_10s_bps)) << f.symbol;
    EXPECT_GT(f.change_score, 0) << f.symbol;
  }
  const int keep = core.find_instrument("binance-usdm", "KEEPUSDT");
  ASSERT_GE(keep, 0);
  core.reset_change_score(static_cast<std::size_t>(keep));
  EXPECT_EQ(core.instruments()[static_cast<std::size_t>(keep)].change_score(), 0);
  EXPECT_EQ(core.find_instrument("binance-usdm", "BTCUSDT"), -1);
  EXPECT_EQ(core.find_instrument("okx", "KEEPUSDT"), -1);
}

TEST(StrategyCore, BoundedBooksKeepTheBestLevelsOfTheCapture) {
  StrategyCore core(capture_universe(), {ConnectionSpec{1, "binance-usdm", "/stream", ""}},
                    StrategyConfig{.book_capacity = 100, .error_log = nullptr});
  CollectingSink sink;
  std::map<std::string, OracleBook> oracle;
  replay(core, sink, oracle);
  for (const InstrumentState& s : core.instruments()) {
    const OracleBook& o = oracle.at(s.spec().symbol);
    EXPECT_EQ(s.book_state(), BookState::kLive) << s.spec().symbol;
    EXPECT_LE(s.book().depth(BookSide::kBid), 100u);
    EXPECT_GT(s.book().truncated_levels(), 0u) << s.spec().symbol;
    // The top 20 (what features read) match the unbounded oracle exactly.
    std::size_t i = 0;
    for (auto it = o.bids.begin(); i < 20 && it != o.bids.end(); ++it, ++i) {
      EXPECT_EQ(level_text(*s.book().level(BookSide::kBid, i)), it->second)
          << s.spec().symbol << " bid " << i;
    }
    i = 0;
    for (auto it = o.asks.begin(); i < 20 && it != o.asks.end(); ++it, ++i) {
      EXPECT_EQ(level_text(*s.book().level(BookSide::kAsk, i)), it->second)
          << s.spec().symbol << " ask " << i;
    }
  }
}

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, n);
  return out;
}

TEST(StrategyCore, BadFramesAreCountedLoggedAndSurvived) {
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  StrategyCore core({{"binance-usdm", "CTKUSDT", "CTK-USDT-PERP"}},
                    {ConnectionSpec{3, "binance-usdm", "/market", ""}},
                    StrategyConfig{.error_log_interval_ns = 3'600'000'000'000, .error_log = log});
  const std::string good =
      R"({"stream":"ctkusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT",)"
      R"("p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}})";
  std::string s1 = good.substr(0, 70);  // truncated
  std::string s2 = "{\"stream\":\x01garbage";
  std::string s3 = good;
  std::string s4 = R"({"e":"aggTrade","s":"CTKUSDT","p":"1.0","q":"1","a":1,"m":false})";  // unknown conn
  std::string s5 = R"({"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"})";
  std::string s6 = R"({"result":null,"id":9})";
  std::string s7 =
      R"({"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT","p":"1","q":"1","a":1,"m":true}})";
  core.on_frame(padded(3, 1, s1));
  core.on_frame(padded(3, 2, s2));
  core.on_frame(padded(3, 3, s3));
  core.on_frame(padded(77, 4, s4));
  core.on_frame(padded(3, 5, s5));
  core.on_frame(padded(3, 6, s6));
  core.on_frame(padded(3, 7, s7));

  const StrategyCounters& c = core.counters();
  EXPECT_EQ(c.frames.load(), 7u);
  EXPECT_EQ(c.decode_errors.load(), 2u);
  EXPECT_EQ(c.unknown_connections.load(), 1u);
  EXPECT_EQ(c.venue_errors.load(), 1u);
  EXPECT_EQ(c.acks.load(), 1u);
  EXPECT_EQ(c.unknown_symbols.load(), 1u);
  EXPECT_EQ(c.decoded_events.load(), 1u);
  EXPECT_EQ(core.instruments()[0].trades(), 1u);

  // One line for the first error; the rest fall within the interval and are only counted.
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("binance-usdm conn 3 /market"), std::string::npos) << text;
  EXPECT_NE(text.find("frame does not decode"), std::string::npos) << text;
  EXPECT_NE(text.find("frame: {\"stream\":\"ctkusdt@aggTrade\""), std::string::npos) << text;
}

TEST(StrategyCore, LogLinesAreBoundedAndPrintable) {
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  StrategyCore core({}, {ConnectionSpec{1, "binance-usdm", "/public", ""}},
                    StrategyConfig{.error_log_interval_ns = 0, .error_snippet_bytes = 40, .error_log = log});
  std::string huge = "{\"a\":\"" + std::string(100000, 'x') + "\n\x02";
  core.on_frame(padded(1, 0, huge));
  std::string second = "{";
  core.on_frame(padded(1, 0, second));
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_LT(text.size(), 600u);
  EXPECT_NE(text.find("xxx..."), std::string::npos) << text;
  EXPECT_EQ(core.counters().decode_errors.load(), 2u);
}

TEST(StrategyCore, OneSignalPerInstrumentPerCycleAndRawStreams) {
  // conn 5 is a raw single-stream connection to a depth20 partial stream: its frames do not name it.
  StrategyCore core(
      {{"binance-usdm", "BTCUSDT", "BTC-USDT-PERP"}, {"binance-usdm", "ETHUSDT", "ETH-USDT-PERP"}},
      {ConnectionSpec{5, "binance-usdm", "/public", "btcusdt@depth20@100ms"}},
      StrategyConfig{.error_log = nullptr});
  CollectingSink sink;
  core.on_cycle(0, 1'000 * kMs, 1'700'000'000'000'000'000, sink);
  ASSERT_EQ(sink.records.size(), 2u);
  for (const auto& j : sink.records) {
    EXPECT_EQ(j["signal"], "HOLD");
    EXPECT_EQ(j["confidence"].get<double>(), 0.0);
    EXPECT_EQ(j["reason"], "no data");
    EXPECT_TRUE(j["data_age_ms"].is_null());
    EXPECT_EQ(j["ts_ns"].get<std::int64_t>(), 1'700'000'000'000'000'000);
  }

  std::string frame =
      R"({"e":"depthUpdate","E":1700000000100,"T":1700000000090,"s":"BTCUSDT","U":10,"u":20,"pu":9,)"
      R"("b":[["37000.10","9.0"],["37000.00","9.0"],["36999.90","9.0"]],)"
      R"("a":[["37000.20","1.0"],["37000.30","1.0"],["37000.40","1.0"]]})";
  core.on_frame(padded(5, 1'010 * kMs, frame));
  EXPECT_EQ(core.instruments()[0].book_state(), BookState::kLive);
  EXPECT_EQ(core.instruments()[0].snapshots(), 1u);

  sink.records.clear();
  core.on_cycle(1, 1'050 * kMs, 1'700'000'000'050'000'000, sink);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0]["symbol"], "BTCUSDT");
  EXPECT_EQ(sink.records[0]["instrument"], "BTC-USDT-PERP");
  EXPECT_EQ(sink.records[0]["signal"], "BUY");  // bids 27 vs asks 3 in the top 5
  EXPECT_DOUBLE_EQ(sink.records[0]["data_age_ms"].get<double>(), 40.0);
  EXPECT_EQ(sink.records[1]["symbol"], "ETHUSDT");
  EXPECT_EQ(sink.records[1]["reason"], "no data");
  EXPECT_DOUBLE_EQ(core.features()[0].imbalance_l5, 0.8);
  EXPECT_EQ(core.counters().signals.load(), 4u);
}

// Timing: a frame taken from the ring at `dequeued_ns` is recorded as queue (receive → dequeued), process
// and receive → applied for its venue; the send-stamp probe reads the simulator's "sim_ns". Untimed frames
// (replay) record nothing. Assertions are on counts and on the recorded lower bounds, never on speed.
TEST(StrategyCore, TimedFramesFillTheVenueHistograms) {
  StrategyConfig config{.error_log = nullptr};
  config.send_stamp_probe = true;
  StrategyCore core({{"binance-usdm", "BTCUSDT", "BTC-USDT-PERP"}},
                    {ConnectionSpec{5, "binance-usdm", "/public", "btcusdt@depth20@100ms"}}, config);
  ASSERT_EQ(core.venues().size(), 1u);
  const VenueLatencies& l = core.venue_latencies(0);
  std::string untimed =
      R"({"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":10,"u":20,"pu":9,"b":[["1.0","1"]],"a":[["2.0","1"]]})";
  EXPECT_EQ(core.on_frame(padded(5, 1, untimed)), 0);
  EXPECT_EQ(l.process.count(), 0u);

  const std::int64_t recv_ns = engine::monotonic_ns();
  const std::int64_t sent_ns = recv_ns - 5'000;
  std::string timed = R"({"e":"depthUpdate","E":2,"T":2,"s":"BTCUSDT","U":21,"u":30,"pu":20,"sim_ns":)" +
                      std::to_string(sent_ns) + R"(   ,"b":[["1.0","2"]],"a":[["2.0","1"]]})";
  const std::int64_t dequeued_ns = recv_ns + 1'000;
  const std::int64_t done_ns = core.on_frame(padded(5, recv_ns, timed), dequeued_ns);
  EXPECT_GE(done_ns, dequeued_ns);
  EXPECT_EQ(l.queue.count(), 1u);
  EXPECT_EQ(l.process.count(), 1u);
  EXPECT_EQ(l.receive_to_applied.count(), 1u);
  EXPECT_EQ(core.send_to_applied().count(), 1u);
  auto snapshot = std::make_unique<engine::HistogramSnapshot>();
  l.queue.snapshot_into(*snapshot);
  EXPECT_GE(snapshot->percentile(1.0), 1'000u);
  EXPECT_LE(snapshot->percentile(1.0), 1'010u);  // within the histogram's 1/128
  core.send_to_applied().snapshot_into(*snapshot);
  EXPECT_GE(snapshot->max_ns, 6'000u);  // at least stamp → dequeued

  // Book apply is sampled: one book event in kBookApplySampleEvery.
  for (std::uint32_t i = 0; i < 2 * StrategyCore::kBookApplySampleEvery; ++i) {
    std::string more = R"({"e":"depthUpdate","E":3,"T":3,"s":"BTCUSDT","U":1,"u":2,"pu":1,"b":[],"a":[]})";
    core.on_frame(padded(5, engine::monotonic_ns(), more), engine::monotonic_ns());
  }
  EXPECT_GE(l.book_apply.count(), 2u);
  EXPECT_LE(l.book_apply.count(), 3u);
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/" + name);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The pipeline's REST path: snapshot bodies arrive as frames of a "rest" connection for one symbol; a
// broken chain pushes exactly one kBookResync until the snapshot arrives or the timeout passes.
TEST(StrategyCore, RestRouteFramesSyncTheBookAndGapsAskOnce) {
  FeedRequestQueue requests(64);
  StrategyConfig config{.error_log = nullptr};
  config.feed_requests = &requests;
  config.book_sync.resync_timeout_ns = 5'000 * kMs;
  StrategyCore core({{"binance-usdm", "KEEPUSDT", "KEEP-USDT-PERP"}},
                    {ConnectionSpec{1, "binance-usdm", "/public", ""},
                     ConnectionSpec{2, "binance-usdm", std::string(kRestRoute), "KEEPUSDT"}},
                    config);
  const auto diffs =
      nlohmann::json::parse(read_fixture("binance/futures_depthUpdate_KEEPUSDT_sync_sequence.json"));
  std::vector<std::string> frames;
  for (const auto& d : diffs) frames.push_back(d.dump());
  std::int64_t t = 1'000 * kMs;
  for (std::size_t i = 0; i < 4; ++i) core.on_frame(padded(1, t += kMs, frames[i]));
  FeedRequest r;
  ASSERT_TRUE(requests.pop(r));  // the first buffered diff asks for the snapshot
  EXPECT_EQ(r.kind, FeedRequest::Kind::kBookResync);
  EXPECT_EQ(r.instrument, 0u);
  EXPECT_FALSE(requests.pop(r));
  EXPECT_EQ(core.counters().buffered_deltas.load(), 4u);

  std::string body = read_fixture("binance/futures_rest_depth_snapshot_KEEPUSDT.json");
  core.on_frame(padded(2, t += kMs, body));
  EXPECT_EQ(core.instruments()[0].book_state(), BookState::kLive);
  for (std::size_t i = 4; i < frames.size(); ++i) core.on_frame(padded(1, t += kMs, frames[i]));
  EXPECT_EQ(core.instruments()[0].book_last_update_id(), diffs.back()["data"]["u"].get<std::uint64_t>());
  EXPECT_EQ(core.counters().book_gaps.load(), 0u);

  // A diff whose pu skips one: one request, however many diffs follow, until the timeout.
  auto hole = diffs.back();
  hole["data"]["pu"] = hole["data"]["u"].get<std::uint64_t>() + 5;
  hole["data"]["U"] = hole["data"]["u"].get<std::uint64_t>() + 6;
  hole["data"]["u"] = hole["data"]["u"].get<std::uint64_t>() + 9;
  std::string text = hole.dump();
  core.on_frame(padded(1, t += kMs, text));
  EXPECT_EQ(core.counters().book_gaps.load(), 1u);
  ASSERT_TRUE(requests.pop(r));
  EXPECT_EQ(r.kind, FeedRequest::Kind::kBookResync);
  CollectingSink sink;
  for (int i = 0; i < 20; ++i) {
    text = hole.dump();
    core.on_frame(padded(1, t += kMs, text));
    core.on_cycle(static_cast<std::uint64_t>(i), t, t, sink);
  }
  EXPECT_FALSE(requests.pop(r));
  core.on_cycle(99, t + 5'000 * kMs, t, sink);  // timed out: asked again
  ASSERT_TRUE(requests.pop(r));
  EXPECT_EQ(r.kind, FeedRequest::Kind::kBookResync);
  EXPECT_EQ(core.instruments()[0].resyncs(), 2u);
  EXPECT_EQ(core.counters().resync_requests.load(), 3u);
}

// A frame flagged after_loss (the ring dropped frames of its connection before it): every book that
// connection carries is invalidated and asks for one snapshot, even when the next diff happens to chain,
// because what was lost is unknown. A book already waiting for its snapshot is left waiting.
TEST(StrategyCore, FramesLostInTheRingResyncTheBooksOfTheirConnection) {
  FeedRequestQueue requests(64);
  StrategyConfig config{.error_log = nullptr};
  config.feed_requests = &requests;
  StrategyCore core({{"binance-usdm", "KEEPUSDT", "KEEP-USDT-PERP"}},
                    {ConnectionSpec{1, "binance-usdm", "/public", "", {0}},
                     ConnectionSpec{2, "binance-usdm", "/market", ""},
                     ConnectionSpec{3, "binance-usdm", std::string(kRestRoute), "KEEPUSDT"}},
                    config);
  const auto diffs =
      nlohmann::json::parse(read_fixture("binance/futures_depthUpdate_KEEPUSDT_sync_sequence.json"));
  std::vector<std::string> frames;
  for (const auto& d : diffs) frames.push_back(d.dump());
  ASSERT_GE(frames.size(), 6u);
  std::int64_t t = 1'000 * kMs;
  for (std::size_t i = 0; i < 4; ++i) core.on_frame(padded(1, t += kMs, frames[i]));
  std::string body = read_fixture("binance/futures_rest_depth_snapshot_KEEPUSDT.json");
  core.on_frame(padded(3, t += kMs, body));
  ASSERT_EQ(core.instruments()[0].book_state(), BookState::kLive);
  FeedRequest r;
  while (requests.pop(r)) {
  }

  // A loss on a connection that carries no book: counted, nothing resynced.
  std::string other = R"({"stream":"keepusdt@markPrice","data":{}})";
  engine::FrameView lost_elsewhere = padded(2, t += kMs, other);
  lost_elsewhere.after_loss = true;
  core.on_frame(lost_elsewhere);
  EXPECT_EQ(core.counters().frame_losses.load(), 1u);
  EXPECT_EQ(core.counters().loss_resyncs.load(), 0u);
  EXPECT_EQ(core.instruments()[0].book_state(), BookState::kLive);
  EXPECT_FALSE(requests.pop(r));

  // A loss on the book's connection: the book is invalidated at once, one request.
  engine::FrameView after_loss = padded(1, t += kMs, frames[4]);
  after_loss.after_loss = true;
  core.on_frame(after_loss);
  EXPECT_EQ(core.counters().loss_resyncs.load(), 1u);
  EXPECT_EQ(core.counters().book_gaps.load(), 1u);
  EXPECT_NE(core.instruments()[0].book_state(), BookState::kLive);
  ASSERT_TRUE(requests.pop(r));
  EXPECT_EQ(r.kind, FeedRequest::Kind::kBookResync);
  EXPECT_EQ(r.instrument, 0u);

  // Another loss while the snapshot is on its way: no second request.
  engine::FrameView again = padded(1, t += kMs, frames[5]);
  again.after_loss = true;
  core.on_frame(again);
  EXPECT_EQ(core.counters().frame_losses.load(), 3u);
  EXPECT_EQ(core.counters().loss_resyncs.load(), 1u);
  EXPECT_FALSE(requests.pop(r));
}

TEST(StrategyCore, SilentTopicAskedOncePerBound) {
  FeedRequestQueue requests(64);
  StrategyConfig config{.error_log = nullptr};
  config.feed_requests = &requests;
  config.liveness.best_bid_ask_ns = 2'000 * kMs;
  std::string frame = read_fixture("binance/futures_bookTicker_combined.json");
  const auto parsed = nlohmann::json::parse(frame);
  frame = (parsed.is_array() ? parsed[0] : parsed).dump();
  const std::string symbol = nlohmann::json::parse(frame)["data"]["s"];
  StrategyCore named({{"binance-usdm", symbol, "X"}}, {ConnectionSpec{1, "binance-usdm", "/public", ""}},
                     config);
  named.on_frame(padded(1, 1'000 * kMs, frame));
  CollectingSink sink;
  named.on_cycle(0, 2'000 * kMs, 0, sink);
  FeedRequest r;
  EXPECT_FALSE(requests.pop(r));
  named.on_cycle(1, 3'000 * kMs + 1, 0, sink);
  ASSERT_TRUE(requests.pop(r));
  EXPECT_EQ(r.kind, FeedRequest::Kind::kTopicSilent);
  EXPECT_EQ(r.topic, io::TopicKind::kBestBidAsk);
  EXPECT_EQ(r.last_data_ns, 1'000 * kMs);  // when the silence began, for the feed thread to measure it
  named.on_cycle(2, 4'000 * kMs, 0, sink);
  EXPECT_FALSE(requests.pop(r));
  EXPECT_EQ(named.counters().silent_topics.load(), 1u);
}

TEST(StrategyCore, RejectsConfigurationErrorsAtSetup) {
  EXPECT_THROW(StrategyCore({{"kraken", "XBTUSD", "BTC-USD"}}, {}), std::invalid_argument);
  EXPECT_THROW(StrategyCore({}, {ConnectionSpec{1, "binance-usdm", "", ""},
                                 ConnectionSpec{1, "binance-usdm", "", ""}}),
               std::invalid_argument);
  EXPECT_THROW(StrategyCore({{"binance-usdm", "BTCUSDT", "A"}, {"binance-usdm", "BTCUSDT", "B"}}, {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace sigflow::strategies
