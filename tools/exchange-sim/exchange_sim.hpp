#pragma once
// An exchange simulator on loopback: real TLS (a CA and server certificate made at start), real WebSocket
// framing, and a venue's own protocol, fed either by a random-walk market or by a recorded capture. It lets
// the engine, its tests and the demo run the whole network path with no network. Venues plug in through
// tools/exchange-sim/venue.hpp and are registered in tools/exchange-sim/venues.cpp; one simulator serves any
// set of them on one port, routed by the first path segment: `wss://127.0.0.1:PORT/<venue-id>/<venue path>`.
// Plain HTTP/1.1 GETs (keep-alive) on the same port are the venues' REST endpoints, routed the same way.
//
// Threads: one acceptor, one feed thread (random walk: one market per venue; renders each frame once, fans
// it out and answers REST requests between events), and one thread per client connection (TLS, WebSocket,
// pings, replay, faults). It is a test tool, not the hot path: plain threads and sockets, sized to push well
// over 200k frames/s on loopback.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sigflow::tools {

// One venue to serve and its instruments.
struct SimVenueConfig {
  std::string id;                    // a registered venue id, e.g. "bybit-linear"
  std::vector<std::string> symbols;  // empty: the venue's default_symbols(), else the config's generic list
};

// How much one instrument's market moves, as real pairs differ: a liquid pair changes all the time, an
// illiquid one rarely, in bursts, or not at all for tens of seconds. A quiet instrument sends nothing on its
// event-driven streams (diffs, best bid/ask, trades, tickers); clock-driven ones (mark price, partial depth)
// go on, as on the venues.
struct ActivityProfile {
  double activity = 1;  // share of a busy instrument's events, 0..1: 0.02 = rarely, 0 = never
  // Quiet spells: in every `quiet_every`, the first `quiet_for` has no event at all (0: no spells). With
  // quiet_for most of quiet_every the instrument moves in bursts.
  std::chrono::milliseconds quiet_for{0};
  std::chrono::milliseconds quiet_every{0};
};

