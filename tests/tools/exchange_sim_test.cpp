// Loopback tests of the exchange simulator: a real TLS + WebSocket client (written here, independent of the
// engine's io code) talks to the simulator started by each test, and every frame is checked against the
// shapes of the real venue's messages (tests/fixtures/binance).
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tests/support/paths.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.hpp"
#include "tests/support/wait_for.hpp"
#include "tools/exchange-sim/synthetic_market.hpp"
#include "tools/exchange-sim/venues.hpp"

namespace sigflow::tools {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The bound of every wait for something the simulator must do: only a hang reaches it, while a loaded
// machine may leave the simulator's threads without a core for seconds. Waits that expect nothing to arrive
// keep their short windows: under load those can only pass more easily, never fail.
constexpr auto kBound = 30s;

// A deliberately small blocking client: TLS verified against the simulator's CA, the RFC 6455 upgrade, and
// masked client frames. Every read is bounded by a deadline.
class TestClient {
 public:
  TestClient() = default;
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;
  ~TestClient() { close(); }

  // Connects and sends the upgrade; returns the HTTP status of the answer (0 on a transport failure).
  int open(std::uint16_t port, const std::string& ca_pem, const std::string& target) {
    if (!connect_tls(port, ca_pem)) return 0;

    unsigned char nonce[16];
    RAND_bytes(nonce, sizeof nonce);
    unsigned char key[32];
    EVP_EncodeBlock(key, nonce, sizeof nonce);
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
                                reinterpret_cast<char*>(key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (!write_all(request)) return 0;
    return read_head();
  }

  struct HttpAnswer {
    int status = 0;  // 0: a transport failure
    std::string head;
    std::string body;
  };

  // One plain GET on a connection that stays open between calls (HTTP/1.1 keep-alive).
  HttpAnswer get(std::uint16_t port, const std::string& ca_pem, const std::string& target) {
    if (!ssl_ && !connect_tls(port, ca_pem)) return {};
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
    if (!write_all(request)) return {};
    HttpAnswer answer;
    answer.status = read_head();
    if (answer.status == 0) return {};
    answer.head = head_;
    static const std::regex kLength("Content-Length: ([0-9]+)", std::regex::icase);
    std::smatch m;
    const std::size_t length = std::regex_search(head_, m, kLength) ? std::stoul(m[1]) : 0;
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    while (in_.size() < length)
      if (!read_some(deadline)) return {};
    answer.body = in_.substr(0, length);
    in_.erase(0, length);
    return answer;
  }

  bool connect_tls(std::uint16_t port, const std::string& ca_pem) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
    timeval tv{30, 0};  // a safety net under the poll-based deadlines
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!ca) return 0;
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "127.0.0.1");
    return SSL_connect(ssl_) == 1;
  }

  int read_head() {
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    while (in_.find("\r\n\r\n") == std::string::npos)
      if (!read_some(deadline)) return 0;
    const auto end = in_.find("\r\n\r\n") + 4;
    head_ = in_.substr(0, end);
    in_.erase(0, end);
    return std::stoi(head_.substr(9, 3));
  }

  const std::string& head() const { return head_; }

  // The next text frame, answering pings on the way; nullopt on timeout or when the connection ended
  // (then ended() is true).
  std::optional<std::string> read_text(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (auto frame = take_frame()) {
        auto [opcode, payload] = *frame;
        if (opcode == 0x1) return payload;
        if (opcode == 0x9) send_frame(0xA, payload);
        if (opcode == 0xA) ++pongs_;
        if (opcode == 0x8) {
          close_code_ =
              payload.size() >= 2
                  ? (static_cast<unsigned char>(payload[0]) << 8 | static_cast<unsigned char>(payload[1]))
                  : 0;
          ended_ = true;
          return std::nullopt;
        }
      }
      if (ended_ || !read_some(deadline)) return std::nullopt;
    }
  }

  bool send_text(std::string_view text) { return send_frame(0x1, text); }
  bool ended() const { return ended_; }
  int close_code() const { return close_code_; }

  void close() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    fd_ = -1;
  }

 private:
  bool write_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  bool send_frame(int opcode, std::string_view payload) {
    std::string frame;
    frame += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xFF);
    }
    unsigned char mask[4];
    RAND_bytes(mask, 4);
    frame.append(reinterpret_cast<char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i) frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    return write_all(frame);
  }

  bool read_some(std::chrono::steady_clock::time_point deadline) {
    if (SSL_pending(ssl_) == 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    }
    char buf[65536];
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      ended_ = true;
      return false;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // One complete server frame from the buffer (servers never mask; the simulator never fragments).
  std::optional<std::pair<int, std::string>> take_frame() {
    if (in_.size() < 2) return std::nullopt;
    const auto b0 = static_cast<unsigned char>(in_[0]);
    const auto b1 = static_cast<unsigned char>(in_[1]);
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7F;
    if (length == 126) {
      if (in_.size() < 4) return std::nullopt;
      length = static_cast<std::uint64_t>(static_cast<unsigned char>(in_[2])) << 8 |
               static_cast<unsigned char>(in_[3]);
      header = 4;
    } else if (length == 127) {
      if (in_.size() < 10) return std::nullopt;
      length = 0;
      for (int i = 0; i < 8; ++i) length = length << 8 | static_cast<unsigned char>(in_[2 + i]);
      header = 10;
    }
    if (in_.size() < header + length) return std::nullopt;
    std::pair<int, std::string> frame{b0 & 0x0F, in_.substr(header, length)};
    in_.erase(0, header + length);
    return frame;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string in_;
  std::string head_;
  bool ended_ = false;
  int close_code_ = -1;
  int pongs_ = 0;
};

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [k, v] : object.items()) keys.insert(k);
  return keys;
}

