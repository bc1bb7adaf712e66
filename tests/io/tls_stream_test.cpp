#include "io/tls_stream.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io/loopback_certs.hpp"

namespace sigflow::io {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kBound = 60'000 * kMs;  // every wait is bounded; no test asserts on elapsed time

// ---- the peer: a blocking OpenSSL server on 127.0.0.1, one thread, one scripted behaviour per connection
// ----

enum class Peer {
  kEcho,            // TLS handshake, then echo every byte until the client closes
  kPlainEcho,       // no TLS: echo raw bytes
  kTruncateRecord,  // TLS handshake, then half of one record, then close
  kSilent,          // accept TCP and never say a word
  kCloseNotify,     // TLS handshake, "bye", close_notify, close
  kNotTls,          // read the ClientHello, answer like a plaintext HTTP server, wait for the client to go
};

class LoopbackPeer {
 public:
  LoopbackPeer(const LoopbackCertificates& certs, std::vector<Peer> script) : script_(std::move(script)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_num_tickets(ctx_, 0);  // no session tickets: the truncation test wants one record on the wire
    BIO* cert_bio = BIO_new_mem_buf(certs.cert_pem.data(), static_cast<int>(certs.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO* key_bio = BIO_new_mem_buf(certs.key_pem.data(), static_cast<int>(certs.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx_, cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_, key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);

    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 8), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~LoopbackPeer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
    SSL_CTX_free(ctx_);
  }

  std::uint16_t port() const { return port_; }
  std::string server_names() {
    std::lock_guard lock(mutex_);
    return server_names_;
  }

 private:
  void serve() {
    for (const Peer peer : script_) {
      const int fd = accept_one();
      if (fd < 0) return;
      timeval timeout{5, 0};  // a stuck test fails instead of hanging
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      switch (peer) {
        case Peer::kPlainEcho:
          plain_echo(fd);
          break;
        case Peer::kSilent:
          drain(fd);
          break;
        case Peer::kNotTls:
          not_tls(fd);
          break;
        default:
          tls(fd, peer);
          break;
      }
      ::close(fd);
    }
  }

  int accept_one() {
    for (int waited_ms = 0; !stop_ && waited_ms < 10'000; waited_ms += 50) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) == 1) return ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    return -1;
  }

  static void plain_echo(int fd) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0 || !send_all(fd, buf, static_cast<std::size_t>(n))) return;
    }
  }

  void drain(int fd) {
    char buf[4096];
    while (!stop_ && ::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  }

  void not_tls(int fd) {
    char hello[4096];
    if (::recv(fd, hello, sizeof hello, 0) <= 0) return;
    const std::string_view answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    send_all(fd, answer.data(), answer.size());
    drain(fd);
  }

  static bool send_all(int fd, const char* data, std::size_t len) {
    while (len > 0) {
      const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
      if (n <= 0) return false;
      data += n;
      len -= static_cast<std::size_t>(n);
    }
    return true;
  }

  void tls(int fd, Peer peer) {
    SSL* ssl = SSL_new(ctx_);
    // Separate read and write BIOs, so that the write side can be swapped for a memory BIO below.
    SSL_set_bio(ssl, BIO_new_socket(fd, BIO_NOCLOSE), BIO_new_socket(fd, BIO_NOCLOSE));
    if (SSL_accept(ssl) == 1) {
      if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
        std::lock_guard lock(mutex_);
        server_names_ += name;
        server_names_ += ';';
      }
      switch (peer) {
        case Peer::kEcho: {
          char buf[16384];
          int n;
          while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) {
            if (SSL_write(ssl, buf, n) != n) break;
          }
          if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) SSL_shutdown(ssl);
          break;
        }
        case Peer::kTruncateRecord: {
          BIO* capture = BIO_new(BIO_s_mem());
          SSL_set0_wbio(ssl, capture);
          const std::string plaintext(1000, 'x');
          SSL_write(ssl, plaintext.data(), static_cast<int>(plaintext.size()));
          char record[4096];
          const int len = BIO_read(capture, record, sizeof record);
          send_all(fd, record, static_cast<std::size_t>(len / 2));
          break;
        }
        case Peer::kCloseNotify:
          SSL_write(ssl, "bye", 3);
          SSL_shutdown(ssl);
          break;
        default:
          break;
      }
    }
    ERR_clear_error();
    SSL_free(ssl);
  }

  std::vector<Peer> script_;
  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string server_names_;
  std::thread thread_;
};

