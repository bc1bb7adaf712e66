// SnapshotScheduler against a fake clock: queueing and merging, the weight budget and its correction from
// X-MBX-USED-WEIGHT-1M, spacing, 429 / 418 pauses, backoff on failures, and what is delivered.
#include "io/venues/binance/snapshot_scheduler.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sigflow::io::binance {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kS = 1'000'000'000;
constexpr std::int64_t kT0 = 1'000 * kS;  // monotonic start of every test
constexpr std::int64_t kWall0 = 1'700'000'000'000 * kMs;

SnapshotVenueConfig venue(std::string id) {
  SnapshotVenueConfig v;
  v.venue = std::move(id);
  return v;
}

SnapshotReply ok_reply(std::string_view used = "20") {
  SnapshotReply r;
  r.status = 200;
  r.used_weight_1m = used;
  r.body = R"({"lastUpdateId":1,"bids":[],"asks":[]})";
  return r;
}

TEST(SnapshotScheduler, RejectsUnknownAndDuplicateVenues) {
  EXPECT_FALSE(SnapshotScheduler({venue("bybit-linear")}).ok());
  EXPECT_FALSE(SnapshotScheduler({venue("binance"), venue("binance")}).ok());
  SnapshotScheduler s({venue("binance"), venue("binance-usdm")});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s.enqueue("okx", "BTC-USDT"), EnqueueResult::kUnknownVenue);
  // Half of 80% of the published limits: the GCRA capacity that keeps every fixed minute under 80%.
  EXPECT_EQ(s.weight_capacity(0), 2400);
  EXPECT_EQ(s.weight_capacity(1), 960);
}

TEST(SnapshotScheduler, MergesRequestsForASymbolAlreadyPending) {
  SnapshotScheduler s({venue("binance-usdm")});
  EXPECT_EQ(s.enqueue("binance-usdm", "BTCUSDT"), EnqueueResult::kQueued);
  EXPECT_EQ(s.enqueue("binance-usdm", "BTCUSDT"), EnqueueResult::kMerged);
  EXPECT_EQ(s.enqueue("binance-usdm", "ETHUSDT"), EnqueueResult::kQueued);
  EXPECT_EQ(s.queued(), 2u);
  const auto first = s.start_next(kT0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->symbol, "BTCUSDT");
  EXPECT_EQ(first->url, "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
  EXPECT_EQ(first->weight, 20u);
  // In flight counts as pending too.
  EXPECT_EQ(s.enqueue("binance-usdm", "BTCUSDT"), EnqueueResult::kMerged);
  EXPECT_EQ(s.counters(0).merged.load(), 2u);
  EXPECT_EQ(s.on_reply(0, ok_reply(), kT0 + 5 * kMs, kWall0), ReplyVerdict::kDeliver);
  EXPECT_EQ(s.last_delivered(0)->symbol, "BTCUSDT");
  // Done: a new request for it is new.
  EXPECT_EQ(s.enqueue("binance-usdm", "BTCUSDT"), EnqueueResult::kQueued);
}

TEST(SnapshotScheduler, QueueIsBounded) {
  SnapshotPolicy policy;
  policy.max_queued = 3;
  SnapshotScheduler s({venue("binance")}, policy);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(s.enqueue("binance", "S" + std::to_string(i)), EnqueueResult::kQueued);
  EXPECT_EQ(s.enqueue("binance", "S3"), EnqueueResult::kQueueFull);
  EXPECT_EQ(s.counters(0).rejected.load(), 1u);
}

TEST(SnapshotScheduler, OneInFlightPerVenueAndSpacedStarts) {
  SnapshotPolicy policy;
  policy.min_spacing_ns = 200 * kMs;
  SnapshotScheduler s({venue("binance-usdm"), venue("binance")}, policy);
  s.enqueue("binance-usdm", "A");
  s.enqueue("binance-usdm", "B");
  s.enqueue("binance", "C");
  const auto a = s.start_next(kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->symbol, "A");
  // B waits for A's reply; C (another venue, another budget) goes at once.
  const auto c = s.start_next(kT0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->symbol, "C");
  EXPECT_FALSE(s.start_next(kT0));
  EXPECT_EQ(s.next_ready_ns(kT0), engine::kNeverNs);  // everything left waits for a reply
  s.on_reply(0, ok_reply(), kT0 + 10 * kMs, kWall0);
  EXPECT_FALSE(s.start_next(kT0 + 10 * kMs));
  EXPECT_EQ(s.next_ready_ns(kT0 + 10 * kMs), kT0 + 200 * kMs);
  EXPECT_FALSE(s.start_next(kT0 + 199 * kMs));
  const auto b = s.start_next(kT0 + 200 * kMs);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->symbol, "B");
}

