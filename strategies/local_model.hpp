#pragma once
// LocalModel: the first local microstructure model. It turns one instrument's features into
// BUY / SELL / HOLD and a confidence, deterministically, every cycle, without a language model — the
// baseline the LLM path is merged with and the fallback when that path is slow or down.
//
// The score is a weighted sum of bounded components, each in [-1, 1], positive meaning "up":
//   - book pressure at the touch: the microprice's offset from the mid over the half spread. For the
//     one-level microprice this equals the L1 imbalance, so the two are one component, not two;
//   - depth pressure: the top-5 imbalance of the L2 book;
//   - momentum: tanh of the 1 s and 10 s mid returns over a scale;
//   - taker flow: buyer-initiated share of the last 10 s of volume, centred (0.5 → 0);
//   - funding tilt: tanh of the funding rate over a scale, against the crowd (longs paying → down).
// With weights summing to 1 the score stays in [-1, 1]. A missing input contributes nothing and lowers
// the confidence by its weight ("coverage"), so a thinly informed signal never looks sure.
#include <cstddef>
#include <string_view>

#include "strategies/features.hpp"
#include "strategies/signal.hpp"

namespace sigflow::strategies {

struct LocalModelConfig {
  double weight_touch = 0.25;
  double weight_depth = 0.30;
  double weight_momentum = 0.15;
  double weight_flow = 0.20;
  double weight_funding = 0.10;

  double momentum_scale_bps = 5.0;  // a 1 s move of this size gives tanh(1) ≈ 0.76 of the momentum term
  double momentum_10s_share = 0.3;  // the rest comes from the 1 s return; the 10 s scale is 3× wider
  double funding_scale = 0.0005;    // 5 bps per funding interval reads as strongly crowded
  double min_volume_10s = 0;        // taker flow counts only above this traded quantity

  double entry_threshold = 0.25;  // |score| at or above this gives BUY / SELL
  double max_data_age_ms = 3000;  // older data gives HOLD with confidence 0
  double max_spread_bps = 100;    // a wider spread (thin or broken market) gives HOLD with confidence 0
};

struct ModelDecision {
  static constexpr std::size_t kReasonCapacity = 192;

  Action action = Action::kHold;
  double confidence = 0;  // [0, 1]
  double score = 0;       // [-1, 1]
  char reason_buffer[kReasonCapacity] = {};
  std::size_t reason_length = 0;

  std::string_view reason() const noexcept { return {reason_buffer, reason_length}; }
};

class LocalModel {
 public:
  static constexpr std::string_view kName = "local-microstructure-v1";

  explicit LocalModel(LocalModelConfig config = {}) noexcept;

  const LocalModelConfig& config() const noexcept { return config_; }

  ModelDecision evaluate(const InstrumentFeatures& features) const noexcept;

 private:
  LocalModelConfig config_;
};

}  // namespace sigflow::strategies
