// The simulated Bybit venues through the Venue interface, without sockets: the control plane's reply shapes,
// frames rendered from the synthetic market decoded by the engine's own Bybit decoder (snapshot on subscribe,
// u chains, a book rebuilt from the frames equal to the market's), send stamps, and capture replay
// attribution.
#include "tests/support/paths.hpp"
#include "tools/exchange-sim/bybit.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/frame_ring.hpp"
#include "io/venues/bybit/decoder.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace sigflow::tools {
namespace {

using nlohmann::json;

// The simulator's fan-out, reduced to what a venue sees: frames go to the sessions that serve the topic, and
// stamps are patched where client_connection.cpp patches them.
class SessionSink final : public FrameSink {
 public:
  struct Received {
    std::string topic;
    std::string text;
    bool book_delta = false;
  };

  void attach(VenueSession& session) { sessions_.push_back({&session, {}}); }
  std::vector<Received>& frames(std::size_t session) { return sessions_[session].frames; }

  bool wanted(std::string_view topic) const override {
    for (const auto& s : sessions_) {
      const auto served = s.session->served_topics();
      if (std::find(served.begin(), served.end(), topic) != served.end()) return true;
    }
    return false;
  }

  void emit(std::string_view topic, std::string_view payload, std::size_t stamp_slot,
            bool book_delta) override {
    for (auto& s : sessions_) {
      const auto served = s.session->served_topics();
      if (std::find(served.begin(), served.end(), topic) == served.end()) continue;
      std::string out;
      const std::size_t at = s.session->append_frame(out, topic, payload);
      if (stamp_slot != kNoSendStamp)
        write_send_stamp(out.data() + static_cast<std::uint32_t>(at + stamp_slot), ++stamp_);
      s.frames.push_back({std::string(topic), out, book_delta});
    }
  }

