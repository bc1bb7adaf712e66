#include "io/tls_stream.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace sigflow::io {
namespace {

// The largest plaintext a TLS record carries (RFC 8446 §5.1), so one read never splits a record.
constexpr std::size_t kPlaintextChunk = 16 * 1024;

std::string errno_text(int err) {
  return std::error_code(err, std::system_category()).message();
}

std::string milliseconds(std::int64_t ns) {
  return std::to_string(ns / 1'000'000) + " ms";
}

}  // namespace

std::string_view to_string(TransportErrorKind kind) noexcept {
  switch (kind) {
    case TransportErrorKind::kNone:
      return "none";
    case TransportErrorKind::kResolveFailed:
      return "resolve_failed";
    case TransportErrorKind::kConnectRefused:
      return "connect_refused";
    case TransportErrorKind::kConnectTimeout:
      return "connect_timeout";
    case TransportErrorKind::kConnectFailed:
      return "connect_failed";
    case TransportErrorKind::kHandshakeTimeout:
      return "handshake_timeout";
    case TransportErrorKind::kCertificateRejected:
      return "certificate_rejected";
    case TransportErrorKind::kTlsFailed:
      return "tls_failed";
    case TransportErrorKind::kPeerClosed:
      return "peer_closed";
    case TransportErrorKind::kProtocolFailed:
      return "protocol_failed";
    case TransportErrorKind::kSendBufferFull:
      return "send_buffer_full";
    case TransportErrorKind::kIoFailed:
      return "io_failed";
  }
  return "unknown";
}

std::string_view to_string(TransportState state) noexcept {
  switch (state) {
    case TransportState::kIdle:
      return "idle";
    case TransportState::kConnecting:
      return "connecting";
    case TransportState::kHandshaking:
      return "handshaking";
    case TransportState::kOpen:
      return "open";
    case TransportState::kClosing:
      return "closing";
    case TransportState::kClosed:
      return "closed";
  }
  return "unknown";
}

TlsStream::TlsStream(EventLoop& loop, const TlsContext* tls, TlsStreamConfig config, StreamProtocol& protocol,
                     TransportObserver& observer)
    : loop_(loop), tls_context_(tls), config_(std::move(config)), protocol_(protocol), observer_(observer) {
  if (!config_.plaintext && tls_context_ == nullptr)
    throw std::invalid_argument("TlsStream: a TLS connection needs a TlsContext (plaintext is opt-in)");
  if (config_.send_buffer_bytes == 0)
    throw std::invalid_argument("TlsStream: send_buffer_bytes must be positive");
  if (config_.server_name.empty()) config_.server_name = config_.host;
  if (!config_.plaintext) tls_ = std::make_unique<TlsSession>(*tls_context_);
  send_halves_[0].reset(new char[config_.send_buffer_bytes]);
  send_halves_[1].reset(new char[config_.send_buffer_bytes]);
  plaintext_.reset(new char[kPlaintextChunk]);
  error_message_.reserve(256);
}

TlsStream::~TlsStream() {
  destroying_ = true;
  tick_timer_.cancel();
  report_timer_.cancel();
  if (fd_ < 0) return;
  if (operations_in_flight() > 0) {
    // The kernel still holds pointers to our handlers and buffers; they must come back before we go.
    if (!loop_.cancel_all(fd_)) ::shutdown(fd_, SHUT_RDWR);
    loop_.run_until([this] { return operations_in_flight() == 0; }, 5'000'000'000);
  }
  ::close(fd_);
}

// ---- connecting ----

bool TlsStream::open() {
  if (state_ != TransportState::kIdle && state_ != TransportState::kClosed) return false;
  error_kind_ = TransportErrorKind::kNone;
  error_message_.clear();
  cancel_requested_ = false;
  filling_half_ = 0;
  fill_len_ = wire_len_ = sent_ = 0;
  state_ = TransportState::kConnecting;
  tick_timer_.arm_after(config_.tick_interval_ns);
  if (!resolve()) return true;
  address_index_ = 0;
  connect_next_address();
  return true;
}

bool TlsStream::resolve() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(config_.port);
  const int rc = getaddrinfo(config_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    fail(TransportErrorKind::kResolveFailed, "cannot resolve '" + config_.host + "': " +
                                                 (rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc)));
    return false;
  }
  address_count_ = 0;
  for (const addrinfo* a = found; a != nullptr && address_count_ < kMaxAddresses; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    std::memcpy(&addresses_[address_count_], a->ai_addr, a->ai_addrlen);
    address_lengths_[address_count_] = a->ai_addrlen;
    ++address_count_;
  }
  freeaddrinfo(found);
  if (address_count_ == 0) {
    fail(TransportErrorKind::kResolveFailed, "'" + config_.host + "' resolves to no usable address");
    return false;
  }
  return true;
}

