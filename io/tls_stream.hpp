#pragma once
// TlsStream: one client connection on an EventLoop — TCP connect with a timeout, a TLS session over memory
// BIOs, and a StreamProtocol (WebSocket, HTTP/1.1) on top that sees only plaintext.
//
//   idle ─open()─▶ connecting ─TCP up─▶ handshaking ─TLS up─▶ open ─close()/finished─▶ closing ─▶ closed
//                      │                     │                  │                        ▲
//                      └─────────────────────┴── any failure ───┴────────────────────────┘
//
// Every path out ends in `closed` with one TransportObserver::on_closed call that carries a typed error,
// and only after every operation the stream had in flight has completed: the owner may call open() again
// from that callback (it is what a feed connection does, after its reconnect timer). Failures are never
// reported from inside open() or close(); they come from the loop.
//
// Receiving allocates nothing: the loop's provided buffers go into the TLS session (which copies them into
// its memory BIO) and come back to the kernel at once; plaintext is decrypted into one reused buffer.
// Sending keeps one send in flight per socket, so bytes leave in order: writes go into the filling half of a
// preallocated double buffer while the other half is on the wire, and the halves swap when a send completes
// (a short send resubmits its remainder first). A write that does not fit fails the connection with
// kSendBufferFull: the ByteSink contract is that writes never block, and silently dropping bytes would
// corrupt the stream.
//
// Name resolution runs getaddrinfo inside open(), on the loop thread: it blocks for as long as DNS takes,
// which is acceptable at connect time but not while other connections on the loop are hot. Numeric
// addresses (the usual configuration, and every test) never touch DNS. Resolving off the loop thread is a
// later step; the addresses it produces would plug into the same connect path.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/counter.hpp"
#include "io/event_loop.hpp"
#include "io/stream_protocol.hpp"
#include "io/tls_session.hpp"

namespace sigflow::io {

enum class TransportErrorKind : std::uint8_t {
  kNone,                 // closed on request after a clean shutdown
  kResolveFailed,        // the host name does not resolve
  kConnectRefused,       // every address refused the connection
  kConnectTimeout,       // no TCP connection within connect_timeout
  kConnectFailed,        // another connect error (unreachable network, ...)
  kHandshakeTimeout,     // TCP up, but TLS not open within handshake_timeout
  kCertificateRejected,  // the peer's certificate chain or name failed verification
  kTlsFailed,            // any other TLS failure: handshake alert, bad or truncated record
  kPeerClosed,           // the peer ended the connection (close_notify, EOF, reset)
  kProtocolFailed,       // the StreamProtocol reported an error; the message is its last_error()
  kSendBufferFull,       // more bytes written than the send buffer holds
  kIoFailed,             // a socket or ring operation failed
};

std::string_view to_string(TransportErrorKind kind) noexcept;

struct TransportError {
  TransportErrorKind kind = TransportErrorKind::kNone;
  std::string_view message;  // valid during the callback
};

class TransportObserver {
 public:
  // TLS (or, in plaintext mode, TCP) is up; the protocol's on_transport_open has run.
  virtual void on_open(std::int64_t now_ns) { (void)now_ns; }
  // The connection is gone and the stream is closed; open() may be called from here.
  virtual void on_closed(const TransportError& error) = 0;

 protected:
  ~TransportObserver() = default;
};

struct TlsStreamConfig {
  std::string host;  // DNS name or IP address to connect to
  std::uint16_t port = 443;
  std::string server_name;  // SNI and the name the certificate must carry; empty: host
  // No TLS at all. Only for loopback simulators and tests; a venue connection never sets it.
  bool plaintext = false;
  std::int64_t connect_timeout_ns = 5'000'000'000;
  std::int64_t handshake_timeout_ns = 10'000'000'000;  // from TCP connected to TLS open
  std::int64_t close_timeout_ns = 1'000'000'000;  // a graceful close waits this long for its bytes to leave
  std::int64_t tick_interval_ns = 100'000'000;    // StreamProtocol::on_tick period while open
  // Each half of the send double buffer. A venue connection sends subscriptions and pongs; an inference
  // connection sends prompts of a few KiB. 256 KiB is far above both.
  std::size_t send_buffer_bytes = 256 * 1024;
};

struct TlsStreamCounters {
  engine::Counter bytes_in;   // wire bytes received (ciphertext under TLS)
  engine::Counter bytes_out;  // wire bytes sent
  engine::Counter plaintext_in;
  engine::Counter connects;          // TCP connections established
  engine::Counter connect_failures;  // refused, timed out or failed (each address counts)
  engine::Counter tls_errors;        // certificate rejections and other TLS failures
  engine::Counter protocol_errors;
  engine::Counter peer_closes;
  engine::Counter short_sends;     // sends the kernel took only part of (the socket buffer was full)
  engine::Counter receive_rearms;  // multishot receives the kernel ended (buffer ring ran dry)
};

enum class TransportState : std::uint8_t { kIdle, kConnecting, kHandshaking, kOpen, kClosing, kClosed };

std::string_view to_string(TransportState state) noexcept;

class TlsStream final : public ByteSink {
 public:
  // `tls` may be null only in plaintext mode. loop, tls, protocol and observer must outlive the stream.
  TlsStream(EventLoop& loop, const TlsContext* tls, TlsStreamConfig config, StreamProtocol& protocol,
            TransportObserver& observer);
  // Destroy on the loop's thread and never from inside one of this stream's own callbacks: an open stream
  // cancels its operations and runs the loop until they have completed (no callbacks are made).
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Starts connecting. Returns false, doing nothing, unless the stream is idle or closed.
  bool open();
  // Graceful close: a TLS close_notify, then the send queue drains (at most close_timeout) before the
  // socket closes. on_closed follows with kNone unless something failed first.
  void close();

