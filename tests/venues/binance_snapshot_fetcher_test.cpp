// SnapshotFetcher end to end on loopback: the real HTTP client on an io_uring loop against a small HTTP/1.1
// server started by the test, scripted per request (429 with Retry-After, then 200 with the used-weight
// header). Checks what reaches the server (targets, pacing) and what reaches the Deliver callback.
#include "io/venues/binance/snapshot_fetcher.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.hpp"
#include "tests/support/wait_for.hpp"

namespace sigflow::io::binance {
namespace {

// Keep-alive HTTP/1.1 on 127.0.0.1, one connection at a time; each GET is answered by `respond(n, target)`
// (n counts requests from 0) with a complete response text.
class ScriptedServer {
 public:
  using Respond = std::function<std::string(int n, const std::string& target)>;

  explicit ScriptedServer(Respond respond) : respond_(std::move(respond)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 4), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::uint16_t port() const { return port_; }
  std::vector<std::pair<std::string, std::int64_t>> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Responses written whole to their sockets.
  int replies() const { return replies_.load(); }

 private:
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void serve() {
    while (wait_readable(listener_)) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::string buffer;
      char chunk[4096];
      while (wait_readable(fd)) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        for (std::size_t end; (end = buffer.find("\r\n\r\n")) != std::string::npos;) {
          const std::string head = buffer.substr(0, end);
          buffer.erase(0, end + 4);
          const std::size_t sp = head.find(' ');
          const std::string target = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
          int index = 0;
          {
            std::lock_guard lock(mutex_);
            index = static_cast<int>(requests_.size());
            requests_.emplace_back(target, engine::monotonic_ns());
          }
          const std::string response = respond_(index, target);
          if (::write(fd, response.data(), response.size()) != static_cast<ssize_t>(response.size())) break;
          ++replies_;
        }
      }
      ::close(fd);
    }
  }

  Respond respond_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> replies_{0};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::int64_t>> requests_;
};

