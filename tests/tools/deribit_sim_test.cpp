// The simulated Deribit venue through the Venue interface, without sockets: JSON-RPC replies and errors,
// frames rendered from the synthetic market decoded by the engine's own Deribit decoder (snapshot on
// subscribe, change_id chains, a book rebuilt from the frames equal to the market's), heartbeats answered
// and missed, send stamps, and capture replay attribution.
#include "tests/support/paths.hpp"
#include "tools/exchange-sim/deribit.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/frame_ring.hpp"
#include "io/venues/deribit/decoder.hpp"
#include "io/venues/deribit/protocol.hpp"

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

std::unique_ptr<VenueSession> open(const Deribit& venue) {
  unsigned status = 0;
  auto session = venue.open_session("/ws/api/v2", status);
  EXPECT_NE(session, nullptr) << status;
  return session;
}

json call(VenueSession& session, const std::string& request) {
  const std::string reply = session.on_client_text(request);
  return json::parse(reply);
}

// Events decoded from frames, copied out of the decoder.
struct Decoded {
  io::EventKind kind = io::EventKind::kNone;
  std::string stream;
  std::uint64_t change_id = 0, prev_change_id = 0;
  std::vector<io::PriceLevel> bids, asks;
  io::Side side = io::Side::kUnknown;
};

class Collect final : public io::EventSink {
 public:
  void on_event(const io::MarketEvent& e) noexcept override {
    Decoded d;
    d.kind = e.kind;
    d.stream = std::string(e.stream);
    if (e.kind == io::EventKind::kBookSnapshot) {
      d.change_id = e.snapshot.last_update_id;
      d.bids.assign(e.snapshot.bids.begin(), e.snapshot.bids.end());
      d.asks.assign(e.snapshot.asks.begin(), e.snapshot.asks.end());
    } else if (e.kind == io::EventKind::kBookDelta) {
      d.change_id = e.delta.final_update_id;
      d.prev_change_id = e.delta.prev_final_update_id;
      d.bids.assign(e.delta.bids.begin(), e.delta.bids.end());
      d.asks.assign(e.delta.asks.begin(), e.delta.asks.end());
    } else if (e.kind == io::EventKind::kLiquidation) {
      d.side = e.liquidation.side;
    }
    events.push_back(std::move(d));
  }
  std::vector<Decoded> events;
};

bool decode(io::deribit::Decoder& decoder, const std::string& text, Collect& sink) {
  std::string padded = text;
  padded.append(engine::kFramePadding, '\0');
  const bool ok = decoder.decode(std::string_view(padded.data(), text.size()), 1, "", sink);
  EXPECT_TRUE(ok) << decoder.error_message() << "\n" << text;
  return ok;
}

// Drives the feed as the simulator's feed thread does: market events, then the clock, 10 ms apart.
void run(SyntheticMarket& market, VenueFeed& feed, SessionSink& sink, std::int64_t& mono_ns, int steps) {
  for (int i = 0; i < steps; ++i) {
    mono_ns += 10'000'000;
    const std::int64_t wall_ms = 1'700'000'000'000 + mono_ns / 1'000'000;
    feed.on_event(market, market.step(), wall_ms, sink);
    feed.on_clock(market, mono_ns, wall_ms, sink);
  }
}

TEST(DeribitSim, OneEndpoint) {
  const Deribit venue;
  EXPECT_EQ(venue.id(), "deribit");
  unsigned status = 0;
  EXPECT_NE(venue.open_session("/ws/api/v2", status), nullptr);
  EXPECT_EQ(venue.open_session("/ws/api/v1", status), nullptr);
  EXPECT_EQ(status, 404u);
}

