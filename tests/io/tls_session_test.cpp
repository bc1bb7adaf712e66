// TlsSession without sockets: the server is an OpenSSL SSL over memory BIOs in the same thread, and the test
// decides exactly which bytes reach the client and when.
#include "io/tls_session.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <string>

#include "io/loopback_certs.hpp"
#include "io/tls_allocator.hpp"

namespace sigflow::io {
namespace {

class MemoryServer {
 public:
  explicit MemoryServer(const LoopbackCertificates& certs) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_num_tickets(ctx_, 0);
    BIO* cert_bio = BIO_new_mem_buf(certs.cert_pem.data(), static_cast<int>(certs.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO* key_bio = BIO_new_mem_buf(certs.key_pem.data(), static_cast<int>(certs.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx_, cert);
    SSL_CTX_use_PrivateKey(ctx_, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_accept_state(ssl_);
  }
  ~MemoryServer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  void push(std::string_view bytes) { BIO_write(in_, bytes.data(), static_cast<int>(bytes.size())); }
  std::string take() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  bool handshake() {
    const bool done = SSL_do_handshake(ssl_) == 1;
    ERR_clear_error();
    return done;
  }
  void write(std::string_view plaintext) {
    SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
  }
  std::string read() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ERR_clear_error();
    return out;
  }
  void close_notify() { SSL_shutdown(ssl_); }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

std::string take_all(TlsSession& session) {
  std::string out(session.pending_ciphertext(), '\0');
  out.resize(session.take_ciphertext(out));
  return out;
}

std::string read_all(TlsSession& session) {
  std::string out;
  char buf[1024];
  while (const std::size_t n = session.read(buf)) out.append(buf, n);
  return out;
}

class TlsSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new LoopbackCertificates(make_loopback_certificates()); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    TlsOptions options;
    options.trust_system_store = false;
    options.ca_pem = certs_->ca_pem;
    std::string error;
    context_ = TlsContext::create(options, error);
    ASSERT_NE(context_, nullptr) << error;
  }

  // Runs the handshake, delivering the server's flights to the client one byte at a time.
  void open(TlsSession& client, MemoryServer& server) {
    ASSERT_TRUE(client.start("localhost"));
    for (int round = 0; round < 10 && client.status() == TlsSession::Status::kHandshaking; ++round) {
      server.push(take_all(client));
      server.handshake();
      for (const char byte : server.take()) {
        client.push_ciphertext(std::string_view(&byte, 1));
        client.handshake();
      }
    }
    ASSERT_EQ(client.status(), TlsSession::Status::kOpen) << client.error();
    server.push(take_all(client));  // the client's Finished
    ASSERT_TRUE(server.handshake());
  }

  static LoopbackCertificates* certs_;
  std::unique_ptr<TlsContext> context_;
};

LoopbackCertificates* TlsSessionTest::certs_ = nullptr;

TEST_F(TlsSessionTest, HandshakesByteByByteAndMovesDataBothWays) {
  TlsSession client(*context_);
  MemoryServer server(*certs_);
  open(client, server);

  ASSERT_TRUE(client.write("GET / HTTP/1.1\r\n\r\n"));
  server.push(take_all(client));
  EXPECT_EQ(server.read(), "GET / HTTP/1.1\r\n\r\n");

  server.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  const std::string records = server.take();
  // Half a record decrypts to nothing yet; the rest completes it.
  client.push_ciphertext(std::string_view(records).substr(0, records.size() / 2));
  EXPECT_EQ(read_all(client), "");
  EXPECT_EQ(client.status(), TlsSession::Status::kOpen);
  client.push_ciphertext(std::string_view(records).substr(records.size() / 2));
  EXPECT_EQ(read_all(client), "HTTP/1.1 101 Switching Protocols\r\n\r\n");
}

TEST_F(TlsSessionTest, EndOfStreamInsideARecordIsATruncation) {
  TlsSession client(*context_);
  MemoryServer server(*certs_);
  open(client, server);
  server.write(std::string(500, 'x'));
  const std::string record = server.take();
  client.push_ciphertext(std::string_view(record).substr(0, 100));
  EXPECT_EQ(read_all(client), "");
  client.push_end_of_stream();
  EXPECT_EQ(client.status(), TlsSession::Status::kFailed);
  EXPECT_EQ(client.failure(), TlsSession::Failure::kTruncated);
  EXPECT_NE(client.error().find("truncated record"), std::string::npos) << client.error();
}

TEST_F(TlsSessionTest, EndOfStreamWithoutCloseNotifyIsReportedAsSuch) {
  TlsSession client(*context_);
  MemoryServer server(*certs_);
  open(client, server);
  client.push_end_of_stream();
  EXPECT_EQ(client.failure(), TlsSession::Failure::kUnexpectedEof);
  EXPECT_NE(client.error().find("without a TLS close_notify"), std::string::npos) << client.error();
}

TEST_F(TlsSessionTest, CloseNotifyIsACleanEnd) {
  TlsSession client(*context_);
  MemoryServer server(*certs_);
  open(client, server);
  server.write("last words");
  server.close_notify();
  client.push_ciphertext(server.take());
  EXPECT_EQ(read_all(client), "last words");
  EXPECT_EQ(client.status(), TlsSession::Status::kClosed);
  EXPECT_EQ(client.failure(), TlsSession::Failure::kNone);
  client.push_end_of_stream();  // after close_notify, EOF is expected
  EXPECT_EQ(client.status(), TlsSession::Status::kClosed);
}

TEST_F(TlsSessionTest, ACorruptedRecordFailsWithOpenSslsReason) {
  TlsSession client(*context_);
  MemoryServer server(*certs_);
  open(client, server);
  server.write("authentic");
  std::string record = server.take();
  record.back() ^= 0x01;  // flips a bit of the authentication tag
  client.push_ciphertext(record);
  EXPECT_EQ(read_all(client), "");
  EXPECT_EQ(client.status(), TlsSession::Status::kFailed);
  EXPECT_EQ(client.failure(), TlsSession::Failure::kProtocol);
  EXPECT_NE(client.error().find("TLS read with 'localhost' failed: "), std::string::npos) << client.error();
  EXPECT_NE(client.error().find("bad record mac"), std::string::npos) << client.error();
  EXPECT_FALSE(client.write("after failure"));
}

TEST_F(TlsSessionTest, GarbageInsteadOfAServerHelloFailsTheHandshake) {
  TlsSession client(*context_);
  ASSERT_TRUE(client.start("localhost"));
  take_all(client);
  client.push_ciphertext("HTTP/1.1 400 Bad Request\r\n\r\n");  // a plaintext server on a TLS port
  EXPECT_EQ(client.handshake(), TlsSession::Status::kFailed);
  EXPECT_EQ(client.failure(), TlsSession::Failure::kHandshake);
  EXPECT_NE(client.error().find("TLS handshake with 'localhost' failed: "), std::string::npos)
      << client.error();
}

TEST_F(TlsSessionTest, RestartingDropsTheOldConnection) {
  TlsSession client(*context_);
  MemoryServer first(*certs_);
  open(client, first);
  MemoryServer second(*certs_);
  open(client, second);
  ASSERT_TRUE(client.write("fresh"));
  second.push(take_all(client));
  EXPECT_EQ(second.read(), "fresh");
}

// OpenSSL 3.0 takes a heap block for every TLS 1.3 record it seals or opens; the block cache must serve all
// of them once the first record has put a block in it (tls_allocator.hpp).
TEST_F(TlsSessionTest, RecordsAfterTheFirstTakeNothingFromMalloc) {
  ASSERT_TRUE(tls_allocator_installed());
  TlsSession client(*context_);
  MemoryServer server(*certs_);
  open(client, server);
  const std::string message(300, 'm');
  char buf[1024];
  const auto exchange = [&] {
    server.write(message);
    client.push_ciphertext(server.take());
    return client.read(buf);
  };
  ASSERT_EQ(exchange(), message.size());
  const TlsAllocatorThreadStats before = tls_allocator_thread_stats();
  constexpr int kRecords = 1000;
  for (int i = 0; i < kRecords; ++i) ASSERT_EQ(exchange(), message.size());
  const TlsAllocatorThreadStats after = tls_allocator_thread_stats();
  EXPECT_EQ(after.system_allocs, before.system_allocs);
  // One block to seal each record on the server and one to open it on the client.
  EXPECT_GE(after.cache_hits - before.cache_hits, 2u * kRecords);
}

TEST_F(TlsSessionTest, AnEmptyServerNameIsRefused) {
  TlsSession client(*context_);
  EXPECT_FALSE(client.start(""));
  EXPECT_EQ(client.status(), TlsSession::Status::kFailed);
  EXPECT_NE(client.error().find("server name is empty"), std::string::npos);
}

}  // namespace
}  // namespace sigflow::io
