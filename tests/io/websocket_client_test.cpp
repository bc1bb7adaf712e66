// WebSocketClient against an in-memory server: wslay's own server context for the WebSocket side (so the
// client is checked by an independent implementation: it rejects unmasked client frames, for one), and
// hand-written HTTP responses and frames where a test needs exact control of the bytes.
#include "io/websocket_client.hpp"

#include <gtest/gtest.h>
#include <wslay/wslay.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"

namespace sigflow::io {
namespace {

namespace http = boost::beast::http;

std::string std_string(boost::beast::string_view v) {
  return std::string(v.data(), v.size());
}

struct StringSink final : ByteSink {
  void write(std::string_view bytes) override { data.append(bytes); }
  std::string take() { return std::exchange(data, {}); }
  std::string data;
};

struct ReceivedMessage {
  std::uint8_t opcode;
  std::string payload;
  std::uint16_t status_code;
};

// The far end of the connection after the upgrade: a wslay server context, fed with what the client wrote.
class ServerPeer {
 public:
  ServerPeer() { reset(); }
  ~ServerPeer() { wslay_event_context_free(ctx_); }

  // A fresh server for the next connection.
  void reset() {
    static constexpr wslay_event_callbacks kCallbacks{
        &ServerPeer::recv, &ServerPeer::send, nullptr, nullptr, nullptr, nullptr, &ServerPeer::on_message,
    };
    if (ctx_ != nullptr) wslay_event_context_free(ctx_);
    ctx_ = nullptr;
    EXPECT_EQ(wslay_event_context_server_init(&ctx_, &kCallbacks, this), 0);
    received.clear();
    in_ = {};
    out_.clear();
  }
  ServerPeer(const ServerPeer&) = delete;
  ServerPeer& operator=(const ServerPeer&) = delete;

  void queue(std::uint8_t opcode, std::string_view payload) {
    const wslay_event_msg msg{opcode, reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    ASSERT_EQ(wslay_event_queue_msg(ctx_, &msg), 0);
  }
  void queue_close(std::uint16_t code, std::string_view reason) {
    ASSERT_EQ(
        wslay_event_queue_close(ctx_, code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size()),
        0);
  }
  // Bytes the server sends.
  std::string produce() {
    EXPECT_EQ(wslay_event_send(ctx_), 0);
    return std::exchange(out_, {});
  }
  // Bytes the client sent.
  void consume(std::string_view bytes) {
    in_ = bytes;
    EXPECT_EQ(wslay_event_recv(ctx_), 0);
  }
  bool close_received() const { return wslay_event_get_close_received(ctx_) != 0; }
  // True when the server saw a protocol violation (e.g. an unmasked client frame) and stopped reading.
  bool refused_client() const { return wslay_event_get_read_enabled(ctx_) == 0 && !close_received(); }

  std::vector<ReceivedMessage> received;

 private:
  static ServerPeer& self(void* user) { return *static_cast<ServerPeer*>(user); }
  static ssize_t recv(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* user) {
    auto& s = self(user);
    if (s.in_.empty()) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    const size_t n = std::min(len, s.in_.size());
    std::memcpy(buf, s.in_.data(), n);
    s.in_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
  static ssize_t send(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* user) {
    self(user).out_.append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }
  static void on_message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    std::string payload(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
    if (arg->opcode == WSLAY_CONNECTION_CLOSE && payload.size() >= 2) payload.erase(0, 2);
    self(user).received.push_back({arg->opcode, std::move(payload), arg->status_code});
  }

  wslay_event_context_ptr ctx_ = nullptr;
  std::string_view in_;
  std::string out_;
};

// One server frame, unmasked (RFC 6455 §5.2), for tests that need exact fragmentation.
std::string server_frame(std::uint8_t opcode, bool fin, std::string_view payload, bool masked = false) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0x00) | opcode));
  const char mask_bit = masked ? char(0x80) : char(0);
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(mask_bit | static_cast<char>(payload.size())));
  } else if (payload.size() <= 0xffff) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      f.push_back(static_cast<char>((payload.size() >> shift) & 0xff));
  }
  if (masked) {
    const char key[4] = {0x11, 0x22, 0x33, 0x44};
    f.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  } else {
    f.append(payload);
  }
  return f;
}

// Parses the client's upgrade request with Beast, as a server would.
http::request<http::empty_body> parse_request(std::string_view bytes) {
  http::request_parser<http::empty_body> parser;
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, bytes.size());
  EXPECT_TRUE(parser.is_done());
  return parser.release();
}

std::string upgrade_response(std::string_view request, std::string_view accept_override = {}) {
  const auto req = parse_request(request);
  const std::string accept = accept_override.empty()
                                 ? websocket_accept_key(std_string(req[http::field::sec_websocket_key]))
                                 : std::string(accept_override);
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Accept: " +
         accept + "\r\n\r\n";
}

