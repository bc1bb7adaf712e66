// Book maintenance cost on the real captures (tests/fixtures/captures/*.jsonl), per venue.
//
//   BM_BookApply/<venue>    every book event of the capture (snapshots, diffs, Binance REST snapshots),
//                           already decoded, through BookSync + OrderBook: ns per book update.
//   BM_MapBookApply/<venue> the baseline: the same events applied to the obvious book, two
//                           std::map<Decimal, Decimal> (no sequence checks at all).
//   BM_DecodeApply/<venue>  whole frames through StrategyCore::on_frame (registry decoder, routing,
//                           BookSync, instrument state): ns per frame.
// Each pass starts from fresh books (construction excluded from the timing) and replays the capture in
// arrival order, so the buffered-then-synced path of Binance is measured too.
#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/app/capture_file.hpp"
#include "engine/frame_ring.hpp"
#include "io/venues/venue_decoder.hpp"
#include "strategies/book_sync.hpp"
#include "strategies/strategy_core.hpp"

namespace {

using namespace sigflow;

struct Frame {
  std::uint32_t conn;
  std::int64_t recv_ns;
  std::string padded;
  std::size_t length;
};

struct Capture {
  std::vector<std::string> venues;  // index = conn
  std::vector<std::string> routes;
  std::vector<std::string> streams;
  std::vector<Frame> frames;
};

// The capture's frames with their connections, as `sigflow replay` reads them.
Capture load_capture(const std::string& name) {
  Capture c;
  std::ifstream in(std::string(SIGFLOW_FIXTURES) + "/captures/" + name);
  app::CaptureReader reader;
  app::CaptureRecord r;
  std::string exchange;
  std::map<std::string, std::uint32_t> conns;
  const auto conn = [&](const std::string& label, std::string venue, std::string route, std::string stream) {
    const auto [it, added] = conns.try_emplace(label, static_cast<std::uint32_t>(c.venues.size()));
    if (added) {
      c.venues.push_back(std::move(venue));
      c.routes.push_back(std::move(route));
      c.streams.push_back(std::move(stream));
    }
    return it->second;
  };
  const auto frame = [&](std::uint32_t id, std::string_view data) {
    std::string padded(data);
    padded.append(engine::kFramePadding, '\0');
    c.frames.push_back({id, r.recv_ns, std::move(padded), data.size()});
  };
  for (std::string line; std::getline(in, line);) {
    if (!reader.parse(line, r).empty()) continue;
    if (r.type == app::CaptureRecordType::kHeader) exchange = r.exchange;
    if (r.type == app::CaptureRecordType::kConnect)
      conn(std::string(r.conn), std::string(app::venue_of_cryptofeed(exchange, r.addr)), "", "");
    if (r.type == app::CaptureRecordType::kRecv && conns.count(std::string(r.conn)))
      frame(conns[std::string(r.conn)], r.data);
    if (r.type == app::CaptureRecordType::kHttp && !app::depth_snapshot_symbol(r.url).empty()) {
      const std::string symbol(app::depth_snapshot_symbol(r.url));
      frame(conn("rest " + symbol, std::string(app::venue_of_cryptofeed(exchange, {})), "rest", symbol),
            r.data);
    }
  }
  return c;
}

// A decoded book event that owns its levels.
struct BookEvent {
  std::string venue;
  std::string symbol;
  io::MarketEvent event;
  std::vector<io::PriceLevel> bids, asks;
};

class BookEventCollector final : public io::EventSink {
 public:
  void on_event(const io::MarketEvent& e) noexcept override {
    if (e.kind != io::EventKind::kBookSnapshot && e.kind != io::EventKind::kBookDelta) return;
    BookEvent& b = out.emplace_back();
    b.venue = venue;
    b.symbol = e.symbol;
    b.event = e;
    const bool snap = e.kind == io::EventKind::kBookSnapshot;
    b.bids.assign((snap ? e.snapshot.bids : e.delta.bids).begin(),
                  (snap ? e.snapshot.bids : e.delta.bids).end());
    b.asks.assign((snap ? e.snapshot.asks : e.delta.asks).begin(),
                  (snap ? e.snapshot.asks : e.delta.asks).end());
  }
  std::string venue;
  std::vector<BookEvent> out;
};

// Decodes a capture once; the symbols and levels point into the returned events.
std::vector<BookEvent> decode_book_events(const Capture& c) {
  BookEventCollector collector;
  std::map<std::string, std::unique_ptr<io::VenueDecoder>> decoders;
  for (const Frame& f : c.frames) {
    const std::string& venue = c.venues[f.conn];
    auto& d = decoders[venue];
    if (!d) d = io::make_decoder(venue);
    if (!d) continue;
    collector.venue = venue;
    const std::string_view bytes(f.padded.data(), f.length);
    if (c.routes[f.conn] == "rest") {
      d->decode_rest_snapshot(bytes, c.streams[f.conn], f.recv_ns, collector);
    } else {
      d->decode(bytes, f.recv_ns, {}, collector);
    }
  }
  std::vector<BookEvent> events = std::move(collector.out);
  for (BookEvent& b : events) {
    b.event.symbol = b.symbol;
    io::BookSnapshot& s = b.event.snapshot;
    io::BookDelta& d = b.event.delta;
    s.bids = d.bids = b.bids;
    s.asks = d.asks = b.asks;
  }
  return events;
}

const char* capture_of(const std::string& venue) {
  if (venue == "binance-usdm") return "BINANCE_FUTURES.jsonl";
  if (venue == "bybit") return "BYBIT.jsonl";
  return "DERIBIT.jsonl";
}

void BM_BookApply(benchmark::State& state, const std::string& venue) {
  const std::vector<BookEvent> events = decode_book_events(load_capture(capture_of(venue)));
  if (events.empty()) {
    state.SkipWithError("no decoder for this capture's venue");
    return;
  }
  std::map<std::string, std::size_t> index;
  std::vector<strategies::SyncFamily> families;  // per book
  std::vector<std::size_t> book_of;              // per event
  for (const BookEvent& e : events) {
    const auto [it, added] = index.try_emplace(e.venue + " " + e.symbol, index.size());
    if (added) families.push_back(*strategies::sync_family(e.venue));
    book_of.push_back(it->second);
  }
  std::uint64_t gaps = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<strategies::OrderBook> books;
    std::vector<strategies::BookSync> syncs;
    for (const strategies::SyncFamily family : families) {
      books.emplace_back(5000);
      syncs.emplace_back(family, strategies::BookSyncLimits{});
    }
    state.ResumeTiming();
    for (std::size_t i = 0; i < events.size(); ++i) {
      const io::MarketEvent& e = events[i].event;
      strategies::BookSync& sync = syncs[book_of[i]];
      const auto r = e.kind == io::EventKind::kBookSnapshot ? sync.on_snapshot(e, books[book_of[i]])
                                                            : sync.on_delta(e, books[book_of[i]]);
      gaps += r == strategies::SyncResult::kGap;
    }
    benchmark::DoNotOptimize(books.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
  state.counters["events"] = static_cast<double>(events.size());
  state.counters["gaps"] = static_cast<double>(gaps);
}

void BM_MapBookApply(benchmark::State& state, const std::string& venue) {
  const std::vector<BookEvent> events = decode_book_events(load_capture(capture_of(venue)));
  if (events.empty()) {
    state.SkipWithError("no decoder for this capture's venue");
    return;
  }
  struct MapBook {
    std::map<io::Decimal, io::Decimal> bids, asks;
  };
  for (auto _ : state) {
    std::map<std::string, MapBook> books;
    for (const BookEvent& b : events) {
      MapBook& book = books[b.venue + " " + b.symbol];
      if (b.event.kind == io::EventKind::kBookSnapshot) {
        book.bids.clear();
        book.asks.clear();
      }
      for (const io::PriceLevel& l : b.bids) {
        if (l.size.is_zero()) {
          book.bids.erase(l.price);
        } else {
          book.bids[l.price] = l.size;
        }
      }
      for (const io::PriceLevel& l : b.asks) {
        if (l.size.is_zero()) {
          book.asks.erase(l.price);
        } else {
          book.asks[l.price] = l.size;
        }
      }
    }
    benchmark::DoNotOptimize(books);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
}

class NullSink final : public strategies::SignalSink {
 public:
  void on_signal(const strategies::Signal&) override {}
};

void BM_DecodeApply(benchmark::State& state, const std::string& venue) {
  const Capture c = load_capture(capture_of(venue));
  std::vector<strategies::InstrumentSpec> instruments;
  {
    std::set<std::pair<std::string, std::string>> seen;
    for (const BookEvent& e : decode_book_events(c))
      if (seen.emplace(e.venue, e.symbol).second) instruments.push_back({e.venue, e.symbol, e.symbol});
  }
  if (instruments.empty()) {
    state.SkipWithError("no decoder for this capture's venue");
    return;
  }
  std::vector<strategies::ConnectionSpec> conns;
  for (std::uint32_t i = 0; i < c.venues.size(); ++i)
    if (io::make_decoder(c.venues[i])) conns.push_back({i, c.venues[i], c.routes[i], c.streams[i]});
  for (auto _ : state) {
    state.PauseTiming();
    strategies::StrategyCore core(instruments, conns,
                                  strategies::StrategyConfig{.book_capacity = 5000, .error_log = nullptr});
    state.ResumeTiming();
    for (const Frame& f : c.frames)
      core.on_frame({f.conn, f.recv_ns, std::string_view(f.padded.data(), f.length)});
    benchmark::DoNotOptimize(core.counters().frames.load());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * c.frames.size()));
  state.counters["frames"] = static_cast<double>(c.frames.size());
}

}  // namespace

BENCHMARK_CAPTURE(BM_BookApply, binance_usdm, std::string("binance-usdm"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_BookApply, bybit, std::string("bybit"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_BookApply, deribit, std::string("deribit"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MapBookApply, binance_usdm, std::string("binance-usdm"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MapBookApply, bybit, std::string("bybit"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MapBookApply, deribit, std::string("deribit"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeApply, binance_usdm, std::string("binance-usdm"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeApply, bybit, std::string("bybit"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeApply, deribit, std::string("deribit"))->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
