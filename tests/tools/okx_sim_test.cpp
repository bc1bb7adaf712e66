// The simulated OKX venue through the Venue interface, without sockets: the control plane's replies, and the
// rendered streams decoded by the engine's own OKX decoder — book snapshot first, an unbroken
// seqId/prevSeqId chain, a book equal to the simulator's, checksums when enabled, and the send-stamp slot.
#include "tools/exchange-sim/okx.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/frame_ring.hpp"
#include "io/venues/okx/checksum.hpp"
#include "io/venues/okx/decoder.hpp"

namespace sigflow::tools {
namespace {

using json = nlohmann::json;

// One connection's received frames, in order.
struct Connection {
  std::unique_ptr<VenueSession> session;
  std::vector<std::string> frames;
  std::vector<std::size_t> stamp_positions;  // absolute slot offset in the frame, or kNoSendStamp
};

// The simulator's fan-out, reduced to what the Venue interface promises: each frame goes to every session
// serving its topic, through that session's append_frame.
class FanOut final : public FrameSink {
 public:
  std::vector<Connection*> connections;

  bool wanted(std::string_view topic) const override {
    for (const Connection* c : connections)
      for (const auto& t : c->session->served_topics())
        if (t == topic) return true;
    return false;
  }

  void emit(std::string_view topic, std::string_view payload, std::size_t stamp_slot, bool) override {
    for (Connection* c : connections) {
      const auto served = c->session->served_topics();
      if (std::find(served.begin(), served.end(), topic) == served.end()) continue;
      std::string out;
      const std::size_t at = c->session->append_frame(out, topic, payload);
      c->frames.push_back(std::move(out));
      c->stamp_positions.push_back(stamp_slot == kNoSendStamp ? kNoSendStamp : at + stamp_slot);
    }
  }
};

// Drives a synthetic market through the venue's feed: market events, and the clock every few events.
class Driver {
 public:
  Driver(const Okx& venue, std::vector<std::string> symbols, bool stamp = false)
      : market_(make_instrument_specs(symbols, 0), 7), feed_(venue.make_feed(market_, stamp)) {}

  void run(FanOut& sink, int events) {
    for (int i = 0; i < events; ++i) {
      const MarketEvent& e = market_.step();
      wall_ms_ += 3;
      mono_ns_ += 3'000'000;
      feed_->on_event(market_, e, wall_ms_, sink);
      feed_->on_clock(market_, mono_ns_, wall_ms_, sink);
    }
  }

  const SyntheticMarket& market() const { return market_; }

 private:
  SyntheticMarket market_;
  std::unique_ptr<VenueFeed> feed_;
  std::int64_t wall_ms_ = 1'786'540'435'000;
  std::int64_t mono_ns_ = 1'000'000'000;
};

struct Copied {
  io::MarketEvent event;
  std::string symbol, stream;
  std::vector<io::PriceLevel> bids, asks;
};

class Collect final : public io::EventSink {
 public:
  void on_event(const io::MarketEvent& e) noexcept override {
    Copied c{e, std::string(e.symbol), std::string(e.stream), {}, {}};
    if (e.kind == io::EventKind::kBookSnapshot) {
      c.bids.assign(e.snapshot.bids.begin(), e.snapshot.bids.end());
      c.asks.assign(e.snapshot.asks.begin(), e.snapshot.asks.end());
    } else if (e.kind == io::EventKind::kBookDelta) {
      c.bids.assign(e.delta.bids.begin(), e.delta.bids.end());
      c.asks.assign(e.delta.asks.begin(), e.delta.asks.end());
    }
    events.push_back(std::move(c));
  }
  std::vector<Copied> events;
};

std::vector<Copied> decode_all(const std::vector<std::string>& frames) {
  io::okx::Decoder decoder;
  Collect sink;
  for (const auto& f : frames) {
    std::string padded = f;
    padded.append(engine::kFramePadding, '\0');
    EXPECT_TRUE(decoder.decode(std::string_view(padded.data(), f.size()), 1, {}, sink))
        << decoder.error_message() << "\n"
        << f;
  }
  return sink.events;
}

std::unique_ptr<VenueSession> open(const Okx& venue) {
  unsigned status = 0;
  auto session = venue.open_session("/ws/v5/public", status);
  EXPECT_NE(session, nullptr);
  return session;
}

std::string subscribe(std::string_view op, std::vector<std::pair<std::string, std::string>> args,
                      std::string id = "1") {
  json request{{"id", id}, {"op", op}, {"args", json::array()}};
  for (const auto& [channel, inst] : args)
    request["args"].push_back({{"channel", channel}, {"instId", inst}});
  return request.dump();
}

// A book rebuilt from decoded events, checked against the OKX chain rule on the way.
struct ChainedBook {
  std::map<io::Decimal, io::Decimal, std::greater<>> bids;
  std::map<io::Decimal, io::Decimal> asks;
  std::uint64_t seq = io::kNoUpdateId;
  std::size_t snapshots = 0, deltas = 0, non_unit_steps = 0, checksums = 0;