ExchangeSimConfig walk_config() {
  ExchangeSimConfig config;
  config.symbols = {"BTCUSDT", "ETHUSDT"};
  config.rate = 3000;
  config.seed = 42;
  return config;
}

// Reads text frames until `accept` has taken `count` of them or the deadline passes.
template <class Accept>
int read_frames(TestClient& client, int count, std::chrono::milliseconds budget, Accept accept) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  int taken = 0;
  while (taken < count && std::chrono::steady_clock::now() < deadline) {
    auto text = client.read_text(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!text) break;
    if (accept(*text)) ++taken;
  }
  return taken;
}

const std::regex kBtcPrice(R"(^\d+\.\d0$)");  // BTCUSDT: 2 decimals, tick 0.10
const std::regex kBtcSize(R"(^\d+\.\d{3}$)");

TEST(ExchangeSim, CombinedPublicStreamsMatchTheVenueShapesAndAgree) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(),
                        "/binance-usdm/public/stream?streams=btcusdt@bookTicker/btcusdt@depth20@100ms"),
            101)
      << client.head();

  std::optional<json> last_ticker;
  std::optional<std::uint64_t> last_depth_u;
  int tickers = 0;
  int compared = 0;
  const int depth_frames = read_frames(client, 5, kBound, [&](const std::string& text) {
    const json frame = json::parse(text);
    EXPECT_EQ(keys_of(frame), (std::set<std::string>{"stream", "data"}));
    const json& d = frame["data"];
    if (frame["stream"] == "btcusdt@bookTicker") {
      // Fixture futures_bookTicker_combined: e, u, s, b, B, a, A, T, E.
      EXPECT_EQ(keys_of(d), (std::set<std::string>{"e", "u", "s", "b", "B", "a", "A", "T", "E"}));
      EXPECT_EQ(d["e"], "bookTicker");
      EXPECT_EQ(d["s"], "BTCUSDT");
      EXPECT_TRUE(d["u"].is_number_unsigned() && d["T"].is_number() && d["E"].is_number());
      EXPECT_LE(d["T"].get<std::int64_t>(), d["E"].get<std::int64_t>());
      for (const char* k : {"b", "a"})
        EXPECT_TRUE(std::regex_match(d[k].get<std::string>(), kBtcPrice)) << d[k];
      for (const char* k : {"B", "A"})
        EXPECT_TRUE(std::regex_match(d[k].get<std::string>(), kBtcSize)) << d[k];
      EXPECT_LT(std::stod(d["b"].get<std::string>()), std::stod(d["a"].get<std::string>()));
      last_ticker = d;
      ++tickers;
      return false;
    }
    EXPECT_EQ(frame["stream"], "btcusdt@depth20@100ms");
    // USD-M partial depth has the diff's field set (fixture futures_depthUpdate_100ms_pu_chain).
    EXPECT_EQ(keys_of(d), (std::set<std::string>{"e", "E", "T", "s", "U", "u", "pu", "b", "a"}));
    EXPECT_EQ(d["e"], "depthUpdate");
    const auto& bids = d["b"];
    const auto& asks = d["a"];
    EXPECT_EQ(bids.size(), 20u);
    EXPECT_EQ(asks.size(), 20u);
    for (std::size_t i = 1; i < bids.size(); ++i)
      EXPECT_GT(std::stod(bids[i - 1][0].get<std::string>()), std::stod(bids[i][0].get<std::string>()));
    for (std::size_t i = 1; i < asks.size(); ++i)
      EXPECT_LT(std::stod(asks[i - 1][0].get<std::string>()), std::stod(asks[i][0].get<std::string>()));
    EXPECT_LT(std::stod(bids[0][0].get<std::string>()), std::stod(asks[0][0].get<std::string>()));
    EXPECT_LE(d["U"].get<std::uint64_t>(), d["u"].get<std::uint64_t>());
    if (last_depth_u) {
      EXPECT_EQ(d["pu"].get<std::uint64_t>(), *last_depth_u);
    }
    last_depth_u = d["u"].get<std::uint64_t>();
    // Frames of one connection are in generation order, so the latest bookTicker is the book's top now.
    if (last_ticker) {
      EXPECT_EQ((*last_ticker)["b"], bids[0][0]);
      EXPECT_EQ((*last_ticker)["B"], bids[0][1]);
      EXPECT_EQ((*last_ticker)["a"], asks[0][0]);
      EXPECT_EQ((*last_ticker)["A"], asks[0][1]);
      EXPECT_LE((*last_ticker)["u"].get<std::uint64_t>(), d["u"].get<std::uint64_t>());
      ++compared;
    }
    return true;
  });
  EXPECT_EQ(depth_frames, 5);
  EXPECT_GT(tickers, 0);
  EXPECT_GT(compared, 0);
  sim.stop();
}

