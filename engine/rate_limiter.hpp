#pragma once
// Request/token/weight limiters for the inference thread and the venue REST clients.
//
// GCRA (generic cell rate algorithm) rather than a refilling token bucket: the whole state is one
// "theoretical arrival time" (TAT), there is no refill step to run, and the answer to "when could this
// be granted" falls out of the same arithmetic as the grant itself. A limit of `capacity` units per
// `window_ns` behaves as a bucket of `capacity` that drains continuously, so a full burst of `capacity`
// is allowed from idle and never more. TAT is kept as an exact rational (ns plus a remainder in units of
// 1/capacity ns) so that 10'000 TPM over 60 s does not drift by rounding on every debit.
//
// Every call takes the time; nothing reads a clock. Single-threaded by design: the thread that sends
// the requests owns its limiters. No allocation, no exceptions, no locks.
#include <cstdint>
#include <limits>
#include <span>

namespace sigflow::engine {

inline constexpr std::int64_t kNeverNs = std::numeric_limits<std::int64_t>::max();

enum class AcquireStatus : std::uint8_t {
  granted,
  wait,              // retry at ready_at_ns
  in_flight_full,    // retry when a request in flight completes
  exceeds_capacity,  // cost is larger than the whole limit: can never be granted, split the request
};

struct AcquireResult {
  AcquireStatus status;
  std::int64_t ready_at_ns;  // == now when granted; kNeverNs when no time can be given

  bool granted() const noexcept { return status == AcquireStatus::granted; }
};

class GcraLimiter {
 public:
  // capacity > 0 units per window_ns > 0.
  GcraLimiter(std::int64_t capacity, std::int64_t window_ns) noexcept;

  // Grants and debits `cost` units, or leaves the state unchanged and says when it would be granted.
  AcquireResult try_acquire(std::int64_t cost, std::int64_t now_ns) noexcept;
  // The same answer as try_acquire without debiting.
  AcquireResult check(std::int64_t cost, std::int64_t now_ns) const noexcept;

  // Unconditional debit for corrections (actual usage above the estimate, a request the server counted
  // that we did not). May push the limiter into debt: later acquires wait until it is paid off.
  void debit(std::int64_t cost, std::int64_t now_ns) noexcept;

  // Correction from x-ratelimit-remaining-* / x-ratelimit-reset-*. Tightens only: the server counts
  // traffic we cannot see (other processes on the same key), but a larger `remaining` may just mean the
  // reply raced our own newer requests. `remaining` is taken as the server's exact view of what is left
  // now. `reset_in_ns` ("time until the limit resets to its initial state") adds a constraint only when
  // nothing is left: then nothing is granted before it elapses.
  void observe_remaining(std::int64_t remaining, std::int64_t reset_in_ns, std::int64_t now_ns) noexcept;

  // Binance X-MBX-USED-WEIGHT-1M: the server's count of the weight used in the current minute replaces
  // ours, in both directions, because it is the count the ban is decided on.
  // Binance counts per fixed clock minute, while GCRA refills continuously and so can grant up to twice
  // its capacity inside one fixed minute (a burst, then the refill). Construct a venue weight limiter
  // with capacity = limit / 2 per minute: any fixed minute then holds at most the venue limit, with or
  // without set_used read-backs (proof: start-of-minute headroom <= capacity - used, plus <= capacity of
  // refill in the minute).
  void set_used(std::int64_t used, std::int64_t now_ns) noexcept;

  // Units that could be acquired at now_ns.
  std::int64_t available(std::int64_t now_ns) const noexcept;

  std::int64_t capacity() const noexcept { return capacity_; }
  std::int64_t window_ns() const noexcept { return window_ns_; }

 private:
  struct Tat {
    std::int64_t ns;
    std::int64_t frac;  // in [0, capacity): extra ns * frac / capacity
  };

  Tat base(std::int64_t now_ns) const noexcept;
  Tat advance(Tat from, std::int64_t cost) const noexcept;
  AcquireResult evaluate(Tat next, std::int64_t now_ns) const noexcept;
  void set_debt(std::int64_t used, std::int64_t now_ns) noexcept;

  std::int64_t capacity_;
  std::int64_t window_ns_;
  Tat tat_{std::numeric_limits<std::int64_t>::min() / 2, 0};
};

struct LimitCharge {
  GcraLimiter* limiter;
  std::int64_t cost;
};

// Acquires from several limiters as one decision (RPM and TPM for one request: a request that passes
// RPM but fails TPM must not burn an RPM slot), and holds one slot of a cap on requests in flight.
class LinkedLimits {
 public:
  explicit LinkedLimits(std::uint32_t max_in_flight) noexcept : max_in_flight_(max_in_flight) {}

  // All charges are debited and one in-flight slot taken, or nothing changes. When waiting, ready_at_ns is
  // the latest of the limiters' ready times: the earliest moment at which all of them would grant.
  AcquireResult try_acquire(std::span<const LimitCharge> charges, std::int64_t now_ns) noexcept;
  // A request granted by try_acquire has completed (any outcome).
  void release() noexcept;

  std::uint32_t in_flight() const noexcept { return in_flight_; }

 private:
  std::uint32_t max_in_flight_;
  std::uint32_t in_flight_ = 0;
};

// Binance REST GET /depth request weights by `limit` (feeds.md §2: binance-spot-api-docs rest-api.md
// "Order book"; USD-M from ccxt's cost map). A limit above the largest tier is rejected by the venue, so
// it gets the largest weight rather than a guess.
std::int64_t binance_spot_depth_weight(std::int64_t limit) noexcept;
std::int64_t binance_usdm_depth_weight(std::int64_t limit) noexcept;

}  // namespace sigflow::engine
