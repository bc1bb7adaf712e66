#include "io/http_client.hpp"

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
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "io/http_response_reader.hpp"
#include "io/loopback_certs.hpp"
#include "tests/support/wait_for.hpp"

namespace sigflow::io {
namespace {

namespace http = boost::beast::http;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kBound = 60'000 * kMs;  // every wait is bounded; no test asserts on elapsed time

// ---- the server: blocking sockets (optionally OpenSSL) on 127.0.0.1, one thread per connection, each
// running the test's script ----

struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  int connection = 0;
};

class PeerConnection {
 public:
  PeerConnection(int fd, SSL* ssl, int index) : fd_(fd), ssl_(ssl), index_(index) {}
  ~PeerConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }

  int index() const { return index_; }

  bool write(std::string_view bytes) {
    if (ssl_ != nullptr) return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One request parsed by Beast; nullopt when the client went away (or 5 s passed).
  std::optional<SeenRequest> read_request() {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    for (;;) {
      if (!buffer_.empty()) {
        boost::beast::error_code ec;
        const std::size_t n = parser.put(boost::asio::buffer(buffer_.data(), buffer_.size()), ec);
        buffer_.erase(0, n);
        if (ec && ec != http::error::need_more) return std::nullopt;
        if (parser.is_done()) break;
      }
      char chunk[16384];
      const int n = read_some(chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    SeenRequest seen;
    const auto& m = parser.get();
    seen.method = std::string(m.method_string());
    seen.target = std::string(m.target());
    for (const auto& f : m) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[name] = std::string(f.value());
    }
    seen.body = m.body();
    seen.connection = index_;
    return seen;
  }

  // Waits for the client to close (or 30 s).
  void wait_for_eof() {
    char chunk[4096];
    while (read_some(chunk, sizeof chunk) > 0) {
    }
  }

  void close_now() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

 private:
  int read_some(char* out, int size) {
    if (ssl_ != nullptr) return SSL_read(ssl_, out, size);
    return static_cast<int>(::recv(fd_, out, static_cast<std::size_t>(size), 0));
  }

  int fd_;
  SSL* ssl_;
  int index_;
  std::string buffer_;
};

using Script = std::function<void(PeerConnection&)>;

class TestServer {
 public:
  // certs null: plaintext.
  TestServer(const LoopbackCertificates* certs, Script script) : script_(std::move(script)) {
    if (certs != nullptr) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      BIO* cert_bio = BIO_new_mem_buf(certs->cert_pem.data(), static_cast<int>(certs->cert_pem.size()));
      X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
      BIO* key_bio = BIO_new_mem_buf(certs->key_pem.data(), static_cast<int>(certs->key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
      EXPECT_EQ(SSL_CTX_use_certificate(ctx_, cert), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_, key), 1);
      X509_free(cert);
      EVP_PKEY_free(key);
      BIO_free(cert_bio);
      BIO_free(key_bio);
    }
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(listener_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return accepted_.load(); }

  void record(const SeenRequest& r) {
    std::lock_guard lock(mutex_);
    requests_.push_back(r);
  }
  std::vector<SeenRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int index = accepted_.fetch_add(1);
      workers_.emplace_back([this, fd, index] { serve(fd, index); });
    }
  }

  void serve(int fd, int index) {
    timeval timeout{30, 0};  // a stuck test fails instead of hanging
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    SSL* ssl = nullptr;
    if (ctx_ != nullptr) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        ::close(fd);
        return;
      }
    }
    PeerConnection connection(fd, ssl, index);
    script_(connection);
    ERR_clear_error();
  }

  Script script_;
  SSL_CTX* ctx_ = nullptr;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::vector<SeenRequest> requests_;
};

std::string response(unsigned status, std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra_headers) + "\r\n" + std::string(body);
}

// ---- the client side ----

struct Recorder final : HttpResponseHandler {
  void on_head(const HttpResponse& response) override {
    ++heads;
    head_status = response.status();
    EXPECT_TRUE(pieces.empty()) << "body bytes before the head";
  }
  bool on_body(std::string_view bytes) override {
    pieces.emplace_back(bytes);
    return pieces.size() < stop_after_pieces;
  }
  void on_complete(const HttpError& e, const HttpResponse* response) override {
    ++completions;
    kind = e.kind;
    message = std::string(e.message);
    request_sent = e.request_sent;
    if (response != nullptr) {
      status = response->status();
      body = std::string(response->body());
      if (auto v = response->header("x-request-id")) request_id = std::string(*v);
      chunked = response->chunked();
      keep_alive = response->keep_alive();
    }
    if (then) then();
  }
  bool done() const { return completions > 0; }