TEST(ExchangeSim, MarketRouteServesTradesMarkPriceAndLiquidations) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(
      client.open(
          sim.port(), sim.ca_pem(),
          "/binance-usdm/market/stream?streams=ethusdt@aggTrade/ethusdt@markPrice@1s/ethusdt@forceOrder/"
          "btcusdt@forceOrder"),
      101);
  std::set<std::string> seen;
  read_frames(client, 1, kBound, [&](const std::string& text) {
    const json frame = json::parse(text);
    const json& d = frame["data"];
    const std::string stream = frame["stream"];
    if (stream == "ethusdt@aggTrade") {
      // Fixture futures_aggTrade_combined.
      EXPECT_EQ(keys_of(d), (std::set<std::string>{"e", "E", "a", "s", "p", "q", "f", "l", "T", "m"}));
      EXPECT_TRUE(d["m"].is_boolean());
      EXPECT_LE(d["f"].get<std::uint64_t>(), d["l"].get<std::uint64_t>());
    } else if (stream == "ethusdt@markPrice@1s") {
      // Fixture futures_markPriceUpdate.
      EXPECT_EQ(keys_of(d), (std::set<std::string>{"e", "E", "s", "p", "i", "P", "r", "T", "st"}));
      EXPECT_EQ(d["e"], "markPriceUpdate");
      EXPECT_GT(d["T"].get<std::int64_t>(), d["E"].get<std::int64_t>());
      EXPECT_TRUE(std::regex_match(d["r"].get<std::string>(), std::regex(R"(^-?\d\.\d{8}$)"))) << d["r"];
    } else {
      // Fixture futures_forceOrder_liquidation.
      EXPECT_EQ(keys_of(d), (std::set<std::string>{"e", "E", "o"}));
      EXPECT_EQ(keys_of(d["o"]),
                (std::set<std::string>{"s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"}));
    }
    seen.insert(stream.substr(stream.find('@') + 1));
    return seen.size() == 3;
  });
  EXPECT_TRUE(seen.count("aggTrade"));
  EXPECT_TRUE(seen.count("markPrice@1s"));
  EXPECT_TRUE(seen.count("forceOrder"));
}

TEST(ExchangeSim, SubscribeIsAcknowledgedWithTheSameIdAndRawFramesFollow) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/ws"), 101);
  ASSERT_TRUE(client.send_text(R"({"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":7})"));
  auto reply = client.read_text(kBound);
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, R"({"result":null,"id":7})");  // fixture ws_subscribe_response
  const int raw = read_frames(client, 3, kBound, [](const std::string& text) {
    const json d = json::parse(text);
    EXPECT_EQ(d["e"], "bookTicker");  // a raw connection gets the bare event
    return true;
  });
  EXPECT_EQ(raw, 3);
  ASSERT_TRUE(client.send_text(R"({"method":"LIST_SUBSCRIPTIONS","id":"q-1"})"));
  const int listed = read_frames(client, 1, kBound, [](const std::string& text) {
    const json d = json::parse(text);
    if (!d.contains("id")) return false;
    EXPECT_EQ(d["id"], "q-1");
    EXPECT_EQ(d["result"], json::array({"btcusdt@bookTicker"}));
    return true;
  });
  EXPECT_EQ(listed, 1);
  EXPECT_GE(sim.stats().client_messages, 2u);
}

