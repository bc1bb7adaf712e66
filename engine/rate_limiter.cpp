#include "engine/rate_limiter.hpp"

#include <algorithm>

namespace sigflow::engine {
namespace {

// Far enough from the int64 edges that now + window + a saturated debt cannot overflow.
constexpr std::int64_t kSaturatedNs = std::numeric_limits<std::int64_t>::max() / 4;

}  // namespace

GcraLimiter::GcraLimiter(std::int64_t capacity, std::int64_t window_ns) noexcept
    : capacity_(std::max<std::int64_t>(capacity, 1)), window_ns_(std::max<std::int64_t>(window_ns, 1)) {}

GcraLimiter::Tat GcraLimiter::base(std::int64_t now_ns) const noexcept {
  if (tat_.ns < now_ns) return Tat{now_ns, 0};
  return tat_;
}

GcraLimiter::Tat GcraLimiter::advance(Tat from, std::int64_t cost) const noexcept {
  if (cost <= 0) return from;
  // cost * window overflows 64 bits for token limits (10^7 tokens * 6*10^10 ns), hence 128-bit.
  const unsigned __int128 total =
      static_cast<unsigned __int128>(from.frac) +
      static_cast<unsigned __int128>(cost) * static_cast<unsigned __int128>(window_ns_);
  const unsigned __int128 whole = total / static_cast<unsigned __int128>(capacity_);
  const auto frac = static_cast<std::int64_t>(total % static_cast<unsigned __int128>(capacity_));
  if (whole >= static_cast<unsigned __int128>(kSaturatedNs) ||
      from.ns > kSaturatedNs - static_cast<std::int64_t>(whole)) {
    return Tat{kSaturatedNs, 0};
  }
  return Tat{from.ns + static_cast<std::int64_t>(whole), frac};
}

AcquireResult GcraLimiter::evaluate(Tat next, std::int64_t now_ns) const noexcept {
  const std::int64_t ahead = next.ns - now_ns;
  if (ahead < window_ns_ || (ahead == window_ns_ && next.frac == 0)) {
    return AcquireResult{AcquireStatus::granted, now_ns};
  }
  // The earliest t with next - t <= window; a fractional ns rounds up so the grant is never early.
  return AcquireResult{AcquireStatus::wait, next.ns - window_ns_ + (next.frac > 0 ? 1 : 0)};
}

AcquireResult GcraLimiter::check(std::int64_t cost, std::int64_t now_ns) const noexcept {
  if (cost > capacity_) return AcquireResult{AcquireStatus::exceeds_capacity, kNeverNs};
  return evaluate(advance(base(now_ns), cost), now_ns);
}

AcquireResult GcraLimiter::try_acquire(std::int64_t cost, std::int64_t now_ns) noexcept {
  if (cost > capacity_) return AcquireResult{AcquireStatus::exceeds_capacity, kNeverNs};
  const Tat next = advance(base(now_ns), cost);
  const AcquireResult result = evaluate(next, now_ns);
  if (result.granted()) tat_ = next;
  return result;
}

void GcraLimiter::debit(std::int64_t cost, std::int64_t now_ns) noexcept {
  tat_ = advance(base(now_ns), cost);
}

void GcraLimiter::set_debt(std::int64_t used, std::int64_t now_ns) noexcept {
  tat_ = advance(Tat{now_ns, 0}, used);
}

void GcraLimiter::observe_remaining(std::int64_t remaining, std::int64_t reset_in_ns,
                                    std::int64_t now_ns) noexcept {
  const std::int64_t used = capacity_ - std::max<std::int64_t>(remaining, 0);
  Tat server = advance(Tat{now_ns, 0}, used);
  if (remaining <= 0 && reset_in_ns > 0) {
    // Nothing left: the next unit comes no earlier than the reset, so TAT - window + one unit >= reset.
    const Tat at_reset = advance(Tat{now_ns + std::min(reset_in_ns, kSaturatedNs), 0}, capacity_ - 1);
    if (at_reset.ns > server.ns || (at_reset.ns == server.ns && at_reset.frac > server.frac))
      server = at_reset;
  }
  const Tat current = base(now_ns);
  if (server.ns > current.ns || (server.ns == current.ns && server.frac > current.frac)) tat_ = server;
}

void GcraLimiter::set_used(std::int64_t used, std::int64_t now_ns) noexcept {
  set_debt(std::max<std::int64_t>(used, 0), now_ns);
}

std::int64_t GcraLimiter::available(std::int64_t now_ns) const noexcept {
  const Tat b = base(now_ns);
  const std::int64_t ahead = b.ns - now_ns;
  if (ahead >= window_ns_) return 0;
  // Free time in the window, in units of 1/capacity ns, divided by one unit's cost (window ns).
  const unsigned __int128 free_scaled =
      static_cast<unsigned __int128>(window_ns_ - ahead) * static_cast<unsigned __int128>(capacity_) -
      static_cast<unsigned __int128>(b.frac);
  return static_cast<std::int64_t>(free_scaled / static_cast<unsigned __int128>(window_ns_));
}

AcquireResult LinkedLimits::try_acquire(std::span<const LimitCharge> charges, std::int64_t now_ns) noexcept {
  AcquireResult combined{AcquireStatus::granted, now_ns};
  for (const LimitCharge& charge : charges) {
    const AcquireResult r = charge.limiter->check(charge.cost, now_ns);
    if (r.status == AcquireStatus::exceeds_capacity) return r;
    if (!r.granted()) {
      combined.status = AcquireStatus::wait;
      combined.ready_at_ns = std::max(combined.ready_at_ns, r.ready_at_ns);
    }
  }
  if (!combined.granted()) return combined;
  // Checked after the limiters so that a full in-flight cap does not hide a known wait time.
  if (in_flight_ >= max_in_flight_) return AcquireResult{AcquireStatus::in_flight_full, kNeverNs};
  for (const LimitCharge& charge : charges) charge.limiter->debit(charge.cost, now_ns);
  ++in_flight_;
  return combined;
}

void LinkedLimits::release() noexcept {
  if (in_flight_ > 0) --in_flight_;
}

std::int64_t binance_spot_depth_weight(std::int64_t limit) noexcept {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

std::int64_t binance_usdm_depth_weight(std::int64_t limit) noexcept {
  if (limit <= 50) return 2;
  if (limit <= 100) return 5;
  if (limit <= 500) return 10;
  return 20;
}

}  // namespace sigflow::engine