  std::size_t stop_after_pieces = ~std::size_t{0};
  std::function<void()> then;
  int heads = 0, completions = 0;
  unsigned head_status = 0;
  std::vector<std::string> pieces;
  HttpErrorKind kind = HttpErrorKind::kNone;
  std::string message;
  bool request_sent = false;
  unsigned status = 0;
  std::string body;
  std::string request_id;
  bool chunked = false, keep_alive = false;
};

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new LoopbackCertificates(make_loopback_certificates()); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  static HttpOriginConfig origin(std::uint16_t port, bool plaintext = true) {
    HttpOriginConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    c.plaintext = plaintext;
    // Hang guards under kBound, generous for a server thread that may wait seconds for a core.
    c.first_byte_timeout_ns = 30'000 * kMs;
    c.request_timeout_ns = 40'000 * kMs;
    return c;
  }

  std::unique_ptr<TlsContext> trusting(const std::string& ca_pem) {
    TlsOptions options;
    options.trust_system_store = false;
    options.ca_pem = ca_pem;
    std::string error;
    auto context = TlsContext::create(options, error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  void run(Recorder& r) {
    ASSERT_TRUE(loop_.run_until([&] { return r.done(); }, kBound));
  }

  static LoopbackCertificates* certs_;
  EventLoop loop_;
};
LoopbackCertificates* HttpClientTest::certs_ = nullptr;

// ---- the parsing half on its own ----

TEST(HttpResponseReader, ByteByByteGivesTheSameResponseAsOneFeed) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nX-Ratelimit-Remaining-Requests: 59\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\nHTTP/1.1";  // plus the start of bytes nobody asked for
  HttpResponseReader whole(4096, 1024);
  whole.start(false, nullptr);
  ASSERT_EQ(whole.feed(wire), HttpResponseReader::Status::kComplete) << whole.error();
  EXPECT_EQ(whole.response().body(), "abcdefg");
  EXPECT_EQ(whole.leftover(), 8u);
  EXPECT_EQ(whole.response().header("x-ratelimit-remaining-requests"), "59");

  HttpResponseReader split(4096, 1024);
  split.start(false, nullptr);
  HttpResponseReader::Status status = HttpResponseReader::Status::kNeedMore;
  std::size_t fed = 0;
  while (status == HttpResponseReader::Status::kNeedMore && fed < wire.size())
    status = split.feed(std::string_view(wire).substr(fed++, 1));
  ASSERT_EQ(status, HttpResponseReader::Status::kComplete) << split.error();
  EXPECT_EQ(split.response().body(), "abcdefg");
  EXPECT_EQ(fed, wire.size() - 8) << "complete at the last byte of the response";
}

TEST(HttpResponseReader, EndOfConnectionCompletesOnlyAnUndelimitedBody) {
  HttpResponseReader reader(4096, 1024);
  reader.start(false, nullptr);
  ASSERT_EQ(reader.feed("HTTP/1.1 200 OK\r\n\r\npartial"), HttpResponseReader::Status::kNeedMore);
  ASSERT_EQ(reader.finish_at_eof(), HttpResponseReader::Status::kComplete);
  EXPECT_EQ(reader.response().body(), "partial");

  reader.start(false, nullptr);
  ASSERT_EQ(reader.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npartial"),
            HttpResponseReader::Status::kNeedMore);
  EXPECT_EQ(reader.finish_at_eof(), HttpResponseReader::Status::kFailed);
  EXPECT_EQ(reader.error_kind(), HttpErrorKind::kPeerClosed);
  EXPECT_TRUE(reader.header_done()) << "the head stays readable after the failure";
}

TEST(HttpResponseReader, HeadResponsesHaveNoBodyAndHeaderLimitHolds) {
  HttpResponseReader reader(256, 1024);
  reader.start(true, nullptr);
  EXPECT_EQ(reader.feed("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"),
            HttpResponseReader::Status::kComplete);
  reader.start(false, nullptr);
  EXPECT_EQ(reader.feed("HTTP/1.1 200 OK\r\nX-Pad: " + std::string(400, 'p') + "\r\n\r\n"),
            HttpResponseReader::Status::kFailed);
  EXPECT_EQ(reader.error_kind(), HttpErrorKind::kHeaderTooLarge);
}