std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('!' + (i * 7 + seed) % 90);
  return s;
}

struct Frame {
  std::uint32_t conn_id;
  std::int64_t recv_ns;
  std::string bytes;
};

std::vector<Frame> drain(engine::FrameRing& ring) {
  std::vector<Frame> frames;
  ring.consume([&](const engine::FrameView& f) {
    // The padding contract: kFramePadding zero bytes follow every payload.
    for (std::size_t i = 0; i < engine::kFramePadding; ++i) EXPECT_EQ(f.bytes.data()[f.bytes.size() + i], 0);
    frames.push_back({f.conn_id, f.recv_ns, std::string(f.bytes)});
  });
  return frames;
}

WebSocketConfig test_config() {
  WebSocketConfig c;
  c.host = "fstream.binance.com";
  c.target = "/stream?streams=btcusdt@depth@100ms";
  c.connection_id = 7;
  c.max_message_bytes = 1 << 20;
  return c;
}

// Client, ring, sink and server wired together; `now` advances by 1 µs per delivery.
struct Harness {
  explicit Harness(WebSocketConfig config = test_config(), std::size_t arena = 4 << 20,
                   std::size_t frames = 4096, WebSocketOpenListener* listener = nullptr)
      : ring(arena, frames), client(std::move(config), ring, listener) {}

  void open() {
    client.on_transport_open(to_server, now);
    request = to_server.take();
  }
  bool deliver(std::string_view bytes) { return client.on_bytes(bytes, now += 1000, to_server); }
  void handshake() {
    open();
    ASSERT_TRUE(deliver(upgrade_response(request)));
    ASSERT_EQ(client.state(), WebSocketClient::State::kOpen) << client.last_error();
  }
  // Server → client, then what the client answered → server. Returns on_bytes' result.
  bool pump() {
    const bool ok = deliver(server.produce());
    server.consume(to_server.take());
    return ok;
  }

  engine::FrameRing ring;
  WebSocketClient client;
  StringSink to_server;
  ServerPeer server;
  std::string request;
  std::int64_t now = 1'000'000'000;
};

// ---- the opening handshake ----

TEST(WebSocketHandshake, AcceptKeyMatchesRfc6455Example) {
  // RFC 6455 §1.3.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, RequestCarriesUpgradeHeadersAndAFreshKey) {
  WebSocketConfig config = test_config();
  config.extra_headers = {{"X-MBX-APIKEY", "abc"}};
  Harness h(config);
  h.open();
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kHandshaking);
  const auto req = parse_request(h.request);
  EXPECT_EQ(req.method(), http::verb::get);
  EXPECT_EQ(std_string(req.target()), "/stream?streams=btcusdt@depth@100ms");
  EXPECT_EQ(req.version(), 11u);
  EXPECT_EQ(std_string(req[http::field::host]), "fstream.binance.com");
  EXPECT_EQ(std_string(req[http::field::upgrade]), "websocket");
  EXPECT_EQ(std_string(req[http::field::connection]), "Upgrade");
  EXPECT_EQ(std_string(req[http::field::sec_websocket_version]), "13");
  EXPECT_EQ(std_string(req["X-MBX-APIKEY"]), "abc");
  EXPECT_FALSE(req[http::field::user_agent].empty());
  const std::string key = std_string(req[http::field::sec_websocket_key]);
  EXPECT_EQ(key.size(), 24u);  // base64 of 16 bytes
  EXPECT_EQ(key.substr(22), "==");

  h.client.on_transport_closed();
  h.open();
  EXPECT_NE(std_string(parse_request(h.request)[http::field::sec_websocket_key]), key);
}

TEST(WebSocketHandshake, LineBreakInConfiguredHeaderIsRefused) {
  WebSocketConfig config = test_config();
  config.extra_headers = {{"X-Evil", "a\r\nInjected: 1"}};
  Harness h(config);
  h.open();
  EXPECT_TRUE(h.request.empty());
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kFailed);
  EXPECT_NE(h.client.last_error().find("invalid upgrade request"), std::string_view::npos);
  EXPECT_FALSE(h.client.on_tick(h.now, h.to_server));
}

class CountingListener final : public WebSocketOpenListener {
 public:
  void on_websocket_open(WebSocketClient& client, std::int64_t now_ns) override {
    ++opens;
    opened_at = now_ns;
    EXPECT_TRUE(client.send_text(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1})"));
  }
  int opens = 0;
  std::int64_t opened_at = 0;
};

TEST(WebSocketHandshake, UpgradeOpensAndListenerSubscribes) {
  CountingListener listener;
  Harness h(test_config(), 1 << 20, 64, &listener);
  h.handshake();
  EXPECT_EQ(listener.opens, 1);
  EXPECT_EQ(listener.opened_at, h.now);
  EXPECT_TRUE(h.client.last_error().empty());
  // The subscription went out in the same on_bytes call, masked, and the server reads it.
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_TEXT_FRAME);
  EXPECT_EQ(h.server.received[0].payload, R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1})");
  EXPECT_FALSE(h.server.refused_client());
}

