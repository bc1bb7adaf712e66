#include "io/metrics_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace sigflow::io {
namespace {

constexpr std::int64_t kTestTimeoutNs = 10'000'000'000;

// A blocking loopback client on its own thread: what a Prometheus scraper does, one request at a time.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }

  bool connected() const { return connected_; }
  void send(std::string_view bytes) { (void)!::write(fd_, bytes.data(), bytes.size()); }

  // One response: headers, then Content-Length bytes of body (none for a HEAD request). Empty when the
  // server closed the connection first or nothing came within 5 s.
  std::string read_response(bool head = false) {
    while (true) {
      const auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto cl = buffer_.find("Content-Length: ");
        const std::size_t length = head || cl == std::string::npos ? 0 : std::stoul(buffer_.substr(cl + 16));
        if (buffer_.size() >= end + 4 + length) {
          std::string response = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return response;
        }
      }
      if (!read_more()) return {};
    }
  }

  // True when the server closed the connection (EOF) within 5 s.
  bool closed_by_server() {
    while (read_more()) {
    }
    return eof_;
  }

 private:
  bool read_more() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(MetricsServerConfig config = {}) {
    config.port = 0;
    server_ = std::make_unique<MetricsServer>(loop_, config, [this](std::string& out) {
      out += "# HELP sigflow_test_total A test counter.\n# TYPE sigflow_test_total counter\n";
      out += "sigflow_test_total " + std::to_string(++renders_) + "\n";
    });
    std::string error;
    ASSERT_TRUE(server_->start(error)) << error;
  }

  // Runs `client` on a thread while this thread runs the loop, then stops the server cleanly.
  template <class Fn>
  void run_client(Fn&& client) {
    std::atomic<bool> done{false};
    std::thread t([&] {
      client();
      done = true;
    });
    loop_.run_until([&] { return done.load(); }, kTestTimeoutNs);
    t.join();
    server_->stop();
    EXPECT_TRUE(loop_.run_until([&] { return server_->idle(); }, kTestTimeoutNs));
  }

  EventLoop loop_;
  std::unique_ptr<MetricsServer> server_;
  int renders_ = 0;
};

TEST_F(MetricsServerTest, ServesMetricsOverOneKeepAliveConnection) {
  start();
  std::string first, second;
  run_client([&] {
    Client c(server_->port());
    ASSERT_TRUE(c.connected());
    c.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    first = c.read_response();
    c.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    second = c.read_response();
  });
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
  EXPECT_NE(first.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(first.find("sigflow_test_total 1\n"), std::string::npos) << first;
  EXPECT_NE(second.find("sigflow_test_total 2\n"), std::string::npos) << second;
  EXPECT_EQ(server_->counters().scrapes.load(), 2u);
  EXPECT_EQ(server_->counters().connections.load(), 1u);
}

TEST_F(MetricsServerTest, AnswersPipelinedRequestsInOrder) {
  start();
  std::string a, b;
  run_client([&] {
    Client c(server_->port());
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n\r\n");
    a = c.read_response();
    b = c.read_response();
  });
  EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a;
  EXPECT_EQ(b.rfind("HTTP/1.1 404", 0), 0u) << b;
}

TEST_F(MetricsServerTest, HeadAnswersHeadersOnly) {
  start();
  std::string head, after;
  run_client([&] {
    Client c(server_->port());
    c.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    head = c.read_response(/*head=*/true);
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    after = c.read_response();
  });
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(head.find("sigflow_test_total"), std::string::npos);
  EXPECT_NE(after.find("sigflow_test_total"), std::string::npos) << after;
}

TEST_F(MetricsServerTest, WrongPathAndMethodGet4xxAndTheConnectionKeepsWorking) {
  start();
  std::string not_found, not_allowed, ok;
  run_client([&] {
    Client c(server_->port());
    c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    not_found = c.read_response();
    c.send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    not_allowed = c.read_response();
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ok = c.read_response();
  });
  EXPECT_EQ(not_found.rfind("HTTP/1.1 404", 0), 0u) << not_found;
  EXPECT_EQ(not_allowed.rfind("HTTP/1.1 405", 0), 0u) << not_allowed;
  EXPECT_NE(not_allowed.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_EQ(server_->counters().not_found.load(), 1u);
  EXPECT_EQ(server_->counters().bad_requests.load(), 1u);
}

TEST_F(MetricsServerTest, MalformedRequestGets400AndIsClosed) {
  start();
  std::string response;
  bool closed = false;
  run_client([&] {
    Client c(server_->port());
    c.send("THIS IS NOT HTTP\r\n\r\n");
    response = c.read_response();
    closed = c.closed_by_server();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  EXPECT_TRUE(closed);
}

TEST_F(MetricsServerTest, OversizedRequestIsRefused) {
  MetricsServerConfig config;
  config.max_request_bytes = 512;
  start(config);
  std::string response;
  run_client([&] {
    Client c(server_->port());
    c.send("GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(2000, 'a') + "\r\n\r\n");
    response = c.read_response();
  });
  EXPECT_EQ(response.rfind("HTTP/1.1 4", 0), 0u) << response;
  EXPECT_EQ(server_->counters().bad_requests.load(), 1u);
}

TEST_F(MetricsServerTest, ConnectionsBeyondTheLimitAreClosed) {
  MetricsServerConfig config;
  config.max_connections = 1;
  start(config);
  std::string served;
  bool second_closed = false;
  run_client([&] {
    Client first(server_->port());
    first.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    served = first.read_response();  // the first connection holds the only slot now
    Client second(server_->port());
    second_closed = second.closed_by_server();
  });
  EXPECT_EQ(served.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_TRUE(second_closed);
  EXPECT_EQ(server_->counters().connections_refused.load(), 1u);
}

TEST_F(MetricsServerTest, BindFailureNamesTheAddress) {
  MetricsServer bad(loop_, MetricsServerConfig{.address = "not-an-ip"}, [](std::string&) {});
  std::string error;
  EXPECT_FALSE(bad.start(error));
  EXPECT_EQ(error, "not-an-ip:9464: not an IPv4 address");
}

}  // namespace
}  // namespace sigflow::io
