#include "io/http_client.hpp"

#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include "io/http_response_reader.hpp"
#include "io/stream_protocol.hpp"
#include "io/tls_stream.hpp"

namespace sigflow::io {
namespace {

bool method_expects_body(std::string_view method) noexcept {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

HttpErrorKind from_transport(TransportErrorKind kind) noexcept {
  switch (kind) {
    case TransportErrorKind::kResolveFailed:
      return HttpErrorKind::kResolveFailed;
    case TransportErrorKind::kConnectRefused:
      return HttpErrorKind::kConnectRefused;
    case TransportErrorKind::kConnectTimeout:
      return HttpErrorKind::kConnectTimeout;
    case TransportErrorKind::kConnectFailed:
      return HttpErrorKind::kConnectFailed;
    case TransportErrorKind::kHandshakeTimeout:
    case TransportErrorKind::kTlsFailed:
      return HttpErrorKind::kTlsFailed;
    case TransportErrorKind::kCertificateRejected:
      return HttpErrorKind::kCertificateRejected;
    case TransportErrorKind::kProtocolFailed:
      return HttpErrorKind::kMalformedResponse;
    case TransportErrorKind::kSendBufferFull:
      return HttpErrorKind::kRequestTooLarge;
    case TransportErrorKind::kIoFailed:
      return HttpErrorKind::kIoFailed;
    case TransportErrorKind::kNone:
    case TransportErrorKind::kPeerClosed:
      break;
  }
  return HttpErrorKind::kPeerClosed;
}

std::string milliseconds(std::int64_t ns) {
  return std::to_string(ns / 1'000'000) + " ms";
}

}  // namespace

std::string_view to_string(HttpErrorKind kind) noexcept {
  switch (kind) {
    case HttpErrorKind::kNone:
      return "none";
    case HttpErrorKind::kResolveFailed:
      return "resolve_failed";
    case HttpErrorKind::kConnectRefused:
      return "connect_refused";
    case HttpErrorKind::kConnectTimeout:
      return "connect_timeout";
    case HttpErrorKind::kConnectFailed:
      return "connect_failed";
    case HttpErrorKind::kTlsFailed:
      return "tls_failed";
    case HttpErrorKind::kCertificateRejected:
      return "certificate_rejected";
    case HttpErrorKind::kPeerClosed:
      return "peer_closed";
    case HttpErrorKind::kMalformedResponse:
      return "malformed_response";
    case HttpErrorKind::kHeaderTooLarge:
      return "header_too_large";
    case HttpErrorKind::kBodyTooLarge:
      return "body_too_large";
    case HttpErrorKind::kFirstByteTimeout:
      return "first_byte_timeout";
    case HttpErrorKind::kRequestTimeout:
      return "request_timeout";
    case HttpErrorKind::kRequestTooLarge:
      return "request_too_large";
    case HttpErrorKind::kAborted:
      return "aborted";
    case HttpErrorKind::kIoFailed:
      return "io_failed";
  }
  return "unknown";
}

// ---- totals ----

std::uint64_t HttpClientTotals::responses() const noexcept {
  std::uint64_t n = 0;
  for (const auto v : responses_by_class) n += v;
  return n;
}

std::uint64_t HttpClientTotals::failures_total() const noexcept {
  std::uint64_t n = 0;
  for (const auto v : failures) n += v;
  return n;
}

void HttpClientTotals::add(const HttpClientCounters& c) noexcept {
  requests += c.requests.load();
  for (std::size_t i = 0; i < responses_by_class.size(); ++i)
    responses_by_class[i] += c.responses_by_class[i].load();
  for (std::size_t i = 0; i < failures.size(); ++i) failures[i] += c.failures[i].load();
  connects += c.connects.load();
  reconnects += c.reconnects.load();
  idle_closed += c.idle_closed.load();
  unsent_retries += c.unsent_retries.load();
  server_close += c.server_close.load();
}

// ---- HttpConnection ----

struct HttpConnection::State final : StreamProtocol, TransportObserver {
  State(EventLoop& loop_in, const TlsContext* tls, HttpOriginConfig config_in)
      : loop(loop_in),
        config(std::move(config_in)),
        reader(config.max_header_bytes, config.max_body_bytes),
        stream(loop, tls, transport_config(config), *this, *this) {
    host_header = config.host;
    if (host_header.find(':') != std::string::npos) host_header = "[" + host_header + "]";  // IPv6 literal
    const std::uint16_t default_port = config.plaintext ? 80 : 443;
    if (config.port != default_port) host_header += ":" + std::to_string(config.port);
    request_bytes.reserve(4096);
    error_message.reserve(256);
  }

  ~State() override {
    // The stream's destructor may run the loop to collect its operations; none of our timers may fire into
    // a half-destroyed connection meanwhile.
    active = false;
    first_byte_timer.cancel();
    request_timer.cancel();
    idle_timer.cancel();
    report_timer.cancel();
  }