TEST(WebSocketHandshake, BytesAfterTheHeaderBelongToTheWebSocketStream) {
  Harness h;
  h.open();
  h.server.queue(WSLAY_TEXT_FRAME, "first");
  h.server.queue(WSLAY_TEXT_FRAME, "second");
  ASSERT_TRUE(h.deliver(upgrade_response(h.request) + h.server.produce()));
  const auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "first");
  EXPECT_EQ(frames[1].bytes, "second");
}

TEST(WebSocketHandshake, WrongAcceptKeyFails) {
  Harness h;
  h.open();
  EXPECT_FALSE(h.deliver(upgrade_response(h.request, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kFailed);
  EXPECT_NE(h.client.last_error().find("Sec-WebSocket-Accept"), std::string_view::npos)
      << h.client.last_error();
  EXPECT_EQ(h.client.counters().protocol_errors.load(), 1u);
}

TEST(WebSocketHandshake, MissingUpgradeHeaderFails) {
  Harness h;
  h.open();
  const auto req = parse_request(h.request);
  const std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
      websocket_accept_key(std_string(req[http::field::sec_websocket_key])) + "\r\n\r\n";
  EXPECT_FALSE(h.deliver(response));
  EXPECT_NE(h.client.last_error().find("Upgrade: websocket"), std::string_view::npos)
      << h.client.last_error();
}

TEST(WebSocketHandshake, ConnectionTokenIsMatchedCaseInsensitivelyInAList) {
  Harness h;
  h.open();
  const auto req = parse_request(h.request);
  const std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
      "sec-websocket-accept: " +
      websocket_accept_key(std_string(req[http::field::sec_websocket_key])) + "\r\n\r\n";
  EXPECT_TRUE(h.deliver(response)) << h.client.last_error();
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kOpen);
}

TEST(WebSocketHandshake, UnrequestedExtensionFails) {
  Harness h;
  h.open();
  std::string response = upgrade_response(h.request);
  response.insert(response.size() - 2, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  EXPECT_FALSE(h.deliver(response));
  EXPECT_NE(h.client.last_error().find("extension"), std::string_view::npos) << h.client.last_error();
}

TEST(WebSocketHandshake, RateLimitedResponseReportsStatusAndBody) {
  Harness h;
  h.open();
  const std::string body = R"({"code":-1003,"msg":"Too many requests; current limit is 300 per 5 minutes."})";
  const std::string header =
      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nRetry-After: 60\r\n\r\n";
  // The header alone is not enough: the body is what says why.
  EXPECT_TRUE(h.deliver(header));
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kHandshaking);
  EXPECT_FALSE(h.deliver(body));
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kFailed);
  const std::string error(h.client.last_error());
  EXPECT_NE(error.find("429"), std::string::npos) << error;
  EXPECT_NE(error.find("Too Many Requests"), std::string::npos) << error;
  EXPECT_NE(error.find("-1003"), std::string::npos) << error;
}

TEST(WebSocketHandshake, BodyEndingAtEofIsReportedWhenTheTransportCloses) {
  Harness h;
  h.open();
  EXPECT_TRUE(
      h.deliver("HTTP/1.1 418 I'm a teapot\r\nConnection: close\r\n\r\n{\"code\":-1003,\"msg\":\"IP banned"));
  EXPECT_TRUE(h.deliver(" until 1700000000000\"}"));
  h.client.on_transport_closed();
  const std::string error(h.client.last_error());
  EXPECT_NE(error.find("418"), std::string::npos) << error;
  EXPECT_NE(error.find("IP banned until 1700000000000"), std::string::npos) << error;
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kIdle);
}

TEST(WebSocketHandshake, LongErrorBodyIsCut) {
  Harness h;
  h.open();
  const std::string body(10000, 'x');
  EXPECT_FALSE(h.deliver("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10000\r\n\r\n" + body));
  const std::string error(h.client.last_error());
  EXPECT_NE(error.find("503"), std::string::npos);
  EXPECT_LT(error.size(), 400u);
  EXPECT_NE(error.find("..."), std::string::npos);
}