// A resync storm on USD-M: 100 symbols at weight 20 against a 960/minute budget. The first minute holds
// at most the budget's burst (48 requests) plus what refills; no fixed minute ever exceeds 80% of 2400.
TEST(SnapshotScheduler, WeightBudgetPacesAStorm) {
  SnapshotPolicy policy;
  policy.min_spacing_ns = 0;
  SnapshotScheduler s({venue("binance-usdm")}, policy);
  for (int i = 0; i < 100; ++i) s.enqueue("binance-usdm", "SYM" + std::to_string(i) + "USDT");
  std::int64_t now = kT0;
  std::vector<std::int64_t> starts;
  while (starts.size() < 100 && now < kT0 + 10 * 60 * kS) {
    if (s.start_next(now)) {
      starts.push_back(now);
      // A reply without the header: our own debits are the only count.
      SnapshotReply r = ok_reply();
      r.used_weight_1m.reset();
      s.on_reply(0, r, now, kWall0);
      continue;
    }
    const std::int64_t next = s.next_ready_ns(now);
    ASSERT_NE(next, engine::kNeverNs);
    ASSERT_GT(next, now);
    now = next;
  }
  ASSERT_EQ(starts.size(), 100u);
  // Any 60 s window holds at most 2 x capacity (burst + refill): 1920 weight = 96 requests... and the
  // sliding-window bound is the tighter check: count the worst window.
  std::size_t worst = 0;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::size_t j = i;
    while (j < starts.size() && starts[j] < starts[i] + 60 * kS) ++j;
    worst = std::max(worst, j - i);
  }
  EXPECT_LE(worst * 20, 2400u * 8 / 10);
  EXPECT_EQ(s.counters(0).weight_debited.load(), 2000u);
  // 100 x 20 = 2000 weight at 960/min after a 960 burst: about 65 s.
  EXPECT_GT(starts.back() - kT0, 60 * kS);
  EXPECT_LT(starts.back() - kT0, 70 * kS);
}

TEST(SnapshotScheduler, UsedWeightHeaderHoldsUntilTheMinuteEnds) {
  SnapshotPolicy policy;
  policy.min_spacing_ns = 0;
  SnapshotScheduler s({venue("binance-usdm")}, policy);
  s.enqueue("binance-usdm", "A");
  s.enqueue("binance-usdm", "B");
  s.enqueue("binance-usdm", "C");
  ASSERT_TRUE(s.start_next(kT0));
  // 15 s into a wall-clock minute, another process on this IP has used 1901 of 2400: one more snapshot
  // (20) would pass our 80% share (1920), so nothing goes until the minute is over (45 s, plus 1 s of skew).
  const std::int64_t wall = 28'333'334LL * 60 * kS + 15 * kS;
  s.on_reply(0, ok_reply("1901"), kT0, wall);
  EXPECT_EQ(s.counters(0).used_weight_1m.load(), 1901);
  EXPECT_FALSE(s.start_next(kT0 + 40 * kS));
  EXPECT_EQ(s.next_ready_ns(kT0), kT0 + 46 * kS);
  ASSERT_TRUE(s.start_next(kT0 + 46 * kS));
  // A count that leaves room lets the next one through at once.
  s.on_reply(0, ok_reply("1880"), kT0 + 46 * kS, wall + 46 * kS);
  EXPECT_EQ(s.next_ready_ns(kT0 + 46 * kS), kT0 + 46 * kS);
}

TEST(SnapshotScheduler, TooManyRequestsPausesTheVenueForRetryAfter) {
  SnapshotScheduler s({venue("binance-usdm"), venue("binance")});
  s.enqueue("binance-usdm", "A");
  s.enqueue("binance-usdm", "B");
  s.enqueue("binance", "C");
  ASSERT_TRUE(s.start_next(kT0));
  SnapshotReply r;
  r.status = 429;
  r.retry_after = "7";
  r.body = R"({"code":-1003,"msg":"Too many requests."})";
  EXPECT_EQ(s.on_reply(0, r, kT0 + kMs, kWall0), ReplyVerdict::kRetry);
  EXPECT_EQ(s.counters(0).rate_limited.load(), 1u);
  EXPECT_EQ(s.counters(0).delivered.load(), 0u);
  // The other venue is not paused.
  const auto c = s.start_next(kT0 + kMs);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->venue, "binance");
  EXPECT_FALSE(s.start_next(kT0 + 7 * kS));
  EXPECT_EQ(s.next_ready_ns(kT0 + 2 * kMs), kT0 + kMs + 7 * kS);
  const auto again = s.start_next(kT0 + kMs + 7 * kS);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->symbol, "A");  // the retried request keeps its place at the head
  EXPECT_EQ(again->attempt, 1u);

  // Without Retry-After: a whole minute.
  SnapshotReply bare;
  bare.status = 429;
  s.on_reply(0, bare, kT0 + 8 * kS, kWall0);
  EXPECT_EQ(s.next_ready_ns(kT0 + 8 * kS), kT0 + 68 * kS);
}

