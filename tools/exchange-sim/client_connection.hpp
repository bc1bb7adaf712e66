#pragma once
// The simulator's side of one client connection: TLS handshake, HTTP/1.1 requests routed to a venue by the
// first path segment (REST GETs, keep-alive, until one of them is a WebSocket upgrade), WebSocket framing
// (wslay), server pings, the venue session's control plane, delivery of frames from the feed thread or from a
// capture, and the fault hooks. Each connection runs on its own thread; the feed thread only calls enqueue().
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include <atomic>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/counter.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

// Counters shared by all connections (several writers, hence SharedCounter).
struct SimCounters {
  engine::SharedCounter connections_accepted, connections_open, tls_failures, upgrades_rejected, frames_sent,
      bytes_sent, client_messages, error_replies, pings_sent, pongs_received, frames_withheld,
      slow_consumer_disconnects, fault_disconnects, generator_lag_resets, connections_closed, rest_requests,
      rest_faults, close_frames_received, close_frames_going_away;
};

// A request target split into the venue id (the first path segment) and the venue's own target, which keeps
// its leading slash: "/binance-usdm/public/ws?x" → {"binance-usdm", "/public/ws?x"}.
struct VenueTarget {
  std::string_view venue;
  std::string path;
};
VenueTarget split_venue_target(std::string_view target);

// What every connection shares with the server; outlives all connections.
struct ServerContext {
  const ExchangeSimConfig* config = nullptr;
  std::vector<const Venue*> venues;  // the venues served
  SSL_CTX* tls = nullptr;
  SimCounters* counters = nullptr;
  const std::vector<RecordedFrame>* replay = nullptr;  // null: frames come from the feed thread
  const std::atomic<bool>* stopping = nullptr;
  std::function<void()> topics_changed;  // the feed thread must rebuild its routes
  // Answers a REST GET for one venue's target (blocks the calling connection thread until it is answered).
  std::function<HttpReply(const Venue&, std::string_view target)> http_get;
  // Called on every accepted WebSocket upgrade with the venue id (the engine's connection attempts).
  std::function<void(std::string_view venue)> upgraded;

  const Venue* find_venue(std::string_view id) const;
};

class ClientConnection {
 public:
  // Takes ownership of the accepted, non-blocking socket.
  ClientConnection(std::uint64_t id, int fd, const ServerContext& server);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // The connection's thread body; returns when the connection is over.
  void run();
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  std::uint64_t id() const { return id_; }
  // The venue of a WebSocket connection; null before the upgrade and for REST-only connections.
  const Venue* venue() const { return venue_.load(std::memory_order_acquire); }
  ConnectionInfo info() const;

  // Feed thread: queues a rendered event of `topic` for this connection. Cheap and non-blocking; the frame
  // is dropped if the connection is gone.
  void enqueue(std::string_view topic, std::string_view payload, std::size_t stamp_slot, bool book_delta);
  // Wakes the connection's thread (after enqueue, once per batch; from fault hooks and stop()).
  void wake();

  void request_disconnect();
  void set_silent(bool silent);
  // Queues a frame that is not valid JSON behind the frames already queued, so that it also marks how far
  // the connection's stream had got.
  void request_malformed_frame();
  void request_gap();

 private:
  struct QueuedFrame {
    std::uint32_t offset;
    std::uint32_t length;
    bool book_delta;
  };
  struct Outbox {
    std::string bytes;
    std::vector<QueuedFrame> frames;
  };

  using Request = boost::beast::http::request<boost::beast::http::empty_body>;

  bool tls_accept();
  // Serves requests until one is a valid WebSocket upgrade (true) or the connection should close (false).
  bool serve_http();
  bool read_request(boost::beast::http::request_parser<boost::beast::http::empty_body>& parser,
                    std::string& in);
  bool accept_upgrade(const Request& request);
  bool answer_rest(const Request& request);
  void answer_http(unsigned status, std::string_view reason, std::string_view extra_headers,
                   std::string_view body, std::string_view content_type = "text/plain",
                   bool keep_alive = false);
  void serve();
  bool wait(short events, int timeout_ms);
  bool read_client();
  void send_outbox();
  void send_replay(std::int64_t now_ns, int& timeout_ms);
  bool queue_text(std::string_view text, bool count_as_data);
  bool flush_tls();
  bool backpressured() const;
  void publish_topics();
  void close_socket();

  // wslay callbacks
  static ssize_t on_wslay_recv(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, int, void* self);
  static ssize_t on_wslay_send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                               void* self);
  static void on_wslay_message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* self);
  void on_message(const wslay_event_on_msg_recv_arg& arg);

  const std::uint64_t id_;
  int fd_;
  int wake_fd_;
  const ServerContext& server_;
  SSL* ssl_ = nullptr;
  wslay_event_context_ptr ws_ = nullptr;
  std::atomic<const Venue*> venue_{nullptr};
  std::unique_ptr<VenueSession> session_;
  std::string target_;
  std::string early_bytes_;  // WebSocket bytes that arrived with the upgrade request
  std::size_t early_pos_ = 0;
  std::string tls_out_;  // plaintext waiting for SSL_write
  std::size_t tls_out_pos_ = 0;
  bool want_pollout_ = false;
  bool peer_gone_ = false;

  // Replay cursor (connection thread only).
  std::size_t replay_next_ = 0;
  std::vector<std::string> served_;   // sorted copy of topics_ for the replay filter
  std::int64_t replay_start_ns_ = 0;  // 0: not started (no subscription yet)

  mutable std::mutex mutex_;  // guards outbox_, topics_, closed_
  Outbox outbox_;
  Outbox draining_;  // connection thread: the batch being sent; swapped back empty to reuse its capacity
  std::vector<std::string> topics_;
  bool closed_ = false;
  bool overflowed_ = false;
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> disconnect_requested_{false};
  std::atomic<bool> silent_{false};
  std::atomic<int> gaps_requested_{0};
  std::atomic<bool> finished_{false};
};

}  // namespace sigflow::tools