TEST(WebSocketHandshake, GarbageResponseFails) {
  Harness h;
  h.open();
  EXPECT_FALSE(h.deliver("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
  EXPECT_NE(h.client.last_error().find("malformed upgrade response"), std::string_view::npos)
      << h.client.last_error();
}

TEST(WebSocketHandshake, EndlessHeaderIsBounded) {
  Harness h;
  h.open();
  bool ok = h.deliver("HTTP/1.1 101 Switching Protocols\r\n");
  for (int i = 0; ok && i < 2000; ++i)
    ok = h.deliver("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  EXPECT_FALSE(ok);
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kFailed);
}

TEST(WebSocketHandshake, TimesOutWithoutResponse) {
  WebSocketConfig config = test_config();
  config.handshake_timeout_ns = 2'000'000'000;
  Harness h(config);
  h.open();
  EXPECT_TRUE(h.client.on_tick(h.now + 1'000'000'000, h.to_server));
  EXPECT_FALSE(h.client.on_tick(h.now + 2'500'000'000, h.to_server));
  EXPECT_NE(h.client.last_error().find("no upgrade response"), std::string_view::npos);
}

TEST(WebSocketHandshake, ClosedDuringHeaderIsAnError) {
  Harness h;
  h.open();
  EXPECT_TRUE(h.deliver("HTTP/1.1 101 Swi"));
  h.client.on_transport_closed();
  EXPECT_NE(h.client.last_error().find("closed during the upgrade"), std::string_view::npos)
      << h.client.last_error();
}

// ---- messages into the ring ----

TEST(WebSocketMessages, VariousSizesLandInTheRingByteExact) {
  Harness h;
  h.handshake();
  // Around each length-encoding boundary of §5.2 (7 bit, 16 bit, 64 bit) and well past wslay's 4 KiB buffer.
  const std::vector<std::size_t> sizes = {0, 1, 125, 126, 127, 4095, 4096, 65535, 65536, 65537, 300000};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    h.server.queue(i % 2 == 0 ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
                   pattern(sizes[i], static_cast<unsigned>(i)));
  }
  const std::int64_t before = h.now;
  ASSERT_TRUE(h.pump()) << h.client.last_error();
  const auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), sizes.size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(frames[i].conn_id, 7u);
    EXPECT_EQ(frames[i].recv_ns, before + 1000);
    EXPECT_EQ(frames[i].bytes, pattern(sizes[i], static_cast<unsigned>(i))) << "size " << sizes[i];
    total += sizes[i];
  }
  EXPECT_EQ(h.client.counters().messages.load(), sizes.size());
  EXPECT_EQ(h.client.counters().bytes.load(), total);
  EXPECT_EQ(h.client.counters().drops.load(), 0u);
}

TEST(WebSocketMessages, FragmentedMessageArrivesAsOneFrameWithPingInBetween) {
  Harness h;
  h.handshake();
  const std::string stream = server_frame(WSLAY_TEXT_FRAME, false, R"({"e":"depthUpdate",)") +
                             server_frame(WSLAY_CONTINUATION_FRAME, false, R"("b":[["100.1","2"]],)") +
                             server_frame(WSLAY_PING, true, "mid-message") +
                             server_frame(WSLAY_CONTINUATION_FRAME, false, R"("a":[],)") +
                             server_frame(WSLAY_CONTINUATION_FRAME, true, R"("u":42})") +
                             server_frame(WSLAY_TEXT_FRAME, true, "next");
  ASSERT_TRUE(h.deliver(stream)) << h.client.last_error();
  const auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, R"({"e":"depthUpdate","b":[["100.1","2"]],"a":[],"u":42})");
  EXPECT_EQ(frames[1].bytes, "next");
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_PONG);
  EXPECT_EQ(h.server.received[0].payload, "mid-message");
}

// The same server bytes cut into any pieces give the same frames and the same answers.
TEST(WebSocketMessages, ArbitrarySplitsGiveTheSameResult) {
  const auto run = [](auto&& next_piece_size) {
    Harness h;
    h.open();
    std::string stream = upgrade_response(h.request);
    stream += server_frame(WSLAY_TEXT_FRAME, true, "hello");
    stream += server_frame(WSLAY_BINARY_FRAME, false, pattern(3000, 1));
    stream += server_frame(WSLAY_PING, true, "p1");
    stream += server_frame(WSLAY_CONTINUATION_FRAME, false, pattern(5000, 2));
    stream += server_frame(WSLAY_CONTINUATION_FRAME, true, pattern(200, 3));
    stream += server_frame(WSLAY_TEXT_FRAME, true, pattern(70000, 4));
    stream += server_frame(WSLAY_TEXT_FRAME, true, "");
    stream +=
        server_frame(WSLAY_TEXT_FRAME, true, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 utf-8 split anywhere");
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t n = std::min(next_piece_size(), stream.size() - pos);
      EXPECT_TRUE(h.deliver(std::string_view(stream).substr(pos, n))) << h.client.last_error();
      pos += n;
    }
    std::vector<std::string> result;
    for (auto& f : drain(h.ring)) result.push_back(std::move(f.bytes));
    h.server.consume(h.to_server.take());
    for (const auto& m : h.server.received)
      result.push_back("server got " + std::to_string(m.opcode) + ":" + m.payload);
    return result;
  };
  const auto whole = run([] { return std::size_t{1} << 30; });
  ASSERT_EQ(whole.size(), 6u);
  EXPECT_EQ(whole[0], "hello");
  EXPECT_EQ(whole[1], pattern(3000, 1) + pattern(5000, 2) + pattern(200, 3));
  EXPECT_EQ(whole[2], pattern(70000, 4));
  EXPECT_EQ(whole[3], "");
  EXPECT_EQ(whole[5], "server got 10:p1");
  EXPECT_EQ(run([] { return std::size_t{1}; }), whole);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> size(1, seed * 500);
    EXPECT_EQ(run([&] { return size(rng); }), whole) << "seed " << seed;
  }
}