  void apply(const Copied& e) {
    if (e.event.kind == io::EventKind::kBookSnapshot) {
      bids.clear();
      asks.clear();
      ++snapshots;
      seq = e.event.snapshot.last_update_id;
      set_all(e.bids, e.asks);
      check(e.event.snapshot.checksum);
      return;
    }
    ASSERT_EQ(e.event.kind, io::EventKind::kBookDelta);
    ASSERT_NE(seq, io::kNoUpdateId) << "an update before the snapshot reached the book";
    ASSERT_EQ(e.event.delta.prev_final_update_id, seq) << "gap in the seqId chain";
    const std::uint64_t next = e.event.delta.final_update_id;
    ASSERT_GE(next, seq);
    if (next > seq + 1) ++non_unit_steps;
    if (next == seq) {
      EXPECT_TRUE(e.bids.empty() && e.asks.empty()) << "seqId == prevSeqId is a keep-alive";
    }
    seq = next;
    ++deltas;
    set_all(e.bids, e.asks);
    check(e.event.delta.checksum);
  }

  void set_all(const std::vector<io::PriceLevel>& b, const std::vector<io::PriceLevel>& a) {
    for (const auto& l : b) l.size.is_zero() ? void(bids.erase(l.price)) : void(bids[l.price] = l.size);
    for (const auto& l : a) l.size.is_zero() ? void(asks.erase(l.price)) : void(asks[l.price] = l.size);
  }

  void check(std::optional<std::int32_t> crc) {
    if (!crc) return;
    std::vector<io::PriceLevel> b, a;
    for (const auto& [p, s] : bids) b.push_back({p, s});
    for (const auto& [p, s] : asks) a.push_back({p, s});
    EXPECT_EQ(io::okx::book_checksum(b, a), *crc);
    ++checksums;
  }
};

TEST(OkxSim, RoutesOnlyThePublicEndpoint) {
  const Okx venue;
  unsigned status = 0;
  EXPECT_NE(venue.open_session("/ws/v5/public", status), nullptr);
  EXPECT_EQ(venue.open_session("/ws/v5/business", status), nullptr);
  EXPECT_EQ(status, 404u);
  EXPECT_EQ(venue.open_session("/ws", status), nullptr);
  EXPECT_EQ(venue.id(), "okx");
  EXPECT_FALSE(venue.default_symbols().empty());
}

TEST(OkxSim, ControlPlane) {
  const Okx venue;
  Driver driver(venue, {"BTC-USDT", "BTC-USDT-SWAP"});  // the feed tells the venue which instIds exist
  auto session = open(venue);
  EXPECT_EQ(session->on_client_text("ping"), "pong");

  const auto ack = json::parse(
      session->on_client_text(subscribe("subscribe", {{"books", "BTC-USDT"}, {"trades", "BTC-USDT"}}, "42")));
  EXPECT_EQ(ack["id"], "42");
  EXPECT_EQ(ack["event"], "subscribe");
  EXPECT_EQ(ack["arg"], (json{{"channel", "books"}, {"instId", "BTC-USDT"}}));
  EXPECT_EQ(ack["connId"].get<std::string>().size(), 8u);
  EXPECT_EQ(session->served_topics(), (std::vector<std::string>{"books:BTC-USDT", "trades:BTC-USDT"}));

  const auto unsub = json::parse(session->on_client_text(subscribe("unsubscribe", {{"trades", "BTC-USDT"}})));
  EXPECT_EQ(unsub["event"], "unsubscribe");
  EXPECT_EQ(session->served_topics(), (std::vector<std::string>{"books:BTC-USDT"}));

  const auto error_code = [&](std::string_view text) {
    const auto reply = json::parse(session->on_client_text(text));
    EXPECT_EQ(reply["event"], "error") << reply;
    EXPECT_TRUE(reply["msg"].is_string());
    return reply["code"].get<std::string>();
  };
  EXPECT_EQ(error_code("{not json"), "60012");
  EXPECT_EQ(error_code(R"({"op":"subscribe","argss":[]})"), "60012");
  EXPECT_EQ(error_code(R"({"op":"subscribe","args":[]})"), "60012");
  EXPECT_EQ(error_code(R"({"op":"sub","args":[{"channel":"books","instId":"BTC-USDT"}]})"), "60012");
  EXPECT_EQ(error_code(R"({"id":"a-b","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]})"),
            "60012");
  EXPECT_EQ(error_code(subscribe("subscribe", {{"bookz", "BTC-USDT"}})), "60018");
  EXPECT_EQ(error_code(subscribe("subscribe", {{"books", "NOPE-USDT"}})), "60018");
  EXPECT_EQ(error_code(subscribe("subscribe", {{"funding-rate", "BTC-USDT"}})), "60018");  // swaps only
  // A rejected request changes nothing.
  EXPECT_EQ(session->served_topics(), (std::vector<std::string>{"books:BTC-USDT"}));
  EXPECT_EQ(json::parse(session->on_client_text(
                subscribe("subscribe", {{"funding-rate", "BTC-USDT-SWAP"}})))["event"],
            "subscribe");
}