TEST(DeribitSim, JsonRpcRepliesAndErrors) {
  const Deribit venue;
  auto session = open(venue);
  auto reply =
      call(*session, R"({"jsonrpc":"2.0","id":3,"method":"public/subscribe","params":{"channels":)"
                     R"(["book.BTC-PERPETUAL.100ms","trades.BTC-PERPETUAL.100ms","quote.BTC-PERPETUAL"]}})");
  EXPECT_EQ(reply.at("jsonrpc"), "2.0");
  EXPECT_EQ(reply.at("id"), 3);
  ASSERT_EQ(reply.at("result").size(), 3u);
  EXPECT_EQ(reply.at("result")[0], "book.BTC-PERPETUAL.100ms");
  EXPECT_TRUE(reply.contains("usIn") && reply.contains("usOut") && reply.contains("usDiff"));
  auto served = session->served_topics();
  EXPECT_EQ(served.size(), 3u);

  reply = call(
      *session,
      R"({"jsonrpc":"2.0","id":4,"method":"public/subscribe","params":{"channels":["book.BTC-PERPETUAL.raw"]}})");
  EXPECT_EQ(reply.at("error").at("code"), 13778);
  reply = call(
      *session,
      R"({"jsonrpc":"2.0","id":5,"method":"public/subscribe","params":{"channels":["candles.BTC-PERPETUAL"]}})");
  EXPECT_EQ(reply.at("error").at("code"), -32602);
  EXPECT_EQ(reply.at("id"), 5);
  reply = call(*session, R"({"jsonrpc":"2.0","id":6,"method":"public/get_time","params":{}})");
  EXPECT_EQ(reply.at("error").at("code"), -32601);
  reply = call(*session, "{not json");
  EXPECT_EQ(reply.at("error").at("code"), -32700);
  reply = call(*session,
               R"({"jsonrpc":"2.0","id":"x-7","method":"public/set_heartbeat","params":{"interval":5}})");
  EXPECT_EQ(reply.at("error").at("code"), -32602);
  EXPECT_EQ(reply.at("id"), "x-7");
  reply =
      call(*session, R"({"jsonrpc":"2.0","id":8,"method":"public/set_heartbeat","params":{"interval":30}})");
  EXPECT_EQ(reply.at("result"), "ok");
  served = session->served_topics();
  EXPECT_NE(std::find(served.begin(), served.end(), "heartbeat.30"), served.end());
  reply = call(*session, R"({"jsonrpc":"2.0","id":9,"method":"public/test","params":{}})");
  EXPECT_TRUE(reply.at("result").contains("version"));
  reply = call(
      *session,
      R"({"jsonrpc":"2.0","id":10,"method":"public/unsubscribe","params":{"channels":["quote.BTC-PERPETUAL","quote.ETH-PERPETUAL"]}})");
  ASSERT_EQ(reply.at("result").size(), 1u);        // only what was subscribed
  EXPECT_EQ(session->served_topics().size(), 3u);  // book, trades, heartbeat
  // The engine's own requests are accepted as they are.
  for (const auto& message : io::deribit::deribit_protocol().open_messages())
    EXPECT_EQ(call(*session, message).at("result"), "ok");
}

// Rebuilds a book from decoded book events; counts chain breaks.
struct RebuiltBook {
  std::map<io::Decimal, io::Decimal> bids, asks;
  bool have_snapshot = false;
  std::uint64_t at = 0;
  int snapshots = 0;
  int changes = 0;
  int gaps = 0;
  int changes_before_snapshot = 0;

  void apply(const Decoded& e) {
    if (e.kind == io::EventKind::kBookSnapshot) {
      have_snapshot = true;
      ++snapshots;
      bids.clear();
      asks.clear();
    } else if (e.kind == io::EventKind::kBookDelta) {
      ++changes;
      if (!have_snapshot) {
        ++changes_before_snapshot;
        return;
      }
      if (e.prev_change_id != at) ++gaps;
    } else {
      return;
    }
    at = e.change_id;
    for (const auto& l : e.bids) set(bids, l);
    for (const auto& l : e.asks) set(asks, l);
  }
  static void set(std::map<io::Decimal, io::Decimal>& side, const io::PriceLevel& l) {
    if (l.size.is_zero()) {
      side.erase(l.price);
    } else {
      side[l.price] = l.size;
    }
  }
};