// Two connections of one feed thread share its ring. Messages that straddle reads on one connection must
// not be corrupted by whole messages arriving on the other in between.
TEST(WebSocketMessages, ConnectionsSharingARingDoNotInterleave) {
  engine::FrameRing ring(1 << 20, 256);
  WebSocketConfig config_a = test_config();
  config_a.connection_id = 1;
  WebSocketConfig config_b = test_config();
  config_b.connection_id = 2;
  WebSocketClient a(config_a, ring), b(config_b, ring);
  StringSink sink_a, sink_b;
  a.on_transport_open(sink_a, 0);
  b.on_transport_open(sink_b, 0);
  ASSERT_TRUE(a.on_bytes(upgrade_response(sink_a.take()), 1, sink_a));
  ASSERT_TRUE(b.on_bytes(upgrade_response(sink_b.take()), 1, sink_b));

  std::string stream_a, stream_b;
  for (unsigned i = 0; i < 20; ++i) {
    stream_a += server_frame(WSLAY_TEXT_FRAME, true, pattern(700 + i * 13, i));
    stream_b += server_frame(WSLAY_TEXT_FRAME, i % 3 == 0, pattern(300 + i * 7, 100 + i));
    if (i % 3 != 0) stream_b += server_frame(WSLAY_CONTINUATION_FRAME, true, pattern(50, 200 + i));
  }
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::size_t> piece(1, 900);
  std::size_t pos_a = 0, pos_b = 0;
  std::int64_t now = 10;
  while (pos_a < stream_a.size() || pos_b < stream_b.size()) {
    const std::size_t na = std::min(piece(rng), stream_a.size() - pos_a);
    ASSERT_TRUE(a.on_bytes(std::string_view(stream_a).substr(pos_a, na), ++now, sink_a));
    pos_a += na;
    const std::size_t nb = std::min(piece(rng), stream_b.size() - pos_b);
    ASSERT_TRUE(b.on_bytes(std::string_view(stream_b).substr(pos_b, nb), ++now, sink_b));
    pos_b += nb;
  }
  std::vector<std::string> got_a, got_b;
  for (auto& f : drain(ring)) (f.conn_id == 1 ? got_a : got_b).push_back(std::move(f.bytes));
  ASSERT_EQ(got_a.size(), 20u);
  ASSERT_EQ(got_b.size(), 20u);
  for (unsigned i = 0; i < 20; ++i) {
    EXPECT_EQ(got_a[i], pattern(700 + i * 13, i)) << i;
    EXPECT_EQ(got_b[i], pattern(300 + i * 7, 100 + i) + (i % 3 != 0 ? pattern(50, 200 + i) : "")) << i;
  }
  EXPECT_EQ(a.counters().drops.load() + b.counters().drops.load(), 0u);
}