TEST(ExchangeSim, MalformedRequestsGetTheVenueErrors) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/ws"), 101);
  const auto error_of = [&](std::string_view request) -> json {
    EXPECT_TRUE(client.send_text(request));
    auto reply = client.read_text(kBound);
    if (!reply) return {};
    return json::parse(*reply);
  };
  // Shapes and codes of fixture ws_error_replies: {"code":N,"msg":"..."}.
  const json bad_param = error_of(R"({"method":"SUBSCRIBE","params":[1],"id":1})");
  EXPECT_EQ(keys_of(bad_param), (std::set<std::string>{"code", "msg"}));
  EXPECT_EQ(bad_param["code"], 2);
  EXPECT_TRUE(bad_param["msg"].get<std::string>().starts_with("Invalid request: ")) << bad_param;
  const json bad_stream = error_of(R"({"method":"SUBSCRIBE","params":["btcusdt@nonsense"],"id":2})");
  EXPECT_EQ(bad_stream["code"], 2);
  const json bad_json = error_of(R"({"method":"SUBSCRIBE",)");
  EXPECT_EQ(bad_json["code"], 3);
  const json bad_type = error_of(R"({"method":"SET_PROPERTY","params":["combined","yes"],"id":3})");
  EXPECT_EQ(bad_type, json::parse(R"({"code":1,"msg":"Invalid value type: expected Boolean"})"));
  const json too_many = error_of(R"({"method":"GET_PROPERTY","params":["combined",true],"id":4})");
  EXPECT_EQ(too_many, json::parse(R"({"code":2,"msg":"Invalid request: too many parameters"})"));
  const json bad_id = error_of(R"({"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":-5})");
  EXPECT_EQ(bad_id["code"], 2);
  EXPECT_EQ(sim.stats().error_replies, 6u);
}

TEST(ExchangeSim, UnknownPathsAreNotFound) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  for (const char* target : {"/binance-usdm/nope", "/binance-usdm/public/streams?streams=btcusdt@bookTicker",
                             "/binance-usdm/private/ws", "/no-such-venue/public/ws", "/public/ws"}) {
    TestClient client;
    EXPECT_EQ(client.open(sim.port(), sim.ca_pem(), target), 404) << target;
  }
  TestClient bad_stream;
  EXPECT_EQ(bad_stream.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/stream?streams=btcusdt@bogus"),
            400);
  EXPECT_EQ(sim.stats().upgrades_rejected, 6u);
}

TEST(ExchangeSim, TheFirstPathSegmentNamesTheVenue) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/stream?streams=btcusdt@bookTicker"),
            101);
  const auto ids = sim.connection_ids("binance-usdm");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_TRUE(sim.connection_ids("bybit-linear").empty());
  const auto info = sim.connections();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].id, ids[0]);
  EXPECT_EQ(info[0].venue, "binance-usdm");
  EXPECT_EQ(info[0].target, "/public/stream?streams=btcusdt@bookTicker");
  EXPECT_EQ(sim.symbols("binance-usdm"), (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
}

TEST(ExchangeSim, EveryRegisteredVenueStartsOnOnePort) {
  ExchangeSimConfig config;
  config.venues = every_sim_venue();
  ASSERT_FALSE(config.venues.empty());
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());
  ASSERT_EQ(sim.venues().size(), config.venues.size());
  for (const auto& venue : config.venues) {
    EXPECT_FALSE(sim.symbols(venue.id).empty()) << venue.id;
    // Each venue answers its own unknown paths: routing reached it, not the simulator's catch-all.
    TestClient client;
    EXPECT_EQ(client.open(sim.port(), sim.ca_pem(), "/" + venue.id + "/no/such/path"), 404) << venue.id;
  }
}

TEST(ExchangeSim, AnUnknownVenueIsRefusedAtStartNamingTheSimulatedOnes) {
  ExchangeSimConfig config;
  config.venues = {{"binance-usdm", {}}, {"nasdaq", {}}};
  ExchangeSim sim(config);
  const auto r = sim.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("'nasdaq'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("binance-usdm"), std::string::npos) << r.error;
}

TEST(ExchangeSim, RestRequestsShareTheConnectionAndForcedFaultsCarryRetryAfter) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  // Unknown REST endpoints and venues are 404 and keep the connection open (keep-alive).
  auto missing = client.get(sim.port(), sim.ca_pem(), "/binance-usdm/no/such/endpoint");
  EXPECT_EQ(missing.status, 404);
  auto unknown_venue = client.get(sim.port(), sim.ca_pem(), "/nasdaq/api/v1/depth");
  EXPECT_EQ(unknown_venue.status, 404);

  sim.fail_rest("binance-usdm", 2, 429, 7s);
  for (int i = 0; i < 2; ++i) {
    const auto limited = client.get(sim.port(), sim.ca_pem(), "/binance-usdm/no/such/endpoint");
    EXPECT_EQ(limited.status, 429);
    EXPECT_NE(limited.head.find("Retry-After: 7\r\n"), std::string::npos) << limited.head;
  }
  sim.fail_rest("binance-usdm", 1, 418, 120s);
  const auto banned = client.get(sim.port(), sim.ca_pem(), "/binance-usdm/no/such/endpoint");
  EXPECT_EQ(banned.status, 418);
  EXPECT_NE(banned.head.find("Retry-After: 120\r\n"), std::string::npos) << banned.head;
  // The faults are used up: the venue answers again, on the same connection.
  EXPECT_EQ(client.get(sim.port(), sim.ca_pem(), "/binance-usdm/no/such/endpoint").status, 404);
  const auto stats = sim.stats();
  EXPECT_EQ(stats.rest_faults, 3u);
  EXPECT_EQ(stats.rest_requests, 5u);  // the unknown venue never reached a venue
  EXPECT_EQ(stats.connections_accepted, 1u);
}

