#pragma once
// ReconnectPolicy: when to try the next connection to a venue after one failed or dropped.
//
// Capped exponential backoff with jitter. Jitter matters more than the exponent here: when a venue drops
// every connection at once (maintenance, a 24 h connection limit, a load-balancer restart) every client in
// the world reconnects at the same moment, and un-jittered retries stay synchronised. Two schemes, after
// Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015):
//   kFull:         delay = uniform[0, min(cap, base * multiplier^(n-1))]   for the n-th retry
//   kDecorrelated: delay = min(cap, uniform[base, previous * multiplier])
// Full jitter is the default: it spreads a crowd best and its first retry is quick (within `base`), which
// is what a trading feed wants after a one-off drop. Decorrelated keeps a floor of `base` between retries
// and grows about multiplier/2 per retry on average, so use it with a multiplier of 3 (as in the article).
//
// The retry count resets only after a connection stayed healthy for `stable_after`: a venue that accepts
// the connection and drops it a second later must not earn an immediate retry every time.
//
// Venues also limit connection attempts per IP (Binance: 300 connections per 5 minutes). The policy keeps
// the times of the last `window_attempts` attempts and stretches any delay so that a sliding window of
// `window_ns` never holds more than `window_attempts` attempts.
//
// Random numbers come from SplitMix64 with an explicit seed, so a test (or a replay) sees the same delays.
#include <cstdint>
#include <optional>
#include <vector>

namespace sigflow::io {

struct ReconnectConfig {
  enum class Jitter { kFull, kDecorrelated };

  std::int64_t base_ns = 250'000'000;    // 250 ms
  std::int64_t cap_ns = 30'000'000'000;  // 30 s
  double multiplier = 2.0;
  Jitter jitter = Jitter::kFull;
  std::int64_t stable_after_ns = 10'000'000'000;  // 10 s
  // At most window_attempts attempts in any window of window_ns; 0 attempts = no limit.
  std::uint32_t window_attempts = 0;
  std::int64_t window_ns = 0;
  // Unset: seeded from std::random_device.
  std::optional<std::uint64_t> seed;
};

class ReconnectPolicy {
 public:
  // Invalid values are clamped into a usable range: base >= 1 ns, cap >= base, multiplier >= 1.
  explicit ReconnectPolicy(const ReconnectConfig& config);

  // How long to wait, from now, before the next attempt. 0 before the first attempt and right after a
  // stable connection. Draws a random number: call once per attempt.
  std::int64_t next_delay(std::int64_t now_ns);

  // An attempt starts now (TCP connect). Counts towards the backoff and the attempt window; ends any
  // healthy stretch of the previous connection.
  void on_connect_attempt(std::int64_t now_ns);

  // The connection is up and working at now_ns (call it on every tick while it is). The first call starts
  // the healthy stretch; once it has lasted stable_after, the retry count goes back to zero.
  void on_healthy(std::int64_t now_ns);

  // The connection went away; the healthy stretch ends.
  void on_disconnected() noexcept { healthy_since_ns_.reset(); }

  // Attempts since the last reset.
  std::uint32_t attempts() const noexcept { return attempts_; }
  // Upper bound of the backoff before jitter for the next delay (full jitter: the delay is below it).
  std::int64_t backoff_ceiling_ns() const noexcept;

 private:
  std::uint64_t next_random() noexcept;
  double unit_random() noexcept;  // uniform in [0, 1)
  std::int64_t window_wait_ns(std::int64_t now_ns) const noexcept;

  ReconnectConfig config_;
  std::uint64_t rng_state_;
  std::uint32_t attempts_ = 0;
  std::int64_t previous_delay_ns_;  // decorrelated jitter grows from the last delay
  std::optional<std::int64_t> healthy_since_ns_;
  // Times of the last window_attempts attempts, oldest at window_head_ once full. Sized once.
  std::vector<std::int64_t> window_;
  std::size_t window_head_ = 0;
  std::size_t window_count_ = 0;
};

}  // namespace sigflow::io