// A message is stamped with the time its first bytes arrived, not when it completed.
TEST(WebSocketMessages, MessageSpanningReadsIsStampedWithItsFirstRead) {
  Harness h;
  h.handshake();
  const std::string frame = server_frame(WSLAY_BINARY_FRAME, true, pattern(10000, 5));
  ASSERT_TRUE(h.client.on_bytes(std::string_view(frame).substr(0, 3000), 5'000, h.to_server));
  ASSERT_TRUE(h.client.on_bytes(std::string_view(frame).substr(3000, 3000), 6'000, h.to_server));
  EXPECT_EQ(h.ring.frames_available(), 0u);
  ASSERT_TRUE(h.client.on_bytes(std::string_view(frame).substr(6000), 7'000, h.to_server));
  const auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].recv_ns, 5'000);
  EXPECT_EQ(frames[0].bytes, pattern(10000, 5));
}

// ---- control frames ----

TEST(WebSocketControl, ServerPingIsAnsweredWithTheSamePayload) {
  Harness h;
  h.handshake();
  h.server.queue(WSLAY_PING, "1700000000123");
  ASSERT_TRUE(h.pump());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_PONG);
  EXPECT_EQ(h.server.received[0].payload, "1700000000123");
  EXPECT_EQ(h.client.counters().pings_answered.load(), 1u);
  EXPECT_EQ(h.ring.frames_available(), 0u);  // control frames are not messages
}

TEST(WebSocketControl, ServerCloseIsAnsweredAndFinishes) {
  Harness h;
  h.handshake();
  // wslay sends queued control frames first and nothing after a close: produce the text on its own.
  h.server.queue(WSLAY_TEXT_FRAME, "last words");
  std::string stream = h.server.produce();
  h.server.queue_close(1001, "maintenance");
  stream += h.server.produce();
  ASSERT_TRUE(h.deliver(stream));
  h.server.consume(h.to_server.take());
  EXPECT_TRUE(h.client.finished());
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kClosed);
  EXPECT_EQ(h.client.close_code_received(), 1001);
  EXPECT_EQ(h.client.close_code_sent(), 1001);
  EXPECT_NE(h.client.last_error().find("maintenance"), std::string_view::npos) << h.client.last_error();
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(h.server.received[0].status_code, 1001);
  EXPECT_EQ(drain(h.ring).size(), 1u);
  EXPECT_FALSE(h.client.send_text("too late"));
  h.client.on_transport_closed();
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kIdle);
}

TEST(WebSocketControl, ClientCloseHandshake) {
  Harness h;
  h.handshake();
  ASSERT_TRUE(h.client.close(1000, "bye", h.to_server));
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kClosing);
  EXPECT_FALSE(h.client.finished());
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].status_code, 1000);
  EXPECT_EQ(h.server.received[0].payload, "bye");
  ASSERT_TRUE(h.pump());  // the server's close reply
  EXPECT_TRUE(h.client.finished());
  EXPECT_TRUE(h.client.last_error().empty()) << h.client.last_error();
}

TEST(WebSocketControl, LongCloseReasonIsCutToFitAControlFrame) {
  Harness h;
  h.handshake();
  ASSERT_TRUE(h.client.close(1001, std::string(300, 'r'), h.to_server));
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].status_code, 1001);
  EXPECT_EQ(h.server.received[0].payload, std::string(123, 'r'));
}