TEST(OkxSim, RequestsPerHourAreLimited) {
  const Okx venue;
  auto session = open(venue);
  const std::string request = subscribe("subscribe", {{"trades", "BTC-USDT"}});
  for (std::size_t i = 0; i < Okx::kMaxRequestsPerHour; ++i)
    ASSERT_EQ(json::parse(session->on_client_text(request))["event"], "subscribe") << i;
  const auto reply = json::parse(session->on_client_text(request));
  EXPECT_EQ(reply["event"], "error");
  EXPECT_EQ(reply["code"], "60014");
}

TEST(OkxSim, StreamsDecodeAndTheBookChainsFromItsSnapshot) {
  const Okx venue;
  Driver driver(venue, {"BTC-USDT", "BTC-USDT-SWAP"});
  Connection early{open(venue), {}, {}};
  early.session->on_client_text(subscribe("subscribe", {{"books", "BTC-USDT-SWAP"},
                                                        {"trades", "BTC-USDT-SWAP"},
                                                        {"tickers", "BTC-USDT-SWAP"},
                                                        {"funding-rate", "BTC-USDT-SWAP"},
                                                        {"mark-price", "BTC-USDT-SWAP"}}));
  FanOut sink;
  sink.connections = {&early};
  driver.run(sink, 2000);
  // A second connection subscribes mid-stream: its first book frame is a snapshot, then the chain goes on.
  Connection late{open(venue), {}, {}};
  late.session->on_client_text(subscribe("subscribe", {{"books", "BTC-USDT-SWAP"}}));
  sink.connections.push_back(&late);
  driver.run(sink, 3000);

  std::map<io::EventKind, int> kinds;
  ChainedBook early_book;
  for (const auto& e : decode_all(early.frames)) {
    ++kinds[e.event.kind];
    EXPECT_EQ(e.symbol, "BTC-USDT-SWAP");
    if (e.event.kind == io::EventKind::kBookSnapshot || e.event.kind == io::EventKind::kBookDelta) {
      EXPECT_EQ(e.stream, "books:BTC-USDT-SWAP");
      early_book.apply(e);
    }
    if (e.event.kind == io::EventKind::kMarkFunding) {
      EXPECT_TRUE(e.event.mark_funding.mark_price.has_value() ||
                  e.event.mark_funding.funding_rate.has_value());
    }
    if (e.event.kind == io::EventKind::kBestBidAsk) {
      EXPECT_LT(e.event.best_bid_ask.bid_price, e.event.best_bid_ask.ask_price);
    }
  }
  EXPECT_GT(kinds[io::EventKind::kTrade], 0);
  EXPECT_GT(kinds[io::EventKind::kBestBidAsk], 0);
  EXPECT_GT(kinds[io::EventKind::kMarkFunding], 0);
  EXPECT_EQ(early_book.snapshots, 1u);
  EXPECT_GT(early_book.deltas, 50u);
  EXPECT_GT(early_book.non_unit_steps, 0u) << "seqId steps must not all be +1";
  EXPECT_EQ(early_book.checksums, 0u) << "OKX pins checksum to 0 by default";

  const auto late_events = decode_all(late.frames);
  ASSERT_FALSE(late_events.empty());
  EXPECT_EQ(late_events.front().event.kind, io::EventKind::kBookSnapshot);
  ChainedBook late_book;
  for (const auto& e : late_events) late_book.apply(e);
  EXPECT_EQ(late_book.snapshots, 1u);
  EXPECT_GT(late_book.deltas, 10u);

  // Both rebuilt books equal the simulator's book as last published (the feed publishes every 100 ms, so
  // compare with the market after one more clock tick with no market events).
  EXPECT_EQ(early_book.seq, late_book.seq);
  EXPECT_EQ(early_book.bids, late_book.bids);
  EXPECT_EQ(early_book.asks, late_book.asks);
  const auto& spec = driver.market().spec(1);
  const auto& book = driver.market().book(1);
  ASSERT_EQ(spec.symbol, "BTC-USDT-SWAP");
  std::size_t matching = 0;
  for (const auto& [price, size] : book.bids()) {
    const auto it = early_book.bids.find(io::Decimal(price, -spec.price_decimals));
    if (it != early_book.bids.end() && it->second == io::Decimal(size, -spec.size_decimals)) ++matching;
  }
  // Up to one interval of events (about 33) may be unpublished; most levels must match exactly.
  EXPECT_GT(matching, book.bids().size() / 2);
}