struct ExchangeSimConfig {
  std::uint16_t port = 0;  // 0: an ephemeral port, see ExchangeSim::port()
  // The venues served; empty: binance-usdm alone. every_sim_venue() lists all registered venues.
  std::vector<SimVenueConfig> venues;
  // Random walk, for a venue that lists no symbols of its own: the instruments are `symbols` when given
  // (e.g. BTCUSDT), else `instruments` generated ones named SIM0USDT, SIM1USDT, ...
  std::size_t instruments = 8;
  std::vector<std::string> symbols;
  // Target frames per second summed over all connections (each delivery of a frame to a connection counts).
  // Interval streams (depth, mark price) keep their venue cadence and count towards it; the real-time streams
  // (bookTicker, aggTrade) fill the rest.
  double rate = 1000;
  std::uint64_t seed = 1;
  // Adds "sim_ns" (CLOCK_MONOTONIC ns when the schedule emitted the frame, see venue.hpp) inside each
  // generated event, for the latency harness.
  bool stamp_send_ns = false;
  // Server pings per connection; the venue's real interval is 3 min for USD-M, shorter here so that a demo
  // exercises pong handling.
  std::chrono::milliseconds ping_interval{20'000};
  // Replay instead of the random walk: a cryptofeed raw capture of the one venue served (exactly one);
  // each connection gets the frames of its subscribed streams, in order, from its first subscription on.
  // REST is not served during a replay (there is no book to take a snapshot of). speed scales the recorded
  // pace; 0 sends as fast as the client reads.
  std::string replay_file;
  double replay_speed = 1.0;
  bool replay_loop = false;
  // A client that falls this far behind is disconnected, as a venue drops slow consumers.
  std::size_t max_backlog_bytes = 64u << 20;
  std::chrono::milliseconds handshake_timeout{5'000};
  // Activity profiles by symbol (on every venue that lists it); unlisted instruments are busy.
  std::map<std::string, ActivityProfile, std::less<>> activity;
};

struct StartResult {
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

struct ExchangeSimStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t tls_failures = 0;
  std::uint64_t upgrades_rejected = 0;  // 4xx answers to the opening handshake
  std::uint64_t frames_sent = 0;        // data frames handed to the socket
  std::uint64_t bytes_sent = 0;         // WebSocket bytes before TLS
  std::uint64_t client_messages = 0;    // text frames from clients (subscribe requests and the like)
  std::uint64_t error_replies = 0;
  std::uint64_t pings_sent = 0;
  std::uint64_t pongs_received = 0;
  std::uint64_t frames_withheld = 0;  // by silence or gap faults
  std::uint64_t slow_consumer_disconnects = 0;
  std::uint64_t fault_disconnects = 0;
  std::uint64_t generator_lag_resets = 0;     // the feed thread fell >100 ms behind its schedule
  std::uint64_t rest_requests = 0;            // REST GETs answered, faults included
  std::uint64_t rest_faults = 0;              // REST GETs answered 429/418 by fail_rest()
  std::uint64_t close_frames_received = 0;    // WebSocket close frames from clients (graceful shutdowns)
  std::uint64_t close_frames_going_away = 0;  // of which with status 1001 (a client recycling a connection)
};

// Every registered venue, each with its default symbols.
std::vector<SimVenueConfig> every_sim_venue();

struct ConnectionInfo {
  std::uint64_t id = 0;
  std::string venue;                // the venue id the first path segment named
  std::string target;               // the venue's request target, e.g. "/public/stream?streams=…"
  std::vector<std::string> topics;  // streams served to it now
};

// One instrument's book as the random walk holds it, best level first, prices and sizes written as the
// venues print them ("67012.10").
struct SimBookLevel {
  std::string price;
  std::string size;
};
struct SimBook {
  std::string symbol;
  std::vector<SimBookLevel> bids;
  std::vector<SimBookLevel> asks;
};

class ExchangeSim {
 public:
  static constexpr std::uint64_t kAllConnections = 0;

  explicit ExchangeSim(ExchangeSimConfig config);
  ~ExchangeSim();  // stops
  ExchangeSim(const ExchangeSim&) = delete;
  ExchangeSim& operator=(const ExchangeSim&) = delete;

  // Makes the certificates, loads the capture (replay), binds 127.0.0.1 and starts the threads.
  StartResult start();
  // Closes every connection and joins every thread; returns within about a second even with clients
  // connected and not reading. Idempotent.
  void stop();

  std::uint16_t port() const;
  const std::string& ca_pem() const;  // what clients must trust
  std::string_view venue() const;     // the first venue served, e.g. "binance-usdm"
  std::vector<std::string> venues() const;
  // The instruments served for `venue` (empty when it is not served).
  std::vector<std::string> symbols(std::string_view venue) const;
  ExchangeSimStats stats() const;
  std::vector<ConnectionInfo> connections() const;
  // CLOCK_MONOTONIC ns of every WebSocket upgrade accepted for `venue`, oldest first: the spacing of a
  // client's connection attempts (what a venue's connection-attempt limit counts).
  std::vector<std::int64_t> upgrade_times(std::string_view venue) const;

  // Fault injection, on one connection or on all (kAllConnections). Each returns how many connections it
  // reached; effects happen on the connections' threads within a few milliseconds. The data faults (all but
  // disconnect) reach WebSocket connections only: a REST connection carries no stream.
  // Drops the TCP connection with no close frame and no TLS close_notify, as a network failure would.
  std::size_t disconnect(std::uint64_t connection = kAllConnections);
  // Keeps the connection up (pings continue, requests are answered) but withholds all data while on.
  std::size_t set_silent(bool silent, std::uint64_t connection = kAllConnections);
  // Sends one text frame that is not valid JSON (a truncated event), behind the frames already queued for
  // the connection: once a client has read it, it has read everything the simulator sent before.
  std::size_t send_malformed_json(std::uint64_t connection = kAllConnections);
  // Withholds the next incremental depth update, so that the client sees a broken pu/U chain.
  std::size_t skip_depth_update(std::uint64_t connection = kAllConnections);
  // The ids of the open connections of one venue, for aiming the faults above at it.
  std::vector<std::uint64_t> connection_ids(std::string_view venue) const;
  // Answers the next `count` REST requests to `venue` with `status` (429 or 418) and a Retry-After header
  // of `retry_after` (whole seconds, as venues send it) instead of the venue's reply.
  void fail_rest(std::string_view venue, std::size_t count, unsigned status,
                 std::chrono::seconds retry_after);

  // Stops (true) or restarts (false) the random walk: the books stand still while the interval streams,
  // pings, REST and faults go on, so that a client's books can be compared with the venue's. Pausing
  // returns once every change of the last steps has been queued to the connections (about a second, for
  // the interval streams) and every book copied, which paused_books() then returns; false when that did
  // not happen within 10 s (or during a replay).
  bool set_market_paused(bool paused);
  // Replaces one symbol's activity profile (on every venue that lists it) from the next feed tick on; a
  // profile's quiet spells count from this call.
  void set_activity(std::string_view symbol, ActivityProfile profile);
  // The books of `venue`'s instruments as the last pause found them (empty when the market is not paused).
  std::vector<SimBook> paused_books(std::string_view venue) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sigflow::tools