TEST(WebSocketControl, UnansweredCloseTimesOut) {
  WebSocketConfig config = test_config();
  config.close_timeout_ns = 1'000'000'000;
  Harness h(config);
  h.handshake();
  ASSERT_TRUE(h.client.close(1000, "bye", h.to_server));
  EXPECT_TRUE(h.client.on_tick(h.now, h.to_server));
  EXPECT_TRUE(h.client.on_tick(h.now + 500'000'000, h.to_server));
  EXPECT_FALSE(h.client.on_tick(h.now + 1'500'000'000, h.to_server));
  EXPECT_NE(h.client.last_error().find("did not answer our close"), std::string_view::npos);
}

TEST(WebSocketControl, ClientPingsOnItsIntervalAndCountsPongs) {
  WebSocketConfig config = test_config();
  config.ping_interval_ns = 1'000'000'000;
  Harness h(config);
  h.handshake();
  EXPECT_TRUE(h.client.on_tick(h.now + 500'000'000, h.to_server));
  EXPECT_TRUE(h.to_server.data.empty());
  EXPECT_TRUE(h.client.on_tick(h.now + 1'000'000'000, h.to_server));
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_PING);
  ASSERT_TRUE(h.pump());  // wslay's server answers the ping
  EXPECT_EQ(h.client.counters().pongs_received.load(), 1u);
}

TEST(WebSocketControl, SilentConnectionIsClosed) {
  WebSocketConfig config = test_config();
  config.silence_timeout_ns = 5'000'000'000;
  Harness h(config);
  h.handshake();
  EXPECT_TRUE(h.client.on_tick(h.now + 4'000'000'000, h.to_server));
  h.server.queue(WSLAY_PING, "alive");
  h.now += 4'000'000'000;
  ASSERT_TRUE(h.pump());  // any bytes reset the silence clock
  EXPECT_EQ(h.client.last_receive_ns(), h.now);
  EXPECT_TRUE(h.client.on_tick(h.now + 4'000'000'000, h.to_server));
  EXPECT_FALSE(h.client.on_tick(h.now + 6'000'000'000, h.to_server));
  EXPECT_NE(h.client.last_error().find("silent connection"), std::string_view::npos);
  h.server.consume(h.to_server.take());
  ASSERT_FALSE(h.server.received.empty());
  EXPECT_EQ(h.server.received.back().status_code, 1001);
}

TEST(WebSocketControl, LargestPingIsAnsweredAndOversizedPingIsAProtocolError) {
  Harness h;
  h.handshake();
  const std::string payload = pattern(125, 3);  // §5.5: control payloads are at most 125 bytes
  ASSERT_TRUE(h.deliver(server_frame(WSLAY_PING, true, payload)));
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].payload, payload);
  EXPECT_FALSE(h.deliver(server_frame(WSLAY_PING, true, pattern(126, 3))));
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kFailed);
  EXPECT_NE(h.client.last_error().find("malformed WebSocket frame"), std::string_view::npos)
      << h.client.last_error();
  // wslay's frame layer queues a close without a code for this; it still goes out.
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 2u);
  EXPECT_EQ(h.server.received[1].opcode, WSLAY_CONNECTION_CLOSE);
}

TEST(WebSocketControl, CloseWithoutCodeIsAnsweredAndFinishes) {
  Harness h;
  h.handshake();
  ASSERT_TRUE(h.deliver(server_frame(WSLAY_CONNECTION_CLOSE, true, "")));
  EXPECT_TRUE(h.client.finished());
  EXPECT_NE(h.client.last_error().find("without a close code"), std::string_view::npos)
      << h.client.last_error();
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_CONNECTION_CLOSE);
  // Bytes after the close handshake are ignored, not parsed.
  EXPECT_TRUE(h.deliver(server_frame(WSLAY_TEXT_FRAME, true, "late")));
  EXPECT_EQ(h.ring.frames_available(), 0u);
}

// ---- limits and protocol errors ----

TEST(WebSocketLimits, OversizedFrameIsRefusedWithClose1009) {
  WebSocketConfig config = test_config();
  config.max_message_bytes = 1000;
  Harness h(config);
  h.handshake();
  h.server.queue(WSLAY_TEXT_FRAME, pattern(1000, 0));  // exactly at the limit: fine
  h.server.queue(WSLAY_TEXT_FRAME, pattern(2000, 0));
  EXPECT_FALSE(h.pump());
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kFailed);
  EXPECT_EQ(h.client.close_code_sent(), 1009);
  // wslay itself refuses a single frame over the limit (set_max_recv_msg_length checks each frame's
  // declared length when buffering is off), before the client sees the frame start.
  EXPECT_NE(h.client.last_error().find("frame longer than max_message_bytes 1000; sent close 1009"),
            std::string_view::npos)
      << h.client.last_error();
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(h.server.received[0].status_code, 1009);
  const auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes.size(), 1000u);
}

TEST(WebSocketLimits, OversizedFragmentedMessageIsRefusedWithClose1009) {
  WebSocketConfig config = test_config();
  config.max_message_bytes = 1000;
  Harness h(config);
  h.handshake();
  // Each fragment is within the limit, the message is not: only the client's own sum can catch it.
  const std::string stream = server_frame(WSLAY_TEXT_FRAME, false, pattern(400, 1)) +
                             server_frame(WSLAY_CONTINUATION_FRAME, false, pattern(400, 2)) +
                             server_frame(WSLAY_CONTINUATION_FRAME, true, pattern(400, 3));
  EXPECT_FALSE(h.deliver(stream));
  EXPECT_EQ(h.client.close_code_sent(), 1009);
  EXPECT_NE(h.client.last_error().find("exceeds max_message_bytes 1000"), std::string_view::npos)
      << h.client.last_error();
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].status_code, 1009);
  EXPECT_EQ(h.ring.frames_available(), 0u);
  EXPECT_EQ(h.client.counters().messages.load(), 0u);
}

TEST(WebSocketLimits, RingFullDropsAreCountedAndLaterMessagesArrive) {
  // 4 KiB of arena holds three 1000-byte payloads with their padding, not four.
  Harness h(test_config(), 4096, 64);
  h.handshake();
  for (int i = 0; i < 10; ++i) h.server.queue(WSLAY_TEXT_FRAME, pattern(1000, static_cast<unsigned>(i)));
  ASSERT_TRUE(h.pump());
  EXPECT_EQ(h.client.state(), WebSocketClient::State::kOpen);
  EXPECT_EQ(h.client.counters().messages.load(), 10u);
  EXPECT_EQ(h.client.counters().drops.load(), 7u);
  auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 3u);
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(frames[i].bytes, pattern(1000, i));

  h.server.queue(WSLAY_TEXT_FRAME, "after the drain");
  h.server.queue(WSLAY_TEXT_FRAME, pattern(1000, 99));
  ASSERT_TRUE(h.pump());
  frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "after the drain");
  EXPECT_EQ(frames[1].bytes, pattern(1000, 99));
  EXPECT_EQ(h.client.counters().drops.load(), 7u);
}

TEST(WebSocketLimits, DescriptorQueueFullIsADropToo) {
  Harness h(test_config(), 1 << 20, 2);
  h.handshake();
  for (int i = 0; i < 5; ++i) h.server.queue(WSLAY_TEXT_FRAME, "tiny");
  ASSERT_TRUE(h.pump());
  EXPECT_EQ(h.client.counters().drops.load(), 5u - drain(h.ring).size());
  EXPECT_GT(h.client.counters().drops.load(), 0u);
}