TEST(ExchangeSim, AStreamOnTheWrongRouteGetsNothing) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient wrong, legacy, right;
  ASSERT_EQ(wrong.open(sim.port(), sim.ca_pem(), "/binance-usdm/market/stream?streams=btcusdt@bookTicker"),
            101);
  ASSERT_EQ(legacy.open(sim.port(), sim.ca_pem(), "/binance-usdm/stream?streams=btcusdt@bookTicker"), 101);
  ASSERT_EQ(right.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/stream?streams=btcusdt@bookTicker"),
            101);
  // The same stream flows on its own route while the wrong-route connections stay silent.
  EXPECT_EQ(read_frames(right, 20, kBound, [](const std::string&) { return true; }), 20);
  EXPECT_FALSE(wrong.read_text(300ms));
  EXPECT_FALSE(legacy.read_text(10ms));
  EXPECT_FALSE(wrong.ended());
  // A live SUBSCRIBE on the wrong route is acknowledged, and still nothing is served.
  ASSERT_TRUE(wrong.send_text(R"({"method":"SUBSCRIBE","params":["ethusdt@depth20@100ms"],"id":9})"));
  EXPECT_EQ(wrong.read_text(kBound), std::optional<std::string>(R"({"result":null,"id":9})"));
  EXPECT_FALSE(wrong.read_text(300ms));
}

std::vector<std::pair<std::string, std::string>> capture_frames(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> frames;  // stream, frame text
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    if (record["t"] != "recv") continue;
    const std::string text = record["data"];
    frames.emplace_back(json::parse(text)["stream"], text);
  }
  return frames;
}

TEST(ExchangeSim, ReplaySendsTheCapturedFramesByteExactInOrder) {
  const std::string path = sigflow::testing_support::fixtures_dir() + "/captures/BINANCE_FUTURES.jsonl";
  ExchangeSimConfig config;
  config.replay_file = path;
  config.replay_speed = 0;  // as fast as the client reads
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok()) << sim.start().error;
  const std::set<std::string> public_streams = {"sushiusdt@depth@100ms", "keepusdt@bookTicker",
                                                "ctkusdt@depth@100ms"};
  const std::set<std::string> market_streams = {"akrousdt@aggTrade", "sushiusdt@kline_1m"};

  const auto expect_replay = [&](const std::string& route, const std::set<std::string>& streams,
                                 bool add_wrong_route) {
    std::vector<std::string> expected;
    for (const auto& [stream, text] : capture_frames(path))
      if (streams.count(stream)) expected.push_back(text);
    ASSERT_GT(expected.size(), 10u);
    std::string target = route + "/stream?streams=";
    for (const auto& s : streams) target += s + "/";
    if (add_wrong_route) target += "sushiusdt@aggTrade";  // a /market stream asked on /public: never served
    TestClient client;
    ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), target), 101);
    std::size_t i = 0;
    read_frames(client, static_cast<int>(expected.size()), kBound, [&](const std::string& text) {
      if (i < expected.size()) {
        EXPECT_EQ(text, expected[i]) << "frame " << i;
      }
      ++i;
      return true;
    });
    EXPECT_EQ(i, expected.size());
    EXPECT_FALSE(client.read_text(200ms));  // and nothing after the end (no loop)
  };
  expect_replay("/binance-usdm/public", public_streams, true);
  expect_replay("/binance-usdm/market", market_streams, false);
}