std::map<io::Decimal, io::Decimal> market_side(const auto& levels, const InstrumentSpec& spec) {
  std::map<io::Decimal, io::Decimal> out;
  for (const auto& [price, size] : levels) {
    std::string p, q;
    append_decimal(p, price, spec.price_decimals);
    append_decimal(q, size, spec.size_decimals);
    out[*io::Decimal::parse(p)] = *io::Decimal::parse(q);
  }
  return out;
}

TEST(DeribitSim, FramesDecodeChainAndRebuildTheMarketsBook) {
  SyntheticMarket market(make_instrument_specs({"BTC-PERPETUAL"}, 0), 42);
  const Deribit venue;
  auto feed = venue.make_feed(market, true);
  auto session = open(venue);
  SessionSink sink;
  sink.attach(*session);
  const auto plan = io::deribit::deribit_protocol().plan({}, std::vector<std::string>{"BTC-PERPETUAL"});
  ASSERT_EQ(call(*session, plan[0].subscribe_messages[0]).at("result").size(), 3u);
  call(
      *session,
      R"({"jsonrpc":"2.0","id":2,"method":"public/subscribe","params":{"channels":["quote.BTC-PERPETUAL"]}})");
  std::int64_t mono = 1'000'000'000;
  run(market, *feed, sink, mono, 3000);
  // One more interval without market events: the last book frame then carries the market's final state.
  mono += 200'000'000;
  feed->on_clock(market, mono, 1'700'000'000'000 + mono / 1'000'000, sink);

  io::deribit::Decoder decoder;
  Collect events;
  std::size_t delta_frames = 0;
  for (const auto& f : sink.frames(0)) {
    ASSERT_TRUE(decode(decoder, f.text, events));
    EXPECT_NE(f.text.find("\"sim_ns\":"), std::string::npos) << f.text;
    if (f.book_delta) ++delta_frames;
  }
  std::map<io::EventKind, int> kinds;
  RebuiltBook book;
  for (const auto& e : events.events) {
    ++kinds[e.kind];
    book.apply(e);
  }
  EXPECT_EQ(book.snapshots, 1);
  EXPECT_EQ(book.changes_before_snapshot, 0);
  EXPECT_EQ(book.gaps, 0);
  EXPECT_GT(book.changes, 50);
  EXPECT_EQ(static_cast<std::size_t>(book.changes), delta_frames);
  EXPECT_GT(kinds[io::EventKind::kTrade], 10);
  EXPECT_GT(kinds[io::EventKind::kLiquidation], 0);
  EXPECT_GT(kinds[io::EventKind::kMarkFunding], 10);
  EXPECT_GT(kinds[io::EventKind::kBestBidAsk], kinds[io::EventKind::kMarkFunding]);  // tickers and quotes
  EXPECT_EQ(book.bids, market_side(market.book(0).bids(), market.spec(0)));
  EXPECT_EQ(book.asks, market_side(market.book(0).asks(), market.spec(0)));
}

TEST(DeribitSim, LateSubscribersAndResubscribesStartFromASnapshotThatChains) {
  SyntheticMarket market(make_instrument_specs({"ETH-PERPETUAL"}, 0), 7);
  const Deribit venue;
  auto feed = venue.make_feed(market, true);
  auto early = open(venue);
  auto late = open(venue);
  SessionSink sink;
  sink.attach(*early);
  sink.attach(*late);
  const std::string subscribe =
      R"({"jsonrpc":"2.0","id":1,"method":"public/subscribe","params":{"channels":["book.ETH-PERPETUAL.100ms"]}})";
  call(*early, subscribe);
  std::int64_t mono = 1'000'000'000;
  run(market, *feed, sink, mono, 500);
  call(*late, subscribe);
  run(market, *feed, sink, mono, 500);
  // The engine's resync: unsubscribe then subscribe, and a fresh snapshot follows.
  const io::Topic topic{"book.ETH-PERPETUAL.100ms", "ETH-PERPETUAL", io::TopicKind::kBook, 0};
  for (const auto& message : io::deribit::deribit_protocol().resubscribe(topic, 10))
    EXPECT_TRUE(call(*late, message).contains("result"));
  run(market, *feed, sink, mono, 500);

  for (std::size_t s = 0; s < 2; ++s) {
    io::deribit::Decoder decoder;
    Collect events;
    for (const auto& f : sink.frames(s)) ASSERT_TRUE(decode(decoder, f.text, events));
    RebuiltBook book;
    for (const auto& e : events.events) book.apply(e);
    EXPECT_EQ(book.snapshots, s == 0 ? 1 : 2) << s;
    EXPECT_EQ(book.changes_before_snapshot, 0) << s;
    EXPECT_EQ(book.gaps, 0) << s;
    EXPECT_GT(book.changes, 20) << s;
  }
}