// ---- the client side: an echo protocol and an observer that records what happened ----

struct EchoProtocol final : StreamProtocol {
  void on_transport_open(ByteSink& out, std::int64_t) override {
    ++opens;
    if (!greeting.empty()) out.write(greeting);
  }
  bool on_bytes(std::string_view in, std::int64_t recv_ns, ByteSink&) override {
    EXPECT_GT(recv_ns, 0);
    received.append(in);
    ++chunks;
    if (refuse_bytes) error = "echo protocol refuses all bytes";
    return !refuse_bytes;
  }
  bool on_tick(std::int64_t, ByteSink&) override {
    ++ticks;
    return true;
  }
  void on_transport_closed() override { ++closes; }
  bool finished() const override { return false; }
  std::string_view last_error() const override { return error; }

  std::string greeting;
  std::string received;
  bool refuse_bytes = false;
  std::string error;
  int opens = 0, chunks = 0, ticks = 0, closes = 0;
};

struct Outcome final : TransportObserver {
  void on_open(std::int64_t) override { ++opens; }
  void on_closed(const TransportError& error) override {
    kinds.push_back(error.kind);
    messages.emplace_back(error.message);
  }
  int opens = 0;
  std::vector<TransportErrorKind> kinds;
  std::vector<std::string> messages;
};

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  std::uint32_t x = 12345;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new LoopbackCertificates(make_loopback_certificates()); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  // Trusts the loopback CA and nothing else.
  std::unique_ptr<TlsContext> trusting_context() {
    TlsOptions options;
    options.trust_system_store = false;
    options.ca_pem = certs_->ca_pem;
    std::string error;
    auto context = TlsContext::create(options, error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  static TlsStreamConfig config_for(std::uint16_t port, std::string server_name = "") {
    TlsStreamConfig config;
    config.host = "127.0.0.1";
    config.port = port;
    config.server_name = std::move(server_name);
    return config;
  }

  // Runs the echo exchange on a fresh stream and closes it cleanly: the proof that the loop still works.
  void expect_working_connection(const TlsContext& context, std::uint16_t port) {
    EchoProtocol protocol;
    protocol.greeting = "still alive";
    Outcome outcome;
    TlsStream stream(loop_, &context, config_for(port), protocol, outcome);
    ASSERT_TRUE(stream.open());
    ASSERT_TRUE(
        loop_.run_until([&] { return protocol.received.size() >= 11 || !outcome.kinds.empty(); }, kBound));
    EXPECT_EQ(protocol.received, "still alive");
    stream.close();
    ASSERT_TRUE(loop_.run_until([&] { return !outcome.kinds.empty(); }, kBound));
    EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kNone) << outcome.messages.front();
  }

  bool run_until_closed(const Outcome& outcome, std::size_t count = 1) {
    return loop_.run_until([&] { return outcome.kinds.size() >= count; }, kBound);
  }

  static LoopbackCertificates* certs_;
  EventLoop loop_;
};

LoopbackCertificates* TlsStreamTest::certs_ = nullptr;