TEST(WebSocketLimits, MaskedServerFrameIsAProtocolError) {
  Harness h;
  h.handshake();
  EXPECT_FALSE(h.deliver(server_frame(WSLAY_TEXT_FRAME, true, "masked by a server", true)));
  EXPECT_EQ(h.client.close_code_sent(), 1002);
  EXPECT_NE(h.client.last_error().find("1002"), std::string_view::npos) << h.client.last_error();
  EXPECT_EQ(h.ring.frames_available(), 0u);
}

TEST(WebSocketLimits, InvalidUtf8TextIsRefusedWith1007) {
  Harness h;
  h.handshake();
  EXPECT_FALSE(h.deliver(server_frame(WSLAY_TEXT_FRAME, true, "bad \xff\xfe bytes")));
  EXPECT_EQ(h.client.close_code_sent(), 1007);
  EXPECT_EQ(h.ring.frames_available(), 0u);
}

TEST(WebSocketLimits, TransportLostMidMessageCommitsNothing) {
  Harness h;
  h.handshake();
  const std::string frame = server_frame(WSLAY_TEXT_FRAME, true, pattern(5000, 1));
  ASSERT_TRUE(h.deliver(std::string_view(frame).substr(0, 2500)));
  h.client.on_transport_closed();
  EXPECT_NE(h.client.last_error().find("without a WebSocket close"), std::string_view::npos);
  EXPECT_EQ(h.ring.frames_available(), 0u);
  // The next connection starts clean.
  h.server.reset();
  h.handshake();
  h.server.queue(WSLAY_TEXT_FRAME, "fresh");
  ASSERT_TRUE(h.pump());
  const auto frames = drain(h.ring);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "fresh");
}

// Random bytes from a broken or hostile server: always an error value or more waiting, never a crash (run
// under ASan/UBSan in the sanitizer build).
TEST(WebSocketLimits, RandomBytesNeverCrash) {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(1, 3000);
  for (int round = 0; round < 300; ++round) {
    WebSocketConfig config = test_config();
    config.max_message_bytes = 4096;
    Harness h(config, 64 * 1024, 64);
    const bool after_upgrade = round % 2 == 0;
    if (after_upgrade) {
      h.handshake();
    } else {
      h.open();
    }
    bool ok = true;
    for (int piece = 0; ok && piece < 20; ++piece) {
      std::string junk(length(rng), '\0');
      for (auto& c : junk) c = static_cast<char>(byte(rng));
      // Mostly valid frame headers with random payloads, sometimes pure noise.
      if (after_upgrade && piece % 2 == 0)
        junk = server_frame(static_cast<std::uint8_t>(byte(rng) % 11), byte(rng) % 2, junk);
      ok = h.deliver(junk);
    }
    if (!ok) {
      EXPECT_FALSE(h.client.last_error().empty());
    }
    h.client.on_transport_closed();
    drain(h.ring);
  }
}

// ---- what the client sends ----

TEST(WebSocketSend, ClientFramesAreMaskedWithFreshKeys) {
  Harness h;
  h.handshake();
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i) {
    const std::string text = R"({"op":"ping"})";
    ASSERT_TRUE(h.client.send_text(text, h.to_server));
    const std::string wire = h.to_server.take();
    ASSERT_EQ(wire.size(), 2 + 4 + text.size());
    EXPECT_EQ(static_cast<unsigned char>(wire[0]), 0x81);         // FIN + text
    EXPECT_EQ(static_cast<unsigned char>(wire[1]) & 0x80, 0x80);  // MASK bit
    EXPECT_EQ(static_cast<unsigned char>(wire[1]) & 0x7f, text.size());
    keys.push_back(wire.substr(2, 4));
    EXPECT_NE(wire.substr(6), text);  // masked on the wire
    h.server.consume(wire);
  }
  EXPECT_FALSE(keys[0] == keys[1] && keys[1] == keys[2]);
  ASSERT_EQ(h.server.received.size(), 3u);  // wslay's server refuses unmasked client frames
  for (const auto& m : h.server.received) EXPECT_EQ(m.payload, R"({"op":"ping"})");
  EXPECT_FALSE(h.server.refused_client());
}

TEST(WebSocketSend, QueuedTextGoesOutOnTheNextTick) {
  Harness h;
  h.handshake();
  ASSERT_TRUE(h.client.send_text("subscribe"));
  EXPECT_TRUE(h.to_server.data.empty());
  EXPECT_TRUE(h.client.on_tick(h.now, h.to_server));
  h.server.consume(h.to_server.take());
  ASSERT_EQ(h.server.received.size(), 1u);
  EXPECT_EQ(h.server.received[0].payload, "subscribe");
}

TEST(WebSocketSend, NothingIsSentBeforeTheUpgrade) {
  Harness h;
  h.open();
  EXPECT_FALSE(h.client.send_text("early"));
  EXPECT_FALSE(h.client.close(1000, "early", h.to_server));
  EXPECT_TRUE(h.to_server.data.empty());
}

}  // namespace
}  // namespace sigflow::io