 private:
  struct Attached {
    VenueSession* session;
    std::vector<Received> frames;
  };
  std::vector<Attached> sessions_;
  std::int64_t stamp_ = 1'000'000'000'000;
};

std::unique_ptr<VenueSession> open(const Bybit& venue, std::string_view target) {
  unsigned status = 0;
  auto session = venue.open_session(target, status);
  EXPECT_NE(session, nullptr) << target << " → " << status;
  return session;
}

TEST(BybitSim, PathsPerCategory) {
  const Bybit spot(Bybit::Category::spot), linear(Bybit::Category::linear);
  EXPECT_EQ(spot.id(), "bybit-spot");
  EXPECT_EQ(linear.id(), "bybit-linear");
  unsigned status = 0;
  EXPECT_NE(spot.open_session("/v5/public/spot", status), nullptr);
  EXPECT_NE(linear.open_session("/v5/public/linear", status), nullptr);
  EXPECT_EQ(spot.open_session("/v5/public/linear", status), nullptr);
  EXPECT_EQ(status, 404u);
  status = 0;
  EXPECT_EQ(linear.open_session("/v5/public/option", status), nullptr);
  EXPECT_EQ(status, 404u);
}

TEST(BybitSim, ControlRepliesHaveTheVenueShapes) {
  const Bybit spot(Bybit::Category::spot), linear(Bybit::Category::linear);
  auto l = open(linear, "/v5/public/linear");
  auto s = open(spot, "/v5/public/spot");

  auto ack =
      json::parse(l->on_client_text(R"({"req_id":"7","op":"subscribe","args":["orderbook.50.BTCUSDT"]})"));
  EXPECT_EQ(ack["success"], true);
  EXPECT_EQ(ack["ret_msg"], "");
  EXPECT_EQ(ack["req_id"], "7");
  EXPECT_EQ(ack["op"], "subscribe");
  EXPECT_TRUE(ack["conn_id"].is_string());
  // Without a req_id linear still echoes an empty one (fixture linear_subscribe_ack); spot leaves it out and
  // says "subscribe" (fixture spot_subscribe_ack).
  ack = json::parse(l->on_client_text(R"({"op":"subscribe","args":["publicTrade.BTCUSDT"]})"));
  EXPECT_EQ(ack["req_id"], "");
  ack = json::parse(
      s->on_client_text(R"({"op":"subscribe","args":["orderbook.50.BTCUSDT","tickers.BTCUSDT"]})"));
  EXPECT_EQ(ack["success"], true);
  EXPECT_EQ(ack["ret_msg"], "subscribe");
  EXPECT_FALSE(ack.contains("req_id"));
  EXPECT_EQ(l->served_topics(), (std::vector<std::string>{"orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"}));

  auto failure = json::parse(l->on_client_text(R"({"op":"subscribe","args":["invalid.topic.BTCUSDT"]})"));
  EXPECT_EQ(failure["success"], false);
  EXPECT_EQ(failure["ret_msg"], "Invalid topic: invalid.topic.BTCUSDT");
  EXPECT_EQ(failure["op"], "subscribe");
  // allLiquidation exists on linear only; book depths are 1, 50, 200, 1000.
  EXPECT_EQ(
      json::parse(s->on_client_text(R"({"op":"subscribe","args":["allLiquidation.BTCUSDT"]})"))["success"],
      false);
  EXPECT_EQ(json::parse(l->on_client_text(R"({"op":"subscribe","args":["orderbook.7.BTCUSDT"]})"))["success"],
            false);
  EXPECT_EQ(
      json::parse(l->on_client_text(R"({"op":"subscribe","args":["allLiquidation.BTCUSDT"]})"))["success"],
      true);
  // Twice the same topic is refused; spot takes at most 10 args per request.
  EXPECT_EQ(json::parse(l->on_client_text(R"({"op":"subscribe","args":["publicTrade.BTCUSDT"]})"))["success"],
            false);
  std::string eleven = R"({"op":"subscribe","args":[)";
  for (int i = 0; i < 11; ++i)
    eleven += (i ? ",\"" : "\"") + std::string("publicTrade.SYM") + std::to_string(i) + "USDT\"";
  eleven += "]}";
  EXPECT_EQ(json::parse(s->on_client_text(eleven))["success"], false);
  EXPECT_EQ(json::parse(s->on_client_text(R"({"op":"dance"})"))["success"], false);
  EXPECT_EQ(json::parse(s->on_client_text("not json"))["success"], false);

  auto pong = json::parse(l->on_client_text(R"({"req_id":"ping","op":"ping"})"));
  EXPECT_EQ(pong["success"], true);
  EXPECT_EQ(pong["ret_msg"], "pong");
  EXPECT_EQ(pong["op"], "ping");
  EXPECT_EQ(pong["req_id"], "ping");
  pong = json::parse(s->on_client_text(R"({"op":"ping"})"));
  EXPECT_EQ(pong["ret_msg"], "pong");
  EXPECT_FALSE(pong.contains("req_id"));

  ack = json::parse(l->on_client_text(R"({"req_id":"9","op":"unsubscribe","args":["publicTrade.BTCUSDT"]})"));
  EXPECT_EQ(ack["success"], true);
  EXPECT_EQ(ack["op"], "unsubscribe");
  EXPECT_EQ(l->served_topics(), (std::vector<std::string>{"orderbook.50.BTCUSDT", "allLiquidation.BTCUSDT"}));
}

// Collects decoded events of one session's frames and checks the book chain as the engine would.
struct Checker final : public io::EventSink {
  void on_event(const io::MarketEvent& e) noexcept override {
    ++kinds[e.kind];
    if (e.kind == io::EventKind::kBookSnapshot && e.stream.starts_with("orderbook.50.")) {
      bids.clear();
      asks.clear();
      for (const auto& l : e.snapshot.bids) bids[l.price] = l.size;
      for (const auto& l : e.snapshot.asks) asks[l.price] = l.size;
      at = e.snapshot.last_update_id;
      synced = true;
    } else if (e.kind == io::EventKind::kBookDelta) {
      if (!synced || e.delta.prev_final_update_id != at) ++gaps;
      at = e.delta.final_update_id;
      for (const auto& l : e.delta.bids)
        l.size.is_zero() ? void(bids.erase(l.price)) : void(bids[l.price] = l.size);
      for (const auto& l : e.delta.asks)
        l.size.is_zero() ? void(asks.erase(l.price)) : void(asks[l.price] = l.size);
    }
  }
  std::map<io::EventKind, int> kinds;
  std::map<io::Decimal, io::Decimal, std::greater<>> bids;
  std::map<io::Decimal, io::Decimal> asks;
  std::uint64_t at = 0;
  bool synced = false;
  int gaps = 0;
};

bool decode(io::bybit::Decoder& decoder, const std::string& text, io::EventSink& sink) {
  std::string padded = text;
  padded.append(engine::kFramePadding, '\0');
  return decoder.decode(std::string_view(padded.data(), text.size()), 1, {}, sink);
}

struct SimulatedRun {
  SyntheticMarket market{make_instrument_specs({"BTCUSDT", "ETHUSDT"}, 0), 42};
  std::int64_t mono_ns = 1'000'000'000;
  std::int64_t wall_ms = 1'786'310'818'000;