TEST(DeribitSim, HeartbeatTestRequestsAnsweredAndMissed) {
  SyntheticMarket market(make_instrument_specs({"BTC-PERPETUAL"}, 0), 1);
  const Deribit venue(1);
  auto feed = venue.make_feed(market, false);
  auto session = open(venue);
  SessionSink sink;
  sink.attach(*session);
  ASSERT_EQ(
      call(*session, R"({"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":1}})")
          .at("result"),
      "ok");
  std::int64_t mono = 5'000'000'000;
  const auto tick = [&](int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      mono += 100'000'000;
      feed->on_clock(market, mono, 1'700'000'000'000 + mono / 1'000'000, sink);
    }
  };
  tick(1);
  // Answer every test_request as the engine does: VenueProtocol::reply_to on each received frame.
  const io::VenueProtocol& protocol = io::deribit::deribit_protocol();
  std::string reply;
  std::size_t requests = 0;
  for (int round = 0; round < 3; ++round) {
    for (auto& f : sink.frames(0)) {
      if (!protocol.reply_to(f.text, reply)) continue;
      ++requests;
      EXPECT_TRUE(call(*session, reply).at("result").contains("version"));
    }
    sink.frames(0).clear();
    tick(1);
  }
  auto record = Deribit::heartbeat_record(*session);
  ASSERT_TRUE(record.has_value());
  EXPECT_GE(requests, 3u);
  EXPECT_EQ(record->answered, requests);
  EXPECT_EQ(record->missed, 0u);
  EXPECT_FALSE(Deribit::close_requested(*session));

  // Silence: the next test_request finds the last one unanswered.
  tick(2);
  record = Deribit::heartbeat_record(*session);
  EXPECT_GE(record->missed, 1u);
  EXPECT_TRUE(Deribit::close_requested(*session));

  io::deribit::Decoder decoder;
  Collect events;
  ASSERT_FALSE(sink.frames(0).empty());
  for (const auto& f : sink.frames(0)) ASSERT_TRUE(decode(decoder, f.text, events));
  EXPECT_EQ(events.events.front().kind, io::EventKind::kIgnored);
}

TEST(DeribitSim, ReplayAttributesCapturedNotifications) {
  std::ifstream in(sigflow::testing_support::source_dir() + "/tests/fixtures/captures/DERIBIT.jsonl");
  ASSERT_TRUE(in);
  const Deribit venue;
  io::deribit::Decoder decoder;
  std::string line;
  int attributed = 0, book_deltas = 0, skipped = 0;
  while (std::getline(in, line)) {
    const auto record = json::parse(line);
    if (record.at("t") != "recv") continue;
    auto frame =
        venue.read_recorded_frame(record.at("data").get<std::string>(), record.at("ts").get<double>());
    if (!frame) {
      ++skipped;  // the subscribe reply
      continue;
    }
    ++attributed;
    if (frame->book_delta) ++book_deltas;
    EXPECT_TRUE(frame->topic.ends_with(".100ms")) << frame->topic;
    Collect events;
    ASSERT_TRUE(decode(decoder, frame->text, events));
    ASSERT_FALSE(events.events.empty());
    EXPECT_EQ(events.events[0].stream, frame->topic);
    std::string out;
    auto session = open(venue);
    session->append_recorded_frame(out, *frame);
    EXPECT_EQ(out, frame->text);
  }
  EXPECT_EQ(attributed, 135);
  EXPECT_EQ(book_deltas, 36);
  EXPECT_EQ(skipped, 1);
}

}  // namespace
}  // namespace sigflow::tools
