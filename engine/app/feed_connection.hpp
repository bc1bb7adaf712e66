#pragma once
// FeedConnection: one venue WebSocket kept alive on a feed thread's loop, driven by the venue's
// io::VenueProtocol — TLS transport, WebSocket protocol, the venue's open messages then its subscriptions on
// every (re)connect, client heartbeats, answers the venue demands (reply_to), resubscribes on request, and
// reconnects spaced by the backoff policy and the venue's connection-attempt window.
//
// Everything the client sends goes through one outbox paced by a GCRA limiter at the venue's incoming
// message limit, pings and resubscribes included: a venue that counts client messages per second
// disconnects (Binance) or rejects (Bybit, OKX) a client that bursts past it.
//
// Received messages go straight from the WebSocket layer into the thread's FrameRing; the per-message hook
// here only runs the protocol's reply_to() on the bytes in place.
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "engine/counter.hpp"
#include "engine/rate_limiter.hpp"
#include "io/event_loop.hpp"
#include "io/reconnect_policy.hpp"
#include "io/tls_session.hpp"
#include "io/tls_stream.hpp"
#include "io/venues/venue_protocol.hpp"
#include "io/websocket_client.hpp"

namespace sigflow::app {

// A parsed ws:// or wss:// URL.
struct WebSocketUrl {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
};

// Returns false and sets `error` when the URL is not ws:// or wss:// with a host.
bool parse_websocket_url(const std::string& url, WebSocketUrl& out, std::string& error);

struct FeedConnectionConfig {
  std::string label;  // "binance-usdm/public": names the connection in logs and the status line
  std::string venue;  // market id
  std::uint32_t connection_id = 0;
  WebSocketUrl url;
  // Null: a plain subscriber (no heartbeat, no replies, no resubscribe), as before venues had protocols.
  const io::VenueProtocol* protocol = nullptr;
  std::vector<io::Topic> topics;                // what the subscribe messages subscribe, in plan order
  std::vector<std::string> open_messages;       // sent first on every open (Deribit set_heartbeat)
  std::vector<std::string> subscribe_messages;  // then these, in order
  double max_outgoing_per_s = 5;                // the venue's incoming-message limit per connection
  io::Heartbeat heartbeat;
  std::int64_t connect_timeout_ns = 5'000'000'000;
  std::int64_t silent_timeout_ns = 30'000'000'000;
  // After a (re)connect or a resubscribe a topic's silence counts from then, and it gets its limit plus
  // this long for its first frame before a silence report about it is acted on.
  std::int64_t first_frame_grace_ns = 5'000'000'000;
  std::size_t max_message_bytes = 1 << 20;
  io::ReconnectConfig reconnect;
};

struct FeedConnectionCounters {
  engine::Counter opens;             // WebSocket upgrades completed
  engine::Counter disconnects;       // connections lost (any reason)
  engine::Counter messages_sent;     // client text messages written (subscriptions, pings, replies)
  engine::Counter replies;           // answers to venue demands (reply_to)
  engine::Counter resubscribes;      // topics renewed on request
  engine::Counter recycles;          // connections closed on purpose to start afresh
  engine::Counter silent_reports;    // kTopicSilent reports about this connection's topics
  engine::Counter quiet_reports;     // of which left alone: a fresh clock (grace) or the backoff
  engine::Counter requests_dropped;  // FeedRequests that could not be acted on (connection not open)
};

class FeedConnection final : public io::TransportObserver,
                             public io::WebSocketOpenListener,
                             public io::WebSocketMessageObserver {
 public:
  // loop, tls (null for ws://) and ring must outlive the connection; all calls on the loop's thread.
  FeedConnection(io::EventLoop& loop, const io::TlsContext* tls, FeedConnectionConfig config,
                 engine::FrameRing& ring);
  ~FeedConnection();

  void start();
  // Graceful: sends a WebSocket close and stops reconnecting.
  void stop();
  bool is_open() const noexcept { return client_.state() == io::WebSocketClient::State::kOpen; }
  bool stopped() const noexcept;

  // Renews topics()[topic] (unsubscribe + subscribe) so that the venue sends a fresh snapshot. False (and
  // counted as a dropped request) when the connection is not open: a reconnect subscribes afresh anyway.
  bool resubscribe(std::size_t topic);
  // A watched topic delivered nothing since `last_data_ns` (monotonic). While other frames still arrive
  // this is a quiet market: the topic is resubscribed, at most once per limit and backing off, never at the
  // cost of the connection — unless the venue pushes the topic on a clock and resubscribing did not revive
  // it. A connection that received nothing unprompted for the topic's limit is recycled. A silence that
  // began before the topic's latest (re)subscription counts from that, with the first-frame grace.
  void on_topic_silent(std::size_t topic, std::int64_t last_data_ns, std::int64_t now_ns);
  // Closes the connection with a WebSocket close (1001 going away), waits briefly for the venue's close,
  // and reconnects after the backoff. `reason` goes to the log: "closing (recycle: <reason>)".
  void recycle(std::string_view reason);

  const FeedConnectionCounters& counters() const noexcept { return counters_; }
  const io::WebSocketCounters& websocket_counters() const noexcept { return client_.counters(); }
  const FeedConnectionConfig& config() const noexcept { return config_; }

 private:
  void on_open(std::int64_t now_ns) override;
  void on_closed(const io::TransportError& error) override;
  void on_websocket_open(io::WebSocketClient& client, std::int64_t now_ns) override;
  void on_websocket_message(io::WebSocketClient& client, std::string_view payload,
                            std::int64_t recv_ns) noexcept override;

  // One topic's liveness clock as the feed thread keeps it.
  struct TopicClock {
    std::int64_t subscribed_ns = 0;  // its latest (re)subscription: the connection's open or a resubscribe
    std::int64_t next_resubscribe_ns = 0;  // the backoff: no resubscribe in this quiet spell before then
    std::uint32_t resubscribes = 0;        // in this quiet spell
  };
  void on_reconnect_due(std::int64_t now_ns);
  void on_health_check(std::int64_t now_ns);
  void on_send_due(std::int64_t now_ns);
  void on_heartbeat_due(std::int64_t now_ns);
  void connect();
  // Sends what the outbox holds as fast as the limiter allows; `flush` writes it out now (false inside
  // on_bytes, which flushes on return).
  void pump(std::int64_t now_ns, bool flush);

  FeedConnectionConfig config_;
  io::EventLoop& loop_;
  io::WebSocketClient client_;
  io::TlsStream stream_;
  io::ReconnectPolicy policy_;
  io::MemberTimer<FeedConnection, &FeedConnection::on_reconnect_due> reconnect_handler_{*this};
  io::Timer reconnect_timer_;
  io::MemberTimer<FeedConnection, &FeedConnection::on_health_check> health_handler_{*this};
  io::Timer health_timer_;
  io::MemberTimer<FeedConnection, &FeedConnection::on_send_due> send_handler_{*this};
  io::Timer send_timer_;
  io::MemberTimer<FeedConnection, &FeedConnection::on_heartbeat_due> heartbeat_handler_{*this};
  io::Timer heartbeat_timer_;
  engine::GcraLimiter outgoing_;
  std::deque<std::string> outbox_;  // waiting for the limiter; cleared on every (re)connect
  std::string reply_;               // reused by reply_to()
  std::uint64_t next_request_id_ = 1000;
  FeedConnectionCounters counters_;
  std::vector<TopicClock> clocks_;  // index-aligned with config_.topics
  // The connection's own liveness, as the venue shows it: the last message it sent unprompted (data, a
  // heartbeat demand) or a server ping. Replies to what this client sent (subscribe and resubscribe acks,
  // pongs) prove nothing about the feed — a stalled stream still acks — so each message sent owes one
  // reply, and that many received messages are not counted (a data frame taken for an ack on a busy
  // connection only delays this by a frame).
  std::int64_t last_unprompted_ns_ = 0;
  std::uint32_t replies_owed_ = 0;
  std::uint64_t pings_seen_ = 0;
  std::string recycle_reason_;  // non-empty from recycle() until the connection closed
  bool stopping_ = false;
};

}  // namespace sigflow::app
