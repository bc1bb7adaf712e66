// SignalMerger: which view each instrument's signal carries, cycle by cycle.
#include "strategies/signal_merger.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace sigflow::strategies {
namespace {

constexpr std::int64_t kMs = 1'000'000;

InstrumentFeatures at_mid(double mid, double age_ms = 5) {
  InstrumentFeatures f;
  f.venue = "binance-usdm";
  f.symbol = "BTCUSDT";
  f.instrument = "BTC-USDT-PERP";
  f.mid = mid;
  f.data_age_ms = age_ms;
  f.book_valid = true;
  return f;
}

Signal local_signal() {
  Signal s;
  s.action = Action::kHold;
  s.confidence = 0.1;
  s.source = SignalSource::kLocal;
  s.model = "local-microstructure-v1";
  s.reason = "local";
  s.data_age_ms = 1;
  return s;
}

SignalMergerConfig config() {
  SignalMergerConfig c;
  c.ttl_ns = 1000 * kMs;
  c.stale_move_bps = 10;
  c.max_wait_ns = 30'000 * kMs;
  c.model = "gpt-test";
  return c;
}

TEST(SignalMerger, FreshReplyBecomesTheSignalUntilTtl) {
  SignalMerger m(2, config());
  const std::int64_t t0 = 100'000 * kMs;
  m.on_prompted(0, 7, at_mid(100.0, 20), t0);
  EXPECT_TRUE(m.waiting(0));
  EXPECT_FALSE(m.waiting(1));
  EXPECT_EQ(m.on_reply(0, 7, Action::kBuy, 0.8, "bid-heavy", at_mid(100.01), t0 + 200 * kMs),
            ReplyVerdict::kAccepted);
  EXPECT_FALSE(m.waiting(0));

  Signal s = local_signal();
  m.merge(0, at_mid(100.01), t0 + 250 * kMs, s);
  EXPECT_EQ(s.source, SignalSource::kLlm);
  EXPECT_EQ(s.action, Action::kBuy);
  EXPECT_DOUBLE_EQ(s.confidence, 0.8);
  EXPECT_EQ(s.model, "gpt-test");
  EXPECT_EQ(s.reason, "bid-heavy");
  EXPECT_NEAR(s.data_age_ms, 20 + 250, 1e-9);  // age of what the model saw, not of the latest data
  EXPECT_EQ(m.prompt_to_signal().count(), 1u);

  Signal other = local_signal();
  m.merge(1, at_mid(50), t0 + 250 * kMs, other);
  EXPECT_EQ(other.source, SignalSource::kLocal);

  Signal late = local_signal();
  m.merge(0, at_mid(100.01), t0 + 200 * kMs + 1001 * kMs, late);
  EXPECT_EQ(late.source, SignalSource::kLocal);
  EXPECT_EQ(m.counters().views_expired.load(), 1u);
  EXPECT_EQ(m.prompt_to_signal().count(), 1u) << "latency is recorded once per view";
}

TEST(SignalMerger, ReplyAfterTheMarketMovedIsDroppedAndCounted) {
  SignalMerger m(1, config());
  m.on_prompted(0, 1, at_mid(100.0), 0);
  // 11 bps away from the prompt's mid.
  EXPECT_EQ(m.on_reply(0, 1, Action::kSell, 0.9, "x", at_mid(100.11), 100 * kMs), ReplyVerdict::kStale);
  EXPECT_EQ(m.counters().replies_stale.load(), 1u);
  Signal s = local_signal();
  m.merge(0, at_mid(100.11), 150 * kMs, s);
  EXPECT_EQ(s.source, SignalSource::kLocal);
}

TEST(SignalMerger, AcceptedViewIsWithdrawnWhenTheMarketMovesPastTheBound) {
  SignalMerger m(1, config());
  m.on_prompted(0, 1, at_mid(100.0), 0);
  ASSERT_EQ(m.on_reply(0, 1, Action::kSell, 0.9, "x", at_mid(100.05), 100 * kMs), ReplyVerdict::kAccepted);
  Signal s = local_signal();
  m.merge(0, at_mid(99.85), 150 * kMs, s);  // 15 bps below the prompt's mid
  EXPECT_EQ(s.source, SignalSource::kLocal);
  EXPECT_EQ(m.counters().views_invalidated.load(), 1u);
}

TEST(SignalMerger, LostMidIsNeverServedAnLlmView) {
  SignalMerger m(1, config());
  m.on_prompted(0, 1, at_mid(100.0), 0);
  ASSERT_EQ(m.on_reply(0, 1, Action::kBuy, 0.5, "", at_mid(100.0), 10 * kMs), ReplyVerdict::kAccepted);
  Signal s = local_signal();
  m.merge(0, at_mid(std::nan("")), 20 * kMs, s);
  EXPECT_EQ(s.source, SignalSource::kLocal);
}

TEST(SignalMerger, RepliesFromOtherJobsOrTwiceAreNotAccepted) {
  SignalMerger m(2, config());
  m.on_prompted(0, 5, at_mid(100.0), 0);
  EXPECT_EQ(m.on_reply(0, 4, Action::kBuy, 0.5, "", at_mid(100.0), 1), ReplyVerdict::kNotWaiting);
  EXPECT_EQ(m.on_reply(1, 5, Action::kBuy, 0.5, "", at_mid(100.0), 1), ReplyVerdict::kNotWaiting);
  EXPECT_EQ(m.on_reply(0, 5, Action::kBuy, 0.5, "", at_mid(100.0), 1), ReplyVerdict::kAccepted);
  EXPECT_EQ(m.on_reply(0, 5, Action::kSell, 0.5, "", at_mid(100.0), 2), ReplyVerdict::kNotWaiting);
  EXPECT_EQ(m.on_reply(9, 5, Action::kSell, 0.5, "", at_mid(100.0), 2), ReplyVerdict::kNotWaiting);
  EXPECT_EQ(m.counters().replies_not_waiting.load(), 4u);
}

TEST(SignalMerger, JobDoneAndOverdueWaitsFreeInstruments) {
  SignalMerger m(3, config());
  m.on_prompted(0, 1, at_mid(1), 0);
  m.on_prompted(1, 1, at_mid(1), 0);
  m.on_prompted(2, 2, at_mid(1), 0);
  m.on_job_done(1);
  EXPECT_FALSE(m.waiting(0));
  EXPECT_FALSE(m.waiting(1));
  EXPECT_TRUE(m.waiting(2));
  m.release_overdue(29'999 * kMs);
  EXPECT_TRUE(m.waiting(2));
  m.release_overdue(30'001 * kMs);
  EXPECT_FALSE(m.waiting(2));
  EXPECT_EQ(m.counters().waits_abandoned.load(), 1u);
}

TEST(SignalMerger, ConfidenceIsClampedAndReasonCutAtUtf8Boundary) {
  SignalMerger m(1, config());
  m.on_prompted(0, 1, at_mid(100.0), 0);
  std::string reason(SignalMerger::kMaxReason - 1, 'a');
  reason += "\xC3\xA9";  // a 2-byte character straddling the limit
  ASSERT_EQ(m.on_reply(0, 1, Action::kBuy, 7.0, reason, at_mid(100.0), 1), ReplyVerdict::kAccepted);
  Signal s = local_signal();
  m.merge(0, at_mid(100.0), 2, s);
  EXPECT_DOUBLE_EQ(s.confidence, 1.0);
  EXPECT_EQ(s.reason.size(), SignalMerger::kMaxReason - 1);
}

}  // namespace
}  // namespace sigflow::strategies