TEST_F(HttpClientTest, KeepAliveServesTwoRequestsOnOneConnection) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    while (auto r = c.read_request()) {
      server.record(*r);
      c.write(response(200, "answer to " + r->target, "X-Request-Id: req-" + r->target.substr(1) + "\r\n"));
    }
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  const HttpHeader headers[] = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}};
  HttpRequest request;
  request.method = "POST";
  request.target = "/one";
  request.headers = headers;
  request.body = R"({"model":"m"})";

  Recorder first;
  ASSERT_TRUE(connection.send(request, first));
  EXPECT_FALSE(connection.send(request, first)) << "one request at a time";
  run(first);
  EXPECT_EQ(first.kind, HttpErrorKind::kNone) << first.message;
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.body, "answer to /one");
  EXPECT_EQ(first.request_id, "req-one") << "header lookup ignores case";
  EXPECT_TRUE(first.keep_alive);
  EXPECT_TRUE(connection.connected());

  Recorder second;
  request.target = "/two";
  request.body = "";
  request.method = "GET";
  request.headers = {};
  ASSERT_TRUE(connection.send(request, second));
  run(second);
  EXPECT_EQ(second.kind, HttpErrorKind::kNone) << second.message;
  EXPECT_EQ(second.body, "answer to /two");

  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(connection.counters().connects.load(), 1u);
  EXPECT_EQ(connection.counters().reconnects.load(), 0u);
  EXPECT_EQ(connection.counters().requests.load(), 2u);
  EXPECT_EQ(connection.counters().responses_by_class[2].load(), 2u);
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].headers.at("authorization"), "Bearer sk-test");
  EXPECT_EQ(seen[0].headers.at("content-length"), "13");
  EXPECT_EQ(seen[0].body, R"({"model":"m"})");
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].headers.count("content-length"), 0u);
  EXPECT_EQ(seen[1].connection, 0);
}

TEST_F(HttpClientTest, TlsKeepAliveAndHandlerChainsTheNextRequest) {
  TestServer server(certs_, [&](PeerConnection& c) {
    while (auto r = c.read_request()) c.write(response(200, "tls " + r->target));
  });
  auto tls = trusting(certs_->ca_pem);
  HttpConnection connection(loop_, tls.get(), origin(server.port(), false));
  HttpRequest request;
  request.target = "/a";
  Recorder second;
  Recorder first;
  first.then = [&] {
    // From inside on_complete: the connection is idle again and takes the next request.
    HttpRequest next;
    next.target = "/b";
    EXPECT_TRUE(connection.send(next, second));
  };
  ASSERT_TRUE(connection.send(request, first));
  run(first);
  run(second);
  EXPECT_EQ(first.body, "tls /a");
  EXPECT_EQ(second.body, "tls /b") << second.message;
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpClientTest, ChunkedBodyIsDechunked) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    c.write("1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n");
    c.wait_for_eof();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kNone) << r.message;
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, "hello world!");
}

TEST_F(HttpClientTest, StreamingDeliversBodyPiecesBeforeTheResponseEnds) {
  std::mutex m;
  std::condition_variable cv;
  bool go_on = false;
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.write("f\r\ndata: {\"a\":1}\n\n\r\n");
    {
      // The second piece waits until the client has handed the first to the handler.
      std::unique_lock lock(m);
      cv.wait_for(lock, std::chrono::seconds(60), [&] { return go_on; });
    }
    c.write("e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
    c.wait_for_eof();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  HttpRequest request;
  request.method = "POST";
  request.body = "{}";
  request.delivery = HttpDelivery::kStreaming;
  ASSERT_TRUE(connection.send(request, r));
  ASSERT_TRUE(loop_.run_until([&] { return !r.pieces.empty(); }, kBound));
  EXPECT_EQ(r.heads, 1);
  EXPECT_EQ(r.head_status, 200u);
  EXPECT_FALSE(r.done()) << "the response is not over while the server holds the second piece";
  EXPECT_EQ(r.pieces.front(), "data: {\"a\":1}\n\n");
  {
    std::lock_guard lock(m);
    go_on = true;
  }
  cv.notify_all();
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kNone) << r.message;
  std::string all;
  for (const auto& p : r.pieces) all += p;
  EXPECT_EQ(all, "data: {\"a\":1}\n\ndata: [DONE]\n\n");
  EXPECT_TRUE(r.body.empty()) << "streamed bytes are not buffered as well";
}

TEST_F(HttpClientTest, StreamingHandlerCanStopTheBody) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    c.wait_for_eof();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  r.stop_after_pieces = 1;
  HttpRequest request;
  request.delivery = HttpDelivery::kStreaming;
  ASSERT_TRUE(connection.send(request, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kAborted);
  EXPECT_TRUE(r.request_sent);
  EXPECT_EQ(connection.counters().failures[static_cast<std::size_t>(HttpErrorKind::kAborted)].load(), 1u);
}

