#include "engine/app/feed_connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "engine/clock.hpp"

namespace sigflow::app {
namespace {

io::WebSocketConfig websocket_config(const FeedConnectionConfig& config) {
  io::WebSocketConfig ws;
  const bool default_port = config.url.port == (config.url.tls ? 443 : 80);
  ws.host = default_port ? config.url.host : config.url.host + ":" + std::to_string(config.url.port);
  ws.target = config.url.target;
  ws.connection_id = config.connection_id;
  ws.max_message_bytes = config.max_message_bytes;
  ws.silence_timeout_ns = config.silent_timeout_ns;
  return ws;
}

io::TlsStreamConfig stream_config(const FeedConnectionConfig& config) {
  io::TlsStreamConfig stream;
  stream.host = config.url.host;
  stream.port = config.url.port;
  stream.plaintext = !config.url.tls;
  stream.connect_timeout_ns = config.connect_timeout_ns;
  return stream;
}

// How often an open connection reports itself healthy to the reconnect policy.
constexpr std::int64_t kHealthCheckNs = 1'000'000'000;

// Client messages are paced one at a time at 80% of the venue's per-second limit. A GCRA limiter with burst
// B and rate r admits at most B + r*T messages in any window T, so burst 1 at 0.8 * limit keeps every
// 1-second window at or under the limit (floor(0.8 * limit) + 1 <= limit for any limit >= 1) however the
// venue aligns its windows, pings and replies included.
engine::GcraLimiter outgoing_limiter(double max_outgoing_per_s) {
  const double rate = std::max(0.1, max_outgoing_per_s) * 0.8;
  return engine::GcraLimiter(1, static_cast<std::int64_t>(1e9 / rate));
}

}  // namespace

bool parse_websocket_url(const std::string& url, WebSocketUrl& out, std::string& error) {
  std::string_view rest(url);
  if (rest.rfind("wss://", 0) == 0) {
    out.tls = true;
    out.port = 443;
    rest.remove_prefix(6);
  } else if (rest.rfind("ws://", 0) == 0) {
    out.tls = false;
    out.port = 80;
    rest.remove_prefix(5);
  } else {
    error = "'" + url + "' is not a ws:// or wss:// URL";
    return false;
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  // An IPv6 literal is bracketed: [::1]:9443.
  std::size_t colon = std::string_view::npos;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "'" + url + "': unterminated IPv6 address";
      return false;
    }
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') colon = close + 1;
  } else {
    colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
  }
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      error = "'" + url + "': bad port";
      return false;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  if (out.host.empty()) {
    error = "'" + url + "' has no host";
    return false;
  }
  return true;
}

FeedConnection::FeedConnection(io::EventLoop& loop, const io::TlsContext* tls, FeedConnectionConfig config,
                               engine::FrameRing& ring)
    : config_(std::move(config)),
      loop_(loop),
      client_(websocket_config(config_), ring, this),
      stream_(loop, tls, stream_config(config_), client_, *this),
      policy_(config_.reconnect),
      reconnect_timer_(loop, reconnect_handler_),
      health_timer_(loop, health_handler_),
      send_timer_(loop, send_handler_),
      heartbeat_timer_(loop, heartbeat_handler_),
      outgoing_(outgoing_limiter(config_.max_outgoing_per_s)) {
  client_.set_message_observer(this);
}

FeedConnection::~FeedConnection() = default;

void FeedConnection::start() {
  stopping_ = false;
  connect();
}

void FeedConnection::stop() {
  stopping_ = true;
  reconnect_timer_.cancel();
  health_timer_.cancel();
  send_timer_.cancel();
  heartbeat_timer_.cancel();
  outbox_.clear();
  if (stream_.state() == io::TransportState::kOpen && client_.state() == io::WebSocketClient::State::kOpen) {
    client_.close(1000, "shutdown", stream_);
  } else if (stream_.state() != io::TransportState::kIdle && stream_.state() != io::TransportState::kClosed) {
    stream_.close();
  }
}

bool FeedConnection::stopped() const noexcept {
  return stopping_ &&
         (stream_.state() == io::TransportState::kIdle || stream_.state() == io::TransportState::kClosed);
}

void FeedConnection::connect() {
  policy_.on_connect_attempt(engine::monotonic_ns());
  if (!stream_.open()) {
    std::fprintf(stderr, "feed %s: cannot open a connection in state %.*s\n", config_.label.c_str(),
                 static_cast<int>(to_string(stream_.state()).size()), to_string(stream_.state()).data());
  }
}

void FeedConnection::on_open(std::int64_t now_ns) {
  health_timer_.arm_at(now_ns + kHealthCheckNs);
}