TEST(SnapshotScheduler, IpBanStopsEverythingUntilItEnds) {
  SnapshotScheduler s({venue("binance")});
  s.enqueue("binance", "A");
  ASSERT_TRUE(s.start_next(kT0));
  SnapshotReply r;
  r.status = 418;
  // The fixture's body, with the ban 300 s after "now" on the wall clock.
  const std::int64_t wall_now_ms = 1620286253180 - 300'000;
  r.body =
      "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned until 1620286253180. Please use "
      "the websocket for live updates to avoid bans.\"}";
  r.retry_after = "120";
  EXPECT_EQ(s.on_reply(0, r, kT0, wall_now_ms * kMs), ReplyVerdict::kRetry);
  EXPECT_EQ(s.counters(0).banned.load(), 1u);
  EXPECT_EQ(s.next_ready_ns(kT0), kT0 + 300 * kS);  // the later of Retry-After and the body's time
  EXPECT_FALSE(s.start_next(kT0 + 299 * kS));
  EXPECT_TRUE(s.start_next(kT0 + 300 * kS));

  // No time given at all: the shortest ban.
  SnapshotReply bare;
  bare.status = 418;
  s.on_reply(0, bare, kT0 + 301 * kS, kWall0);
  EXPECT_EQ(s.next_ready_ns(kT0 + 301 * kS), kT0 + 421 * kS);
}

TEST(SnapshotScheduler, FailuresBackOffWithJitterAndResetOnSuccess) {
  SnapshotPolicy policy;
  policy.min_spacing_ns = 0;
  SnapshotScheduler s({venue("binance-usdm")}, policy);
  s.enqueue("binance-usdm", "A");
  std::int64_t now = kT0;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(s.start_next(now)) << i;
    SnapshotReply r;
    if (i % 2) {
      r.transport_error = true;
    } else {
      r.status = 503;
    }
    EXPECT_EQ(s.on_reply(0, r, now, kWall0), ReplyVerdict::kRetry);
    const std::int64_t next = s.next_ready_ns(now);
    delays.push_back(next - now);
    now = next;
  }
  // 0.5 s doubling to the 8 s cap, each shortened by up to 25% of jitter.
  const std::int64_t bases[] = {500 * kMs, 1000 * kMs, 2000 * kMs, 4000 * kMs, 8000 * kMs, 8000 * kMs};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    EXPECT_LE(delays[i], bases[i]) << i;
    EXPECT_GE(delays[i], bases[i] * 3 / 4) << i;
  }
  EXPECT_EQ(s.counters(0).failures.load(), 6u);
  ASSERT_TRUE(s.start_next(now));
  EXPECT_EQ(s.on_reply(0, ok_reply(), now, kWall0), ReplyVerdict::kDeliver);
  s.enqueue("binance-usdm", "B");
  ASSERT_TRUE(s.start_next(now + 200 * kMs));
  SnapshotReply r;
  r.status = 502;
  s.on_reply(0, r, now + 200 * kMs, kWall0);
  EXPECT_LE(s.next_ready_ns(now + 200 * kMs) - (now + 200 * kMs), 500 * kMs);  // the backoff restarted
}

TEST(SnapshotScheduler, FinalClientErrorsAreDelivered) {
  SnapshotScheduler s({venue("binance")});
  s.enqueue("binance", "NOPE");
  ASSERT_TRUE(s.start_next(kT0));
  SnapshotReply r;
  r.status = 400;
  r.body = R"({"code":-1121,"msg":"Invalid symbol."})";
  EXPECT_EQ(s.on_reply(0, r, kT0, kWall0), ReplyVerdict::kDeliver);
  EXPECT_EQ(s.last_delivered(0)->symbol, "NOPE");
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_EQ(s.next_ready_ns(kT0), engine::kNeverNs);
}

TEST(SnapshotScheduler, HeaderParsers) {
  EXPECT_EQ(parse_retry_after_seconds_ns("7"), 7 * kS);
  EXPECT_EQ(parse_retry_after_seconds_ns(" 1.5 "), 1500 * kMs);
  EXPECT_FALSE(parse_retry_after_seconds_ns(""));
  EXPECT_FALSE(parse_retry_after_seconds_ns("-1"));
  EXPECT_FALSE(parse_retry_after_seconds_ns("1."));
  EXPECT_FALSE(parse_retry_after_seconds_ns("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after_seconds_ns("99999999999999999999"));
  EXPECT_EQ(parse_banned_until_ms("IP banned until 1620286253180. Please"), 1620286253180);
  EXPECT_FALSE(parse_banned_until_ms("Too many requests"));
  EXPECT_FALSE(parse_banned_until_ms("banned until soon"));
}

}  // namespace
}  // namespace sigflow::io::binance