  // `steps` market events, one simulated millisecond apart, then a clock tick that renders what is due.
  void advance(VenueFeed& feed, SessionSink& sink, int steps) {
    for (int i = 0; i < steps; ++i) {
      const MarketEvent& e = market.step();
      feed.on_event(market, e, wall_ms, sink);
      mono_ns += 1'000'000;
      ++wall_ms;
      feed.on_clock(market, mono_ns, wall_ms, sink);
    }
  }
  // Lets every interval stream render the final state without further market events.
  void settle(VenueFeed& feed, SessionSink& sink) {
    mono_ns += 1'000'000'000;
    wall_ms += 1000;
    feed.on_clock(market, mono_ns, wall_ms, sink);
  }
};

void expect_book_equals_market(const Checker& c, const SyntheticMarket& market, std::size_t instrument) {
  const InstrumentSpec& spec = market.spec(instrument);
  std::vector<std::pair<std::string, std::string>> want, got;
  for (const auto& [p, s] : market.book(instrument).bids()) {
    if (want.size() == 50) break;
    std::string price, size;
    append_decimal(price, p, spec.price_decimals);
    append_decimal(size, s, spec.size_decimals);
    want.emplace_back(price, size);
  }
  for (const auto& [p, s] : c.bids) {
    char pb[io::Decimal::kMaxChars], sb[io::Decimal::kMaxChars];
    got.emplace_back(std::string(pb, p.format(pb, pb + sizeof pb)),
                     std::string(sb, s.format(sb, sb + sizeof sb)));
  }
  EXPECT_EQ(got, want);
  ASSERT_FALSE(c.asks.empty());
  std::string best_ask;
  append_decimal(best_ask, market.book(instrument).asks().begin()->first, spec.price_decimals);
  char ab[io::Decimal::kMaxChars];
  EXPECT_EQ(std::string(ab, c.asks.begin()->first.format(ab, ab + sizeof ab)), best_ask);
  EXPECT_EQ(c.asks.size(), std::min<std::size_t>(50, market.book(instrument).asks().size()));
}

TEST(BybitSim, LinearFramesDecodeChainAndRebuildTheMarketsBook) {
  const Bybit venue(Bybit::Category::linear);
  SimulatedRun run;
  auto feed = venue.make_feed(run.market, false);
  auto session = open(venue, "/v5/public/linear");
  ASSERT_EQ(json::parse(session->on_client_text(
                R"({"req_id":"1","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT",)"
                R"("tickers.BTCUSDT","allLiquidation.BTCUSDT","orderbook.1.BTCUSDT"]})"))["success"],
            true);
  SessionSink sink;
  sink.attach(*session);
  run.advance(*feed, sink, 6000);
  run.settle(*feed, sink);

  io::bybit::Decoder decoder;
  Checker checker;
  std::map<std::string, std::vector<std::string>> types_by_channel;
  for (const auto& f : sink.frames(0)) {
    ASSERT_TRUE(decode(decoder, f.text, checker)) << decoder.error_message() << "\n" << f.text.substr(0, 300);
    const auto frame = json::parse(f.text);
    EXPECT_EQ(frame["topic"], f.topic);
    types_by_channel[f.topic].push_back(frame["type"].get<std::string>());
    // The snapshot a subscriber gets in place of its first delta keeps that delta's flag (bybit.hpp).
    const bool first_of_topic = types_by_channel[f.topic].size() == 1;
    if (!first_of_topic) {
      EXPECT_EQ(f.book_delta, frame["type"] == "delta" && f.topic.starts_with("orderbook."));
    }
  }
  // Book and linear ticker: a snapshot first, deltas after; orderbook.1 and the rest: snapshots only.
  const auto& book = types_by_channel["orderbook.50.BTCUSDT"];
  ASSERT_GT(book.size(), 100u);
  EXPECT_EQ(book.front(), "snapshot");
  EXPECT_EQ(std::count(book.begin(), book.end(), "delta"), static_cast<long>(book.size()) - 1);
  const auto& ticker = types_by_channel["tickers.BTCUSDT"];
  ASSERT_GT(ticker.size(), 10u);
  EXPECT_EQ(ticker.front(), "snapshot");
  EXPECT_EQ(std::count(ticker.begin(), ticker.end(), "delta"), static_cast<long>(ticker.size()) - 1);
  for (const auto& t : types_by_channel["orderbook.1.BTCUSDT"]) EXPECT_EQ(t, "snapshot");
  EXPECT_FALSE(types_by_channel["orderbook.1.BTCUSDT"].empty());

  EXPECT_EQ(checker.gaps, 0);
  EXPECT_GT(checker.kinds[io::EventKind::kTrade], 0);
  EXPECT_GT(checker.kinds[io::EventKind::kMarkFunding], 0);
  EXPECT_GT(checker.kinds[io::EventKind::kBestBidAsk], 0);
  EXPECT_GT(checker.kinds[io::EventKind::kLiquidation], 0);
  EXPECT_EQ(checker.kinds[io::EventKind::kVenueError], 0);
  expect_book_equals_market(checker, run.market, 0);
}

// A connection that subscribes while another already holds the book gets a snapshot at the update id the
// other is at, then the same deltas.
TEST(BybitSim, ALateSubscriberStartsFromASnapshotThatChains) {
  const Bybit venue(Bybit::Category::spot);
  SimulatedRun run;
  auto feed = venue.make_feed(run.market, true);
  auto first = open(venue, "/v5/public/spot");
  auto late = open(venue, "/v5/public/spot");
  SessionSink sink;
  sink.attach(*first);
  sink.attach(*late);
  ASSERT_EQ(
      json::parse(first->on_client_text(R"({"op":"subscribe","args":["orderbook.50.ETHUSDT"]})"))["success"],
      true);
  run.advance(*feed, sink, 2000);
  ASSERT_EQ(
      json::parse(late->on_client_text(R"({"op":"subscribe","args":["orderbook.50.ETHUSDT"]})"))["success"],
      true);
  run.advance(*feed, sink, 2000);
  run.settle(*feed, sink);

  ASSERT_FALSE(sink.frames(1).empty());
  EXPECT_EQ(json::parse(sink.frames(1).front().text)["type"], "snapshot");
  io::bybit::Decoder decoder;
  Checker a, b;
  for (const auto& f : sink.frames(0)) ASSERT_TRUE(decode(decoder, f.text, a)) << decoder.error_message();
  for (const auto& f : sink.frames(1)) ASSERT_TRUE(decode(decoder, f.text, b)) << decoder.error_message();
  EXPECT_EQ(a.gaps, 0);
  EXPECT_EQ(b.gaps, 0);
  EXPECT_EQ(a.at, b.at);
  EXPECT_EQ(a.bids, b.bids);
  EXPECT_EQ(a.asks, b.asks);
  expect_book_equals_market(b, run.market, 1);
  // Stamps were patched into every frame, the substituted snapshot included, and keep the JSON valid.
  for (const auto& f : sink.frames(1)) {
    const auto frame = json::parse(f.text);
    ASSERT_TRUE(frame.contains("sim_ns")) << f.text.substr(0, 200);
    EXPECT_GT(frame["sim_ns"].get<std::int64_t>(), 1'000'000'000'000);
  }
}

TEST(BybitSim, ReplayAttributesEveryCapturedFrameToOneCategory) {
  const Bybit spot(Bybit::Category::spot), linear(Bybit::Category::linear);
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/captures/BYBIT.jsonl");
  ASSERT_TRUE(in);
  std::map<std::string, std::string> category_of_connection = {{"BYBIT.ws.2", "linear"},
                                                               {"BYBIT.ws.3", "spot"}};
  const auto spot_session = open(spot, "/v5/public/spot");
  const auto linear_session = open(linear, "/v5/public/linear");
  std::size_t spot_frames = 0, linear_frames = 0, spot_deltas = 0, linear_deltas = 0, acks = 0;
  std::string line;
  while (std::getline(in, line)) {
    const auto record = json::parse(line);
    if (record["t"] != "recv") continue;
    const std::string data = record["data"];
    const auto s = spot.read_recorded_frame(data, 1.0);
    const auto l = linear.read_recorded_frame(data, 1.0);
    if (!s && !l) {
      EXPECT_TRUE(json::parse(data).contains("op")) << data.substr(0, 200);  // acks belong to no topic
      ++acks;
      continue;
    }
    ASSERT_NE(s.has_value(), l.has_value()) << data.substr(0, 200);
    const auto& frame = s ? *s : *l;
    EXPECT_EQ(category_of_connection[record["conn"]], s ? "spot" : "linear") << data.substr(0, 200);
    EXPECT_EQ(frame.text, data);
    EXPECT_EQ(frame.topic, json::parse(data)["topic"]);
    (s ? spot_frames : linear_frames)++;
    if (frame.book_delta) (s ? spot_deltas : linear_deltas)++;
    std::string out;
    (s ? spot_session : linear_session)->append_recorded_frame(out, frame);
    EXPECT_EQ(out, data);
  }
  EXPECT_EQ(acks, 24u);
  EXPECT_EQ(linear_frames, 2529u);
  EXPECT_EQ(spot_frames, 674u);
  EXPECT_EQ(linear_deltas, 1594u);
  EXPECT_EQ(spot_deltas, 548u);
}

// ---- over sockets: the venue inside the real simulator
// -----------------------------------------------------

// A small blocking client: TLS verified against the simulator's CA, the RFC 6455 upgrade, masked client text
// frames, and server frames read under a deadline.
class WsClient {
 public:
  ~WsClient() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  // The HTTP status of the upgrade answer; 0 on a transport failure.
  int open(std::uint16_t port, const std::string& ca_pem, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
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
    if (SSL_connect(ssl_) != 1) return 0;
    const std::string request = "GET " + target +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) return 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::size_t end = 0;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos)
      if (!read_some(deadline)) return 0;
    const int status = std::atoi(in_.c_str() + in_.find(' ') + 1);
    in_.erase(0, end + 4);
    return status;
  }

  bool send_text(std::string_view text) {
    std::string frame;
    frame += static_cast<char>(0x81);
    if (text.size() < 126) {
      frame += static_cast<char>(0x80 | text.size());
    } else {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(text.size() >> 8);
      frame += static_cast<char>(text.size() & 0xFF);
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < text.size(); ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
    return SSL_write(ssl_, frame.data(), static_cast<int>(frame.size())) > 0;
  }

  // The next text frame, skipping control frames; nullopt at the deadline or on a closed connection.
  std::optional<std::string> read_text(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      while (in_.size() < 2)
        if (!read_some(deadline)) return std::nullopt;
      const auto opcode = static_cast<unsigned char>(in_[0]) & 0x0F;
      std::uint64_t length = static_cast<unsigned char>(in_[1]) & 0x7F;
      std::size_t header = 2;
      if (length >= 126) {
        header = length == 126 ? 4 : 10;
        while (in_.size() < header)
          if (!read_some(deadline)) return std::nullopt;
        length = 0;
        for (std::size_t i = 2; i < header; ++i) length = (length << 8) | static_cast<unsigned char>(in_[i]);
      }
      while (in_.size() < header + length)
        if (!read_some(deadline)) return std::nullopt;
      std::string payload = in_.substr(header, length);
      in_.erase(0, header + length);
      if (opcode == 0x1) return payload;
      if (opcode == 0x8) return std::nullopt;
    }
  }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    char buf[16384];
    while (SSL_pending(ssl_) == 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      break;
    }
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) return SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string in_;
};