void FeedConnection::on_websocket_open(io::WebSocketClient&, std::int64_t now_ns) {
  counters_.opens.add();
  policy_.on_healthy(now_ns);
  // A new connection starts with the venue's per-connection count at zero, and owes nothing it was asked
  // on the old one: the subscriptions below renew every topic.
  outgoing_ = outgoing_limiter(config_.max_outgoing_per_s);
  outbox_.assign(config_.open_messages.begin(), config_.open_messages.end());
  outbox_.insert(outbox_.end(), config_.subscribe_messages.begin(), config_.subscribe_messages.end());
  // Inside on_bytes: what pump queues is flushed when on_bytes returns.
  pump(now_ns, false);
  if (config_.heartbeat.client_ping_interval_ns > 0)
    heartbeat_timer_.arm_at(now_ns + config_.heartbeat.client_ping_interval_ns);
}

void FeedConnection::on_websocket_message(io::WebSocketClient& client, std::string_view payload,
                                          std::int64_t recv_ns) noexcept {
  if (!config_.protocol || !config_.protocol->reply_to(payload, reply_)) return;
  // A demanded answer (Deribit test_request) cannot wait behind subscriptions: the venue closes the
  // connection when it is late. It still counts against the outgoing limit, which then delays the rest.
  if (client.send_text(reply_)) {
    counters_.replies.add();
    counters_.messages_sent.add();
    outgoing_.debit(1, recv_ns);
  }
}

void FeedConnection::pump(std::int64_t now_ns, bool flush) {
  bool sent = false;
  while (!outbox_.empty() && is_open()) {
    const engine::AcquireResult grant = outgoing_.try_acquire(1, now_ns);
    if (!grant.granted()) {
      send_timer_.arm_at(grant.ready_at_ns);
      break;
    }
    if (!client_.send_text(outbox_.front())) break;
    outbox_.pop_front();
    counters_.messages_sent.add();
    sent = true;
  }
  if (sent && flush) client_.flush(stream_);
}

void FeedConnection::on_send_due(std::int64_t now_ns) {
  pump(now_ns, true);
}

void FeedConnection::on_heartbeat_due(std::int64_t now_ns) {
  if (!is_open()) return;
  const std::int64_t interval = config_.heartbeat.client_ping_interval_ns;
  if (config_.heartbeat.only_when_idle) {
    // OKX: a ping is due only after `interval` without any message; data arriving postpones it.
    const std::int64_t idle_since = client_.last_receive_ns();
    if (now_ns - idle_since < interval) {
      heartbeat_timer_.arm_at(idle_since + interval);
      return;
    }
  }
  // Ahead of queued subscriptions: a late ping costs the connection, a late subscription costs nothing.
  outbox_.push_front(config_.heartbeat.ping_text);
  pump(now_ns, true);
  heartbeat_timer_.arm_at(now_ns + interval);
}

bool FeedConnection::resubscribe(std::size_t topic) {
  if (!config_.protocol || topic >= config_.topics.size() || !is_open()) {
    counters_.requests_dropped.add();
    return false;
  }
  for (std::string& message : config_.protocol->resubscribe(config_.topics[topic], next_request_id_++))
    outbox_.push_back(std::move(message));
  counters_.resubscribes.add();
  pump(engine::monotonic_ns(), true);
  return true;
}

void FeedConnection::recycle() {
  if (stopping_ || stream_.state() != io::TransportState::kOpen) return;
  counters_.recycles.add();
  std::fprintf(stderr, "feed %s: recycling the connection (topics stayed silent after resubscribing)\n",
               config_.label.c_str());
  stream_.close();
}

void FeedConnection::on_health_check(std::int64_t now_ns) {
  if (!is_open()) return;
  policy_.on_healthy(now_ns);
  health_timer_.arm_at(now_ns + kHealthCheckNs);
}

void FeedConnection::on_closed(const io::TransportError& error) {
  health_timer_.cancel();
  send_timer_.cancel();
  heartbeat_timer_.cancel();
  outbox_.clear();
  policy_.on_disconnected();
  if (stopping_) return;
  counters_.disconnects.add();
  const std::int64_t now = engine::monotonic_ns();
  const std::int64_t delay = policy_.next_delay(now);
  const std::string_view kind = io::to_string(error.kind);
  std::fprintf(stderr, "feed %s: disconnected (%.*s: %.*s); reconnecting in %.3f s\n", config_.label.c_str(),
               static_cast<int>(kind.size()), kind.data(), static_cast<int>(error.message.size()),
               error.message.data(), static_cast<double>(delay) / 1e9);
  reconnect_timer_.arm_at(now + delay);
}

void FeedConnection::on_reconnect_due(std::int64_t) {
  if (!stopping_) connect();
}

}  // namespace sigflow::app