void TlsStream::connect_next_address() {
  if (fd_ >= 0) ::close(fd_);
  const sockaddr_storage& address = addresses_[address_index_];
  fd_ = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd_ < 0) {
    fail(TransportErrorKind::kIoFailed, "socket(): " + errno_text(errno));
    return;
  }
  // Market data is many small messages that must not wait for Nagle's coalescing (nor our pongs for it).
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!loop_.connect(fd_, reinterpret_cast<const sockaddr*>(&address), address_lengths_[address_index_],
                     config_.connect_timeout_ns, connect_op_)) {
    fail(TransportErrorKind::kIoFailed, "cannot queue connect: io_uring submission queue full");
    return;
  }
  connect_pending_ = true;
}

void TlsStream::on_connect(const Completion& completion) {
  connect_pending_ = false;
  if (destroying_) return;
  if (state_ != TransportState::kConnecting) {
    finish_if_drained();
    return;
  }
  if (completion.result < 0) {
    counters_.connect_failures.add();
    const int err = -completion.result;
    const std::string endpoint = config_.host + ":" + std::to_string(config_.port);
    TransportErrorKind kind = TransportErrorKind::kConnectFailed;
    std::string message;
    if (err == ECANCELED) {  // we cancel only from tear_down, which left kConnecting: this is the timeout
      kind = TransportErrorKind::kConnectTimeout;
      message = "connect to " + endpoint + " timed out after " + milliseconds(config_.connect_timeout_ns);
    } else if (err == ECONNREFUSED) {
      kind = TransportErrorKind::kConnectRefused;
      message = "connect to " + endpoint + " refused";
    } else {
      message = "connect to " + endpoint + " failed: " + errno_text(err);
    }
    if (++address_index_ < address_count_) {
      connect_next_address();
      return;
    }
    fail(kind, message);
    return;
  }
  counters_.connects.add();
  if (!arm_receive()) return;
  if (config_.plaintext) {
    become_open(completion.now_ns);
  } else {
    start_tls(completion.now_ns);
  }
  flush();
}

void TlsStream::start_tls(std::int64_t now_ns) {
  state_ = TransportState::kHandshaking;
  handshake_deadline_ns_ = now_ns + config_.handshake_timeout_ns;
  if (!tls_->start(config_.server_name)) {
    fail_tls();
    return;
  }
  queue_ciphertext();  // the ClientHello
}

void TlsStream::become_open(std::int64_t now_ns) {
  state_ = TransportState::kOpen;
  protocol_.on_transport_open(*this, now_ns);
  if (state_ != TransportState::kOpen) return;
  observer_.on_open(now_ns);
  if (state_ == TransportState::kOpen && protocol_.finished()) close();
}

// ---- receiving ----

bool TlsStream::arm_receive() {
  if (!loop_.receive(fd_, receive_op_)) {
    fail(TransportErrorKind::kIoFailed, "cannot queue receive: io_uring submission queue full");
    return false;
  }
  receive_armed_ = true;
  return true;
}

void TlsStream::on_receive(const Completion& completion) {
  if (!completion.more()) receive_armed_ = false;
  if (destroying_) return;
  if (state_ != TransportState::kHandshaking && state_ != TransportState::kOpen) {
    finish_if_drained();  // bytes arriving while we close are of no use to anyone
    return;
  }
  if (completion.result > 0) {
    counters_.bytes_in.add(static_cast<std::uint64_t>(completion.result));
    if (config_.plaintext) {
      counters_.plaintext_in.add(completion.data.size());
      deliver(completion.data, completion.now_ns);
    } else {
      receive_ciphertext(completion.data, completion.now_ns);
    }
  } else if (completion.result == 0) {
    end_of_stream();
  } else if (completion.result == -ECONNRESET) {
    fail(TransportErrorKind::kPeerClosed, "connection reset by peer");
  } else if (completion.result != -ENOBUFS) {
    fail(TransportErrorKind::kIoFailed, "receive failed: " + errno_text(-completion.result));
  }
  // The kernel ends a multishot receive when the buffer ring runs dry (-ENOBUFS) or at its own discretion;
  // the connection still wants data, so ask again.
  if ((state_ == TransportState::kHandshaking || state_ == TransportState::kOpen) && !receive_armed_) {
    counters_.receive_rearms.add();
    arm_receive();
  }
  flush();
}