TEST(OkxSim, ResubscribeGivesAFreshSnapshot) {
  const Okx venue;
  Driver driver(venue, {"BTC-USDT"});
  Connection c{open(venue), {}, {}};
  c.session->on_client_text(subscribe("subscribe", {{"books", "BTC-USDT"}}));
  FanOut sink;
  sink.connections = {&c};
  driver.run(sink, 500);
  c.session->on_client_text(subscribe("unsubscribe", {{"books", "BTC-USDT"}}));
  c.session->on_client_text(subscribe("subscribe", {{"books", "BTC-USDT"}}));
  driver.run(sink, 500);
  ChainedBook book;
  for (const auto& e : decode_all(c.frames)) book.apply(e);
  EXPECT_EQ(book.snapshots, 2u);
}

TEST(OkxSim, RealChecksumsWhenEnabled) {
  const Okx venue(Okx::Options{.checksums = true});
  Driver driver(venue, {"ETH-USDT-SWAP"});
  Connection c{open(venue), {}, {}};
  c.session->on_client_text(subscribe("subscribe", {{"books", "ETH-USDT-SWAP"}}));
  FanOut sink;
  sink.connections = {&c};
  driver.run(sink, 2000);
  ChainedBook book;
  for (const auto& e : decode_all(c.frames)) book.apply(e);
  EXPECT_GT(book.checksums, 20u);
  EXPECT_EQ(book.checksums, book.snapshots + book.deltas);
}

TEST(OkxSim, SendStampSlotsPointAtTheSlot) {
  const Okx venue;
  Driver driver(venue, {"BTC-USDT-SWAP"}, /*stamp=*/true);
  Connection first{open(venue), {}, {}};
  first.session->on_client_text(
      subscribe("subscribe",
                {{"books", "BTC-USDT-SWAP"}, {"trades", "BTC-USDT-SWAP"}, {"mark-price", "BTC-USDT-SWAP"}}));
  FanOut sink;
  sink.connections = {&first};
  driver.run(sink, 300);
  Connection second{open(venue), {}, {}};  // receives a substituted snapshot
  second.session->on_client_text(subscribe("subscribe", {{"books", "BTC-USDT-SWAP"}}));
  sink.connections.push_back(&second);
  driver.run(sink, 300);
  for (const Connection* c : {&first, &second}) {
    ASSERT_FALSE(c->frames.empty());
    for (std::size_t i = 0; i < c->frames.size(); ++i) {
      const std::string& f = c->frames[i];
      const std::size_t pos = c->stamp_positions[i];
      ASSERT_NE(pos, kNoSendStamp);
      ASSERT_GE(pos, kSendStampKey.size());
      EXPECT_EQ(f.substr(pos - kSendStampKey.size(), kSendStampKey.size()), kSendStampKey) << f;
      EXPECT_EQ(f.substr(pos, kSendStampWidth), std::string(kSendStampWidth, ' '));
      std::string stamped = f;
      write_send_stamp(stamped.data() + pos, 123456789);
      EXPECT_TRUE(json::accept(stamped)) << stamped;
    }
  }
  // The connection thread writes the stamp before sending: stamped, the frames decode.
  std::vector<std::string> stamped;
  for (std::size_t i = 0; i < second.frames.size(); ++i) {
    stamped.push_back(second.frames[i]);
    write_send_stamp(stamped.back().data() + second.stamp_positions[i], 987654321);
  }
  const auto events = decode_all(stamped);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().event.kind, io::EventKind::kBookSnapshot);
}

TEST(OkxSim, RecordedFramesAreAttributedToTheirTopic) {
  const Okx venue;
  const auto update = venue.read_recorded_frame(
      R"({"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":0}]})",
      1.5);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->topic, "books:UNI-USD-SWAP");
  EXPECT_TRUE(update->book_delta);
  EXPECT_EQ(update->recv_s, 1.5);
  const auto trade = venue.read_recorded_frame(
      R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}]})",
      2);
  ASSERT_TRUE(trade.has_value());
  EXPECT_EQ(trade->topic, "trades:BTC-USDT");
  EXPECT_FALSE(trade->book_delta);
  EXPECT_FALSE(venue.read_recorded_frame(
      R"({"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}})", 3));
  EXPECT_FALSE(venue.read_recorded_frame("pong", 3));
}

}  // namespace
}  // namespace sigflow::tools