  static TlsStreamConfig transport_config(const HttpOriginConfig& c) {
    TlsStreamConfig t;
    t.host = c.host;
    t.port = c.port;
    t.server_name = c.server_name;
    t.plaintext = c.plaintext;
    t.connect_timeout_ns = c.connect_timeout_ns;
    t.handshake_timeout_ns = c.handshake_timeout_ns;
    t.send_buffer_bytes = c.send_buffer_bytes;
    return t;
  }

  // ---- requests ----

  bool send(const HttpRequest& request, HttpResponseHandler& h) {
    if (active) return false;
    counters.requests.add();
    format(request);
    handler = &h;
    active = true;
    written = false;
    retried = false;
    awaiting_reopen = false;
    response_started = false;
    error_kind = HttpErrorKind::kNone;
    error_message.clear();
    streaming = request.delivery == HttpDelivery::kStreaming;
    head_only = request.method == "HEAD";
    first_byte_timeout_ns =
        request.first_byte_timeout_ns > 0 ? request.first_byte_timeout_ns : config.first_byte_timeout_ns;
    const std::int64_t total =
        request.request_timeout_ns > 0 ? request.request_timeout_ns : config.request_timeout_ns;
    request_timeout_ns = total;
    idle_timer.cancel();
    request_timer.arm_after(total);

    // TLS adds at most ~90 bytes per 16 KiB record (header, tag, padding); leave that room so the write
    // cannot overflow the transport's buffer half-way through.
    const std::size_t wire_bound = request_bytes.size() + (request_bytes.size() / 16384 + 1) * 128;
    if (wire_bound > config.send_buffer_bytes) {
      error_kind = HttpErrorKind::kRequestTooLarge;
      error_message = "request of " + std::to_string(request_bytes.size()) + " bytes does not fit the " +
                      std::to_string(config.send_buffer_bytes) + "-byte send buffer";
      report_timer.arm_at(engine::monotonic_ns());
      return true;
    }

    switch (stream.state()) {
      case TransportState::kOpen:
        if (close_wanted) {
          awaiting_reopen = true;  // the previous response ended the connection; it is on its way down
        } else {
          write_request();
        }
        break;
      case TransportState::kIdle:
      case TransportState::kClosed:
        stream.open();
        break;
      case TransportState::kConnecting:
      case TransportState::kHandshaking:
        break;  // warm_up() started it; on_transport_open writes the request
      case TransportState::kClosing:
        awaiting_reopen = true;
        break;
    }
    return true;
  }

  // Request line, headers and body into one buffer: one write, one TLS record run, one send.
  void format(const HttpRequest& r) {
    request_bytes.clear();
    request_bytes.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\nHost: ");
    request_bytes.append(host_header).append("\r\n");
    if (!config.user_agent.empty())
      request_bytes.append("User-Agent: ").append(config.user_agent).append("\r\n");
    for (const HttpHeader& h : r.headers)
      request_bytes.append(h.name).append(": ").append(h.value).append("\r\n");
    if (!r.body.empty() || method_expects_body(r.method)) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr;
      request_bytes.append("Content-Length: ")
          .append(digits, static_cast<std::size_t>(end - digits))
          .append("\r\n");
    }
    request_bytes.append("\r\n").append(r.body);
  }

  void write_request() {
    written = true;
    bytes_out_at_write = stream.counters().bytes_out.load();
    first_byte_timer.arm_after(first_byte_timeout_ns);
    stream.write(request_bytes);
  }

  bool request_left_process() const noexcept {
    return written && stream.counters().bytes_out.load() != bytes_out_at_write;
  }

  void abort() {
    if (!active) return;
    set_error(HttpErrorKind::kAborted, "request aborted by the caller");
    drop_connection();
  }

  // Ends the connection so that on_closed completes the request with the error already set.
  void drop_connection() {
    switch (stream.state()) {
      case TransportState::kConnecting:
      case TransportState::kHandshaking:
      case TransportState::kOpen:
        closing_by_us = true;
        stream.close();
        break;
      case TransportState::kClosing:
        break;  // on_closed is coming
      case TransportState::kIdle:
      case TransportState::kClosed:
        report_timer.arm_at(engine::monotonic_ns());
        break;
    }
  }

  void set_error(HttpErrorKind kind, std::string message) {
    if (error_kind != HttpErrorKind::kNone) return;
    error_kind = kind;
    error_message = std::move(message);
  }

  // ---- completion ----

  void complete(HttpErrorKind kind, std::string_view message, bool with_head) {
    HttpResponseHandler* h = handler;
    const HttpError error{kind, message, request_left_process() || (written && response_started)};
    finish_request();
    counters.failures[static_cast<std::size_t>(kind)].add();
    if (with_head && reader.header_done()) {
      const HttpResponse response = reader.response();
      h->on_complete(error, &response);
    } else {
      h->on_complete(error, nullptr);
    }
  }

