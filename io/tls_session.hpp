#pragma once
// TlsSession: a TLS client that never touches a socket. Ciphertext from the network goes in through
// push_ciphertext, plaintext comes out of read; plaintext goes in through write and ciphertext comes out of
// take_ciphertext. OpenSSL sees only memory BIOs, so the transport (an io_uring loop) decides when bytes move
// and the session can be driven byte by byte in tests.
//
// Verification is never optional: the peer's chain must lead to a trusted root (the system store, plus an
// optional CA file or PEM from config) and the leaf must name the server (DNS name, or IP address for an
// IP literal). A failure says which check failed, with OpenSSL's own reason.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace sigflow::io {

struct TlsOptions {
  bool trust_system_store = true;  // the distribution's CA bundle (SSL_CTX_set_default_verify_paths)
  std::string ca_file;             // extra trusted CAs, PEM file (config `ca_file`)
  std::string ca_pem;              // extra trusted CAs, PEM text (in-process simulators and tests)
};

// The shared part of every session: trust store and protocol limits. Read-only once made, so one context
// may serve all sessions of a thread.
class TlsContext {
 public:
  // Returns nullptr and sets `error` when a CA source cannot be loaded.
  static std::unique_ptr<TlsContext> create(const TlsOptions& options, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const noexcept { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) noexcept : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

class TlsSession {
 public:
  // What the ciphertext input holds at most without growing: two receive buffers (16 KiB each) plus a partial
  // TLS record (≤ 16 KiB + 256) left over from the last push, with room to spare.
  static constexpr std::size_t kInputReserveBytes = 64 * 1024;

  enum class Status {
    kIdle,         // start() not called yet
    kHandshaking,  // more bytes must move before application data can
    kOpen,         // application data flows
    kClosed,       // the peer sent close_notify: a clean end
    kFailed,       // error() says why; the session must be restarted
  };
  enum class Failure {
    kNone,
    kCertificate,    // chain or name verification failed
    kHandshake,      // the handshake failed for another reason (protocol version, alert from the peer)
    kTruncated,      // the connection ended inside a TLS record
    kUnexpectedEof,  // the connection ended without close_notify
    kProtocol,       // a bad record or alert after the handshake
  };

  explicit TlsSession(const TlsContext& context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Begins a new client connection to server_name, dropping any previous one, and queues the ClientHello.
  // server_name is sent as SNI when it is a DNS name and is what the certificate must name.
  bool start(std::string_view server_name);

  // Ciphertext received from the peer. Copies into the session (a memory BIO), so the caller's buffer may be
  // reused at once.
  void push_ciphertext(std::string_view bytes);
  // The transport saw end of stream: decides between a clean close, a truncated record and a missing
  // close_notify, and sets the status accordingly.
  void push_end_of_stream();

  // Advances the handshake with what has been pushed so far; returns the resulting status.
  Status handshake();

  // Decrypts into out. Returns the plaintext size; 0 means no complete record is buffered (status() stays
  // open) or the session ended (status() says how).
  std::size_t read(std::span<char> out);

  // Encrypts plaintext; the records wait in take_ciphertext. Returns false when the session is not open.
  bool write(std::string_view plaintext);
  // Queues a close_notify alert.
  void close_notify();

  std::size_t pending_ciphertext() const noexcept;
  // Moves up to out.size() bytes of pending ciphertext into out; returns how many.
  std::size_t take_ciphertext(std::span<char> out);

  Status status() const noexcept { return status_; }
  Failure failure() const noexcept { return failure_; }
  std::string_view error() const noexcept { return error_; }

 private:
  void reset() noexcept;
  void reserve_input();
  void fail_from_ssl(int ssl_result, const char* during);
  void fail(Failure failure, std::string message);

  const TlsContext& context_;
  ssl_st* ssl_ = nullptr;
  bio_st* network_in_ = nullptr;   // ciphertext we received; OpenSSL reads it
  bio_st* network_out_ = nullptr;  // ciphertext OpenSSL wrote; we send it
  std::string server_name_;
  std::string error_;
  Status status_ = Status::kIdle;
  Failure failure_ = Failure::kNone;
};

std::string_view to_string(TlsSession::Failure failure) noexcept;

}  // namespace sigflow::io