void TlsStream::receive_ciphertext(std::string_view bytes, std::int64_t recv_ns) {
  tls_->push_ciphertext(bytes);
  if (state_ == TransportState::kHandshaking) {
    const TlsSession::Status status = tls_->handshake();
    if (!queue_ciphertext()) return;
    if (status == TlsSession::Status::kFailed) {
      fail_tls();
      return;
    }
    if (status != TlsSession::Status::kOpen) return;
    become_open(recv_ns);
    if (state_ != TransportState::kOpen) return;
  }
  while (const std::size_t n = tls_->read({plaintext_.get(), kPlaintextChunk})) {
    counters_.plaintext_in.add(n);
    deliver({plaintext_.get(), n}, recv_ns);
    if (state_ != TransportState::kOpen) return;
  }
  // Post-handshake messages (TLS 1.3 KeyUpdate) can make the session answer on its own.
  if (!queue_ciphertext()) return;
  if (tls_->status() == TlsSession::Status::kFailed) {
    fail_tls();
  } else if (tls_->status() == TlsSession::Status::kClosed) {
    fail(TransportErrorKind::kPeerClosed, "peer closed the TLS session (close_notify)");
  }
}

void TlsStream::deliver(std::string_view plaintext, std::int64_t recv_ns) {
  if (!protocol_.on_bytes(plaintext, recv_ns, *this)) {
    fail(TransportErrorKind::kProtocolFailed, protocol_.last_error());
    return;
  }
  if (protocol_.finished()) close();
}

void TlsStream::end_of_stream() {
  if (config_.plaintext) {
    fail(TransportErrorKind::kPeerClosed, "peer closed the connection");
    return;
  }
  tls_->push_end_of_stream();
  if (tls_->status() == TlsSession::Status::kFailed) {
    fail_tls();
  } else {
    fail(TransportErrorKind::kPeerClosed, "peer closed the connection after TLS close_notify");
  }
}

// ---- sending ----

void TlsStream::write(std::string_view bytes) {
  if (state_ != TransportState::kOpen) return;
  if (tls_ != nullptr) {
    if (!tls_->write(bytes)) {
      fail_tls();
      return;
    }
    if (!queue_ciphertext()) return;
  } else if (!queue_bytes(bytes)) {
    return;
  }
  flush();
}

bool TlsStream::queue_bytes(std::string_view bytes) {
  if (bytes.size() > config_.send_buffer_bytes - fill_len_) {
    fail(TransportErrorKind::kSendBufferFull,
         "send buffer full: " + std::to_string(fill_len_) + " bytes queued, " + std::to_string(bytes.size()) +
             " more do not fit in " + std::to_string(config_.send_buffer_bytes));
    return false;
  }
  std::memcpy(send_halves_[filling_half_].get() + fill_len_, bytes.data(), bytes.size());
  fill_len_ += bytes.size();
  return true;
}

bool TlsStream::queue_ciphertext() {
  if (tls_ == nullptr) return true;
  while (const std::size_t pending = tls_->pending_ciphertext()) {
    const std::size_t room = config_.send_buffer_bytes - fill_len_;
    if (room == 0) {
      fail(TransportErrorKind::kSendBufferFull, "send buffer full: " + std::to_string(pending) +
                                                    " bytes of TLS records do not fit in " +
                                                    std::to_string(config_.send_buffer_bytes));
      return false;
    }
    fill_len_ += tls_->take_ciphertext({send_halves_[filling_half_].get() + fill_len_, room});
  }
  return true;
}

void TlsStream::flush() {
  if (send_in_flight_ || fill_len_ == 0 || fd_ < 0 || cancel_requested_) return;
  wire_len_ = fill_len_;
  sent_ = 0;
  filling_half_ ^= 1;
  fill_len_ = 0;
  if (!loop_.send(fd_, send_halves_[filling_half_ ^ 1].get(), wire_len_, send_op_)) {
    fail(TransportErrorKind::kIoFailed, "cannot queue send: io_uring submission queue full");
    return;
  }
  send_in_flight_ = true;
}

void TlsStream::on_send(const Completion& completion) {
  send_in_flight_ = false;
  if (destroying_) return;
  if (cancel_requested_) {
    finish_if_drained();
    return;
  }
  if (completion.result < 0) {
    const int err = -completion.result;
    if (err == EPIPE || err == ECONNRESET) {
      fail(TransportErrorKind::kPeerClosed, "send failed: " + errno_text(err));
    } else {
      fail(TransportErrorKind::kIoFailed, "send failed: " + errno_text(err));
    }
    return;
  }
  counters_.bytes_out.add(static_cast<std::uint64_t>(completion.result));
  sent_ += static_cast<std::size_t>(completion.result);
  if (sent_ < wire_len_) {
    // A short send: the rest of this half goes before anything queued since, or the stream would reorder.
    counters_.short_sends.add();
    if (!loop_.send(fd_, send_halves_[filling_half_ ^ 1].get() + sent_, wire_len_ - sent_, send_op_)) {
      fail(TransportErrorKind::kIoFailed, "cannot queue send: io_uring submission queue full");
      return;
    }
    send_in_flight_ = true;
    return;
  }
  wire_len_ = sent_ = 0;
  flush();
  if (state_ == TransportState::kClosing && !send_in_flight_) tear_down();  // a graceful close has drained
}