TEST_F(HttpClientTest, IdleConnectionClosedByServerIsReopenedForTheNextRequest) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (auto r = c.read_request()) c.write(response(200, "conn " + std::to_string(c.index())));
    c.close_now();  // keep-alive promised, then the server drops the idle connection
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder first;
  ASSERT_TRUE(connection.send(HttpRequest{}, first));
  run(first);
  EXPECT_EQ(first.body, "conn 0");
  ASSERT_TRUE(loop_.run_until([&] { return connection.counters().idle_closed.load() == 1; }, kBound));
  EXPECT_FALSE(connection.connected());

  Recorder second;
  ASSERT_TRUE(connection.send(HttpRequest{}, second));
  run(second);
  EXPECT_EQ(second.kind, HttpErrorKind::kNone) << second.message;
  EXPECT_EQ(second.body, "conn 1");
  EXPECT_EQ(connection.counters().reconnects.load(), 1u);
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(HttpClientTest, ConnectionCloseFromServerEndsKeepAlive) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (auto r = c.read_request())
      c.write(response(200, "conn " + std::to_string(c.index()), "Connection: close\r\n"));
    c.wait_for_eof();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder second;
  Recorder first;
  first.then = [&] {
    EXPECT_FALSE(connection.connected());
    EXPECT_TRUE(connection.send(HttpRequest{}, second));  // waits for the close, then a fresh connection
  };
  ASSERT_TRUE(connection.send(HttpRequest{}, first));
  run(first);
  run(second);
  EXPECT_FALSE(first.keep_alive);
  EXPECT_EQ(first.body, "conn 0");
  EXPECT_EQ(second.body, "conn 1") << second.message;
  EXPECT_EQ(connection.counters().server_close.load(), 2u);
  EXPECT_EQ(connection.counters().idle_closed.load(), 0u) << "a close we asked for is not an idle drop";
}

TEST_F(HttpClientTest, BodyDelimitedByConnectionEndIsComplete) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    c.close_now();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kNone) << r.message;
  EXPECT_EQ(r.body, "until the end");
}

TEST_F(HttpClientTest, PeerClosingMidResponseIsAFailureWithTheRequestSent) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    c.close_now();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kPeerClosed);
  EXPECT_TRUE(r.request_sent);
  EXPECT_NE(r.message.find("middle of the response"), std::string::npos) << r.message;
}

TEST_F(HttpClientTest, MalformedResponseIsRejected) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok");
    c.wait_for_eof();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kMalformedResponse);
  EXPECT_NE(r.message.find("malformed HTTP response"), std::string::npos) << r.message;
  EXPECT_FALSE(connection.connected());
}

TEST_F(HttpClientTest, OversizedBodiesAreRejectedWhetherDeclaredOrChunked) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    if (c.index() == 0) {
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + std::string(4096, 'x'));
    } else {
      c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 8 && c.write("200\r\n" + std::string(512, 'y') + "\r\n"); ++i) {
      }
    }
    c.wait_for_eof();
  });
  HttpOriginConfig config = origin(server.port());
  config.max_body_bytes = 1024;
  HttpConnection connection(loop_, nullptr, config);
  Recorder declared;
  ASSERT_TRUE(connection.send(HttpRequest{}, declared));
  run(declared);
  EXPECT_EQ(declared.kind, HttpErrorKind::kBodyTooLarge)
      << declared.message << " status " << declared.status << " body " << declared.body.size();
  EXPECT_EQ(declared.status, 200u) << "the head is still readable";
  Recorder chunked;
  ASSERT_TRUE(connection.send(HttpRequest{}, chunked));
  run(chunked);
  EXPECT_EQ(chunked.kind, HttpErrorKind::kBodyTooLarge) << chunked.message;
  EXPECT_EQ(connection.counters().failures[static_cast<std::size_t>(HttpErrorKind::kBodyTooLarge)].load(),
            2u);
}