TEST(ExchangeSim, ReplayToARawConnectionSendsTheBareEvents) {
  const std::string path = sigflow::testing_support::fixtures_dir() + "/captures/BINANCE_FUTURES.jsonl";
  ExchangeSimConfig config;
  config.replay_file = path;
  config.replay_speed = 0;
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());
  std::vector<std::string> expected;
  for (const auto& [stream, text] : capture_frames(path))
    if (stream == "sushiusdt@bookTicker")
      expected.push_back(nlohmann::ordered_json::parse(text)["data"].dump());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/ws/sushiusdt@bookTicker"), 101);
  std::size_t i = 0;
  read_frames(client, static_cast<int>(expected.size()), kBound, [&](const std::string& text) {
    // The capture's events are compact JSON, so an order-keeping dump of the recorded event is byte-equal.
    if (i < expected.size()) {
      EXPECT_EQ(text, expected[i]);
    }
    ++i;
    return true;
  });
  EXPECT_EQ(i, expected.size());
}

TEST(ExchangeSim, DiffDepthChainsAndAgreesWithThePartialOfTheSameInstant) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(),
                        "/binance-usdm/public/stream?streams=ethusdt@depth@100ms/ethusdt@depth20@100ms"),
            101);
  std::optional<std::uint64_t> last_u;
  std::optional<json> last_diff;
  int chained = 0;
  int agreed = 0;
  read_frames(client, 12, kBound, [&](const std::string& text) {
    const json frame = json::parse(text);
    const json& d = frame["data"];
    if (frame["stream"] == "ethusdt@depth@100ms") {
      EXPECT_EQ(keys_of(d), (std::set<std::string>{"e", "E", "T", "s", "U", "u", "pu", "b", "a"}));
      if (last_u) {
        EXPECT_EQ(d["pu"].get<std::uint64_t>(), *last_u);  // the USD-M continuity rule
        EXPECT_GT(d["U"].get<std::uint64_t>(), *last_u);
        ++chained;
      }
      last_u = d["u"].get<std::uint64_t>();
      last_diff = d;
      return false;
    }
    // A diff and a partial emitted at the same instant end at the same update id; every diff level inside
    // the partial's price range must then be what the partial shows.
    if (!last_diff || (*last_diff)["u"] != d["u"]) return false;
    for (const char* side : {"b", "a"}) {
      std::map<double, std::string> partial;
      for (const auto& level : d[side]) partial[std::stod(level[0].get<std::string>())] = level[1];
      const double lo = partial.begin()->first, hi = partial.rbegin()->first;
      for (const auto& level : (*last_diff)[side]) {
        const double price = std::stod(level[0].get<std::string>());
        if (price < lo || price > hi) continue;
        if (level[1] == "0.000") {
          EXPECT_FALSE(partial.count(price)) << level;
        } else {
          EXPECT_EQ(partial[price], level[1]) << level;
        }
      }
    }
    ++agreed;
    return true;
  });
  EXPECT_GT(chained, 3);
  EXPECT_GT(agreed, 3);
}

TEST(ExchangeSim, SendStampsAreMonotonicNanosecondsInsideData) {
  ExchangeSimConfig config = walk_config();
  config.stamp_send_ns = true;
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/stream?streams=btcusdt@bookTicker"),
            101);
  std::int64_t previous = 0;
  const int n = read_frames(client, 20, kBound, [&](const std::string& text) {
    const json d = json::parse(text)["data"];
    EXPECT_TRUE(d["sim_ns"].is_number_integer());
    const auto stamp = d["sim_ns"].get<std::int64_t>();
    EXPECT_LE(stamp, engine::monotonic_ns());
    EXPECT_GE(stamp, previous);
    previous = stamp;
    return true;
  });
  EXPECT_EQ(n, 20);
}

