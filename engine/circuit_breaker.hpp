#pragma once
// Circuit breaker for the inference endpoint (and a venue's REST API): stops sending while the far side
// is failing, so that retries do not deepen an outage or a ban, and lets a few probes find out when it
// is back.
//
// closed --N consecutive failures / open_now(fatal cause)--> open --cool-down elapsed--> half_open
// half_open --probe success--> closed;  half_open --probe failure--> open (longer cool-down)
//
// The cool-down doubles on each open without an intervening close (capped), so a dead endpoint is probed
// ever less often. Driven by one thread (the one that sends requests); state(), cause() and the
// transition counters are atomics for the status line and /metrics on other threads. Every call takes
// the time; nothing reads a clock.
#include <atomic>
#include <cstdint>

#include "engine/counter.hpp"

namespace sigflow::engine {

enum class BreakerState : std::uint8_t { closed, open, half_open };

enum class BreakerCause : std::uint8_t {
  none,
  consecutive_failures,
  probe_failed,
  unauthorized,        // 401
  forbidden,           // 403
  insufficient_quota,  // 429 insufficient_quota
  retry_after_too_long,
  ip_banned,  // Binance 418
};

struct BreakerConfig {
  std::uint32_t failure_threshold = 5;
  std::int64_t base_cooldown_ns = 1'000'000'000;
  std::int64_t max_cooldown_ns = 60'000'000'000;
  std::uint32_t half_open_probes = 1;
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const BreakerConfig& config) noexcept;

  // Whether a request may be sent now. In half-open, each true is one of the limited probes.
  bool allow(std::int64_t now_ns) noexcept;
  void on_success(std::int64_t now_ns) noexcept;
  void on_failure(std::int64_t now_ns) noexcept;
  // Opens at once for a cause that no retry can fix. The cool-down is at least at_least_ns (a ban's
  // Retry-After) and at least the growing cool-down.
  void open_now(BreakerCause cause, std::int64_t now_ns, std::int64_t at_least_ns = 0) noexcept;

  BreakerState state() const noexcept { return state_.load(std::memory_order_relaxed); }
  BreakerCause cause() const noexcept { return cause_.load(std::memory_order_relaxed); }
  // When an open breaker becomes half-open; meaningful while open.
  std::int64_t open_until_ns() const noexcept { return open_until_ns_; }

  std::uint64_t opened_total() const noexcept { return opened_.load(); }
  std::uint64_t half_opened_total() const noexcept { return half_opened_.load(); }
  std::uint64_t closed_total() const noexcept { return closed_.load(); }

 private:
  void open(BreakerCause cause, std::int64_t now_ns, std::int64_t at_least_ns) noexcept;

  BreakerConfig config_;
  std::atomic<BreakerState> state_{BreakerState::closed};
  std::atomic<BreakerCause> cause_{BreakerCause::none};
  std::uint32_t consecutive_failures_ = 0;
  std::uint32_t consecutive_opens_ = 0;
  std::uint32_t probes_sent_ = 0;
  std::int64_t open_until_ns_ = 0;
  Counter opened_;
  Counter half_opened_;
  Counter closed_;
};

}  // namespace sigflow::engine
