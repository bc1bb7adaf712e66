#include "tools/exchange-sim/client_connection.hpp"

#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "engine/clock.hpp"
#include "io/http_upgrade.hpp"

namespace sigflow::tools {
namespace {

namespace http = boost::beast::http;

// An upgrade request is a request line and a dozen headers; 16 KiB bounds what a confused client can make
// us buffer before it is answered 431.
constexpr std::uint32_t kRequestHeaderLimit = 16 * 1024;
// Client messages on market-data connections are subscribe requests; the venue's own bound is far lower.
constexpr std::size_t kMaxClientMessage = 64 * 1024;
// Backpressure: stop pulling frames into wslay once this much is waiting for the socket, so a slow reader
// leaves its backlog in the outbox, where max_backlog_bytes can see it.
constexpr std::size_t kTlsHighWater = 1u << 20;
constexpr std::size_t kMaxQueuedMessages = 8192;
// How much plaintext one SSL_write takes: several full 16 KiB records per syscall.
constexpr std::size_t kWriteChunk = 256 * 1024;
// Frames one replay pass sends before servicing the socket again.
constexpr std::size_t kReplayBatch = 1024;

bool valid_websocket_key(std::string_view key) {
  // RFC 6455 §4.1: base64 of 16 random bytes, hence 22 significant characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

}  // namespace

VenueTarget split_venue_target(std::string_view target) {
  if (target.starts_with('/')) target.remove_prefix(1);
  const auto end = target.find_first_of("/?");
  VenueTarget out{target.substr(0, end), "/"};
  if (end == std::string_view::npos) return out;
  const std::string_view rest = target.substr(end);
  out.path = rest.front() == '/' ? std::string(rest) : "/" + std::string(rest);
  return out;
}

const Venue* ServerContext::find_venue(std::string_view id) const {
  for (const Venue* v : venues)
    if (v->id() == id) return v;
  return nullptr;
}

ClientConnection::ClientConnection(std::uint64_t id, int fd, const ServerContext& server)
    : id_(id), fd_(fd), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), server_(server) {
  if (wake_fd_ < 0) {
    ::close(fd_);
    throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
}

ClientConnection::~ClientConnection() {
  close_socket();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

ConnectionInfo ClientConnection::info() const {
  const Venue* v = venue();
  std::lock_guard lock(mutex_);
  return {id_, v ? std::string(v->id()) : std::string(), target_, topics_};
}

void ClientConnection::enqueue(std::string_view topic, std::string_view payload, std::size_t stamp_slot,
                               bool book_delta) {
  std::lock_guard lock(mutex_);
  if (closed_ || overflowed_) return;
  const std::size_t start = outbox_.bytes.size();
  const std::size_t at = session_->append_frame(outbox_.bytes, topic, payload);
  const std::size_t length = outbox_.bytes.size() - start;
  // Stamped when the schedule emits the frame, not when the socket takes it: a consumer that falls behind
  // pushes back on the socket, and a send-time stamp would hide exactly that wait (coordinated omission).
  if (stamp_slot != kNoSendStamp)
    write_send_stamp(outbox_.bytes.data() + start + at + stamp_slot, engine::monotonic_ns());
  outbox_.frames.push_back(
      {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(length), book_delta});
  if (outbox_.bytes.size() > server_.config->max_backlog_bytes) overflowed_ = true;
}

void ClientConnection::wake() {
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void ClientConnection::request_disconnect() {
  disconnect_requested_.store(true);
  wake();
}
void ClientConnection::set_silent(bool silent) {
  silent_.store(silent);
  wake();
}
void ClientConnection::request_malformed_frame() {
  // A frame cut mid-event, the way a buggy gateway truncates: valid UTF-8, invalid JSON.
  constexpr std::string_view kTruncated =
      R"({"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"67012.)";
  {
    std::lock_guard lock(mutex_);
    if (closed_ || overflowed_) return;
    const std::size_t start = outbox_.bytes.size();
    outbox_.bytes.append(kTruncated);
    outbox_.frames.push_back(
        {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(kTruncated.size()), false});
  }
  wake();
}
void ClientConnection::request_gap() {
  gaps_requested_.fetch_add(1);
  wake();
}

void ClientConnection::run() {
  // A client that goes away mid-write must cost an EPIPE, not the process: SIGPIPE is raised on the writing
  // thread, so blocking it here (rather than ignoring it process-wide) leaves the host's disposition alone.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  SimCounters& counters = *server_.counters;
  if (!tls_accept()) {
    counters.tls_failures.add();
  } else if (serve_http()) {
    serve();
  }
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    outbox_ = {};
    topics_.clear();
  }
  if (server_.topics_changed) server_.topics_changed();
  close_socket();
  counters.connections_closed.add();
  finished_.store(true, std::memory_order_release);
}

bool ClientConnection::wait(short events, int timeout_ms) {
  pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
  const int n = ::poll(fds, 2, timeout_ms);
  if (n > 0 && (fds[1].revents & POLLIN)) {
    // Drain the eventfd before clearing the flag. The other order loses a wake-up: a wake() between the two
    // sees the flag clear and writes, the read then swallows that write, and the flag stays set with the
    // eventfd empty, so no later wake() writes again and this connection sleeps out its whole poll timeout
    // (1 s) with frames queued. Found as ~1 s delays of ~1% of the frames in bench_e2e.
    std::uint64_t count;
    [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
    wake_pending_.store(false, std::memory_order_release);
  }
  return n > 0 && fds[0].revents != 0;
}

bool ClientConnection::tls_accept() {
  ssl_ = SSL_new(server_.tls);
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return false;
  const std::int64_t deadline =
      engine::monotonic_ns() + std::chrono::nanoseconds(server_.config->handshake_timeout).count();
  for (;;) {
    if (server_.stopping->load() || disconnect_requested_.load()) return false;
    ERR_clear_error();
    const int r = SSL_accept(ssl_);
    if (r == 1) return true;
    const int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
    const std::int64_t left_ms = (deadline - engine::monotonic_ns()) / 1'000'000;
    if (left_ms <= 0) return false;
    wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
         static_cast<int>(std::min<std::int64_t>(left_ms, 100)));
  }
}

void ClientConnection::answer_http(unsigned status, std::string_view reason, std::string_view extra_headers,
                                   std::string_view body, std::string_view content_type, bool keep_alive) {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  response.append(extra_headers);
  if (status != 101) {
    response += "Content-Type: " + std::string(content_type) +
                "\r\nContent-Length: " + std::to_string(body.size()) +
                (keep_alive ? "\r\n" : "\r\nConnection: close\r\n");
  }
  response += "\r\n";
  response.append(body);
  tls_out_.append(response);
  const std::int64_t deadline = engine::monotonic_ns() + 1'000'000'000;
  while (flush_tls() && tls_out_pos_ < tls_out_.size() && engine::monotonic_ns() < deadline &&
         !server_.stopping->load())
    wait(POLLOUT, 100);
}

bool ClientConnection::read_request(http::request_parser<http::empty_body>& parser, std::string& in) {
  parser.header_limit(kRequestHeaderLimit);
  std::size_t parsed = 0;
  // Between keep-alive requests the same bound applies as to the handshake: an idle REST client is closed.
  const std::int64_t deadline =
      engine::monotonic_ns() + std::chrono::nanoseconds(server_.config->handshake_timeout).count();
  SimCounters& counters = *server_.counters;
  for (;;) {
    while (parsed < in.size() && !parser.is_done()) {
      boost::beast::error_code ec;
      const std::size_t used = parser.put(boost::asio::buffer(in.data() + parsed, in.size() - parsed), ec);
      parsed += used;
      if (ec == http::error::need_more) break;
      if (ec) {
        counters.upgrades_rejected.add();
        if (ec == http::error::header_limit) {
          answer_http(431, "Request Header Fields Too Large", "", "request header too large\n");
        } else {
          answer_http(400, "Bad Request", "", "malformed HTTP request: " + ec.message() + "\n");
        }
        return false;
      }
    }
    if (parser.is_done()) break;
    if (server_.stopping->load() || disconnect_requested_.load()) return false;
    char buf[4096];
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, n);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
      const std::int64_t left_ms = (deadline - engine::monotonic_ns()) / 1'000'000;
      if (left_ms <= 0) return false;
      wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
           static_cast<int>(std::min<std::int64_t>(left_ms, 100)));
      continue;
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
  in.erase(0, parsed);
  return true;
}

bool ClientConnection::serve_http() {
  std::string in;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    if (!read_request(parser, in)) return false;
    const Request& request = parser.get();
    if (boost::beast::websocket::is_upgrade(request)) {
      early_bytes_ = std::move(in);
      return accept_upgrade(request);
    }
    if (!answer_rest(request) || !request.keep_alive()) return false;
  }
}

bool ClientConnection::answer_rest(const Request& request) {
  SimCounters& counters = *server_.counters;
  const std::string_view target(request.target().data(), request.target().size());
  if (request.method() != http::verb::get) {
    answer_http(405, "Method Not Allowed", "Allow: GET\r\n", "only GET is served\n", "text/plain", true);
    return true;
  }
  const VenueTarget routed = split_venue_target(target);
  const Venue* venue = server_.find_venue(routed.venue);
  if (!venue || !server_.http_get) {
    answer_http(404, "Not Found", "", "no such endpoint: " + std::string(target) + "\n", "text/plain", true);
    return true;
  }
  const HttpReply reply = server_.http_get(*venue, routed.path);
  counters.rest_requests.add();
  std::string headers;
  for (const auto& [name, value] : reply.headers) headers += name + ": " + value + "\r\n";
  const char* reason = reply.status == 200   ? "OK"
                       : reply.status == 404 ? "Not Found"
                       : reply.status == 429 ? "Too Many Requests"
                       : reply.status == 418 ? "I'm a teapot"
                                             : "Error";
  answer_http(reply.status, reason, headers, reply.body, reply.content_type, true);
  return !peer_gone_;
}

bool ClientConnection::accept_upgrade(const Request& request) {
  SimCounters& counters = *server_.counters;
  const std::string target(request.target());
  if (request[http::field::sec_websocket_version] != "13") {
    counters.upgrades_rejected.add();
    answer_http(426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n", "unsupported WebSocket version\n");
    return false;
  }
  const std::string_view key(request[http::field::sec_websocket_key].data(),
                             request[http::field::sec_websocket_key].size());
  if (!valid_websocket_key(key)) {
    counters.upgrades_rejected.add();
    answer_http(400, "Bad Request", "", "invalid Sec-WebSocket-Key\n");
    return false;
  }
  const VenueTarget routed = split_venue_target(target);
  const Venue* venue = server_.find_venue(routed.venue);
  unsigned reject_status = 404;
  auto session = venue ? venue->open_session(routed.path, reject_status) : nullptr;
  if (!session) {
    counters.upgrades_rejected.add();
    if (reject_status == 404) {
      answer_http(404, "Not Found", "", "no such endpoint: " + target + "\n");
    } else {
      answer_http(reject_status, "Bad Request", "", "invalid stream list\n");
    }
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    session_ = std::move(session);
    target_ = routed.path;
  }
  venue_.store(venue, std::memory_order_release);
  if (server_.upgraded) server_.upgraded(venue->id());
  answer_http(101, "Switching Protocols",
              "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                  io::websocket_accept_key(key) + "\r\n",
              "");
  return tls_out_pos_ == tls_out_.size();
}

void ClientConnection::publish_topics() {
  auto served = session_->served_topics();
  std::sort(served.begin(), served.end());
  if (served == served_) return;
  served_ = served;
  {
    std::lock_guard lock(mutex_);
    topics_ = std::move(served);
  }
  if (server_.topics_changed) server_.topics_changed();
}

ssize_t ClientConnection::on_wslay_recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                                        void* self_ptr) {
  auto* self = static_cast<ClientConnection*>(self_ptr);
  if (self->early_pos_ < self->early_bytes_.size()) {
    const std::size_t n = std::min(len, self->early_bytes_.size() - self->early_pos_);
    std::memcpy(buf, self->early_bytes_.data() + self->early_pos_, n);
    self->early_pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ERR_clear_error();
  const int n = SSL_read(self->ssl_, buf, static_cast<int>(std::min<std::size_t>(len, 1 << 30)));
  if (n > 0) return n;
  const int err = SSL_get_error(self->ssl_, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    if (err == SSL_ERROR_WANT_WRITE) self->want_pollout_ = true;
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  } else {
    self->peer_gone_ = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  }
  return -1;
}

ssize_t ClientConnection::on_wslay_send(wslay_event_context_ptr ctx, const std::uint8_t* data,
                                        std::size_t len, int, void* self_ptr) {
  auto* self = static_cast<ClientConnection*>(self_ptr);
  if (self->tls_out_.size() - self->tls_out_pos_ >= kTlsHighWater) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  self->tls_out_.append(reinterpret_cast<const char*>(data), len);
  self->server_.counters->bytes_sent.add(len);
  return static_cast<ssize_t>(len);
}

void ClientConnection::on_wslay_message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                                        void* self_ptr) {
  static_cast<ClientConnection*>(self_ptr)->on_message(*arg);
}

void ClientConnection::on_message(const wslay_event_on_msg_recv_arg& arg) {
  SimCounters& counters = *server_.counters;
  if (arg.opcode == WSLAY_PONG) {
    counters.pongs_received.add();
    return;
  }
  if (arg.opcode == WSLAY_CONNECTION_CLOSE) {
    counters.close_frames_received.add();  // the client said goodbye properly (wslay answers it)
    if (arg.status_code == WSLAY_CODE_GOING_AWAY) counters.close_frames_going_away.add();
    return;
  }
  if (arg.opcode != WSLAY_TEXT_FRAME) return;  // pings are answered by wslay
  counters.client_messages.add();
  const std::string reply =
      session_->on_client_text(std::string_view(reinterpret_cast<const char*>(arg.msg), arg.msg_length));
  if (reply.starts_with("{\"code\"")) counters.error_replies.add();
  if (!reply.empty()) queue_text(reply, false);
  publish_topics();
}

bool ClientConnection::queue_text(std::string_view text, bool count_as_data) {
  wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
  if (wslay_event_queue_msg(ws_, &msg) != 0) return false;
  if (count_as_data) server_.counters->frames_sent.add();
  return true;
}

bool ClientConnection::flush_tls() {
  want_pollout_ = false;
  while (tls_out_pos_ < tls_out_.size()) {
    const std::size_t chunk = std::min(kWriteChunk, tls_out_.size() - tls_out_pos_);
    ERR_clear_error();
    const int n = SSL_write(ssl_, tls_out_.data() + tls_out_pos_, static_cast<int>(chunk));
    if (n > 0) {
      tls_out_pos_ += static_cast<std::size_t>(n);
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      want_pollout_ = err == SSL_ERROR_WANT_WRITE;
      break;
    }
    peer_gone_ = true;
    return false;
  }
  // Compact only when the written prefix dominates, so a steady trickle does not memmove per frame.
  if (tls_out_pos_ == tls_out_.size()) {
    tls_out_.clear();
    tls_out_pos_ = 0;
  } else if (tls_out_pos_ > tls_out_.size() / 2) {
    tls_out_.erase(0, tls_out_pos_);
    tls_out_pos_ = 0;
  }
  return true;
}

bool ClientConnection::backpressured() const {
  return tls_out_.size() - tls_out_pos_ >= kTlsHighWater ||
         wslay_event_get_queued_msg_count(ws_) >= kMaxQueuedMessages;
}

void ClientConnection::send_outbox() {
  if (backpressured()) return;
  {
    std::lock_guard lock(mutex_);
    if (outbox_.frames.empty()) return;
    std::swap(draining_, outbox_);
  }
  Outbox& batch = draining_;
  SimCounters& counters = *server_.counters;
  const bool silent = silent_.load(std::memory_order_relaxed);
  std::uint64_t sent = 0;
  std::uint64_t withheld = 0;
  for (const auto& f : batch.frames) {
    if (silent) {
      ++withheld;
      continue;
    }
    if (f.book_delta && gaps_requested_.load(std::memory_order_relaxed) > 0) {
      gaps_requested_.fetch_sub(1);
      ++withheld;
      continue;
    }
    char* frame = batch.bytes.data() + f.offset;
    if (queue_text(std::string_view(frame, f.length), false)) ++sent;
  }
  counters.frames_sent.add(sent);
  if (withheld) counters.frames_withheld.add(withheld);
  batch.bytes.clear();
  batch.frames.clear();
}

void ClientConnection::send_replay(std::int64_t now_ns, int& timeout_ms) {
  const auto& frames = *server_.replay;
  if (frames.empty()) return;
  if (replay_start_ns_ == 0) {
    // The recorded session starts at this connection's first subscription, so a client that subscribes
    // after connecting still receives it from the beginning.
    if (served_.empty()) return;
    replay_start_ns_ = now_ns;
    replay_next_ = 0;
  }
  const double speed = server_.config->replay_speed;
  SimCounters& counters = *server_.counters;
  std::uint64_t sent = 0;
  std::uint64_t withheld = 0;
  std::string text;
  for (std::size_t batch = 0; batch < kReplayBatch && !backpressured();) {
    if (replay_next_ == frames.size()) {
      if (!server_.config->replay_loop) break;
      replay_next_ = 0;
      replay_start_ns_ = now_ns;
    }
    const RecordedFrame& f = frames[replay_next_];
    if (speed > 0) {
      const auto due =
          replay_start_ns_ + static_cast<std::int64_t>((f.recv_s - frames.front().recv_s) / speed * 1e9);
      if (due > now_ns) {
        timeout_ms = std::min<int>(timeout_ms, static_cast<int>((due - now_ns + 999'999) / 1'000'000));
        break;
      }
    }
    ++replay_next_;
    if (!std::binary_search(served_.begin(), served_.end(), f.topic)) continue;
    ++batch;
    if (silent_.load(std::memory_order_relaxed)) {
      ++withheld;
      continue;
    }
    if (f.book_delta && gaps_requested_.load(std::memory_order_relaxed) > 0) {
      gaps_requested_.fetch_sub(1);
      ++withheld;
      continue;
    }
    text.clear();
    session_->append_recorded_frame(text, f);
    if (queue_text(text, false)) ++sent;
  }
  counters.frames_sent.add(sent);
  if (withheld) counters.frames_withheld.add(withheld);
  // More is due right now (as-fast-as-possible, or a burst): come back without sleeping unless blocked.
  const bool more = replay_next_ < frames.size() || server_.config->replay_loop;
  if (more && speed <= 0 && !backpressured()) timeout_ms = 0;
}

void ClientConnection::serve() {
  SimCounters& counters = *server_.counters;
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &ClientConnection::on_wslay_recv;
  callbacks.send_callback = &ClientConnection::on_wslay_send;
  callbacks.on_msg_recv_callback = &ClientConnection::on_wslay_message;
  if (wslay_event_context_server_init(&ws_, &callbacks, this) != 0) return;
  wslay_event_config_set_max_recv_msg_length(ws_, kMaxClientMessage);
  publish_topics();

  const std::int64_t ping_ns = std::chrono::nanoseconds(server_.config->ping_interval).count();
  std::int64_t next_ping = engine::monotonic_ns() + ping_ns;
  std::uint64_t ping_count = 0;
  bool readable = early_pos_ < early_bytes_.size();
  for (;;) {
    if (server_.stopping->load()) break;
    if (disconnect_requested_.load()) {
      counters.fault_disconnects.add();
      // An abortive close (RST): no close frame, no close_notify, like a dropped network path.
      linger abort{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (overflowed_) {
        counters.slow_consumer_disconnects.add();
        break;
      }
    }
    if (readable) {
      if (wslay_event_recv(ws_) != 0 || peer_gone_) return;
      readable = false;
    }
    const std::int64_t now = engine::monotonic_ns();
    int timeout_ms = 1000;
    // A replay's frames come from the capture; its outbox holds only the frames that faults inject.
    if (server_.replay) send_replay(now, timeout_ms);
    send_outbox();
    if (now >= next_ping) {
      const std::string payload = std::to_string(++ping_count);
      wslay_event_msg ping{WSLAY_PING, reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
      if (wslay_event_queue_msg(ws_, &ping) == 0) counters.pings_sent.add();
      next_ping = now + ping_ns;
    }
    timeout_ms = std::min<int>(
        timeout_ms, static_cast<int>(std::max<std::int64_t>(0, (next_ping - now) / 1'000'000 + 1)));
    if (wslay_event_want_write(ws_) && wslay_event_send(ws_) != 0) return;
    if (!flush_tls()) return;
    if (!wslay_event_want_read(ws_) && !wslay_event_want_write(ws_) && tls_out_pos_ == tls_out_.size())
      return;
    // wslay still holds frames but the socket took everything offered: go again at once. When the socket
    // is full (want_pollout_), poll waits for it to drain instead.
    if (wslay_event_want_write(ws_) && !want_pollout_) timeout_ms = 0;
    readable = wait(static_cast<short>(POLLIN | (want_pollout_ ? POLLOUT : 0)), timeout_ms);
  }
  // Server shutdown: a best-effort close frame (1001 going away) and close_notify, never waiting for the
  // peer.
  const char reason[] = "server shutting down";
  wslay_event_queue_close(ws_, WSLAY_CODE_GOING_AWAY, reinterpret_cast<const std::uint8_t*>(reason),
                          sizeof reason - 1);
  wslay_event_send(ws_);
  flush_tls();
  SSL_shutdown(ssl_);
}

void ClientConnection::close_socket() {
  if (ws_) {
    wslay_event_context_free(ws_);
    ws_ = nullptr;
  }
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace sigflow::tools
