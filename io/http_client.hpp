#pragma once
// HTTP/1.1 client on an io_uring EventLoop: one keep-alive connection per HttpConnection (TLS, or plaintext
// for loopback), one request at a time (no pipelining), and HttpPool for N connections to one origin.
//
// Everything runs on the loop's thread and nothing blocks: send() formats the request, starts (or reuses) the
// connection and returns; the outcome arrives through the HttpResponseHandler from the loop, never from
// inside send(). Responses are parsed by HttpResponseReader (io/http_response_reader.hpp: Boost.Beast's
// response_parser with a body type that hands body bytes straight through, chunked transfer-encoding
// included), with limits on the header and the body.
//
// Delivery modes:
//  - buffered: on_complete sees the status, the headers (case-insensitive lookup) and the whole body;
//  - streaming: on_head once the header is complete, on_body with each run of body bytes as it arrives (so an
//    SSE parser runs on them at once), then on_complete.
//
// Allocation: the request is formatted into one reused buffer and written into the transport's preallocated
// send buffer with one write; the body is kept in a reused string; Beast's header fields come from a
// monotonic arena that is rewound per response. After the first requests have grown the buffers, a request
// allocates nothing unless a response header outgrows the arena (it then spills to the heap, still correct).
//
// Keep-alive: the connection stays open after a response unless the server said `Connection: close` (or
// spoke HTTP/1.0 without keep-alive), and reopens lazily on the next send(). A server that closes an idle
// connection is noticed while idle (the receive stays armed). When a connection dies with a request written
// into it, the request is retried once on a fresh connection only when provably none of its bytes left this
// process (the transport sent nothing after it was written); otherwise the failure reaches the caller with
// request_sent = true, because the server may have acted on it.
//
// Secrets: header values of the request (Authorization) are written to the wire and nowhere else; errors and
// counters never include them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counter.hpp"
#include "io/event_loop.hpp"
#include "io/tls_session.hpp"

namespace sigflow::io {

struct HttpHeader {
  std::string_view name;
  std::string_view value;
};

enum class HttpDelivery : std::uint8_t { kBuffered, kStreaming };

struct HttpRequest {
  std::string_view method = "GET";
  std::string_view target = "/";  // origin-form: path and query
  // Extra headers. The client adds Host, User-Agent (when configured) and Content-Length (when there is a
  // body or the method is POST/PUT/PATCH); do not repeat those. Views need to live only during send().
  // A HEAD request's response is read without a body, whatever its headers say.
  std::span<const HttpHeader> headers;
  std::string_view body;
  HttpDelivery delivery = HttpDelivery::kBuffered;
  // Per-request overrides of the origin's timeouts; 0 keeps the configured value.
  std::int64_t first_byte_timeout_ns = 0;
  std::int64_t request_timeout_ns = 0;
};

enum class HttpErrorKind : std::uint8_t {
  kNone,
  kResolveFailed,        // the host does not resolve
  kConnectRefused,       // nothing listens at the origin
  kConnectTimeout,       // TCP not up within connect_timeout
  kConnectFailed,        // another connect error
  kTlsFailed,            // handshake alert, handshake timeout, bad record
  kCertificateRejected,  // the server's certificate failed verification
  kPeerClosed,           // the connection ended before the response was complete
  kMalformedResponse,    // Beast rejected the response bytes (or bytes arrived with no request)
  kHeaderTooLarge,       // the response header passed max_header_bytes
  kBodyTooLarge,         // the response body passed max_body_bytes
  kFirstByteTimeout,     // request written, no response byte within first_byte_timeout
  kRequestTimeout,       // the whole exchange (connect included) passed request_timeout
  kRequestTooLarge,      // the formatted request does not fit the transport's send buffer
  kAborted,              // abort() was called or a streaming handler stopped the body
  kIoFailed,             // a socket or ring operation failed
};
inline constexpr std::size_t kHttpErrorKinds = static_cast<std::size_t>(HttpErrorKind::kIoFailed) + 1;

std::string_view to_string(HttpErrorKind kind) noexcept;

struct HttpError {
  HttpErrorKind kind = HttpErrorKind::kNone;
  std::string_view message;  // valid during the callback; never contains request header values
  // Some of the request's bytes left this process: the server may have seen (and acted on) it.
  bool request_sent = false;
  explicit operator bool() const noexcept { return kind != HttpErrorKind::kNone; }
};

// A response as the handler sees it; valid only during the callback that receives it.
class HttpResponse {
 public:
  unsigned status() const noexcept;
  std::string_view reason() const noexcept;
  // The first header with this name, compared case-insensitively; nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  // Every header in arrival order; f(name, value).
  template <class F>
  void for_each_header(F&& f) const {
    for (std::size_t i = 0, n = header_count(); i < n; ++i) {
      const HttpHeader h = header_at(i);
      f(h.name, h.value);
    }
  }
  std::size_t header_count() const noexcept;
  HttpHeader header_at(std::size_t index) const noexcept;  // O(index): for logging, not lookups
  // The whole body in buffered mode; empty in streaming mode (the bytes went to on_body).
  std::string_view body() const noexcept { return body_; }
  bool keep_alive() const noexcept;
  bool chunked() const noexcept;