// ---- timers ----

void TlsStream::on_tick(std::int64_t now_ns) {
  // Re-arm first, from the previous deadline so that ticks do not drift; a loop that fell behind skips the
  // ticks it missed instead of firing them back to back.
  std::int64_t next = tick_timer_.deadline_ns() + config_.tick_interval_ns;
  if (next <= now_ns) next = now_ns + config_.tick_interval_ns;
  tick_timer_.arm_at(next);

  switch (state_) {
    case TransportState::kHandshaking:
      if (now_ns >= handshake_deadline_ns_) {
        fail(TransportErrorKind::kHandshakeTimeout, "TLS handshake with " + config_.host + ":" +
                                                        std::to_string(config_.port) + " not done after " +
                                                        milliseconds(config_.handshake_timeout_ns));
      }
      break;
    case TransportState::kOpen:
      if (!protocol_.on_tick(now_ns, *this)) {
        fail(TransportErrorKind::kProtocolFailed, protocol_.last_error());
      } else if (protocol_.finished()) {
        close();
      }
      break;
    case TransportState::kClosing:
      if (!cancel_requested_ && now_ns >= close_deadline_ns_) tear_down();
      break;
    default:
      break;
  }
  flush();
}

void TlsStream::on_report(std::int64_t) {
  state_ = TransportState::kClosed;
  protocol_.on_transport_closed();
  observer_.on_closed(TransportError{error_kind_, error_message_});
}

// ---- closing ----

void TlsStream::close() {
  switch (state_) {
    case TransportState::kConnecting:
    case TransportState::kHandshaking:
      tear_down();
      break;
    case TransportState::kOpen:
      state_ = TransportState::kClosing;
      close_deadline_ns_ = engine::monotonic_ns() + config_.close_timeout_ns;
      if (tls_ != nullptr) {
        tls_->close_notify();
        if (!queue_ciphertext()) return;
      }
      flush();
      if (!send_in_flight_) tear_down();
      break;
    default:
      break;
  }
}

void TlsStream::fail(TransportErrorKind kind, std::string_view message) {
  if (state_ == TransportState::kIdle || state_ == TransportState::kClosed || cancel_requested_) return;
  if (error_kind_ == TransportErrorKind::kNone) {
    error_kind_ = kind;
    error_message_.assign(message);
    switch (kind) {
      case TransportErrorKind::kCertificateRejected:
      case TransportErrorKind::kTlsFailed:
      case TransportErrorKind::kHandshakeTimeout:
        counters_.tls_errors.add();
        break;
      case TransportErrorKind::kProtocolFailed:
        counters_.protocol_errors.add();
        break;
      case TransportErrorKind::kPeerClosed:
        counters_.peer_closes.add();
        break;
      default:
        break;
    }
  }
  tear_down();
}

void TlsStream::fail_tls() {
  // Let the alert OpenSSL queued (unknown CA, bad certificate...) reach the peer if the send wins the race
  // with the cancellation: it tells the server's operator why we left.
  if (queue_ciphertext()) flush();
  switch (tls_->failure()) {
    case TlsSession::Failure::kCertificate:
      fail(TransportErrorKind::kCertificateRejected, tls_->error());
      break;
    case TlsSession::Failure::kUnexpectedEof:
      fail(TransportErrorKind::kPeerClosed, tls_->error());
      break;
    default:
      fail(TransportErrorKind::kTlsFailed, tls_->error());
      break;
  }
}

void TlsStream::tear_down() {
  state_ = TransportState::kClosing;
  if (!cancel_requested_) {
    cancel_requested_ = true;
    if (fd_ >= 0 && operations_in_flight() > 0 && !loop_.cancel_all(fd_)) {
      // No submission slot for the cancel: shutting the socket down completes the receive and send anyway.
      ::shutdown(fd_, SHUT_RDWR);
    }
  }
  finish_if_drained();
}

void TlsStream::finish_if_drained() {
  if (state_ != TransportState::kClosing || !cancel_requested_ || operations_in_flight() > 0) return;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  tick_timer_.cancel();
  if (!destroying_) report_timer_.arm_at(engine::monotonic_ns());
}

std::size_t TlsStream::operations_in_flight() const noexcept {
  return std::size_t{connect_pending_} + std::size_t{receive_armed_} + std::size_t{send_in_flight_};
}

}  // namespace sigflow::io