TEST(ExchangeSim, FaultHooksGapSilenceMalformedAndDisconnect) {
  ExchangeSim sim(walk_config());
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(),
                        "/binance-usdm/public/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker"),
            101);
  std::optional<std::uint64_t> last_u;
  int gaps = 0;
  int diffs = 0;
  const auto count_gaps = [&](const std::string& text) {
    const json frame = json::parse(text);
    if (frame["stream"] != "btcusdt@depth@100ms") return false;
    const json& d = frame["data"];
    if (last_u && d["pu"].get<std::uint64_t>() != *last_u) ++gaps;
    last_u = d["u"].get<std::uint64_t>();
    return ++diffs > 0;
  };
  read_frames(client, 3, kBound, count_gaps);
  EXPECT_EQ(gaps, 0);
  ASSERT_EQ(sim.connections().size(), 1u);
  EXPECT_EQ(sim.skip_depth_update(sim.connections()[0].id), 1u);
  // The skip applies to the next diff the simulator queues; diffs already queued or in the socket before it
  // (many, when a loaded machine delays this reader) arrive first and chain. So read until the gap shows,
  // then check that the chain resumes with no second one.
  read_frames(client, 1, kBound, [&](const std::string& text) { return count_gaps(text) && gaps > 0; });
  EXPECT_EQ(gaps, 1);
  read_frames(client, 3, kBound, count_gaps);
  EXPECT_EQ(gaps, 1);

  EXPECT_EQ(sim.send_malformed_json(), 1u);
  bool malformed = false;
  read_frames(client, 1, kBound, [&](const std::string& text) {
    malformed = !json::accept(text);
    return malformed;
  });
  EXPECT_TRUE(malformed);

  EXPECT_EQ(sim.set_silent(true), 1u);
  // Drain what was in flight before the switch, then nothing arrives while silent. A request's answer is
  // not silenced and is queued behind every frame sent before the switch: once it is read, all of those are.
  ASSERT_TRUE(client.send_text(R"({"method":"LIST_SUBSCRIPTIONS","id":"drained"})"));
  EXPECT_EQ(read_frames(client, 1, kBound,
                        [](const std::string& text) {
                          const json d = json::parse(text, nullptr, false);
                          return d.is_object() && d.contains("id") && d["id"] == "drained";
                        }),
            1);
  EXPECT_FALSE(client.ended());
  EXPECT_FALSE(client.read_text(300ms));
  sim.set_silent(false);
  EXPECT_TRUE(client.read_text(kBound));

  EXPECT_EQ(sim.disconnect(), 1u);
  while (client.read_text(kBound)) {
  }
  EXPECT_TRUE(client.ended());
  EXPECT_EQ(client.close_code(), -1);  // no close frame: the connection just dropped
  EXPECT_GT(sim.stats().frames_withheld, 0u);
  EXPECT_EQ(sim.stats().fault_disconnects, 1u);
}

TEST(ExchangeSim, PingsAreSentAndPongsCounted) {
  ExchangeSimConfig config = walk_config();
  config.ping_interval = 50ms;
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());
  TestClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/ws"), 101);
  // Reading answers the pings; the simulator's pong count is the condition.
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  while (sim.stats().pongs_received < 2 && std::chrono::steady_clock::now() < deadline)
    client.read_text(50ms);
  EXPECT_GE(sim.stats().pings_sent, 2u);
  EXPECT_GE(sim.stats().pongs_received, 2u);
}

TEST(ExchangeSim, StopReturnsPromptlyWithClientsConnected) {
  ExchangeSimConfig config = walk_config();
  config.rate = 50'000;
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());
  TestClient reading, idle, half_open;
  ASSERT_EQ(reading.open(sim.port(), sim.ca_pem(),
                         "/binance-usdm/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"),
            101);
  ASSERT_EQ(idle.open(sim.port(), sim.ca_pem(),
                      "/binance-usdm/public/stream?streams=btcusdt@depth@100ms/ethusdt@bookTicker"),
            101);
  // A TCP connection that never starts TLS: its thread is inside the handshake when stop() comes.
  const int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(sim.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(raw, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_TRUE(reading.read_text(kBound));
  // All three accepted, so that stop() meets one connection in its handshake.
  ASSERT_TRUE(testing_support::wait_for([&] { return sim.stats().connections_accepted >= 3; }, kBound));

  auto stopped = std::async(std::launch::async, [&] { sim.stop(); });
  // A hang guard, not a timing assertion: stop() must not wait for clients.
  ASSERT_EQ(stopped.wait_for(30s), std::future_status::ready);
  while (reading.read_text(kBound)) {
  }
  EXPECT_TRUE(reading.ended());
  EXPECT_EQ(sim.stats().connections_open, 0u);
  ::close(raw);
  TestClient late;
  EXPECT_EQ(late.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/ws"), 0);  // nothing listens any more
}

TEST(ExchangeSim, StartFailsCleanlyOnAMissingCapture) {
  ExchangeSimConfig config;
  config.replay_file = "/nonexistent/capture.jsonl";
  ExchangeSim sim(config);
  const StartResult r = sim.start();
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("/nonexistent/capture.jsonl"), std::string::npos);
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (::readdir(dir)) ++n;
    ::closedir(dir);
  }
  return n;
}

TEST(ExchangeSim, StopLeaksNoFileDescriptors) {
  const std::size_t before = open_fds();
  {
    ExchangeSim sim(walk_config());
    ASSERT_TRUE(sim.start().ok());
    TestClient a, b, rejected;
    ASSERT_EQ(a.open(sim.port(), sim.ca_pem(), "/binance-usdm/public/stream?streams=btcusdt@bookTicker"),
              101);
    ASSERT_EQ(b.open(sim.port(), sim.ca_pem(), "/binance-usdm/market/ws/btcusdt@aggTrade"), 101);
    EXPECT_EQ(rejected.open(sim.port(), sim.ca_pem(), "/binance-usdm/nope"), 404);
    EXPECT_TRUE(a.read_text(kBound));
    a.close();  // one client leaves before stop, two connections are still up at stop
    sim.stop();
  }
  EXPECT_EQ(open_fds(), before);
}