std::string response(int status, std::string_view reason, std::string_view extra_headers,
                     std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

std::string depth_body(const std::string& target) {
  const std::size_t at = target.find("symbol=");
  const std::string symbol = target.substr(at + 7, target.find('&', at) - at - 7);
  return R"({"lastUpdateId":)" + std::to_string(symbol.size()) +
         R"(,"bids":[["1.0","2"]],"asks":[["1.1","3"]]})";
}

struct Delivered {
  std::string venue, symbol, body;
  unsigned status;
};

TEST(SnapshotFetcher, RetriesA429AfterRetryAfterThenDelivers) {
  ScriptedServer server([](int n, const std::string& target) {
    if (n == 0)
      return response(
          429, "Too Many Requests", "Retry-After: 1\r\n",
          R"({"code":-1003,"msg":"Too many requests; current limit of IP is 2400 requests per minute."})");
    return response(200, "OK", "X-MBX-USED-WEIGHT-1M: " + std::to_string(20 * n) + "\r\n",
                    depth_body(target));
  });
  EventLoop loop;
  std::vector<Delivered> delivered;
  SnapshotVenueConfig usdm;
  usdm.venue = "binance-usdm";
  usdm.endpoints.rest_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/binance-usdm";
  SnapshotFetcherOptions options;
  options.policy.min_spacing_ns = 50'000'000;
  std::string error;
  auto fetcher = SnapshotFetcher::create(
      loop, nullptr, {usdm}, options,
      [&](std::string_view venue, std::string_view symbol, unsigned status, std::string_view body,
          std::int64_t) {
        delivered.push_back({std::string(venue), std::string(symbol), std::string(body), status});
      },
      error);
  ASSERT_TRUE(fetcher) << error;
  EXPECT_EQ(fetcher->request("binance-usdm", "BTCUSDT"), EnqueueResult::kQueued);
  EXPECT_EQ(fetcher->request("binance-usdm", "ETHUSDT"), EnqueueResult::kQueued);
  EXPECT_EQ(fetcher->request("binance-usdm", "BTCUSDT"), EnqueueResult::kMerged);
  EXPECT_EQ(fetcher->request("binance", "BTCUSDT"), EnqueueResult::kUnknownVenue);
  ASSERT_TRUE(loop.run_until([&] { return delivered.size() == 2; }, 10'000'000'000));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].first, "/binance-usdm/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  EXPECT_EQ(requests[1].first, requests[0].first);  // the rate-limited request, again, first
  EXPECT_EQ(requests[2].first, "/binance-usdm/fapi/v1/depth?symbol=ETHUSDT&limit=1000");
  // Retry-After: 1 held the venue back a full second. This bound is causal — the retry leaves a second after
  // the 429 that the server wrote after receiving the first request — so the server's clock may check it.
  EXPECT_GE(requests[1].second - requests[0].second, 1'000'000'000);
  // One request in flight per venue: ETHUSDT went only after BTCUSDT's answer. The 50 ms spacing between
  // request starts is a client-side schedule that server receipt times cannot measure (a late receipt of
  // the second request shortens the apparent gap); SnapshotScheduler tests check it on a fake clock.
  EXPECT_GT(requests[2].second, requests[1].second);

  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_EQ(delivered[0].venue, "binance-usdm");
  EXPECT_EQ(delivered[0].symbol, "BTCUSDT");
  EXPECT_EQ(delivered[0].status, 200u);
  EXPECT_EQ(delivered[0].body, depth_body(requests[1].first));
  EXPECT_EQ(delivered[1].symbol, "ETHUSDT");

  const SnapshotCounters& c = fetcher->scheduler().counters(0);
  EXPECT_EQ(c.sent.load(), 3u);
  EXPECT_EQ(c.rate_limited.load(), 1u);
  EXPECT_EQ(c.delivered.load(), 2u);
  EXPECT_EQ(c.weight_debited.load(), 60u);
  EXPECT_EQ(c.used_weight_1m.load(), 40);
  EXPECT_EQ(fetcher->http_counters(0).connects.load(), 1u);  // one keep-alive connection throughout
}

TEST(SnapshotFetcher, ConnectionFailuresBackOffAndRecover) {
  // Nothing listens at first: the port of a server that is gone.
  std::uint16_t dead_port = 0;
  {
    ScriptedServer gone([](int, const std::string&) { return std::string(); });
    dead_port = gone.port();
  }
  EventLoop loop;
  SnapshotVenueConfig spot;
  spot.venue = "binance";
  spot.endpoints.rest_url = "http://127.0.0.1:" + std::to_string(dead_port);
  std::string error;
  int delivered = 0;
  auto fetcher = SnapshotFetcher::create(
      loop, nullptr, {spot}, {},
      [&](std::string_view, std::string_view, unsigned, std::string_view, std::int64_t) { ++delivered; },
      error);
  ASSERT_TRUE(fetcher) << error;
  fetcher->request("binance", "RUNEEUR");
  const SnapshotCounters& c = fetcher->scheduler().counters(0);
  ASSERT_TRUE(loop.run_until([&] { return c.failures.load() >= 2; }, 10'000'000'000));
  EXPECT_EQ(delivered, 0);
  EXPECT_GT(c.paused_until_ns.load(), 0);
}

// Destroying the fetcher tears down one venue's connection after another, and each may run the loop to
// collect its io_uring operations. A reply already waiting on another venue's socket must not be completed
// into the half-destroyed fetcher: delivered, it would also pump the queue and re-arm the fetcher's destroyed
// timer on the loop (a use after free the feed thread's shutdown hit under TSan).
TEST(SnapshotFetcher, RepliesWaitingAtDestructionAreNotDelivered) {
  std::atomic<bool> release{false};
  const auto held_reply = [&](int, const std::string& target) {
    sigflow::testing_support::wait_for([&] { return release.load(); }, std::chrono::seconds(60),
                                       std::chrono::milliseconds(1));
    return response(200, "OK", "", depth_body(target));
  };
  ScriptedServer spot_server(held_reply);
  ScriptedServer usdm_server(held_reply);
  EventLoop loop;
  SnapshotVenueConfig spot;
  spot.venue = "binance";
  spot.endpoints.rest_url = "http://127.0.0.1:" + std::to_string(spot_server.port());
  SnapshotVenueConfig usdm;
  usdm.venue = "binance-usdm";
  usdm.endpoints.rest_url = "http://127.0.0.1:" + std::to_string(usdm_server.port());
  std::string error;
  int delivered = 0;
  auto fetcher = SnapshotFetcher::create(
      loop, nullptr, {spot, usdm}, {},
      [&](std::string_view, std::string_view, unsigned, std::string_view, std::int64_t) { ++delivered; },
      error);
  ASSERT_TRUE(fetcher) << error;
  fetcher->request("binance", "BTCUSDT");
  fetcher->request("binance-usdm", "BTCUSDT");
  fetcher->request("binance-usdm", "ETHUSDT");  // queued behind BTCUSDT: a reply would arm the timer for it
  ASSERT_TRUE(
      loop.run_until([&] { return spot_server.requests().size() == 1 && usdm_server.requests().size() == 1; },
                     10'000'000'000));
  // Both replies go out while the loop is not running, so they wait on the client's sockets.
  release = true;
  ASSERT_TRUE(sigflow::testing_support::wait_for(
      [&] { return spot_server.replies() == 1 && usdm_server.replies() == 1; }, std::chrono::seconds(30)));
  fetcher.reset();
  EXPECT_EQ(delivered, 0);
  // The loop outlives the fetcher and runs on: nothing of the fetcher may be left armed on it.
  loop.run_until([] { return false; }, 300'000'000);
  EXPECT_EQ(delivered, 0);
}

TEST(SnapshotFetcher, RejectsBadConfiguration) {
  EventLoop loop;
  std::string error;
  SnapshotVenueConfig bad;
  bad.venue = "binance";
  bad.endpoints.rest_url = "ftp://example.com";
  EXPECT_FALSE(SnapshotFetcher::create(loop, nullptr, {bad}, {}, nullptr, error));
  EXPECT_NE(error.find("not an http(s) URL"), std::string::npos) << error;
  bad.endpoints.rest_url = "";  // production: https, which needs a TLS context
  EXPECT_FALSE(SnapshotFetcher::create(loop, nullptr, {bad}, {}, nullptr, error));
  EXPECT_NE(error.find("TLS"), std::string::npos) << error;
  bad.venue = "okx";
  EXPECT_FALSE(SnapshotFetcher::create(loop, nullptr, {bad}, {}, nullptr, error));
}

TEST(SnapshotFetcher, ParsesHttpUrls) {
  HttpUrl u;
  ASSERT_TRUE(parse_http_url("https://fapi.binance.com/fapi/v1/depth?symbol=X&limit=1000", u));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "fapi.binance.com");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.target, "/fapi/v1/depth?symbol=X&limit=1000");
  ASSERT_TRUE(parse_http_url("http://127.0.0.1:8080", u));
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/");
  EXPECT_FALSE(parse_http_url("https://:443/x", u));
  EXPECT_FALSE(parse_http_url("https://host:99999/x", u));
  EXPECT_FALSE(parse_http_url("wss://host/x", u));
}

}  // namespace
}  // namespace sigflow::io::binance