 private:
  friend class HttpResponseReader;
  const void* message_ = nullptr;  // the Beast message (kept out of this header)
  std::string_view body_;
};

class HttpResponseHandler {
 public:
  // Streaming: the header is complete (before any body byte). Not called in buffered mode.
  virtual void on_head(const HttpResponse& response) { (void)response; }
  // Streaming: the next body bytes (dechunked), valid during the call. Return false to stop: the connection
  // closes and on_complete reports kAborted. Must not call into the connection.
  virtual bool on_body(std::string_view bytes) {
    (void)bytes;
    return true;
  }
  // Exactly once per accepted send(). On success error.kind is kNone and response is set; on failure
  // response is null, except for kBodyTooLarge and a streaming kAborted/kPeerClosed after the head, where
  // it holds the head. May call send() again (on this connection too).
  virtual void on_complete(const HttpError& error, const HttpResponse* response) = 0;

 protected:
  ~HttpResponseHandler() = default;
};

// Where to connect and how strictly to bound the exchange; shared by every connection of a pool.
struct HttpOriginConfig {
  std::string host;  // DNS name or IP literal
  std::uint16_t port = 443;
  std::string server_name;  // SNI and certificate name; empty: host
  bool plaintext = false;   // loopback simulators and tests only
  std::int64_t connect_timeout_ns = 5'000'000'000;
  std::int64_t handshake_timeout_ns = 10'000'000'000;
  // From the request's last byte written to the first response byte. A non-streaming completion spends
  // its whole generation time here, so inference callers set it near request_timeout.
  std::int64_t first_byte_timeout_ns = 30'000'000'000;
  // The whole exchange, from send() to the last body byte, connect and TLS included.
  std::int64_t request_timeout_ns = 60'000'000'000;
  std::uint32_t max_header_bytes = 64 * 1024;
  std::uint64_t max_body_bytes = 8u << 20;
  // Each half of the transport's send double buffer: the largest request that can be written.
  std::size_t send_buffer_bytes = 256 * 1024;
  // Closes a connection idle for this long (0: never), so that a request rarely meets a server that is
  // closing it: servers drop idle keep-alive connections after 5 s (nginx default 75 s, Go 90 s..).
  std::int64_t idle_timeout_ns = 0;
  std::string user_agent = "sigflow";  // empty: no User-Agent header
};

struct HttpClientCounters {
  engine::Counter requests;                               // accepted by send()
  std::array<engine::Counter, 6> responses_by_class;      // [1] 1xx … [5] 5xx; [0] anything else
  std::array<engine::Counter, kHttpErrorKinds> failures;  // by HttpErrorKind ([0] unused)
  engine::Counter connects;                               // transports opened (TCP + TLS up)
  engine::Counter reconnects;                             // opens after the connection's first
  engine::Counter idle_closed;     // idle connections the server (or idle_timeout) closed
  engine::Counter unsent_retries;  // requests retried on a fresh connection, provably unsent
  engine::Counter server_close;    // responses carrying Connection: close
};

// A snapshot that sums connections (HttpPool::counters()).
struct HttpClientTotals {
  std::uint64_t requests = 0;
  std::array<std::uint64_t, 6> responses_by_class{};
  std::array<std::uint64_t, kHttpErrorKinds> failures{};
  std::uint64_t connects = 0, reconnects = 0, idle_closed = 0, unsent_retries = 0, server_close = 0;

  std::uint64_t responses() const noexcept;
  std::uint64_t failures_total() const noexcept;
  void add(const HttpClientCounters& c) noexcept;
};

class HttpConnection {
 public:
  // `tls` may be null only for a plaintext origin. loop and tls must outlive the connection.
  HttpConnection(EventLoop& loop, const TlsContext* tls, HttpOriginConfig config);
  // On the loop's thread, never from inside one of its own callbacks. An outstanding request is dropped
  // without a callback.
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Starts a request; false (nothing happens) while another request is outstanding. The request's views
  // may die when send() returns; handler must stay alive until on_complete.
  bool send(const HttpRequest& request, HttpResponseHandler& handler);
  // Ends the outstanding request now (on_complete with kAborted follows from the loop) and drops the
  // connection.
  void abort();
  // Forgets the outstanding request without completing it: its handler is never called again. For owners
  // that are being destroyed together with their handlers.
  void detach() noexcept;
  // Opens the connection ahead of the first request (optional: send() opens lazily).
  void warm_up();
  // Closes an idle connection gracefully.
  void close();

  bool busy() const noexcept;       // a request is outstanding
  bool connected() const noexcept;  // the transport is open (idle or busy)
  const HttpClientCounters& counters() const noexcept;
  const HttpOriginConfig& config() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// N keep-alive connections to one origin: hands out an idle connection (an open one first), and each
// reconnects lazily when it is next used. No queue: when every connection is busy send() returns false and
// the caller decides (the inference thread's rate limiter already paces requests).
class HttpPool {
 public:
  HttpPool(EventLoop& loop, const TlsContext* tls, const HttpOriginConfig& config, std::size_t connections);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // An idle connection (open ones preferred), or null when all are busy.
  HttpConnection* acquire() noexcept;
  // acquire() + send(); false when every connection is busy.
  bool send(const HttpRequest& request, HttpResponseHandler& handler);
  void warm_up();  // opens every connection
  void close();    // closes the idle ones

  std::size_t size() const noexcept { return connections_.size(); }
  std::size_t idle() const noexcept;
  HttpConnection& connection(std::size_t i) noexcept { return *connections_[i]; }
  HttpClientTotals counters() const noexcept;

 private:
  std::vector<std::unique_ptr<HttpConnection>> connections_;
};

}  // namespace sigflow::io