TEST_F(HttpClientTest, SilentServerHitsTheFirstByteTimeoutAndWholeRequestTimeout) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (c.index() == 0) {
      if (c.read_request()) c.wait_for_eof();
    } else if (c.read_request()) {
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nslow");  // first byte, then nothing
      c.wait_for_eof();
    }
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder silent;
  HttpRequest request;
  request.first_byte_timeout_ns = 200 * kMs;
  ASSERT_TRUE(connection.send(request, silent));
  run(silent);
  EXPECT_EQ(silent.kind, HttpErrorKind::kFirstByteTimeout) << silent.message;
  EXPECT_TRUE(silent.request_sent);

  // Only the whole-request timeout is short: a server thread slow to send the first byte must not turn
  // this into a first-byte timeout.
  Recorder stalled;
  request.first_byte_timeout_ns = 0;
  request.request_timeout_ns = 300 * kMs;
  ASSERT_TRUE(connection.send(request, stalled));
  run(stalled);
  EXPECT_EQ(stalled.kind, HttpErrorKind::kRequestTimeout) << stalled.message;
}

TEST_F(HttpClientTest, UntrustedCertificateIsRejected) {
  TestServer server(certs_, [&](PeerConnection& c) { c.read_request(); });
  const LoopbackCertificates other = make_loopback_certificates();
  auto tls = trusting(other.ca_pem);  // a different CA than the one that signed the server
  HttpConnection connection(loop_, tls.get(), origin(server.port(), false));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kCertificateRejected) << r.message;
  EXPECT_FALSE(r.request_sent);
}

TEST_F(HttpClientTest, RefusedConnectionIsTyped) {
  std::uint16_t port = 0;
  {
    TestServer closed(nullptr, [](PeerConnection&) {});
    port = closed.port();
  }
  HttpConnection connection(loop_, nullptr, origin(port));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kConnectRefused) << r.message;
  EXPECT_FALSE(r.request_sent);
}

TEST_F(HttpClientTest, RequestLargerThanTheSendBufferFailsWithoutConnecting) {
  HttpOriginConfig config = origin(9);  // nothing is dialled
  config.send_buffer_bytes = 1024;
  HttpConnection connection(loop_, nullptr, config);
  const std::string body(2048, 'b');
  HttpRequest request;
  request.method = "POST";
  request.body = body;
  Recorder r;
  ASSERT_TRUE(connection.send(request, r));
  EXPECT_FALSE(r.done()) << "failures arrive from the loop, not from inside send()";
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kRequestTooLarge);
  EXPECT_EQ(connection.counters().connects.load(), 0u);
}

TEST_F(HttpClientTest, InterimResponsesAreSkipped) {
  TestServer server(nullptr, [&](PeerConnection& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone");
    c.wait_for_eof();
  });
  HttpConnection connection(loop_, nullptr, origin(server.port()));
  Recorder r;
  ASSERT_TRUE(connection.send(HttpRequest{}, r));
  run(r);
  EXPECT_EQ(r.kind, HttpErrorKind::kNone) << r.message;
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.body, "done");
}

TEST_F(HttpClientTest, PoolSpreadsConcurrentRequestsAndReusesIdleConnections) {
  std::atomic<int> waiting{0};
  TestServer server(nullptr, [&](PeerConnection& c) {
    while (auto r = c.read_request()) {
      // Hold the first two answers until both requests are in: they must be on two connections.
      if (r->target == "/hold") {
        waiting.fetch_add(1);
        testing_support::wait_for([&] { return waiting.load() >= 2; }, std::chrono::seconds(60));
      }
      c.write(response(200, std::to_string(c.index())));
    }
  });
  HttpPool pool(loop_, nullptr, origin(server.port()), 2);
  HttpRequest hold;
  hold.target = "/hold";
  Recorder a, b, c;
  ASSERT_TRUE(pool.send(hold, a));
  ASSERT_TRUE(pool.send(hold, b));
  EXPECT_EQ(pool.acquire(), nullptr);
  EXPECT_FALSE(pool.send(hold, c)) << "no queue: every connection is busy";
  run(a);
  run(b);
  EXPECT_EQ(a.kind, HttpErrorKind::kNone) << a.message;
  EXPECT_EQ(b.kind, HttpErrorKind::kNone) << b.message;
  EXPECT_NE(a.body, b.body) << "two connections served the two requests";
  EXPECT_EQ(pool.idle(), 2u);
  HttpRequest quick;
  quick.target = "/quick";
  ASSERT_TRUE(pool.send(quick, c));
  run(c);
  EXPECT_EQ(c.kind, HttpErrorKind::kNone) << c.message;
  EXPECT_EQ(server.connections(), 2) << "the third request reused an open connection";
  const HttpClientTotals totals = pool.counters();
  EXPECT_EQ(totals.requests, 3u);
  EXPECT_EQ(totals.responses(), 3u);
  EXPECT_EQ(totals.connects, 2u);
  EXPECT_EQ(totals.failures_total(), 0u);
}

}  // namespace
}  // namespace sigflow::io
