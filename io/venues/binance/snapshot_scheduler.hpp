#pragma once
// SnapshotScheduler: when each Binance REST depth snapshot may go out, and what a reply means. The policy
// half of the snapshot fetcher (snapshot_fetcher.hpp), kept free of sockets and clocks so that every rule
// is tested against a fake clock: the caller passes the time in and sends what start_next() returns.
//
// The rules, and where they come from (feeds.md §0 and §2, binance-spot-api-docs rest-api.md LIMITS):
//   - REQUEST_WEIGHT is counted per IP per fixed minute: 2400 on USD-M, 6000 on spot; a depth snapshot costs
//     20 (USD-M, limit 1000) or 50 (spot, limit 1000). Each request's weight is debited from a GCRA limiter
//     before it is sent, and every reply's X-MBX-USED-WEIGHT-1M (the venue's own count, which includes other
//     processes on this IP) replaces our estimate.
//   - Our own pace: a GCRA limiter with `budget_share` of the venue's limit, halved, because GCRA refills
//     continuously and so can grant twice its capacity inside one fixed minute (engine/rate_limiter.hpp).
//     With the default 0.8 our snapshots alone never use more than 80% of any fixed minute.
//   - Everybody's use: the venue's count from the last reply's X-MBX-USED-WEIGHT-1M (which includes other
//     processes on this IP) holds until the wall-clock minute ends; no request goes out that would take it
//     past `budget_share` of the limit before then. This models the venue's fixed-minute counter exactly,
//     where feeding the count into the GCRA (set_used) would make it drain over a sliding minute: too slow
//     after a busy minute (a 2401 count would stall snapshots for 2.5 minutes) and unaware of the reset.
//   - Snapshots of one venue go one at a time and at least `min_spacing_ns` apart: a reconnect that resyncs
//     every symbol becomes a steady trickle instead of a burst, and the used-weight header of each reply is
//     exact (no request of ours is in flight that it does not count).
//   - HTTP 429: the request rate was exceeded. Nothing more goes to that venue until Retry-After (seconds)
//     has passed; "repeatedly violating rate limits and/or failing to back off after receiving 429s will
//     result in an automated IP ban (HTTP status 418)".
//   - HTTP 418: the IP is banned, "2 minutes to 3 days". Nothing goes to that venue until the ban ends: the
//     later of Retry-After and the body's "banned until <ms since epoch>" (fixture rest_418_ip_ban_-1003).
//   - 5xx and transport failures: the venue or the path is in trouble; the venue pauses for a capped
//     exponential backoff with jitter (engine::Backoff, 0.5 s doubling to 8 s), reset by the next success.
//   - Rate-limit and failure replies are retried (the request goes back to the head of the queue, its symbol
//     still needs a book); every other reply — 200 and the 4xx that retrying cannot fix (400 invalid symbol)
//     — is delivered to the caller, who decodes the body.
//
// The queue is bounded and holds at most one request per (venue, symbol), queued or in flight: a request for
// a symbol already pending is merged into it, because one fresh snapshot serves every reason to want one
// (the strategy's sync procedure refetches a snapshot that turns out older than its buffered diffs).
//
// Single-threaded (the feed thread). Enqueueing builds the request URL (an allocation, once per snapshot —
// rare, weight-limited work, never per frame); the rest allocates nothing after construction.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counter.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/retry_after.hpp"
#include "io/venues/venue_protocol.hpp"

namespace sigflow::io::binance {

struct SnapshotVenueConfig {
  std::string venue;         // "binance" or "binance-usdm"
  VenueEndpoints endpoints;  // rest_url: where snapshots come from; empty: the venue's production host
  // The venue's REQUEST_WEIGHT per minute per IP; 0: the published value (spot 6000, USD-M 2400).
  std::int64_t weight_limit_per_minute = 0;
};

struct SnapshotPolicy {
  std::size_t max_queued = 1024;  // requests waiting (not counting the ones in flight)
  double budget_share = 0.8;      // of the venue's weight limit that snapshots may use
  std::int64_t min_spacing_ns = 200'000'000;
  // 429 without a usable Retry-After: Binance counts per minute, so a minute always clears it.
  std::int64_t pause_without_retry_after_ns = 60'000'000'000;
  // 418 without a usable Retry-After or ban time: the shortest ban the venue gives.
  std::int64_t min_ban_ns = 120'000'000'000;
  std::uint64_t jitter_seed = 0x62696e616e6365;  // engine::Backoff's seed: reproducible runs
};

// Per venue, written by the feed thread, readable from any thread (status line, /metrics).
struct SnapshotCounters {
  engine::Counter requested;       // request() calls accepted as new
  engine::Counter merged;          // request() calls merged into a pending request of the same symbol
  engine::Counter rejected;        // request() calls refused: queue full or unknown venue
  engine::Counter sent;            // requests handed to the transport
  engine::Counter weight_debited;  // sum of the weights of the requests sent
  engine::Counter delivered;       // replies handed to the caller (200 and final 4xx)
  engine::Counter rate_limited;    // 429 replies
  engine::Counter banned;          // 418 replies
  engine::Counter failures;        // 5xx replies and transport failures
  std::atomic<std::int64_t> used_weight_1m{-1};  // the last X-MBX-USED-WEIGHT-1M seen; -1 before any
  std::atomic<std::int64_t> paused_until_ns{0};  // monotonic ns until which the venue gets nothing
};

enum class EnqueueResult : std::uint8_t {
  kQueued,
  kMerged,  // the symbol already had a request queued or in flight
  kQueueFull,
  kUnknownVenue,  // no SnapshotVenueConfig names it
};

std::string_view to_string(EnqueueResult result) noexcept;

// A request the caller must send now. Views stay valid until the reply for it is reported.
struct SnapshotStart {
  std::size_t venue_index = 0;
  std::string_view venue;
  std::string_view symbol;
  std::string_view url;
  std::uint32_t weight = 0;
  std::uint32_t attempt = 0;  // 0 for the first try
};

// What came back for a request in flight: an HTTP status with the headers the policy reads, or a transport
// failure (no status).
struct SnapshotReply {
  unsigned status = 0;  // 0 with transport_error
  bool transport_error = false;
  std::optional<std::string_view> used_weight_1m;  // X-MBX-USED-WEIGHT-1M
  std::optional<std::string_view> retry_after;     // Retry-After
  std::string_view body;
};

enum class ReplyVerdict : std::uint8_t {
  kDeliver,  // hand status and body to the caller; the request is done
  kRetry,    // the request is queued again (at the head) and the venue paused as the reply demands
};

class SnapshotScheduler {
 public:
  // Venues with an id other than "binance"/"binance-usdm" make ok() false and error() say why.
  SnapshotScheduler(std::vector<SnapshotVenueConfig> venues, SnapshotPolicy policy = {});

  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }

