#include "engine/app/feed_connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "engine/clock.hpp"

namespace sigflow::app {
namespace {

constexpr std::int64_t kCloseReplyWaitNs = 1'000'000'000;
// A topic the venue pushes on a clock that stays silent through this many resubscribes is not quiet: the
// connection under it stopped delivering.
constexpr std::uint32_t kResubscribesBeforeRecycle = 2;
// Resubscribes of one silence back off from once per limit by doubling, up to this many limits apart.
constexpr std::uint32_t kMaxBackoffShift = 4;

io::WebSocketConfig websocket_config(const FeedConnectionConfig& config) {
  io::WebSocketConfig ws;
  const bool default_port = config.url.port == (config.url.tls ? 443 : 80);
  ws.host = default_port ? config.url.host : config.url.host + ":" + std::to_string(config.url.port);
  ws.target = config.url.target;
  ws.connection_id = config.connection_id;
  ws.max_message_bytes = config.max_message_bytes;
  ws.silence_timeout_ns = config.silent_timeout_ns;
  // A recycle or a stop waits this long for the venue's close before dropping the socket: a venue that
  // answers does so within a round trip, and one that does not must not hold the reconnect back.
  ws.close_timeout_ns = kCloseReplyWaitNs;
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
      outgoing_(outgoing_limiter(config_.max_outgoing_per_s)),
      clocks_(config_.topics.size()) {
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
  // Every topic is subscribed afresh below: its silence counts from now, whatever it was before.
  for (TopicClock& clock : clocks_) clock = TopicClock{now_ns};
  last_unprompted_ns_ = now_ns;
  replies_owed_ = 0;
  pings_seen_ = client_.counters().pings_answered.load();
  outbox_.assign(config_.open_messages.begin(), config_.open_messages.end());
  outbox_.insert(outbox_.end(), config_.subscribe_messages.begin(), config_.subscribe_messages.end());
  // Inside on_bytes: what pump queues is flushed when on_bytes returns.
  pump(now_ns, false);
  if (config_.heartbeat.client_ping_interval_ns > 0)
    heartbeat_timer_.arm_at(now_ns + config_.heartbeat.client_ping_interval_ns);
}

void FeedConnection::on_websocket_message(io::WebSocketClient& client, std::string_view payload,
                                          std::int64_t recv_ns) noexcept {
  if (replies_owed_ > 0) {
    --replies_owed_;
  } else {
    last_unprompted_ns_ = recv_ns;
  }
  if (!config_.protocol || !config_.protocol->reply_to(payload, reply_)) return;
  // A demanded answer (Deribit test_request) cannot wait behind subscriptions: the venue closes the
  // connection when it is late. It still counts against the outgoing limit, which then delays the rest.
  if (client.send_text(reply_)) {
    counters_.replies.add();
    counters_.messages_sent.add();
    ++replies_owed_;
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
    ++replies_owed_;
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
  const std::int64_t now_ns = engine::monotonic_ns();
  clocks_[topic].subscribed_ns = now_ns;
  pump(now_ns, true);
  return true;
}

void FeedConnection::on_topic_silent(std::size_t topic, std::int64_t last_data_ns, std::int64_t now_ns) {
  if (topic >= config_.topics.size() || !is_open()) {
    // A closed connection resubscribes everything when it reopens, which restarts every clock.
    counters_.requests_dropped.add();
    return;
  }
  counters_.silent_reports.add();
  const io::Topic& watched = config_.topics[topic];
  TopicClock& clock = clocks_[topic];
  const std::int64_t limit = watched.max_silence_ns;
  // Silent since before the latest (re)subscription: the topic's clock started then, and its first frame
  // gets the grace on top (a snapshot or an ack may take a while on a busy venue).
  const bool since_subscribed = last_data_ns < clock.subscribed_ns;
  const std::int64_t silent_for = now_ns - (since_subscribed ? clock.subscribed_ns : last_data_ns);
  const std::int64_t allowed = since_subscribed ? limit + config_.first_frame_grace_ns : limit;
  if (limit <= 0 || silent_for <= allowed) {
    counters_.quiet_reports.add();
    return;
  }
  // Nothing from the venue but replies to this client (acks, pongs) for a whole limit: the connection itself
  // is silent.
  const std::int64_t connection_silent_for = now_ns - last_unprompted_ns_;
  if (connection_silent_for > limit) {
    char reason[96];
    std::snprintf(reason, sizeof(reason), "nothing but replies to this client for %.1f s",
                  static_cast<double>(connection_silent_for) / 1e9);
    recycle(reason);
    return;
  }
  // Frames still arrive: a quiet market on this topic. It is the same quiet spell while the topic's data
  // stopped within a limit of its latest resubscribe (a venue answers a resubscribe with a snapshot and
  // then has nothing more to say); data that flowed for longer ended it.
  if (clock.resubscribes == 0 || last_data_ns - clock.subscribed_ns > limit)
    clock = TopicClock{clock.subscribed_ns};
  if (now_ns < clock.next_resubscribe_ns) {
    counters_.quiet_reports.add();
    return;
  }
  if (watched.pushed_on_clock && clock.resubscribes >= kResubscribesBeforeRecycle) {
    char reason[192];
    std::snprintf(reason, sizeof(reason), "%s silent for %.1f s through %u resubscribes",
                  watched.name.c_str(), static_cast<double>(now_ns - last_data_ns) / 1e9, clock.resubscribes);
    recycle(reason);
    return;
  }
  if (!resubscribe(topic)) return;
  // The next one of this spell no sooner than a limit (doubling each time) plus the first-frame grace.
  clock.next_resubscribe_ns =
      now_ns + (limit << std::min(clock.resubscribes, kMaxBackoffShift)) + config_.first_frame_grace_ns;
  ++clock.resubscribes;
}

void FeedConnection::recycle(std::string_view reason) {
  if (stopping_ || stream_.state() != io::TransportState::kOpen || !recycle_reason_.empty()) return;
  counters_.recycles.add();
  recycle_reason_ = reason.empty() ? std::string("requested") : std::string(reason);
  std::fprintf(stderr, "feed %s: closing (recycle: %s)\n", config_.label.c_str(), recycle_reason_.c_str());
  send_timer_.cancel();
  heartbeat_timer_.cancel();
  outbox_.clear();
  // A WebSocket close first, so that the venue sees a client going away (1001) rather than a lost
  // connection (1006); the transport closes when the venue answers or the close times out.
  if (!is_open() || !client_.close(1001, "recycle", stream_)) stream_.close();
}

void FeedConnection::on_health_check(std::int64_t now_ns) {
  if (!is_open()) return;
  // A server ping is the venue speaking unprompted (Binance pings every 20 s / 3 min).
  if (const std::uint64_t pings = client_.counters().pings_answered.load(); pings != pings_seen_) {
    pings_seen_ = pings;
    last_unprompted_ns_ = std::max(last_unprompted_ns_, now_ns);
  }
  policy_.on_healthy(now_ns);
  health_timer_.arm_at(now_ns + kHealthCheckNs);
}

void FeedConnection::on_closed(const io::TransportError& error) {
  health_timer_.cancel();
  send_timer_.cancel();
  heartbeat_timer_.cancel();
  outbox_.clear();
  policy_.on_disconnected();
  const std::string recycle_reason = std::move(recycle_reason_);
  recycle_reason_.clear();
  if (stopping_) return;
  counters_.disconnects.add();
  const std::int64_t now = engine::monotonic_ns();
  const std::int64_t delay = policy_.next_delay(now);
  if (!recycle_reason.empty()) {
    std::fprintf(stderr, "feed %s: closed (recycle: %s); reconnecting in %.3f s\n", config_.label.c_str(),
                 recycle_reason.c_str(), static_cast<double>(delay) / 1e9);
  } else if (error.kind == io::TransportErrorKind::kNone && error.message.empty()) {
    std::fprintf(stderr,
                 "feed %s: disconnected (closed by the venue, close code %u); reconnecting in %.3f s\n",
                 config_.label.c_str(), static_cast<unsigned>(client_.close_code_received()),
                 static_cast<double>(delay) / 1e9);
  } else {
    const std::string_view kind = io::to_string(error.kind);
    std::fprintf(stderr, "feed %s: disconnected (%.*s: %.*s); reconnecting in %.3f s\n",
                 config_.label.c_str(), static_cast<int>(kind.size()), kind.data(),
                 static_cast<int>(error.message.size()), error.message.data(),
                 static_cast<double>(delay) / 1e9);
  }
  reconnect_timer_.arm_at(now + delay);
}

void FeedConnection::on_reconnect_due(std::int64_t) {
  if (!stopping_) connect();
}

}  // namespace sigflow::app
