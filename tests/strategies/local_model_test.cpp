// LocalModel on constructed features: direction, confidence and guards.
#include "strategies/local_model.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sigflow::strategies {
namespace {

// A calm, fully observed market: tight spread, balanced book, no momentum, balanced flow, zero funding.
InstrumentFeatures calm() {
  InstrumentFeatures f;
  f.venue = "binance-usdm";
  f.symbol = "BTCUSDT";
  f.instrument = "BTC-USDT-PERP";
  f.mid = 37000;
  f.spread_bps = 1.0;
  f.microprice_offset_bps = 0;
  f.imbalance_l1 = 0;
  f.imbalance_l5 = 0;
  f.imbalance_l20 = 0;
  f.return_1s_bps = 0;
  f.return_10s_bps = 0;
  f.volume_10s = 10;
  f.taker_buy_ratio_10s = 0.5;
  f.funding_rate = 0;
  f.mark_offset_bps = 0;
  f.data_age_ms = 20;
  f.book_valid = true;
  return f;
}

InstrumentFeatures strong_bids() {
  InstrumentFeatures f = calm();
  f.imbalance_l1 = 0.8;
  f.microprice_offset_bps = 0.8 * f.spread_bps / 2;  // the one-level microprice of that imbalance
  f.imbalance_l5 = 0.8;
  return f;
}

TEST(LocalModel, NoDataIsHoldWithZeroConfidence) {
  const ModelDecision d = LocalModel().evaluate(InstrumentFeatures{});
  EXPECT_EQ(d.action, Action::kHold);
  EXPECT_EQ(d.confidence, 0);
  EXPECT_EQ(d.reason(), "no data");
}

TEST(LocalModel, StrongBidImbalanceBuys) {
  const ModelDecision d = LocalModel().evaluate(strong_bids());
  EXPECT_EQ(d.action, Action::kBuy);
  // score = 0.25·0.8 + 0.30·0.8 = 0.44; confidence = 0.5 + 0.5·(0.44 − 0.25)/0.75
  EXPECT_NEAR(d.score, 0.44, 1e-12);
  EXPECT_NEAR(d.confidence, 0.5 + 0.5 * 0.19 / 0.75, 1e-12);
  EXPECT_NE(d.reason().find("imb5=+0.80"), std::string_view::npos) << d.reason();
  EXPECT_NE(d.reason().find("score=+0.44"), std::string_view::npos) << d.reason();
}

TEST(LocalModel, MirrorImageSells) {
  InstrumentFeatures f = strong_bids();
  f.imbalance_l1 = -f.imbalance_l1;
  f.microprice_offset_bps = -f.microprice_offset_bps;
  f.imbalance_l5 = -f.imbalance_l5;
  const ModelDecision sell = LocalModel().evaluate(f);
  const ModelDecision buy = LocalModel().evaluate(strong_bids());
  EXPECT_EQ(sell.action, Action::kSell);
  EXPECT_DOUBLE_EQ(sell.confidence, buy.confidence);
  EXPECT_DOUBLE_EQ(sell.score, -buy.score);
}

TEST(LocalModel, CalmMarketHoldsConfidently) {
  const ModelDecision d = LocalModel().evaluate(calm());
  EXPECT_EQ(d.action, Action::kHold);
  EXPECT_DOUBLE_EQ(d.score, 0);
  EXPECT_DOUBLE_EQ(d.confidence, 1.0);
}

TEST(LocalModel, MomentumAndFlowAloneCanBuy) {
  InstrumentFeatures f = calm();
  f.return_1s_bps = 50;    // tanh(10) ≈ 1
  f.return_10s_bps = 150;  // tanh(10) ≈ 1
  f.taker_buy_ratio_10s = 1.0;
  const ModelDecision d = LocalModel().evaluate(f);
  EXPECT_EQ(d.action, Action::kBuy);
  EXPECT_NEAR(d.score, 0.15 + 0.20, 1e-6);
}

TEST(LocalModel, HighFundingTiltsDown) {
  InstrumentFeatures f = calm();
  f.funding_rate = 0.003;  // longs pay a lot: crowded
  const ModelDecision d = LocalModel().evaluate(f);
  EXPECT_LT(d.score, -0.09);
  EXPECT_EQ(d.action, Action::kHold);  // funding alone stays below the threshold
  EXPECT_NE(d.reason().find("fund=+30.00bps"), std::string_view::npos) << d.reason();
}

TEST(LocalModel, MissingInputsLowerConfidence) {
  InstrumentFeatures partial = strong_bids();
  partial.return_1s_bps = kAbsent;
  partial.return_10s_bps = kAbsent;
  partial.taker_buy_ratio_10s = kAbsent;
  partial.volume_10s = 0;
  partial.funding_rate = kAbsent;
  const ModelDecision full = LocalModel().evaluate(strong_bids());
  const ModelDecision thin = LocalModel().evaluate(partial);
  EXPECT_EQ(thin.action, Action::kBuy);
  EXPECT_DOUBLE_EQ(thin.score, full.score);
  EXPECT_NEAR(thin.confidence, full.confidence * 0.55, 1e-12);  // 0.25 + 0.30 of the weight observed
  EXPECT_NE(thin.reason().find("flow=n/a"), std::string_view::npos) << thin.reason();
  // An absent value has no unit.
  EXPECT_NE(thin.reason().find("mom1s=n/a mom10s=n/a"), std::string_view::npos) << thin.reason();
  EXPECT_NE(thin.reason().find("fund=n/a"), std::string_view::npos) << thin.reason();
  EXPECT_EQ(thin.reason().find("n/abps"), std::string_view::npos) << thin.reason();
}

TEST(LocalModel, StaleDataAndWideSpreadHold) {
  InstrumentFeatures stale = strong_bids();
  stale.data_age_ms = 10'000;
  ModelDecision d = LocalModel().evaluate(stale);
  EXPECT_EQ(d.action, Action::kHold);
  EXPECT_EQ(d.confidence, 0);
  EXPECT_TRUE(d.reason().starts_with("stale data")) << d.reason();

  InstrumentFeatures wide = strong_bids();
  wide.spread_bps = 500;
  d = LocalModel().evaluate(wide);
  EXPECT_EQ(d.action, Action::kHold);
  EXPECT_TRUE(d.reason().starts_with("spread too wide")) << d.reason();

  InstrumentFeatures no_quotes = calm();
  no_quotes.mid = kAbsent;
  EXPECT_EQ(LocalModel().evaluate(no_quotes).reason(), "no top of book");
}

TEST(LocalModel, ConfigChangesTheDecisionDeterministically) {
  InstrumentFeatures f = calm();
  f.imbalance_l5 = 0.5;  // score 0.15
  EXPECT_EQ(LocalModel().evaluate(f).action, Action::kHold);
  LocalModelConfig eager;
  eager.entry_threshold = 0.1;
  const LocalModel model(eager);
  const ModelDecision a = model.evaluate(f);
  const ModelDecision b = model.evaluate(f);
  EXPECT_EQ(a.action, Action::kBuy);
  EXPECT_EQ(a.confidence, b.confidence);
  EXPECT_EQ(a.reason(), b.reason());
}

}  // namespace
}  // namespace sigflow::strategies
