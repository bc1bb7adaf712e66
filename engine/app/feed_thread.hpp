#pragma once
// FeedThread: a pinned network thread that owns one io_uring loop, a TLS context and the venue connections
// assigned to it, and feeds one FrameRing. The loop, the context and the connections are created on the
// thread itself (a loop belongs to the thread that made it) and destroyed there after a graceful close.
//
// It also serves the strategy thread's FeedRequests (strategies/feed_request.hpp): each loop turn drains at
// most kMaxRequestsPerTurn of them, so a burst of requests (a reconnect that invalidates every book) cannot
// starve the sockets. A book resync of a venue that resyncs by resubscribing renews the book topic on the
// connection that carries it; a silent topic goes to its connection (FeedConnection::on_topic_silent),
// which resubscribes a quiet topic and recycles only a connection that is itself silent. Books of
// REST-synced venues (Binance) get their snapshot through the RestSnapshotSource the pipeline attaches.
//
// Usable without a strategy thread (the record command): no request queue, no REST source.
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/app/feed_connection.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"
#include "io/tls_session.hpp"
#include "strategies/feed_request.hpp"

namespace sigflow::app {

struct FeedTotals {
  std::uint64_t messages = 0;  // WebSocket messages received
  std::uint64_t bytes = 0;
  std::uint64_t ring_drops = 0;  // messages lost to a full ring
  std::uint64_t disconnects = 0;
  std::uint64_t opens = 0;
  std::uint64_t resubscribes = 0;
  std::uint64_t recycles = 0;
  std::uint64_t requests = 0;          // FeedRequests taken from the queue
  std::uint64_t requests_dropped = 0;  // requests that could not be acted on
  std::uint64_t rest_requests = 0;     // book resyncs handed to the REST source
  std::uint64_t rest_bodies = 0;       // REST snapshot bodies offered to the ring (delivered or dropped)
};

// Where a REST-synced book's snapshot comes from. Runs on the feed thread's loop: made there by the factory
// given to the FeedThread, asked for a snapshot by request(), and it writes each body it gets into the ring
// as one frame of the instrument's REST pseudo-connection (InstrumentFeedRoute::rest_conn_id).
class RestSnapshotSource {
 public:
  virtual ~RestSnapshotSource() = default;
  // False when the request cannot be queued (unknown venue, queue full): counted as a dropped request.
  virtual bool request(const WiredVenue& venue, const InstrumentFeedRoute& instrument) = 0;
  // Snapshot bodies offered to the ring so far; readable from any thread.
  virtual std::uint64_t bodies() const noexcept = 0;
};

using RestSnapshotSourceFactory = std::function<std::unique_ptr<RestSnapshotSource>(
    io::EventLoop& loop, const io::TlsContext* tls, const std::vector<WiredVenue>& venues,
    engine::FrameRing& ring)>;

class FeedThread {
 public:
  static constexpr std::size_t kMaxRequestsPerTurn = 64;

  // Plain connections, no requests (tests of the transport path).
  FeedThread(std::string name, engine::ThreadConfig thread, std::vector<FeedConnectionConfig> connections,
             io::TlsOptions tls, engine::FrameRing& ring);
  // The connections, venues and request table of `wiring`. `requests` may be null (no strategy thread);
  // `rest` may be empty (book resyncs of REST-synced venues are then counted as dropped).
  FeedThread(std::string name, engine::ThreadConfig thread, const VenueWiring& wiring, io::TlsOptions tls,
             engine::FrameRing& ring, strategies::FeedRequestQueue* requests,
             RestSnapshotSourceFactory rest = {});
  ~FeedThread();

  // Starts the thread and waits until its loop and connections exist. Throws std::runtime_error when they
  // cannot be made (io_uring unavailable, an unreadable CA file) and ConfigError for a bad CPU.
  void start();
  // Closes every connection gracefully (bounded wait), then ends the thread.
  void stop();

  // Readable from any thread once start() returned.
  std::size_t connections_open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::size_t connection_count() const noexcept { return configs_.size(); }
  // Open connections of one venue, and how many it has.
  std::size_t connections_open(std::string_view venue) const noexcept;
  std::size_t connection_count(std::string_view venue) const noexcept;
  const std::vector<FeedConnectionConfig>& connection_configs() const noexcept { return configs_; }
  // One connection's counters (index into connection_configs()); null before start() or after stop().
  const FeedConnectionCounters* connection_counters(std::size_t index) const noexcept;
  // Live sums while running; the final sums once stop() returned. Not to be called during stop().
  FeedTotals totals() const noexcept;
  // The connections' sums for one venue ("": all), while running; zeros before start() and after stop().
  // Requests and REST snapshots are not per connection and stay zero here.
  FeedTotals connection_totals(std::string_view venue) const noexcept;

 private:
  void run();
  void serve_requests(std::int64_t now_ns);
  void book_resync(const InstrumentFeedRoute& route);

  std::string name_;
  engine::ThreadConfig thread_config_;
  std::vector<FeedConnectionConfig> configs_;
  std::vector<InstrumentFeedRoute> routes_;
  std::vector<WiredVenue> venues_;
  strategies::FeedRequestQueue* requests_ = nullptr;
  RestSnapshotSourceFactory rest_factory_;
  io::TlsOptions tls_options_;
  engine::FrameRing& ring_;

  std::vector<std::unique_ptr<FeedConnection>> connections_;
  std::unique_ptr<std::atomic<bool>[]> open_flags_;  // per connection, for the per-venue status
  std::unique_ptr<RestSnapshotSource> rest_;
  engine::Counter requests_taken_;
  engine::Counter requests_dropped_;  // not tied to a connection (bad index, no REST source)
  engine::Counter rest_requests_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ready_{0};  // 0 starting, 1 running, -1 failed (error_ says why)
  std::string error_;
  std::atomic<std::size_t> open_{0};
  FeedTotals final_totals_;
  std::atomic<bool> finished_{false};
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