TEST(ExchangeSim, AClientThatDoesNotReadIsDisconnectedAsASlowConsumer) {
  ExchangeSimConfig config = walk_config();
  config.rate = 50'000;
  config.max_backlog_bytes = 256 * 1024;
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());
  TestClient idle;
  ASSERT_EQ(idle.open(sim.port(), sim.ca_pem(),
                      "/binance-usdm/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"),
            101);
  // Socket buffers fill, then the simulator-side backlog passes its bound: the venue's answer is a
  // disconnect.
  EXPECT_TRUE(testing_support::wait_for([&] { return sim.stats().slow_consumer_disconnects > 0; }, 60s));
  EXPECT_EQ(sim.stats().slow_consumer_disconnects, 1u);
  EXPECT_TRUE(testing_support::wait_for([&] { return sim.connections().empty(); }, kBound));
}

TEST(SyntheticMarket, SameSeedSameEventsAndTheBookStaysConsistent) {
  const auto specs = make_instrument_specs({"BTCUSDT", "ethusdt"}, 0);
  ASSERT_EQ(specs[1].symbol, "ETHUSDT");
  SyntheticMarket a(specs, 7), b(specs, 7);
  // Shadow books rebuilt only from the reported changes must equal the market's books: the changes are
  // complete, which is what makes the diff-depth stream correct.
  std::vector<std::map<std::int64_t, std::int64_t>> bids(2), asks(2);
  for (std::size_t i = 0; i < 2; ++i) {
    bids[i].insert(a.book(i).bids().begin(), a.book(i).bids().end());
    asks[i].insert(a.book(i).asks().begin(), a.book(i).asks().end());
  }
  std::uint64_t last_id = 0;
  int trades = 0;
  for (int n = 0; n < 50'000; ++n) {
    if (n % 1000 == 0) {
      a.sample_mark(0);  // clock-driven draws must not perturb the event sequence
      a.sample_liquidation(1);
    }
    const MarketEvent& e = a.step();
    const MarketEvent& f = b.step();
    ASSERT_EQ(e.instrument, f.instrument);
    ASSERT_EQ(e.last_update_id, f.last_update_id);
    ASSERT_EQ(e.changes.size(), f.changes.size());
    ASSERT_GT(e.first_update_id, last_id);
    ASSERT_GE(e.last_update_id, e.first_update_id);
    last_id = e.last_update_id;
    if (e.kind == MarketEvent::Kind::trade) {
      ++trades;
      ASSERT_GT(e.trade_size, 0);
      // A trade happens at the touch as it was before the event: a buyer lifts the best ask.
      const std::int64_t touch =
          e.taker == Side::bid ? asks[e.instrument].begin()->first : bids[e.instrument].rbegin()->first;
      ASSERT_EQ(e.trade_price, touch);
    }
    for (const auto& c : e.changes) {
      auto& side = c.side == Side::bid ? bids[e.instrument] : asks[e.instrument];
      if (c.size == 0) {
        side.erase(c.price);
      } else {
        side[c.price] = c.size;
      }
    }
    const OrderBook& book = a.book(e.instrument);
    ASSERT_LT(book.bids().begin()->first, book.asks().begin()->first);
    ASSERT_GE(book.bids().size(), 20u);
    ASSERT_GE(book.asks().size(), 20u);
  }
  EXPECT_GT(trades, 1000);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(
        std::equal(bids[i].begin(), bids[i].end(), a.book(i).bids().rbegin(), a.book(i).bids().rend()));
    EXPECT_TRUE(std::equal(asks[i].begin(), asks[i].end(), a.book(i).asks().begin(), a.book(i).asks().end()));
  }
  for (int i = 0; i < 10; ++i) {
    const MarkSample m = a.sample_mark(0);
    EXPECT_GT(m.mark_price, 0);
    EXPECT_LE(std::abs(m.funding_rate), 750'000);
  }
}

TEST(SyntheticMarket, DecimalsPrintLikeTheVenue) {
  std::string s;
  append_decimal(s, 6'701'210, 2);
  s += ' ';
  append_decimal(s, 5, 4);
  s += ' ';
  append_decimal(s, -1'200, 8);
  s += ' ';
  append_decimal(s, 42, 0);
  EXPECT_EQ(s, "67012.10 0.0005 -0.00001200 42");
}

}  // namespace
}  // namespace sigflow::tools
