#include "engine/app/rest_snapshots.hpp"

#include <cstdio>
#include <map>

#include "io/venues/binance/snapshot_fetcher.hpp"

namespace sigflow::app {
namespace {

// io::binance::SnapshotFetcher (the venue's weight and ban rules, one keep-alive connection per venue) with
// its bodies written into the ring as frames of each instrument's REST pseudo-connection.
class FetcherRestSource final : public RestSnapshotSource {
 public:
  FetcherRestSource(io::EventLoop& loop, const io::TlsContext* tls,
                    std::vector<io::binance::SnapshotVenueConfig> venues, engine::FrameRing& ring)
      : ring_(ring), conn_ids_(venues.size()) {
    std::string error;
    fetcher_ = io::binance::SnapshotFetcher::create(
        loop, tls, std::move(venues), {},
        [this](std::string_view venue, std::string_view symbol, unsigned status, std::string_view body,
               std::int64_t recv_ns) { deliver(venue, symbol, status, body, recv_ns); },
        error);
    if (!fetcher_) throw std::runtime_error("REST snapshots: " + error);
    fetcher_->on_failure([](std::string_view venue, std::string_view symbol, std::string_view why) {
      std::fprintf(stderr, "rest %.*s: snapshot of %.*s failed: %.*s\n", static_cast<int>(venue.size()),
                   venue.data(), static_cast<int>(symbol.size()), symbol.data(), static_cast<int>(why.size()),
                   why.data());
    });
  }

  std::uint64_t bodies() const noexcept override { return bodies_.load(); }

  bool request(const WiredVenue& venue, const InstrumentFeedRoute& instrument) override {
    const auto index = fetcher_->scheduler().venue_index(venue.id);
    if (!index) return false;
    // Before the request: an answer may come back inside it. Once per (venue, symbol) for the process's
    // life, so the map stays as small as the universe.
    conn_ids_[*index].try_emplace(instrument.symbol, instrument.rest_conn_id);
    const auto result = fetcher_->request(venue.id, instrument.symbol);
    return result == io::binance::EnqueueResult::kQueued || result == io::binance::EnqueueResult::kMerged;
  }

 private:
  void deliver(std::string_view venue, std::string_view symbol, unsigned status, std::string_view body,
               std::int64_t recv_ns) {
    if (status != 200) {
      std::fprintf(stderr, "rest %.*s: snapshot of %.*s answered HTTP %u\n", static_cast<int>(venue.size()),
                   venue.data(), static_cast<int>(symbol.size()), symbol.data(), status);
      return;
    }
    const auto index = fetcher_->scheduler().venue_index(venue);
    if (!index) return;
    const auto it = conn_ids_[*index].find(symbol);
    if (it == conn_ids_[*index].end()) return;
    bodies_.add();
    ring_.push(it->second, recv_ns, body);
  }

  engine::FrameRing& ring_;
  engine::Counter bodies_;
  std::vector<std::map<std::string, std::uint32_t, std::less<>>> conn_ids_;  // by scheduler venue index
  std::unique_ptr<io::binance::SnapshotFetcher> fetcher_;  // last: it calls back into the members above
};

}  // namespace

RestSnapshotSourceFactory make_rest_snapshot_source_factory() {
  return [](io::EventLoop& loop, const io::TlsContext* tls, const std::vector<WiredVenue>& venues,
            engine::FrameRing& ring) -> std::unique_ptr<RestSnapshotSource> {
    std::vector<io::binance::SnapshotVenueConfig> rest;
    for (const WiredVenue& venue : venues)
      if (venue.protocol->book_resync() == io::BookResync::kRestSnapshot)
        rest.push_back({venue.id, venue.endpoints, 0});
    if (rest.empty()) return nullptr;
    return std::make_unique<FetcherRestSource>(loop, tls, std::move(rest), ring);
  };
}

}  // namespace sigflow::app
