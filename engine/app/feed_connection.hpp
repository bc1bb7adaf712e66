#pragma once
// FeedConnection: one venue WebSocket kept alive on a feed thread's loop — TLS transport, WebSocket
// protocol, subscriptions sent on every (re)connect, and reconnects spaced by the backoff policy. Received
// messages go straight from the WebSocket layer into the thread's FrameRing; nothing here touches them.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/counter.hpp"
#include "io/event_loop.hpp"
#include "io/reconnect_policy.hpp"
#include "io/tls_session.hpp"
#include "io/tls_stream.hpp"
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
  std::uint32_t connection_id = 0;
  WebSocketUrl url;
  std::vector<std::string> subscribe_messages;  // sent in order once the upgrade completes
  std::int64_t connect_timeout_ns = 5'000'000'000;
  std::int64_t silent_timeout_ns = 30'000'000'000;
  std::size_t max_message_bytes = 1 << 20;
  io::ReconnectConfig reconnect;
};

struct FeedConnectionCounters {
  engine::Counter opens;        // WebSocket upgrades completed
  engine::Counter disconnects;  // connections lost (any reason)
};

class FeedConnection final : public io::TransportObserver, public io::WebSocketOpenListener {
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

  const FeedConnectionCounters& counters() const noexcept { return counters_; }
  const io::WebSocketCounters& websocket_counters() const noexcept { return client_.counters(); }
  const FeedConnectionConfig& config() const noexcept { return config_; }

 private:
  void on_open(std::int64_t now_ns) override;
  void on_closed(const io::TransportError& error) override;
  void on_websocket_open(io::WebSocketClient& client, std::int64_t now_ns) override;
  void on_reconnect_due(std::int64_t now_ns);
  void on_health_check(std::int64_t now_ns);
  void connect();

  FeedConnectionConfig config_;
  io::EventLoop& loop_;
  io::WebSocketClient client_;
  io::TlsStream stream_;
  io::ReconnectPolicy policy_;
  io::MemberTimer<FeedConnection, &FeedConnection::on_reconnect_due> reconnect_handler_{*this};
  io::Timer reconnect_timer_;
  io::MemberTimer<FeedConnection, &FeedConnection::on_health_check> health_handler_{*this};
  io::Timer health_timer_;
  FeedConnectionCounters counters_;
  bool stopping_ = false;
};

}  // namespace sigflow::app
