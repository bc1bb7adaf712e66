// The simulated Binance spot and USD-M venues through the Venue interface: the REST depth snapshot and the
// diff stream around it follow each market's documented sync procedure exactly (a book rebuilt from the
// snapshot plus the diffs equals a later snapshot), the frames have each market's shape, and REST weight is
// accounted like the venue's (X-MBX-USED-WEIGHT-1M, 429 with Retry-After, then a 418 ban).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tools/exchange-sim/binance_common.hpp"
#include "tools/exchange-sim/binance_spot.hpp"
#include "tools/exchange-sim/binance_usdm.hpp"

namespace sigflow::tools {
namespace {

using json = nlohmann::json;

struct RecordingSink final : FrameSink {
  bool wanted(std::string_view topic) const override { return topics.count(std::string(topic)) != 0; }
  void emit(std::string_view topic, std::string_view payload, std::size_t, bool book_delta) override {
    frames.push_back({std::string(topic), json::parse(payload), book_delta});
  }
  struct Frame {
    std::string topic;
    json payload;
    bool book_delta;
  };
  std::set<std::string> topics;
  std::vector<Frame> frames;
};

// Drives a venue's feed with a seeded random walk: market events, a clock tick every few events.
class Driver {
 public:
  explicit Driver(const Venue& venue)
      : market_(make_instrument_specs({"BTCUSDT", "ETHUSDT"}, 0), 7),
        feed_(venue.make_feed(market_, false)) {}

  void run(std::size_t events) {
    for (std::size_t n = 0; n < events; ++n) {
      feed_->on_event(market_, market_.step(), wall_ms(), sink);
      if (n % 4 == 3) tick(7);
    }
  }
  // Lets every interval stream emit what it has accumulated.
  void flush() { tick(1100); }
  std::optional<HttpReply> get(std::string_view target) {
    return feed_->on_http_get(market_, target, wall_ms());
  }
  void tick(std::int64_t ms) {
    mono_ms_ += ms;
    feed_->on_clock(market_, mono_ms_ * 1'000'000, wall_ms(), sink);
  }
  std::int64_t wall_ms() const { return 1'700'000'000'000 + mono_ms_; }
  void set_wall_offset(std::int64_t ms) { mono_ms_ = ms; }

  RecordingSink sink;

 private:
  SyntheticMarket market_;
  std::unique_ptr<VenueFeed> feed_;
  std::int64_t mono_ms_ = 1'000;
};

using Book = std::map<std::string, std::string>;  // price text → size text, one side

void apply(Book& book, const json& levels) {
  for (const auto& level : levels) {
    if (std::stod(level[1].get<std::string>()) == 0) {
      book.erase(level[0].get<std::string>());
    } else {
      book[level[0].get<std::string>()] = level[1].get<std::string>();
    }
  }
}

Book side_of(const json& snapshot, const char* key) {
  Book book;
  apply(book, snapshot[key]);
  return book;
}

std::vector<json> diffs_of(const RecordingSink& sink, const std::string& topic) {
  std::vector<json> out;
  for (const auto& f : sink.frames)
    if (f.topic == topic) {
      EXPECT_TRUE(f.book_delta);
      out.push_back(f.payload);
    }
  return out;
}

TEST(BinanceSpotSim, SnapshotAndDiffsFollowTheSpotSyncProcedure) {
  BinanceSpot venue;
  Driver d(venue);
  d.sink.topics = {"btcusdt@depth@100ms"};
  d.run(200);  // buffering starts before the snapshot, as the procedure says
  const auto reply = d.get("/api/v3/depth?symbol=BTCUSDT&limit=1000");
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 200u) << reply->body;
  const json snapshot = json::parse(reply->body);
  EXPECT_EQ(snapshot.size(), 3u);  // lastUpdateId, bids, asks: nothing else on spot
  d.run(400);
  d.flush();

