#include "engine/circuit_breaker.hpp"

#include <algorithm>

namespace sigflow::engine {

CircuitBreaker::CircuitBreaker(const BreakerConfig& config) noexcept : config_(config) {
  config_.failure_threshold = std::max<std::uint32_t>(config_.failure_threshold, 1);
  config_.half_open_probes = std::max<std::uint32_t>(config_.half_open_probes, 1);
  config_.base_cooldown_ns = std::max<std::int64_t>(config_.base_cooldown_ns, 0);
  config_.max_cooldown_ns = std::max(config_.max_cooldown_ns, config_.base_cooldown_ns);
}

bool CircuitBreaker::allow(std::int64_t now_ns) noexcept {
  switch (state()) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      if (now_ns < open_until_ns_) return false;
      state_.store(BreakerState::half_open, std::memory_order_relaxed);
      half_opened_.add();
      probes_sent_ = 0;
      [[fallthrough]];
    case BreakerState::half_open:
      if (probes_sent_ >= config_.half_open_probes) return false;
      ++probes_sent_;
      return true;
  }
  return false;
}

void CircuitBreaker::on_success(std::int64_t /*now_ns*/) noexcept {
  switch (state()) {
    case BreakerState::closed:
      consecutive_failures_ = 0;
      return;
    case BreakerState::half_open:
      state_.store(BreakerState::closed, std::memory_order_relaxed);
      cause_.store(BreakerCause::none, std::memory_order_relaxed);
      closed_.add();
      consecutive_failures_ = 0;
      consecutive_opens_ = 0;
      return;
    case BreakerState::open:
      // A reply to a request sent before the breaker opened says nothing about the endpoint now.
      return;
  }
}

void CircuitBreaker::on_failure(std::int64_t now_ns) noexcept {
  switch (state()) {
    case BreakerState::closed:
      if (++consecutive_failures_ >= config_.failure_threshold)
        open(BreakerCause::consecutive_failures, now_ns, 0);
      return;
    case BreakerState::half_open:
      open(BreakerCause::probe_failed, now_ns, 0);
      return;
    case BreakerState::open:
      return;
  }
}

void CircuitBreaker::open_now(BreakerCause cause, std::int64_t now_ns, std::int64_t at_least_ns) noexcept {
  open(cause, now_ns, at_least_ns);
}

void CircuitBreaker::open(BreakerCause cause, std::int64_t now_ns, std::int64_t at_least_ns) noexcept {
  // Doubling from the base; 62 doublings exceed any int64 cap, so stop shifting once the cap is reached.
  std::int64_t cooldown = config_.base_cooldown_ns;
  for (std::uint32_t i = 0; i < consecutive_opens_ && cooldown < config_.max_cooldown_ns; ++i) cooldown *= 2;
  cooldown = std::min(cooldown, config_.max_cooldown_ns);
  cooldown = std::max(cooldown, at_least_ns);
  ++consecutive_opens_;
  consecutive_failures_ = 0;
  const bool was_open = state() == BreakerState::open;
  open_until_ns_ = was_open ? std::max(open_until_ns_, now_ns + cooldown) : now_ns + cooldown;
  cause_.store(cause, std::memory_order_relaxed);
  if (!was_open) {
    state_.store(BreakerState::open, std::memory_order_relaxed);
    opened_.add();
  }
}

}  // namespace sigflow::engine
