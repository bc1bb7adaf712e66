#include "strategies/local_model.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace sigflow::strategies {

namespace {

// Bounded writer into the decision's reason buffer; silently stops at capacity.
class ReasonWriter {
 public:
  explicit ReasonWriter(ModelDecision& d) noexcept : d_(d) { d_.reason_length = 0; }

  ReasonWriter& text(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), ModelDecision::kReasonCapacity - d_.reason_length);
    if (n != 0) std::memcpy(d_.reason_buffer + d_.reason_length, s.data(), n);
    d_.reason_length += n;
    return *this;
  }

  // Signed fixed-point value ("+0.42") followed by its unit, or "n/a" alone for NaN: an absent value has
  // no unit.
  ReasonWriter& number(double v, int precision, std::string_view unit = {}) noexcept {
    if (std::isnan(v)) return text("n/a");
    char buffer[32];
    char* p = buffer;
    if (v >= 0) *p++ = '+';
    const auto r = std::to_chars(p, buffer + sizeof buffer, v, std::chars_format::fixed, precision);
    text(std::string_view(buffer, static_cast<std::size_t>(r.ptr - buffer)));
    return text(unit);
  }

 private:
  ModelDecision& d_;
};

double clamp_unit(double v) noexcept {
  return std::clamp(v, -1.0, 1.0);
}

}  // namespace

LocalModel::LocalModel(LocalModelConfig config) noexcept : config_(config) {}

ModelDecision LocalModel::evaluate(const InstrumentFeatures& f) const noexcept {
  ModelDecision d;
  ReasonWriter reason(d);
  if (std::isnan(f.data_age_ms)) {
    reason.text("no data");
    return d;
  }
  if (std::isnan(f.mid)) {
    reason.text("no top of book");
    return d;
  }
  if (f.data_age_ms > config_.max_data_age_ms) {
    reason.text("stale data age_ms=").number(f.data_age_ms, 0);
    return d;
  }
  if (!(f.spread_bps <= config_.max_spread_bps)) {
    reason.text("spread too wide spread=").number(f.spread_bps, 1, "bps");
    return d;
  }

  double score = 0;
  double coverage = 0;
  const auto add = [&](double component, double weight) {
    if (std::isnan(component)) return;
    score += weight * clamp_unit(component);
    coverage += weight;
  };

  const double half_spread_bps = f.spread_bps / 2;
  const double touch = half_spread_bps > 0 ? f.microprice_offset_bps / half_spread_bps : f.imbalance_l1;
  add(touch, config_.weight_touch);
  add(f.imbalance_l5, config_.weight_depth);

  double momentum = kAbsent;
  if (!std::isnan(f.return_1s_bps) || !std::isnan(f.return_10s_bps)) {
    const double short_term =
        std::isnan(f.return_1s_bps) ? 0 : std::tanh(f.return_1s_bps / config_.momentum_scale_bps);
    const double long_term =
        std::isnan(f.return_10s_bps) ? 0 : std::tanh(f.return_10s_bps / (3 * config_.momentum_scale_bps));
    momentum = (1 - config_.momentum_10s_share) * short_term + config_.momentum_10s_share * long_term;
  }
  add(momentum, config_.weight_momentum);

  const double flow = (f.volume_10s > config_.min_volume_10s && !std::isnan(f.taker_buy_ratio_10s))
                          ? 2 * (f.taker_buy_ratio_10s - 0.5)
                          : kAbsent;
  add(flow, config_.weight_flow);

  const double funding =
      std::isnan(f.funding_rate) ? kAbsent : -std::tanh(f.funding_rate / config_.funding_scale);
  add(funding, config_.weight_funding);

  const double total_weight = config_.weight_touch + config_.weight_depth + config_.weight_momentum +
                              config_.weight_flow + config_.weight_funding;
  const double covered = total_weight > 0 ? coverage / total_weight : 0;
  const double threshold = config_.entry_threshold;
  const double magnitude = std::fabs(score);
  d.score = score;
  if (magnitude >= threshold && threshold < 1) {
    d.action = score > 0 ? Action::kBuy : Action::kSell;
    // 0.5 at the threshold, 1 at a full-strength score, scaled by how much of the model had inputs.
    d.confidence = std::clamp(0.5 + 0.5 * (magnitude - threshold) / (1 - threshold), 0.0, 1.0) * covered;
  } else {
    d.action = Action::kHold;
    d.confidence = threshold > 0 ? std::clamp(1 - magnitude / threshold, 0.0, 1.0) * covered : 0;
  }

  reason.text("score=").number(score, 2);
  reason.text(" imb1=").number(f.imbalance_l1, 2);
  reason.text(" imb5=").number(f.imbalance_l5, 2);
  reason.text(" micro=").number(f.microprice_offset_bps, 2, "bps");
  reason.text(" mom1s=").number(f.return_1s_bps, 1, "bps");
  reason.text(" mom10s=").number(f.return_10s_bps, 1, "bps");
  reason.text(" flow=").number(flow, 2);
  reason.text(" fund=").number(f.funding_rate * 1e4, 2, "bps");
  return d;
}

}  // namespace sigflow::strategies