  const std::uint64_t last = snapshot["lastUpdateId"];
  Book bids = side_of(snapshot, "bids"), asks = side_of(snapshot, "asks");
  const auto diffs = diffs_of(d.sink, "btcusdt@depth@100ms");
  ASSERT_GE(diffs.size(), 8u);  // ~1 s of simulated time at one diff per 100 ms
  std::optional<std::uint64_t> local;
  std::size_t dropped = 0, applied = 0;
  for (const json& diff : diffs) {
    EXPECT_FALSE(diff.contains("pu"));
    EXPECT_FALSE(diff.contains("T"));
    const std::uint64_t first = diff["U"], final = diff["u"];
    if (final <= last) {
      ++dropped;
      continue;
    }
    if (!local) {
      // The first kept event straddles the snapshot: U <= lastUpdateId + 1 <= u.
      EXPECT_LE(first, last + 1);
    } else {
      EXPECT_EQ(first, *local + 1);  // spot: consecutive ids, no gap
    }
    apply(bids, diff["b"]);
    apply(asks, diff["a"]);
    local = final;
    ++applied;
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(applied, 0u);
  const json later = json::parse(d.get("/api/v3/depth?symbol=BTCUSDT&limit=5000")->body);
  EXPECT_EQ(later["lastUpdateId"].get<std::uint64_t>(), *local);
  EXPECT_EQ(bids, side_of(later, "bids"));
  EXPECT_EQ(asks, side_of(later, "asks"));
}

TEST(BinanceUsdmSim, SnapshotAndDiffsFollowTheUsdmSyncProcedure) {
  BinanceUsdm venue;
  Driver d(venue);
  d.sink.topics = {"btcusdt@depth@100ms"};
  d.run(200);
  const auto reply = d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->status, 200u) << reply->body;
  const json snapshot = json::parse(reply->body);
  EXPECT_TRUE(snapshot.contains("E"));
  EXPECT_TRUE(snapshot.contains("T"));
  d.run(400);
  d.flush();