  void complete_success() {
    HttpResponseHandler* h = handler;
    const HttpResponse response = reader.response();
    const unsigned status = response.status();
    counters.responses_by_class[status >= 100 && status < 600 ? status / 100 : 0].add();
    if (!response.keep_alive()) {
      close_wanted = true;
      counters.server_close.add();
    }
    finish_request();
    if (!close_wanted && config.idle_timeout_ns > 0) idle_timer.arm_after(config.idle_timeout_ns);
    h->on_complete(HttpError{}, &response);
  }

  void finish_request() {
    active = false;
    handler = nullptr;
    request_timer.cancel();
    first_byte_timer.cancel();
    report_timer.cancel();
  }

  // ---- StreamProtocol ----

  void on_transport_open(ByteSink&, std::int64_t) override {
    close_wanted = false;  // a Connection: close seen after the previous transport ended belongs to it
    counters.connects.add();
    if (ever_opened) counters.reconnects.add();
    ever_opened = true;
    if (active && !written && !awaiting_reopen) write_request();
  }

  bool on_bytes(std::string_view in, std::int64_t, ByteSink&) override {
    if (!active) {
      set_error_idle("the server sent bytes with no request outstanding");
      return false;
    }
    if (!written) {
      set_error(HttpErrorKind::kMalformedResponse, "the server sent bytes before the request was written");
      return false;
    }
    if (!response_started) {
      response_started = true;
      first_byte_timer.cancel();
      reader.start(head_only, streaming ? handler : nullptr);
    }
    switch (reader.feed(in)) {
      case HttpResponseReader::Status::kNeedMore:
        return true;
      case HttpResponseReader::Status::kFailed:
        set_error(reader.error_kind(), std::string(reader.error()));
        return false;
      case HttpResponseReader::Status::kComplete:
        // Bytes after a response we did not ask for: the stream is out of step with our requests.
        if (reader.leftover() > 0) close_wanted = true;
        complete_success();
        return true;
    }
    return true;
  }

  void set_error_idle(std::string_view why) { idle_error.assign(why); }

  bool on_tick(std::int64_t, ByteSink&) override { return true; }

  void on_transport_closed() override { close_wanted = false; }

  bool finished() const override { return close_wanted; }

  std::string_view last_error() const override {
    return active ? std::string_view(error_message) : std::string_view(idle_error);
  }

  // ---- TransportObserver ----

  void on_closed(const TransportError& transport) override {
    const bool ours = closing_by_us;
    closing_by_us = false;
    idle_error.clear();
    if (!active) {
      if (!ours && transport.kind != TransportErrorKind::kNone) counters.idle_closed.add();
      return;
    }
    if (error_kind != HttpErrorKind::kNone) {
      complete(error_kind, error_message, response_started);
      return;
    }
    if (awaiting_reopen) {
      awaiting_reopen = false;
      stream.open();
      return;
    }
    if (!written) {
      // This request's own connect or handshake failed.
      complete(from_transport(transport.kind), transport.message, false);
      return;
    }
    if (!response_started && !request_left_process() && !retried) {
      // Not a byte of the request left: the server cannot have seen it, so a fresh connection is safe.
      retried = true;
      written = false;
      counters.unsent_retries.add();
      stream.open();
      return;
    }
    if (response_started && transport.kind == TransportErrorKind::kPeerClosed &&
        reader.finish_at_eof() == HttpResponseReader::Status::kComplete) {
      complete_success();  // a body delimited by the end of the connection is complete now
      return;
    }
    std::string message;
    if (transport.kind == TransportErrorKind::kPeerClosed || transport.kind == TransportErrorKind::kNone) {
      message = response_started ? "connection closed in the middle of the response"
                                 : "connection closed before the response";
      message.append(" (").append(transport.message).append(")");
      complete(HttpErrorKind::kPeerClosed, message, response_started);
    } else {
      complete(from_transport(transport.kind), transport.message, response_started);
    }
  }

  // ---- timers ----

  void on_first_byte_timeout(std::int64_t) {
    if (!active || response_started) return;
    set_error(HttpErrorKind::kFirstByteTimeout,
              "no response byte within " + milliseconds(first_byte_timeout_ns) + " of the request");
    drop_connection();
  }

  void on_request_timeout(std::int64_t) {
    if (!active) return;
    set_error(HttpErrorKind::kRequestTimeout,
              "request not complete within " + milliseconds(request_timeout_ns));
    drop_connection();
  }

  void on_idle_timeout(std::int64_t) {
    if (active || stream.state() != TransportState::kOpen) return;
    closing_by_us = true;
    stream.close();
  }