TEST_F(TlsStreamTest, EchoesALargePayloadBothWaysAndClosesCleanly) {
  LoopbackPeer peer(*certs_, {Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  protocol.greeting = pattern(1 << 20);  // 64+ TLS records and receive buffers each way
  Outcome outcome;
  TlsStreamConfig config = config_for(peer.port());
  config.send_buffer_bytes = 2 << 20;
  TlsStream stream(loop_, context.get(), config, protocol, outcome);
  EXPECT_EQ(stream.state(), TransportState::kIdle);
  ASSERT_TRUE(stream.open());
  EXPECT_FALSE(stream.open());  // already connecting

  ASSERT_TRUE(loop_.run_until(
      [&] { return protocol.received.size() >= protocol.greeting.size() || !outcome.kinds.empty(); },
      kBound));
  EXPECT_TRUE(outcome.kinds.empty()) << outcome.messages.front();
  EXPECT_EQ(stream.state(), TransportState::kOpen);
  EXPECT_EQ(outcome.opens, 1);
  ASSERT_EQ(protocol.received.size(), protocol.greeting.size());
  EXPECT_TRUE(protocol.received == protocol.greeting);
  EXPECT_GE(protocol.chunks, 64);
  EXPECT_GE(stream.counters().bytes_in.load(), protocol.greeting.size());
  EXPECT_GE(stream.counters().bytes_out.load(), protocol.greeting.size());
  EXPECT_EQ(stream.counters().plaintext_in.load(), protocol.greeting.size());

  // A second message after the first: writes outside a callback go out too.
  stream.write("and one more");
  ASSERT_TRUE(
      loop_.run_until([&] { return protocol.received.size() >= protocol.greeting.size() + 12; }, kBound));
  EXPECT_EQ(protocol.received.substr(protocol.greeting.size()), "and one more");

  stream.close();
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kNone) << outcome.messages.front();
  EXPECT_EQ(stream.state(), TransportState::kClosed);
  EXPECT_EQ(protocol.closes, 1);
  EXPECT_EQ(stream.counters().tls_errors.load(), 0u);
  EXPECT_EQ(loop_.operations_in_flight(), 0u);
}

TEST_F(TlsStreamTest, VerifiesADnsNameAndSendsItAsSni) {
  LoopbackPeer peer(*certs_, {Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  protocol.greeting = "ping";
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(peer.port(), "localhost"), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(
      loop_.run_until([&] { return protocol.received.size() >= 4 || !outcome.kinds.empty(); }, kBound));
  EXPECT_EQ(protocol.received, "ping");
  EXPECT_EQ(peer.server_names(), "localhost;");
  stream.close();
  ASSERT_TRUE(run_until_closed(outcome));
}

TEST_F(TlsStreamTest, PlaintextModeEchoesThroughShortSends) {
  LoopbackPeer peer(*certs_, {Peer::kPlainEcho});
  EchoProtocol protocol;
  // More than loopback's socket buffers hold at once, so the kernel takes the send in parts and the stream
  // must resubmit the rest in order.
  protocol.greeting = pattern(32 << 20);
  Outcome outcome;
  TlsStreamConfig config = config_for(peer.port());
  config.plaintext = true;
  config.send_buffer_bytes = 32 << 20;
  TlsStream stream(loop_, nullptr, config, protocol, outcome);
  ASSERT_TRUE(stream.open());
  // 32 MiB out and back through loopback and an echo thread: ~1.5 s here, several times that on a crowded
  // 2-core CI machine under ASan, so this hang guard is wider than the others.
  ASSERT_TRUE(loop_.run_until(
      [&] { return protocol.received.size() >= protocol.greeting.size() || !outcome.kinds.empty(); },
      6 * kBound));
  EXPECT_TRUE(protocol.received == protocol.greeting);
  EXPECT_GT(stream.counters().short_sends.load(), 0u);
  EXPECT_EQ(stream.counters().bytes_out.load(), protocol.greeting.size());
  stream.close();
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kNone);
}

TEST_F(TlsStreamTest, RejectsACertificateFromAnUntrustedCa) {
  LoopbackPeer peer(*certs_, {Peer::kEcho, Peer::kEcho});
  TlsOptions system_only;  // the system store does not know the loopback CA
  std::string error;
  auto untrusting = TlsContext::create(system_only, error);
  ASSERT_NE(untrusting, nullptr) << error;
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream stream(loop_, untrusting.get(), config_for(peer.port()), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kCertificateRejected);
  EXPECT_NE(outcome.messages.front().find("certificate verification failed for '127.0.0.1'"),
            std::string::npos)
      << outcome.messages.front();
  EXPECT_NE(outcome.messages.front().find("unable to get local issuer certificate"), std::string::npos)
      << outcome.messages.front();
  EXPECT_EQ(protocol.opens, 0);
  EXPECT_EQ(outcome.opens, 0);
  EXPECT_EQ(stream.counters().tls_errors.load(), 1u);
  EXPECT_EQ(stream.last_error_kind(), TransportErrorKind::kCertificateRejected);

  auto trusting = trusting_context();
  expect_working_connection(*trusting, peer.port());
}

TEST_F(TlsStreamTest, RejectsAHostNameTheCertificateDoesNotCarry) {
  LoopbackPeer peer(*certs_, {Peer::kEcho, Peer::kEcho, Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream by_name(loop_, context.get(), config_for(peer.port(), "fstream.binance.com"), protocol, outcome);
  ASSERT_TRUE(by_name.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.back(), TransportErrorKind::kCertificateRejected);
  EXPECT_NE(outcome.messages.back().find("hostname mismatch"), std::string::npos) << outcome.messages.back();

  TlsStream by_address(loop_, context.get(), config_for(peer.port(), "127.0.0.2"), protocol, outcome);
  ASSERT_TRUE(by_address.open());
  ASSERT_TRUE(run_until_closed(outcome, 2));
  EXPECT_EQ(outcome.kinds.back(), TransportErrorKind::kCertificateRejected);
  EXPECT_NE(outcome.messages.back().find("IP address mismatch"), std::string::npos)
      << outcome.messages.back();

  expect_working_connection(*context, peer.port());
}

TEST_F(TlsStreamTest, ATruncatedRecordIsAClearErrorAndTheStreamReconnects) {
  LoopbackPeer peer(*certs_, {Peer::kTruncateRecord, Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kTlsFailed);
  EXPECT_NE(outcome.messages.front().find("truncated record"), std::string::npos) << outcome.messages.front();
  EXPECT_TRUE(protocol.received.empty());
  EXPECT_EQ(protocol.closes, 1);
  EXPECT_EQ(stream.counters().tls_errors.load(), 1u);

  // The same stream object connects again, as a feed connection does after its backoff.
  protocol.greeting = "again";
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(
      loop_.run_until([&] { return protocol.received.size() >= 5 || outcome.kinds.size() > 1; }, kBound));
  EXPECT_EQ(protocol.received, "again");
  EXPECT_EQ(stream.last_error_kind(), TransportErrorKind::kNone);
  stream.close();
  ASSERT_TRUE(run_until_closed(outcome, 2));
  EXPECT_EQ(outcome.kinds.back(), TransportErrorKind::kNone);
}

TEST_F(TlsStreamTest, APeerThatDoesNotSpeakTlsFailsTheHandshakeClearly) {
  LoopbackPeer peer(*certs_, {Peer::kNotTls, Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kTlsFailed) << outcome.messages.front();
  EXPECT_NE(outcome.messages.front().find("TLS handshake with '127.0.0.1' failed: error:"), std::string::npos)
      << outcome.messages.front();
  EXPECT_EQ(stream.counters().tls_errors.load(), 1u);
  EXPECT_EQ(protocol.opens, 0);
  expect_working_connection(*context, peer.port());
}

TEST_F(TlsStreamTest, APeerCloseNotifyEndsTheStreamAfterItsData) {
  LoopbackPeer peer(*certs_, {Peer::kCloseNotify});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(protocol.received, "bye");
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kPeerClosed);
  EXPECT_NE(outcome.messages.front().find("close_notify"), std::string::npos) << outcome.messages.front();
  EXPECT_EQ(stream.counters().peer_closes.load(), 1u);
}

TEST_F(TlsStreamTest, ARefusedConnectionIsReportedAndCounted) {
  const int bound = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(bound, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);  // bound, never listening
  socklen_t len = sizeof addr;
  getsockname(bound, reinterpret_cast<sockaddr*>(&addr), &len);

  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(ntohs(addr.sin_port)), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kConnectRefused);
  EXPECT_NE(outcome.messages.front().find("refused"), std::string::npos) << outcome.messages.front();
  EXPECT_EQ(stream.counters().connect_failures.load(), 1u);
  EXPECT_EQ(protocol.closes, 1);
  ::close(bound);

  LoopbackPeer peer(*certs_, {Peer::kEcho});
  expect_working_connection(*context, peer.port());
}

TEST_F(TlsStreamTest, AConnectThatNeverCompletesTimesOut) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  // Fill the never-accepted queue until a connect hangs: later SYNs are dropped.
  std::vector<int> fillers;
  for (int i = 0; i < 16; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    fillers.push_back(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) continue;
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 200) == 0) break;
  }

  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStreamConfig config = config_for(ntohs(addr.sin_port));
  config.connect_timeout_ns = 100 * kMs;
  TlsStream stream(loop_, context.get(), config, protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kConnectTimeout) << outcome.messages.front();
  EXPECT_NE(outcome.messages.front().find("timed out after 100 ms"), std::string::npos)
      << outcome.messages.front();
  for (const int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_F(TlsStreamTest, APeerThatNeverAnswersTheHandshakeTimesOut) {
  LoopbackPeer peer(*certs_, {Peer::kSilent, Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStreamConfig config = config_for(peer.port());
  config.handshake_timeout_ns = 200 * kMs;
  config.tick_interval_ns = 20 * kMs;
  TlsStream stream(loop_, context.get(), config, protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kHandshakeTimeout) << outcome.messages.front();
  EXPECT_NE(outcome.messages.front().find("not done after 200 ms"), std::string::npos);
  expect_working_connection(*context, peer.port());
}

TEST_F(TlsStreamTest, AProtocolErrorClosesWithTheProtocolsMessage) {
  LoopbackPeer peer(*certs_, {Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  protocol.greeting = "hello";
  protocol.refuse_bytes = true;
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kProtocolFailed);
  EXPECT_EQ(outcome.messages.front(), "echo protocol refuses all bytes");
  EXPECT_EQ(stream.counters().protocol_errors.load(), 1u);
}

TEST_F(TlsStreamTest, WritingMoreThanTheSendBufferHoldsFailsTheConnection) {
  LoopbackPeer peer(*certs_, {Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  protocol.greeting = pattern(64 * 1024);
  Outcome outcome;
  TlsStreamConfig config = config_for(peer.port());
  config.send_buffer_bytes = 8 * 1024;
  TlsStream stream(loop_, context.get(), config, protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kSendBufferFull);
  EXPECT_NE(outcome.messages.front().find("send buffer full"), std::string::npos) << outcome.messages.front();
}

TEST_F(TlsStreamTest, TicksReachTheProtocolWhileOpen) {
  LoopbackPeer peer(*certs_, {Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStreamConfig config = config_for(peer.port());
  config.tick_interval_ns = 5 * kMs;
  TlsStream stream(loop_, context.get(), config, protocol, outcome);
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(loop_.run_until([&] { return protocol.ticks >= 3 || !outcome.kinds.empty(); }, kBound));
  EXPECT_GE(protocol.ticks, 3);
  stream.close();
  ASSERT_TRUE(run_until_closed(outcome));
}

TEST_F(TlsStreamTest, DestroyingAnOpenStreamLeavesNothingInFlight) {
  LoopbackPeer peer(*certs_, {Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  {
    TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, outcome);
    ASSERT_TRUE(stream.open());
    ASSERT_TRUE(loop_.run_until([&] { return outcome.opens == 1 || !outcome.kinds.empty(); }, kBound));
    EXPECT_GT(loop_.operations_in_flight(), 0u);
  }
  EXPECT_EQ(loop_.operations_in_flight(), 0u);
  EXPECT_TRUE(outcome.kinds.empty());  // no callbacks from a stream being destroyed
  loop_.run_once(0);
}

TEST_F(TlsStreamTest, ConcurrentStreamsShareOneLoopAndItsBufferRing) {
  constexpr int kStreams = 4;
  auto context = trusting_context();
  std::vector<std::unique_ptr<LoopbackPeer>> peers;
  std::vector<std::unique_ptr<EchoProtocol>> protocols;
  std::vector<std::unique_ptr<Outcome>> outcomes;
  std::vector<std::unique_ptr<TlsStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    peers.push_back(std::make_unique<LoopbackPeer>(*certs_, std::vector<Peer>{Peer::kEcho}));
    protocols.push_back(std::make_unique<EchoProtocol>());
    protocols.back()->greeting = pattern(256 * 1024 + static_cast<std::size_t>(i));
    outcomes.push_back(std::make_unique<Outcome>());
    TlsStreamConfig config = config_for(peers.back()->port());
    config.send_buffer_bytes = 1 << 20;
    streams.push_back(
        std::make_unique<TlsStream>(loop_, context.get(), config, *protocols.back(), *outcomes.back()));
    ASSERT_TRUE(streams.back()->open());
  }
  ASSERT_TRUE(loop_.run_until(
      [&] {
        for (int i = 0; i < kStreams; ++i)
          if (protocols[i]->received.size() < protocols[i]->greeting.size() && outcomes[i]->kinds.empty())
            return false;
        return true;
      },
      kBound));
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_TRUE(outcomes[i]->kinds.empty()) << outcomes[i]->messages.front();
    EXPECT_TRUE(protocols[i]->received == protocols[i]->greeting) << "stream " << i;
    streams[i]->close();
  }
  ASSERT_TRUE(loop_.run_until(
      [&] {
        for (const auto& outcome : outcomes)
          if (outcome->kinds.empty()) return false;
        return true;
      },
      kBound));
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome->kinds.front(), TransportErrorKind::kNone);
}

TEST_F(TlsStreamTest, TheObserverMayReopenFromOnClosed) {
  LoopbackPeer peer(*certs_, {Peer::kTruncateRecord, Peer::kEcho});
  auto context = trusting_context();
  EchoProtocol protocol;
  struct Reopener final : TransportObserver {
    void on_open(std::int64_t) override { ++opens; }
    void on_closed(const TransportError& error) override {
      kinds.push_back(error.kind);
      if (kinds.size() > 1) return;
      // Only the second connection speaks: the truncating peer never reads, and unread bytes would make
      // its close a reset instead of the truncated record under test.
      protocol->greeting = "second time lucky";
      reopened = stream->open();
    }
    TlsStream* stream = nullptr;
    EchoProtocol* protocol = nullptr;
    std::vector<TransportErrorKind> kinds;
    int opens = 0;
    bool reopened = false;
  } reopener;
  TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, reopener);
  reopener.stream = &stream;
  reopener.protocol = &protocol;
  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(
      loop_.run_until([&] { return protocol.received.size() >= 17 || reopener.kinds.size() > 1; }, kBound));
  EXPECT_TRUE(reopener.reopened);
  EXPECT_EQ(reopener.kinds, std::vector<TransportErrorKind>{TransportErrorKind::kTlsFailed});
  EXPECT_EQ(protocol.received, "second time lucky");
  EXPECT_EQ(reopener.opens, 2);
  stream.close();
  ASSERT_TRUE(loop_.run_until([&] { return reopener.kinds.size() == 2; }, kBound));
}

TEST_F(TlsStreamTest, ClosingWhileConnectingOrHandshakingReportsACleanClose) {
  LoopbackPeer peer(*certs_, {Peer::kSilent, Peer::kSilent});
  auto context = trusting_context();
  EchoProtocol protocol;
  Outcome outcome;
  TlsStream stream(loop_, context.get(), config_for(peer.port()), protocol, outcome);
  ASSERT_TRUE(stream.open());
  stream.close();                      // before the loop has even submitted the connect
  EXPECT_TRUE(outcome.kinds.empty());  // never from inside close()
  ASSERT_TRUE(run_until_closed(outcome));
  EXPECT_EQ(outcome.kinds.front(), TransportErrorKind::kNone);
  EXPECT_EQ(loop_.operations_in_flight(), 0u);

  ASSERT_TRUE(stream.open());
  ASSERT_TRUE(loop_.run_until([&] { return stream.state() == TransportState::kHandshaking; }, kBound));
  stream.close();
  ASSERT_TRUE(run_until_closed(outcome, 2));
  EXPECT_EQ(outcome.kinds.back(), TransportErrorKind::kNone);
  EXPECT_EQ(loop_.operations_in_flight(), 0u);
  EXPECT_EQ(protocol.opens, 0);
  EXPECT_EQ(protocol.closes, 2);
}

TEST(TlsContext, BadTrustSourcesAreClearErrors) {
  std::string error;
  TlsOptions missing_file;
  missing_file.trust_system_store = false;
  missing_file.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(TlsContext::create(missing_file, error), nullptr);
  EXPECT_NE(error.find("cannot load ca_file '/nonexistent/ca.pem'"), std::string::npos) << error;

  TlsOptions garbage;
  garbage.trust_system_store = false;
  garbage.ca_pem = "not a certificate";
  EXPECT_EQ(TlsContext::create(garbage, error), nullptr);
  EXPECT_NE(error.find("ca_pem holds no PEM certificate"), std::string::npos) << error;

  TlsOptions nothing;
  nothing.trust_system_store = false;
  EXPECT_EQ(TlsContext::create(nothing, error), nullptr);
  EXPECT_NE(error.find("no trusted CA"), std::string::npos) << error;

  TlsStreamConfig config;
  config.host = "127.0.0.1";
  EventLoop loop;
  EchoProtocol protocol;
  Outcome outcome;
  EXPECT_THROW(TlsStream(loop, nullptr, config, protocol, outcome), std::invalid_argument);
}

}  // namespace
}  // namespace sigflow::io