  EnqueueResult enqueue(std::string_view venue, std::string_view symbol);

  // The next request that may be sent at now_ns — its weight debited, marked in flight — or nullopt.
  std::optional<SnapshotStart> start_next(std::int64_t now_ns) noexcept;
  // When start_next() could next return a request (assuming no reply arrives first); kNeverNs when nothing
  // is queued or every venue with queued work waits for a reply.
  std::int64_t next_ready_ns(std::int64_t now_ns) const noexcept;

  // The reply to the request in flight for venue_index. wall_now_ns (Unix ns) turns a 418 body's
  // "banned until <ms>" into a delay.
  ReplyVerdict on_reply(std::size_t venue_index, const SnapshotReply& reply, std::int64_t now_ns,
                        std::int64_t wall_now_ns) noexcept;

  // The request in flight for a venue (what on_reply will answer), or nullopt.
  std::optional<SnapshotStart> in_flight(std::size_t venue_index) const noexcept;
  // After kDeliver: the request the reply answered (symbol, url), valid until the venue's next reply.
  std::optional<SnapshotStart> last_delivered(std::size_t venue_index) const noexcept;

  std::size_t venue_count() const noexcept { return venues_.size(); }
  std::string_view venue(std::size_t index) const noexcept { return venues_[index].config.venue; }
  const VenueEndpoints& endpoints(std::size_t index) const noexcept {
    return venues_[index].config.endpoints;
  }
  std::optional<std::size_t> venue_index(std::string_view venue) const noexcept;
  const SnapshotCounters& counters(std::size_t venue_index) const noexcept {
    return *venues_[venue_index].counters;
  }
  std::size_t queued() const noexcept { return queue_.size(); }
  std::int64_t weight_capacity(std::size_t venue_index) const noexcept {
    return venues_[venue_index].weight.capacity();
  }

 private:
  struct Pending {
    std::size_t venue_index;
    std::string symbol;
    std::string url;
    std::uint32_t weight;
    std::uint32_t attempt;
  };

  struct VenueState {
    SnapshotVenueConfig config;
    const VenueProtocol* protocol;
    engine::GcraLimiter weight;
    engine::Backoff backoff;
    std::unique_ptr<SnapshotCounters> counters;  // on its own allocation: cache-line aligned, not movable
    std::optional<Pending> in_flight;
    std::optional<Pending> delivered;  // the last request answered with kDeliver (see last_delivered)
    std::int64_t paused_until_ns = 0;
    std::int64_t last_start_ns;
    std::uint32_t consecutive_failures = 0;
    // The venue's own count (X-MBX-USED-WEIGHT-1M) of the current fixed minute, and when that minute ends
    // (monotonic ns). Nothing is sent that would take it past minute_budget before then.
    std::int64_t minute_budget;
    std::int64_t minute_used = 0;
    std::int64_t minute_ends_ns = 0;
  };

  std::optional<SnapshotStart> view(std::size_t venue_index, const std::optional<Pending>& p) const noexcept;
  std::int64_t ready_ns(const VenueState& v, std::uint32_t weight, std::int64_t now_ns) const noexcept;
  void pause(VenueState& v, std::int64_t until_ns) noexcept;

  SnapshotPolicy policy_;
  std::vector<VenueState> venues_;
  std::deque<Pending> queue_;
  std::string error_;
};

// Retry-After as Binance sends it: whole (or decimal) seconds. nullopt for anything else.
std::optional<std::int64_t> parse_retry_after_seconds_ns(std::string_view text) noexcept;

// The Unix ms of a 418 body's "IP banned until 1620286253180." (fixture rest_418_ip_ban_-1003); nullopt
// when the body names no time.
std::optional<std::int64_t> parse_banned_until_ms(std::string_view body) noexcept;

}  // namespace sigflow::io::binance
