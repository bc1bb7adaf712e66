#pragma once
// SnapshotFetcher: Binance REST depth snapshots on the feed thread's io_uring loop. Book sync needs one
// whenever a symbol's diff stream starts or breaks its U/u/pu chain (feeds.md §1.1); the feed thread asks
// with request(venue, symbol), and the body comes back through the Deliver callback, which turns it into a
// FrameRing frame for the strategy thread (decoded there by VenueDecoder::decode_rest_snapshot).
//
// The policy — queue, de-duplication, weight limiter, 429/418/5xx handling — is SnapshotScheduler's
// (snapshot_scheduler.hpp); this class only adds the transport: one io::HttpConnection (keep-alive, TLS)
// per venue host, since the scheduler sends one request per venue at a time, and a loop timer that wakes
// it when the next request becomes due.
//
// Single-threaded: everything, including construction and destruction, on the loop's thread.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/event_loop.hpp"
#include "io/http_client.hpp"
#include "io/venues/binance/snapshot_scheduler.hpp"

namespace sigflow::io::binance {

struct SnapshotFetcherOptions {
  SnapshotPolicy policy;
  // A 1000-level snapshot is ~50 KB and served in milliseconds; a request that takes this long is stuck.
  std::int64_t request_timeout_ns = 10'000'000'000;
  std::int64_t connect_timeout_ns = 5'000'000'000;
  // Binance's REST front ends drop idle keep-alive connections; closing first avoids sending into one
  // that is being closed.
  std::int64_t idle_timeout_ns = 30'000'000'000;
  std::uint64_t max_body_bytes = 4u << 20;  // a 5000-level spot snapshot is ~400 KB
};

// Where snapshot bodies go: the reply to one request (status 200 with a depth body, or a final 4xx whose
// body is the venue's {"code":..,"msg":..}). Views are valid during the call only. recv_ns: monotonic ns
// at which the loop received the reply.
using SnapshotDeliver = std::function<void(std::string_view venue, std::string_view symbol, unsigned status,
                                           std::string_view body, std::int64_t recv_ns)>;

// A request that failed in transport (connect, TLS, timeout, cut short); the scheduler retries it after a
// backoff. For the operator's log; views valid during the call only.
using SnapshotFailed =
    std::function<void(std::string_view venue, std::string_view symbol, std::string_view why)>;

class SnapshotFetcher {
 public:
  // nullptr and `error` set when a venue is unknown or its rest_url is not an http(s) URL. `tls` may be
  // null when every rest_url is plain http (loopback tests). loop and tls must outlive the fetcher.
  static std::unique_ptr<SnapshotFetcher> create(EventLoop& loop, const TlsContext* tls,
                                                 std::vector<SnapshotVenueConfig> venues,
                                                 SnapshotFetcherOptions options, SnapshotDeliver deliver,
                                                 std::string& error);
  ~SnapshotFetcher();
  SnapshotFetcher(const SnapshotFetcher&) = delete;
  SnapshotFetcher& operator=(const SnapshotFetcher&) = delete;

  // Queues a snapshot of `symbol` (the venue's own symbol, e.g. "BTCUSDT"); sent at once when the venue's
  // limits allow, else when they do.
  EnqueueResult request(std::string_view venue, std::string_view symbol);
  void on_failure(SnapshotFailed failed);

  const SnapshotScheduler& scheduler() const noexcept { return scheduler_; }
  // The HTTP client's counters of one venue's connection (connects, failures by kind).
  const HttpClientCounters& http_counters(std::size_t venue_index) const noexcept;

 private:
  struct Link;

  SnapshotFetcher(EventLoop& loop, SnapshotScheduler scheduler, SnapshotDeliver deliver);
  void pump(std::int64_t now_ns);
  void on_timer(std::int64_t now_ns);
  void on_complete(Link& link, const HttpError& error, const HttpResponse* response);

  EventLoop& loop_;
  SnapshotScheduler scheduler_;
  SnapshotDeliver deliver_;
  SnapshotFailed failed_;
  std::vector<std::unique_ptr<Link>> links_;  // one per scheduler venue, same index
  MemberTimer<SnapshotFetcher, &SnapshotFetcher::on_timer> timer_handler_{*this};
  Timer timer_;
};

// "https://host[:port]/path?query" split for the HTTP client; false for other schemes or a missing host.
struct HttpUrl {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string target;  // "/" when the URL has no path
};
bool parse_http_url(std::string_view url, HttpUrl& out);

}  // namespace sigflow::io::binance
