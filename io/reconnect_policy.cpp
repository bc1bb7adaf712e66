#include "io/reconnect_policy.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace sigflow::io {
namespace {

ReconnectConfig sanitized(ReconnectConfig c) {
  c.base_ns = std::max<std::int64_t>(c.base_ns, 1);
  c.cap_ns = std::max(c.cap_ns, c.base_ns);
  if (!(c.multiplier >= 1.0)) c.multiplier = 1.0;  // also catches NaN
  if (c.window_ns <= 0) c.window_attempts = 0;
  c.stable_after_ns = std::max<std::int64_t>(c.stable_after_ns, 0);
  return c;
}

std::uint64_t random_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

ReconnectPolicy::ReconnectPolicy(const ReconnectConfig& config)
    : config_(sanitized(config)),
      rng_state_(config_.seed ? *config_.seed : random_seed()),
      previous_delay_ns_(config_.base_ns),
      window_(config_.window_attempts) {}

std::int64_t ReconnectPolicy::backoff_ceiling_ns() const noexcept {
  if (attempts_ == 0) return 0;
  if (config_.jitter == ReconnectConfig::Jitter::kDecorrelated) {
    const double upper = static_cast<double>(previous_delay_ns_) * config_.multiplier;
    return static_cast<std::int64_t>(std::min(upper, static_cast<double>(config_.cap_ns)));
  }
  // In double: base * multiplier^60 overflows int64 long before the cap stops mattering.
  const double ceiling = static_cast<double>(config_.base_ns) * std::pow(config_.multiplier, attempts_ - 1);
  return static_cast<std::int64_t>(std::min(ceiling, static_cast<double>(config_.cap_ns)));
}

std::int64_t ReconnectPolicy::next_delay(std::int64_t now_ns) {
  std::int64_t delay = 0;
  if (attempts_ > 0) {
    const std::int64_t ceiling = backoff_ceiling_ns();
    if (config_.jitter == ReconnectConfig::Jitter::kDecorrelated) {
      const double low = static_cast<double>(config_.base_ns);
      const double high = static_cast<double>(std::max(ceiling, config_.base_ns));
      delay = static_cast<std::int64_t>(low + unit_random() * (high - low));
      delay = std::clamp(delay, config_.base_ns, config_.cap_ns);
      previous_delay_ns_ = delay;
    } else {
      delay = static_cast<std::int64_t>(unit_random() * static_cast<double>(ceiling));
    }
  }
  return std::max(delay, window_wait_ns(now_ns));
}

// How long until one more attempt fits in the sliding window.
std::int64_t ReconnectPolicy::window_wait_ns(std::int64_t now_ns) const noexcept {
  if (config_.window_attempts == 0 || window_count_ < window_.size()) return 0;
  const std::int64_t oldest = window_[window_head_];
  // The oldest attempt leaves the window at oldest + window_ns; attempting exactly then keeps the count
  // within (oldest, now] at window_attempts.
  return std::max<std::int64_t>(0, oldest + config_.window_ns - now_ns);
}

void ReconnectPolicy::on_connect_attempt(std::int64_t now_ns) {
  if (attempts_ < UINT32_MAX) ++attempts_;
  healthy_since_ns_.reset();
  if (config_.window_attempts == 0) return;
  // The ring holds the newest window_attempts times; the slot at head is the oldest and is overwritten.
  window_[window_head_] = now_ns;
  window_head_ = (window_head_ + 1) % window_.size();
  window_count_ = std::min(window_count_ + 1, window_.size());
}

void ReconnectPolicy::on_healthy(std::int64_t now_ns) {
  if (!healthy_since_ns_) {
    healthy_since_ns_ = now_ns;
    return;
  }
  if (now_ns - *healthy_since_ns_ >= config_.stable_after_ns) {
    attempts_ = 0;
    previous_delay_ns_ = config_.base_ns;
  }
}

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush, and identical on every platform,
// unlike the std distributions.
std::uint64_t ReconnectPolicy::next_random() noexcept {
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double ReconnectPolicy::unit_random() noexcept {
  return static_cast<double>(next_random() >> 11) * 0x1.0p-53;  // 53 random mantissa bits
}

}  // namespace sigflow::io
