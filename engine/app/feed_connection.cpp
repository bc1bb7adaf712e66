#include "engine/app/feed_connection.hpp"

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
      health_timer_(loop, health_handler_) {}

FeedConnection::~FeedConnection() = default;

void FeedConnection::start() {
  stopping_ = false;
  connect();
}

void FeedConnection::stop() {
  stopping_ = true;
  reconnect_timer_.cancel();
  health_timer_.cancel();
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

void FeedConnection::on_websocket_open(io::WebSocketClient& client, std::int64_t now_ns) {
  counters_.opens.add();
  policy_.on_healthy(now_ns);
  for (const std::string& message : config_.subscribe_messages) client.send_text(message);
}

void FeedConnection::on_health_check(std::int64_t now_ns) {
  if (!is_open()) return;
  policy_.on_healthy(now_ns);
  health_timer_.arm_at(now_ns + kHealthCheckNs);
}

void FeedConnection::on_closed(const io::TransportError& error) {
  health_timer_.cancel();
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
