#include "io/tls_session.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <climits>
#include <string>

namespace sigflow::io {
namespace {

// OpenSSL keeps errors in a per-thread queue; the oldest entry names the root cause.
std::string openssl_errors() {
  std::string out;
  char line[256];
  while (const unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, line, sizeof line);
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

bool is_ip_literal(const std::string& name) {
  unsigned char addr[16];
  return inet_pton(AF_INET, name.c_str(), addr) == 1 || inet_pton(AF_INET6, name.c_str(), addr) == 1;
}

// Adds every certificate in `pem` to the store; returns how many, or -1 with `error` set.
int add_pem_certificates(X509_STORE* store, std::string_view pem, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    error = "ca_pem: " + openssl_errors();
    return -1;
  }
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    const int ok = X509_STORE_add_cert(store, cert);
    X509_free(cert);
    if (ok != 1) {
      error = "ca_pem: cannot add certificate: " + openssl_errors();
      BIO_free(bio);
      return -1;
    }
    ++added;
  }
  // Reading stops with a "no start line" error at the end of the text; that one is expected.
  ERR_clear_error();
  BIO_free(bio);
  return added;
}

}  // namespace

// ---- TlsContext ----

std::unique_ptr<TlsContext> TlsContext::create(const TlsOptions& options, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = "cannot create TLS context: " + openssl_errors();
    return nullptr;
  }
  std::unique_ptr<TlsContext> context(new TlsContext(ctx));

  // Every venue and inference endpoint speaks TLS 1.2 or 1.3; older versions only widen the attack surface.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // A market-data client has no use for renegotiation, and refusing it removes a whole class of attacks.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);

  bool has_trust = false;
  if (options.trust_system_store) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      error = "cannot load the system CA store: " + openssl_errors();
      return nullptr;
    }
    has_trust = true;
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      error = "cannot load ca_file '" + options.ca_file + "': " + openssl_errors();
      return nullptr;
    }
    has_trust = true;
  }
  if (!options.ca_pem.empty()) {
    const int added = add_pem_certificates(SSL_CTX_get_cert_store(ctx), options.ca_pem, error);
    if (added < 0) return nullptr;
    if (added == 0) {
      error = "ca_pem holds no PEM certificate";
      return nullptr;
    }
    has_trust = true;
  }
  if (!has_trust) {
    error = "no trusted CA: enable the system store or give ca_file / ca_pem";
    return nullptr;
  }
  return context;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

// ---- TlsSession ----

TlsSession::TlsSession(const TlsContext& context) : context_(context) {
  error_.reserve(256);
  server_name_.reserve(64);
}

TlsSession::~TlsSession() {
  reset();
}

void TlsSession::reset() noexcept {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees both BIOs, which SSL_set_bio handed over
  ssl_ = nullptr;
  network_in_ = network_out_ = nullptr;
  status_ = Status::kIdle;
  failure_ = Failure::kNone;
  error_.clear();
}

bool TlsSession::start(std::string_view server_name) {
  reset();
  ERR_clear_error();
  server_name_.assign(server_name);
  if (server_name_.empty()) {
    fail(Failure::kHandshake, "TLS server name is empty: there is nothing to verify the certificate against");
    return false;
  }
  ssl_ = SSL_new(context_.native());
  network_in_ = BIO_new(BIO_s_mem());
  network_out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || network_in_ == nullptr || network_out_ == nullptr) {
    if (ssl_ == nullptr) {
      BIO_free(network_in_);
      BIO_free(network_out_);
      network_in_ = network_out_ = nullptr;
    } else {
      SSL_set_bio(ssl_, network_in_, network_out_);
    }
    fail(Failure::kHandshake, "cannot create TLS session: " + openssl_errors());
    return false;
  }
  SSL_set_bio(ssl_, network_in_, network_out_);
  SSL_set_connect_state(ssl_);
  reserve_input();

  if (is_ip_literal(server_name_)) {
    // RFC 6066 forbids IP literals in SNI; the certificate must list the address as an IP SAN instead.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name_.c_str()) != 1) {
      fail(Failure::kHandshake, "cannot set the IP address to verify: " + openssl_errors());
      return false;
    }
  } else {
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl_, server_name_.c_str()) != 1 ||
        SSL_set1_host(ssl_, server_name_.c_str()) != 1) {
      fail(Failure::kHandshake, "cannot set the TLS server name '" + server_name_ + "': " + openssl_errors());
      return false;
    }
  }
  status_ = Status::kHandshaking;
  handshake();  // queues the ClientHello
  return status_ != Status::kFailed;
}