  // A failure known before any I/O (or with the transport already down) still reaches the handler from
  // the loop, never from inside the call that caused it.
  void on_report(std::int64_t) {
    if (!active) return;
    complete(error_kind == HttpErrorKind::kNone ? HttpErrorKind::kAborted : error_kind, error_message, false);
  }

  EventLoop& loop;
  HttpOriginConfig config;
  std::string host_header;
  HttpClientCounters counters;

  // Declared before the stream so that they outlive it: the stream's destructor may still run the loop.
  HttpResponseReader reader;
  std::string request_bytes;
  std::string error_message;
  std::string idle_error;

  MemberTimer<State, &State::on_first_byte_timeout> first_byte_handler{*this};
  MemberTimer<State, &State::on_request_timeout> request_handler{*this};
  MemberTimer<State, &State::on_idle_timeout> idle_handler{*this};
  MemberTimer<State, &State::on_report> report_handler{*this};
  Timer first_byte_timer{loop, first_byte_handler};
  Timer request_timer{loop, request_handler};
  Timer idle_timer{loop, idle_handler};
  Timer report_timer{loop, report_handler};

  TlsStream stream;

  HttpResponseHandler* handler = nullptr;
  std::uint64_t bytes_out_at_write = 0;
  std::int64_t first_byte_timeout_ns = 0;
  std::int64_t request_timeout_ns = 0;
  HttpErrorKind error_kind = HttpErrorKind::kNone;
  bool active = false;            // a request is outstanding
  bool written = false;           // its bytes were handed to the transport
  bool retried = false;           // it already went to a fresh connection once
  bool awaiting_reopen = false;   // the transport is closing; reopen for it when closed
  bool response_started = false;  // a response byte arrived for it
  bool streaming = false;
  bool head_only = false;
  bool close_wanted = false;  // the server ended keep-alive, or the stream is out of step
  bool closing_by_us = false;
  bool ever_opened = false;
};

HttpConnection::HttpConnection(EventLoop& loop, const TlsContext* tls, HttpOriginConfig config)
    : state_(std::make_unique<State>(loop, tls, std::move(config))) {}

HttpConnection::~HttpConnection() = default;

bool HttpConnection::send(const HttpRequest& request, HttpResponseHandler& handler) {
  return state_->send(request, handler);
}

void HttpConnection::abort() {
  state_->abort();
}

void HttpConnection::detach() noexcept {
  if (state_->active) state_->finish_request();
}

void HttpConnection::warm_up() {
  const TransportState s = state_->stream.state();
  if (s == TransportState::kIdle || s == TransportState::kClosed) state_->stream.open();
}

void HttpConnection::close() {
  if (state_->active || state_->stream.state() != TransportState::kOpen) return;
  state_->closing_by_us = true;
  state_->stream.close();
}

bool HttpConnection::busy() const noexcept {
  return state_->active;
}

bool HttpConnection::connected() const noexcept {
  return state_->stream.state() == TransportState::kOpen && !state_->close_wanted;
}

const HttpClientCounters& HttpConnection::counters() const noexcept {
  return state_->counters;
}

const HttpOriginConfig& HttpConnection::config() const noexcept {
  return state_->config;
}

// ---- HttpPool ----

HttpPool::HttpPool(EventLoop& loop, const TlsContext* tls, const HttpOriginConfig& config,
                   std::size_t connections) {
  connections_.reserve(connections);
  for (std::size_t i = 0; i < connections; ++i)
    connections_.push_back(std::make_unique<HttpConnection>(loop, tls, config));
}

HttpPool::~HttpPool() {
  // Destroying a connection may run the loop (its stream collects its io_uring operations), which delivers
  // the other connections' events: none may complete a request into a handler that is being destroyed with
  // the pool's owner (a chat transport's exchanges go before its pool). Detach them all first.
  for (const auto& c : connections_) c->detach();
}

HttpConnection* HttpPool::acquire() noexcept {
  HttpConnection* closed = nullptr;
  for (const auto& c : connections_) {
    if (c->busy()) continue;
    if (c->connected()) return c.get();
    if (closed == nullptr) closed = c.get();
  }
  return closed;
}

bool HttpPool::send(const HttpRequest& request, HttpResponseHandler& handler) {
  HttpConnection* c = acquire();
  return c != nullptr && c->send(request, handler);
}

void HttpPool::warm_up() {
  for (const auto& c : connections_) c->warm_up();
}

void HttpPool::close() {
  for (const auto& c : connections_) c->close();
}

std::size_t HttpPool::idle() const noexcept {
  std::size_t n = 0;
  for (const auto& c : connections_) n += c->busy() ? 0 : 1;
  return n;
}

HttpClientTotals HttpPool::counters() const noexcept {
  HttpClientTotals totals;
  for (const auto& c : connections_) totals.add(c->counters());
  return totals;
}

}  // namespace sigflow::io