  const std::uint64_t last = snapshot["lastUpdateId"];
  Book bids = side_of(snapshot, "bids"), asks = side_of(snapshot, "asks");
  std::optional<std::uint64_t> previous_u;
  std::size_t dropped = 0, applied = 0;
  for (const json& diff : diffs_of(d.sink, "btcusdt@depth@100ms")) {
    const std::uint64_t first = diff["U"], final = diff["u"], pu = diff["pu"];
    if (final < last) {
      ++dropped;
      continue;
    }
    if (!previous_u) {
      EXPECT_LE(first, last);  // the first processed event: U <= lastUpdateId <= u
      EXPECT_GE(final, last);
    } else {
      EXPECT_EQ(pu, *previous_u);  // USD-M: only pu chains; U skips venue-wide ids
    }
    apply(bids, diff["b"]);
    apply(asks, diff["a"]);
    previous_u = final;
    ++applied;
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(applied, 0u);
  const json later = json::parse(d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000")->body);
  EXPECT_EQ(later["lastUpdateId"].get<std::uint64_t>(), *previous_u);
  EXPECT_EQ(bids, side_of(later, "bids"));
  EXPECT_EQ(asks, side_of(later, "asks"));
}

TEST(BinanceUsdmSim, FirstDiffAfterSubscribingChainsToTheVenueStream) {
  BinanceUsdm venue;
  Driver d(venue);
  d.run(300);  // nobody listens: the venue's stream goes on regardless
  d.sink.topics = {"btcusdt@depth@100ms"};
  d.run(300);
  d.flush();
  const auto diffs = diffs_of(d.sink, "btcusdt@depth@100ms");
  ASSERT_GT(diffs.size(), 2u);
  // The first frame's pu is the u of a frame the subscriber never saw, but not older than the subscription.
  EXPECT_LT(diffs[0]["pu"].get<std::uint64_t>(), diffs[0]["U"].get<std::uint64_t>());
  for (std::size_t i = 1; i < diffs.size(); ++i) EXPECT_EQ(diffs[i]["pu"], diffs[i - 1]["u"]) << i;
}

// A size string in units of its last digit ("1.250" → 1250): one symbol always prints the same decimals.
std::uint64_t units(const json& text) {
  std::string digits = text.get<std::string>();
  std::erase(digits, '.');
  return std::stoull(digits);
}

TEST(BinanceSpotSim, FramesHaveTheSpotShapes) {
  BinanceSpot venue;
  Driver d(venue);
  d.sink.topics = {"ethusdt@bookTicker", "ethusdt@aggTrade", "ethusdt@trade", "ethusdt@depth",
                   "ethusdt@depth5@100ms"};
  d.run(600);
  d.flush();
  std::map<std::string, std::size_t> seen;
  std::uint64_t agg_size_units = 0, fill_size_units = 0;
  for (const auto& f : d.sink.frames) {
    ++seen[f.topic];
    std::set<std::string> keys;
    for (const auto& [k, v] : f.payload.items()) keys.insert(k);
    if (f.topic == "ethusdt@bookTicker") {
      EXPECT_EQ(keys, (std::set<std::string>{"u", "s", "b", "B", "a", "A"}));
    } else if (f.topic == "ethusdt@depth") {
      EXPECT_EQ(keys, (std::set<std::string>{"e", "E", "s", "U", "u", "b", "a"}));
    } else if (f.topic == "ethusdt@depth5@100ms") {
      EXPECT_EQ(keys, (std::set<std::string>{"lastUpdateId", "bids", "asks"}));
      EXPECT_EQ(f.payload["bids"].size(), 5u);
    } else if (f.topic == "ethusdt@aggTrade") {
      EXPECT_EQ(f.payload["e"], "aggTrade");
      EXPECT_FALSE(f.payload.contains("pu"));
      agg_size_units += units(f.payload["q"]);
    } else if (f.topic == "ethusdt@trade") {
      EXPECT_EQ(keys, (std::set<std::string>{"e", "E", "s", "t", "p", "q", "T", "m", "M"}));
      fill_size_units += units(f.payload["q"]);
    }
  }
  for (const char* topic :
       {"ethusdt@bookTicker", "ethusdt@aggTrade", "ethusdt@trade", "ethusdt@depth", "ethusdt@depth5@100ms"})
    EXPECT_GT(seen[topic], 0u) << topic;
  EXPECT_EQ(agg_size_units, fill_size_units);  // the fills of each aggregated order add up to it
}

TEST(BinanceSpotSim, RestErrorsAndUnknownPaths) {
  BinanceSpot venue;
  Driver d(venue);
  EXPECT_FALSE(d.get("/fapi/v1/depth?symbol=BTCUSDT"));  // a USD-M path: not on spot
  const auto unknown = d.get("/api/v3/depth?symbol=NOPE");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400u);
  EXPECT_EQ(json::parse(unknown->body)["code"], -1121);
  EXPECT_EQ(json::parse(d.get("/api/v3/depth")->body)["code"], -1102);
  const json small = json::parse(d.get("/api/v3/depth?symbol=BTCUSDT&limit=5")->body);
  EXPECT_EQ(small["bids"].size(), 5u);
  const json whole = json::parse(d.get("/api/v3/depth?symbol=BTCUSDT")->body);  // default limit 100
  EXPECT_GT(whole["bids"].size(), 20u);
  EXPECT_LE(whole["bids"].size(), 100u);
}

std::string header(const HttpReply& reply, std::string_view name) {
  for (const auto& [k, v] : reply.headers)
    if (k == name) return v;
  return {};
}

TEST(BinanceUsdmSim, WeightIsCountedPerMinuteThen429ThenABan) {
  BinanceUsdm venue;
  Driver d(venue);
  d.set_wall_offset(5'000);  // 5 s into a wall-clock minute (1'700'000'000'000 ms is 20 s into one)
  // 2400 per minute at weight 20: 120 snapshots pass.
  for (int i = 1; i <= 120; ++i) {
    const auto r = d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
    ASSERT_EQ(r->status, 200u) << i;
    ASSERT_EQ(header(*r, "X-MBX-USED-WEIGHT-1M"), std::to_string(20 * i));
  }
  const auto limited = d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  EXPECT_EQ(limited->status, 429u);
  EXPECT_EQ(json::parse(limited->body)["code"], -1003);
  EXPECT_EQ(header(*limited, "Retry-After"), "35");  // 25 s into the wall-clock minute
  // Ignoring the 429s gets the IP banned.
  for (int i = 1; i < binance_sim::RestWeightLedger::kRateLimitedBeforeBan; ++i)
    EXPECT_EQ(d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000")->status, 429u);
  const auto banned = d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  EXPECT_EQ(banned->status, 418u);
  EXPECT_EQ(header(*banned, "Retry-After"), "120");
  EXPECT_NE(banned->body.find("IP banned until " + std::to_string(d.wall_ms() + 120'000) + "."),
            std::string::npos)
      << banned->body;
  d.tick(60'000);  // a new minute, still banned
  EXPECT_EQ(d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000")->status, 418u);
  d.tick(61'000);
  const auto after = d.get("/fapi/v1/depth?symbol=BTCUSDT&limit=5");
  EXPECT_EQ(after->status, 200u);
  EXPECT_EQ(header(*after, "X-MBX-USED-WEIGHT-1M"), "2");
}

}  // namespace
}  // namespace sigflow::tools