void TlsSession::reserve_input() {
  // A memory BIO grows to hold whatever it is given and never shrinks. Grown once here past the largest push
  // (one receive plus the partial record left from the last), it takes every later push without a realloc.
  static const std::array<char, kInputReserveBytes> kZeros{};
  BIO_write(network_in_, kZeros.data(), static_cast<int>(kZeros.size()));
  BIO_reset(network_in_);  // empties the BIO and keeps its buffer
}

void TlsSession::push_ciphertext(std::string_view bytes) {
  if (network_in_ == nullptr || bytes.empty()) return;
  // Every record is read out after each push (see read()), so what the BIO holds stays within the reserve.
  BIO_write(network_in_, bytes.data(), static_cast<int>(bytes.size()));
}

void TlsSession::push_end_of_stream() {
  if (status_ != Status::kHandshaking && status_ != Status::kOpen) return;
  // Bytes still buffered at end of stream are the start of a record whose end never came.
  const bool partial_record = BIO_ctrl_pending(network_in_) > 0 || SSL_has_pending(ssl_) == 1;
  if (partial_record) {
    fail(Failure::kTruncated, "peer closed the connection in the middle of a TLS record (truncated record)");
  } else if (status_ == Status::kHandshaking) {
    fail(Failure::kHandshake,
         "peer closed the connection during the TLS handshake with '" + server_name_ + "'");
  } else {
    fail(Failure::kUnexpectedEof, "peer closed the connection without a TLS close_notify");
  }
}

TlsSession::Status TlsSession::handshake() {
  if (status_ != Status::kHandshaking) return status_;
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    status_ = Status::kOpen;
    return status_;
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return status_;
  fail_from_ssl(rc, "handshake");
  return status_;
}

std::size_t TlsSession::read(std::span<char> out) {
  if (status_ != Status::kOpen || out.empty()) return 0;
  ERR_clear_error();
  const int n = SSL_read(ssl_, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX)));
  if (n > 0) return static_cast<std::size_t>(n);
  const int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
  if (err == SSL_ERROR_ZERO_RETURN) {
    status_ = Status::kClosed;
    return 0;
  }
  fail_from_ssl(n, "read");
  return 0;
}

bool TlsSession::write(std::string_view plaintext) {
  if (status_ != Status::kOpen) return false;
  if (plaintext.empty()) return true;
  ERR_clear_error();
  // A memory BIO never pushes back, so SSL_write takes everything it is given in one call.
  const int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
  if (n == static_cast<int>(plaintext.size())) return true;
  fail_from_ssl(n, "write");
  return false;
}

void TlsSession::close_notify() {
  if (status_ != Status::kOpen && status_ != Status::kClosed) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: our alert is queued and the peer's is not in yet, which is all we need
  ERR_clear_error();
}

std::size_t TlsSession::pending_ciphertext() const noexcept {
  return network_out_ == nullptr ? 0 : BIO_ctrl_pending(network_out_);
}

std::size_t TlsSession::take_ciphertext(std::span<char> out) {
  if (network_out_ == nullptr || out.empty()) return 0;
  const int n =
      BIO_read(network_out_, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX)));
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void TlsSession::fail_from_ssl(int ssl_result, const char* during) {
  const int err = SSL_get_error(ssl_, ssl_result);
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    fail(Failure::kCertificate, "TLS certificate verification failed for '" + server_name_ +
                                    "': " + X509_verify_cert_error_string(verify) + " (X509 error " +
                                    std::to_string(verify) + ")");
    return;
  }
  std::string detail = openssl_errors();
  if (detail.empty()) detail = "SSL_get_error " + std::to_string(err);
  const Failure failure = status_ == Status::kHandshaking ? Failure::kHandshake : Failure::kProtocol;
  fail(failure, std::string("TLS ") + during + " with '" + server_name_ + "' failed: " + detail);
}

void TlsSession::fail(Failure failure, std::string message) {
  status_ = Status::kFailed;
  failure_ = failure;
  error_ = std::move(message);
}

std::string_view to_string(TlsSession::Failure failure) noexcept {
  switch (failure) {
    case TlsSession::Failure::kNone:
      return "none";
    case TlsSession::Failure::kCertificate:
      return "certificate";
    case TlsSession::Failure::kHandshake:
      return "handshake";
    case TlsSession::Failure::kTruncated:
      return "truncated";
    case TlsSession::Failure::kUnexpectedEof:
      return "unexpected_eof";
    case TlsSession::Failure::kProtocol:
      return "protocol";
  }
  return "unknown";
}

}  // namespace sigflow::io