  // ByteSink: encrypts and queues; sends at once when no send is in flight. Ignored unless open.
  void write(std::string_view bytes) override;

  TransportState state() const noexcept { return state_; }
  // The error of the latest connection (kNone while it is healthy).
  TransportErrorKind last_error_kind() const noexcept { return error_kind_; }
  std::string_view last_error() const noexcept { return error_message_; }
  const TlsStreamCounters& counters() const noexcept { return counters_; }
  const TlsStreamConfig& config() const noexcept { return config_; }

 private:
  static constexpr std::size_t kMaxAddresses = 4;

  bool resolve();
  void connect_next_address();
  void on_connect(const Completion& completion);
  void on_receive(const Completion& completion);
  void on_send(const Completion& completion);
  void on_tick(std::int64_t now_ns);
  void on_report(std::int64_t now_ns);

  void start_tls(std::int64_t now_ns);
  void become_open(std::int64_t now_ns);
  void receive_ciphertext(std::string_view bytes, std::int64_t recv_ns);
  void deliver(std::string_view plaintext, std::int64_t recv_ns);
  void end_of_stream();
  bool arm_receive();

  bool queue_bytes(std::string_view bytes);
  bool queue_ciphertext();
  void flush();

  void fail(TransportErrorKind kind, std::string_view message);
  void fail_tls();
  void tear_down();
  void finish_if_drained();
  std::size_t operations_in_flight() const noexcept;

  EventLoop& loop_;
  const TlsContext* tls_context_;
  TlsStreamConfig config_;
  StreamProtocol& protocol_;
  TransportObserver& observer_;
  TlsStreamCounters counters_;
  std::unique_ptr<TlsSession> tls_;

  MemberCompletion<TlsStream, &TlsStream::on_connect> connect_op_{*this};
  MemberCompletion<TlsStream, &TlsStream::on_receive> receive_op_{*this};
  MemberCompletion<TlsStream, &TlsStream::on_send> send_op_{*this};
  MemberTimer<TlsStream, &TlsStream::on_tick> tick_handler_{*this};
  MemberTimer<TlsStream, &TlsStream::on_report> report_handler_{*this};
  Timer tick_timer_{loop_, tick_handler_};
  Timer report_timer_{loop_, report_handler_};  // defers on_closed out of open() / close() calls

  TransportState state_ = TransportState::kIdle;
  int fd_ = -1;
  sockaddr_storage addresses_[kMaxAddresses]{};
  socklen_t address_lengths_[kMaxAddresses]{};
  std::size_t address_count_ = 0;
  std::size_t address_index_ = 0;

  bool connect_pending_ = false;
  bool receive_armed_ = false;
  bool send_in_flight_ = false;
  bool cancel_requested_ = false;
  bool destroying_ = false;
  std::int64_t handshake_deadline_ns_ = 0;
  std::int64_t close_deadline_ns_ = 0;

  // Send double buffer: one half on the wire [sent_, wire_len_), the other filling [0, fill_len_).
  std::unique_ptr<char[]> send_halves_[2];
  int filling_half_ = 0;
  std::size_t fill_len_ = 0;
  std::size_t wire_len_ = 0;
  std::size_t sent_ = 0;

  std::unique_ptr<char[]> plaintext_;  // one TLS record of decrypted data

  TransportErrorKind error_kind_ = TransportErrorKind::kNone;
  std::string error_message_;
};

}  // namespace sigflow::io