TEST(BybitSim, OverTlsTheLinearVenueAcksStreamsAChainedBookAndAnswersPings) {
  ExchangeSimConfig config;
  config.venues = {{"bybit-linear", {"BTCUSDT", "ETHUSDT"}}};
  config.rate = 2000;
  config.seed = 7;
  config.stamp_send_ns = true;
  ExchangeSim sim(config);
  ASSERT_TRUE(sim.start().ok());

  WsClient wrong;
  EXPECT_EQ(wrong.open(sim.port(), sim.ca_pem(), "/bybit-linear/v5/public/spot"), 404);

  WsClient client;
  ASSERT_EQ(client.open(sim.port(), sim.ca_pem(), "/bybit-linear/v5/public/linear"), 101);
  ASSERT_TRUE(client.send_text(
      R"({"req_id":"1","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]})"));
  io::bybit::Decoder decoder;
  Checker checker;
  int book_frames = 0, acks = 0, pongs = 0, stamped = 0;
  bool pinged = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((book_frames < 50 || pongs == 0) && std::chrono::steady_clock::now() < deadline) {
    const auto text = client.read_text(deadline);
    if (!text) break;
    ASSERT_TRUE(decode(decoder, *text, checker)) << decoder.error_message() << "\n" << text->substr(0, 300);
    const auto frame = json::parse(*text);
    if (frame.contains("op")) {
      EXPECT_EQ(frame["success"], true) << *text;
      if (frame["op"] == "subscribe") {
        EXPECT_EQ(frame["req_id"], "1");
        ++acks;
      } else if (frame["op"] == "ping") {
        EXPECT_EQ(frame["ret_msg"], "pong");
        ++pongs;
      }
      continue;
    }
    if (frame.contains("sim_ns") && frame["sim_ns"].get<std::int64_t>() > 0) ++stamped;
    if (frame["topic"] == "orderbook.50.BTCUSDT") {
      if (book_frames++ == 0) {
        EXPECT_EQ(frame["type"], "snapshot");
      }
    }
    if (book_frames == 10 && !pinged) {
      ASSERT_TRUE(client.send_text(R"({"req_id":"ping","op":"ping"})"));
      pinged = true;
    }
  }
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(pongs, 1);
  EXPECT_GE(book_frames, 50);
  EXPECT_EQ(checker.gaps, 0);
  EXPECT_GT(stamped, book_frames - 1);  // every data frame, the substituted snapshot included
  EXPECT_GT(checker.kinds[io::EventKind::kMarkFunding], 0);
}

}  // namespace
}  // namespace sigflow::tools
