#include "engine/app/rest_snapshots.hpp"

#include <cstdio>
#include <map>

#include "engine/clock.hpp"
#include "io/http_client.hpp"
#include "io/venues/binance/snapshot_scheduler.hpp"

namespace sigflow::app {
namespace {

struct HttpUrl {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string target;
};

// The scheduler builds full https:// URLs from the configured rest_url; the connection needs the pieces.
bool parse_http_url(std::string_view url, HttpUrl& out) {
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    out.port = 80;
    url.remove_prefix(7);
  } else {
    return false;
  }
  const auto slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const auto colon = authority.rfind(':');
  out.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    unsigned port = 0;
    for (char c : authority.substr(colon + 1)) {
      if (c < '0' || c > '9') return false;
      port = port * 10 + static_cast<unsigned>(c - '0');
      if (port > 65535) return false;
    }
    if (port == 0) return false;
    out.port = static_cast<std::uint16_t>(port);
  }
  return !out.host.empty();
}

class ScheduledRestSource final : public RestSnapshotSource {
 public:
  ScheduledRestSource(io::EventLoop& loop, const io::TlsContext* tls,
                      std::vector<io::binance::SnapshotVenueConfig> venues, engine::FrameRing& ring)
      : loop_(loop), tls_(tls), ring_(ring), scheduler_(std::move(venues)), timer_(loop, timer_handler_) {
    if (!scheduler_.ok()) throw std::runtime_error("REST snapshots: " + scheduler_.error());
    for (std::size_t i = 0; i < scheduler_.venue_count(); ++i)
      venues_.push_back(std::make_unique<VenueLink>(*this, i));
  }

  ~ScheduledRestSource() override { timer_.cancel(); }

  std::uint64_t bodies() const noexcept override { return bodies_.load(); }

  bool request(const WiredVenue& venue, const InstrumentFeedRoute& instrument) override {
    const auto index = scheduler_.venue_index(venue.id);
    if (!index) return false;
    const auto result = scheduler_.enqueue(venue.id, instrument.symbol);
    if (result != io::binance::EnqueueResult::kQueued && result != io::binance::EnqueueResult::kMerged)
      return false;
    // Once per (venue, symbol) for the process's life: the map stays as small as the universe.
    venues_[*index]->conn_ids.try_emplace(instrument.symbol, instrument.rest_conn_id);
    pump(engine::monotonic_ns());
    return true;
  }

 private:
  // One venue's HTTP connection and what its replies are for.
  struct VenueLink final : io::HttpResponseHandler {
    VenueLink(ScheduledRestSource& owner, std::size_t index) : owner(owner), index(index) {}
    void on_complete(const io::HttpError& error, const io::HttpResponse* response) override {
      owner.on_complete(*this, error, response);
    }
    ScheduledRestSource& owner;
    std::size_t index;
    std::unique_ptr<io::HttpConnection> http;
    std::string origin;  // host:port of `http`
    std::map<std::string, std::uint32_t, std::less<>> conn_ids;
  };

  void pump(std::int64_t now_ns) {
    while (auto start = scheduler_.start_next(now_ns)) send(*start, now_ns);
    const std::int64_t next = scheduler_.next_ready_ns(now_ns);
    if (next != engine::kNeverNs) timer_.arm_at(std::max(next, now_ns + 1));
  }

  void send(const io::binance::SnapshotStart& start, std::int64_t now_ns) {
    VenueLink& link = *venues_[start.venue_index];
    HttpUrl url;
    if (!parse_http_url(start.url, url)) {
      fail(link, now_ns);
      return;
    }
    const std::string origin = url.host + ":" + std::to_string(url.port);
    if (!link.http || link.origin != origin) {
      io::HttpOriginConfig config;
      config.host = url.host;
      config.port = url.port;
      config.plaintext = !url.tls;
      config.request_timeout_ns = 10'000'000'000;
      config.first_byte_timeout_ns = 10'000'000'000;
      config.idle_timeout_ns = 30'000'000'000;
      link.http = std::make_unique<io::HttpConnection>(loop_, url.tls ? tls_ : nullptr, std::move(config));
      link.origin = origin;
    }
    io::HttpRequest request;
    request.target = url.target;
    if (!link.http->send(request, link)) fail(link, now_ns);
  }

  void fail(VenueLink& link, std::int64_t now_ns) {
    io::binance::SnapshotReply reply;
    reply.transport_error = true;
    scheduler_.on_reply(link.index, reply, now_ns, engine::wall_ns());
  }

  void on_complete(VenueLink& link, const io::HttpError& error, const io::HttpResponse* response) {
    const std::int64_t now = engine::monotonic_ns();
    io::binance::SnapshotReply reply;
    if (error || !response) {
      reply.transport_error = true;
      std::fprintf(stderr, "rest %.*s: snapshot request failed: %.*s\n",
                   static_cast<int>(scheduler_.venue(link.index).size()), scheduler_.venue(link.index).data(),
                   static_cast<int>(error.message.size()), error.message.data());
    } else {
      reply.status = response->status();
      reply.used_weight_1m = response->header("X-MBX-USED-WEIGHT-1M");
      reply.retry_after = response->header("Retry-After");
      reply.body = response->body();
    }
    if (scheduler_.on_reply(link.index, reply, now, engine::wall_ns()) ==
        io::binance::ReplyVerdict::kDeliver) {
      const auto done = scheduler_.last_delivered(link.index);
      if (done && reply.status == 200) {
        const auto it = link.conn_ids.find(done->symbol);
        if (it != link.conn_ids.end()) {
          bodies_.add();
          ring_.push(it->second, now, reply.body);
        }
      } else if (done) {
        std::fprintf(stderr, "rest %.*s: snapshot of %.*s answered HTTP %u\n",
                     static_cast<int>(scheduler_.venue(link.index).size()),
                     scheduler_.venue(link.index).data(), static_cast<int>(done->symbol.size()),
                     done->symbol.data(), reply.status);
      }
    }
    pump(now);
  }

  void on_timer(std::int64_t now_ns) { pump(now_ns); }

  io::EventLoop& loop_;
  const io::TlsContext* tls_;
  engine::FrameRing& ring_;
  engine::Counter bodies_;
  io::binance::SnapshotScheduler scheduler_;
  std::vector<std::unique_ptr<VenueLink>> venues_;
  io::MemberTimer<ScheduledRestSource, &ScheduledRestSource::on_timer> timer_handler_{*this};
  io::Timer timer_;
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
    return std::make_unique<ScheduledRestSource>(loop, tls, std::move(rest), ring);
  };
}

}  // namespace sigflow::app
