#include "io/venues/binance/snapshot_scheduler.hpp"

#include <algorithm>
#include <limits>

#include "io/venues/binance/protocol.hpp"

namespace sigflow::io::binance {
namespace {

constexpr std::int64_t kMinuteNs = 60'000'000'000;
constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerS = 1'000'000'000;
// The longest ban the venue gives is 3 days; a header or body asking for more is taken as 3 days, which
// also keeps every sum with now_ns far from overflow.
constexpr std::int64_t kMaxPauseNs = 3 * 24 * 3600 * kNsPerS;

// REQUEST_WEIGHT per minute per IP (feeds.md §2).
constexpr std::int64_t kSpotWeightPerMinute = 6000;
constexpr std::int64_t kUsdmWeightPerMinute = 2400;

std::optional<std::int64_t> parse_unsigned(std::string_view text) noexcept {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(EnqueueResult result) noexcept {
  switch (result) {
    case EnqueueResult::kQueued:
      return "queued";
    case EnqueueResult::kMerged:
      return "merged";
    case EnqueueResult::kQueueFull:
      return "queue_full";
    case EnqueueResult::kUnknownVenue:
      return "unknown_venue";
  }
  return "invalid";
}

std::optional<std::int64_t> parse_retry_after_seconds_ns(std::string_view text) noexcept {
  text = trim(text);
  const std::size_t point = text.find('.');
  const auto whole = parse_unsigned(text.substr(0, point));
  if (!whole || *whole > kMaxPauseNs / kNsPerS) return std::nullopt;
  std::int64_t ns = *whole * kNsPerS;
  if (point != std::string_view::npos) {
    const std::string_view fraction = text.substr(point + 1);
    if (fraction.empty()) return std::nullopt;
    std::int64_t scale = kNsPerS;
    for (char c : fraction) {
      if (c < '0' || c > '9') return std::nullopt;
      scale /= 10;
      ns += (c - '0') * scale;
    }
  }
  return ns;
}

std::optional<std::int64_t> parse_banned_until_ms(std::string_view body) noexcept {
  static constexpr std::string_view kMarker = "banned until ";
  const std::size_t at = body.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view digits = body.substr(at + kMarker.size());
  std::size_t n = 0;
  while (n < digits.size() && digits[n] >= '0' && digits[n] <= '9') ++n;
  return parse_unsigned(digits.substr(0, n));
}

SnapshotScheduler::SnapshotScheduler(std::vector<SnapshotVenueConfig> venues, SnapshotPolicy policy)
    : policy_(policy) {
  venues_.reserve(venues.size());
  for (SnapshotVenueConfig& config : venues) {
    const VenueProtocol* protocol = nullptr;
    std::int64_t published = 0;
    if (config.venue == "binance") {
      protocol = &spot_protocol();
      published = kSpotWeightPerMinute;
    } else if (config.venue == "binance-usdm") {
      protocol = &usdm_protocol();
      published = kUsdmWeightPerMinute;
    } else {
      error_ =
          "snapshot venue '" + config.venue + "': REST depth snapshots exist for binance and binance-usdm";
      return;
    }
    if (venue_index(config.venue)) {
      error_ = "snapshot venue '" + config.venue + "' listed twice";
      return;
    }
    const std::int64_t limit =
        config.weight_limit_per_minute > 0 ? config.weight_limit_per_minute : published;
    // Half the usable share: see the header (GCRA may grant twice its capacity within one fixed minute).
    const auto budget = static_cast<std::int64_t>(static_cast<double>(limit) * policy_.budget_share);
    const auto capacity = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(limit) * policy_.budget_share / 2));
    venues_.push_back(VenueState{std::move(config), protocol, engine::GcraLimiter(capacity, kMinuteNs),
                                 engine::Backoff(policy_.jitter_seed + venues_.size()),
                                 std::make_unique<SnapshotCounters>(), std::nullopt, std::nullopt, 0,
                                 std::numeric_limits<std::int64_t>::min() / 2, 0, budget, 0, 0});
  }
}

std::optional<std::size_t> SnapshotScheduler::venue_index(std::string_view venue) const noexcept {
  for (std::size_t i = 0; i < venues_.size(); ++i)
    if (venues_[i].config.venue == venue) return i;
  return std::nullopt;
}

EnqueueResult SnapshotScheduler::enqueue(std::string_view venue, std::string_view symbol) {
  const auto index = venue_index(venue);
  if (!index) return EnqueueResult::kUnknownVenue;
  VenueState& v = venues_[*index];
  if (v.in_flight && v.in_flight->symbol == symbol) {
    v.counters->merged.add();
    return EnqueueResult::kMerged;
  }
  for (const Pending& p : queue_) {
    if (p.venue_index == *index && p.symbol == symbol) {
      v.counters->merged.add();
      return EnqueueResult::kMerged;
    }
  }
  if (queue_.size() >= policy_.max_queued) {
    v.counters->rejected.add();
    return EnqueueResult::kQueueFull;
  }
  RestSnapshotRequest request = v.protocol->rest_snapshot(v.config.endpoints, symbol);
  queue_.push_back(Pending{*index, std::string(symbol), std::move(request.url), request.weight, 0});
  v.counters->requested.add();
  return EnqueueResult::kQueued;
}

std::int64_t SnapshotScheduler::ready_ns(const VenueState& v, std::uint32_t weight,
                                         std::int64_t now_ns) const noexcept {
  if (v.in_flight) return engine::kNeverNs;
  const engine::AcquireResult weight_ready = v.weight.check(weight, now_ns);
  if (weight_ready.status == engine::AcquireStatus::exceeds_capacity) return engine::kNeverNs;
  std::int64_t ready = std::max(
      {now_ns, v.paused_until_ns, v.last_start_ns + policy_.min_spacing_ns, weight_ready.ready_at_ns});
  if (ready < v.minute_ends_ns && v.minute_used + weight > v.minute_budget) ready = v.minute_ends_ns;
  return ready;
}

std::optional<SnapshotStart> SnapshotScheduler::start_next(std::int64_t now_ns) noexcept {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    VenueState& v = venues_[it->venue_index];
    if (ready_ns(v, it->weight, now_ns) > now_ns) continue;
    if (!v.weight.try_acquire(it->weight, now_ns).granted()) continue;
    v.in_flight = std::move(*it);
    queue_.erase(it);
    v.last_start_ns = now_ns;
    v.minute_used += v.in_flight->weight;  // until the reply's header says better
    v.counters->sent.add();
    v.counters->weight_debited.add(v.in_flight->weight);
    return in_flight(static_cast<std::size_t>(&v - venues_.data()));
  }
  return std::nullopt;
}

std::int64_t SnapshotScheduler::next_ready_ns(std::int64_t now_ns) const noexcept {
  std::int64_t earliest = engine::kNeverNs;
  // The first queued request of each venue decides that venue's time; later ones wait behind it.
  for (std::size_t i = 0; i < venues_.size(); ++i) {
    const auto first =
        std::find_if(queue_.begin(), queue_.end(), [i](const Pending& p) { return p.venue_index == i; });
    if (first != queue_.end()) earliest = std::min(earliest, ready_ns(venues_[i], first->weight, now_ns));
  }
  return earliest;
}

std::optional<SnapshotStart> SnapshotScheduler::view(std::size_t venue_index,
                                                     const std::optional<Pending>& p) const noexcept {
  if (!p) return std::nullopt;
  return SnapshotStart{venue_index, venues_[venue_index].config.venue, p->symbol, p->url, p->weight,
                       p->attempt};
}

std::optional<SnapshotStart> SnapshotScheduler::in_flight(std::size_t venue_index) const noexcept {
  return view(venue_index, venues_[venue_index].in_flight);
}

std::optional<SnapshotStart> SnapshotScheduler::last_delivered(std::size_t venue_index) const noexcept {
  return view(venue_index, venues_[venue_index].delivered);
}

void SnapshotScheduler::pause(VenueState& v, std::int64_t until_ns) noexcept {
  v.paused_until_ns = std::max(v.paused_until_ns, until_ns);
  v.counters->paused_until_ns.store(v.paused_until_ns, std::memory_order_relaxed);
}

ReplyVerdict SnapshotScheduler::on_reply(std::size_t venue_index, const SnapshotReply& reply,
                                         std::int64_t now_ns, std::int64_t wall_now_ns) noexcept {
  VenueState& v = venues_[venue_index];
  if (!v.in_flight) return ReplyVerdict::kDeliver;  // nothing outstanding: a caller bug, nothing to retry
  if (reply.used_weight_1m) {
    // The venue's count for this IP and minute, our requests and everybody else's on the IP included.
    if (const auto used = parse_unsigned(trim(*reply.used_weight_1m))) {
      // The count holds until the wall-clock minute rolls over (Binance's intervals are clock-aligned),
      // plus a second for the skew between our clock and the venue's.
      const std::int64_t into_minute = ((wall_now_ns % kMinuteNs) + kMinuteNs) % kMinuteNs;
      v.minute_used = *used;
      v.minute_ends_ns = now_ns + (kMinuteNs - into_minute) + kNsPerS;
      v.counters->used_weight_1m.store(*used, std::memory_order_relaxed);
    }
  }
  std::optional<std::int64_t> retry_after_ns;
  if (reply.retry_after) retry_after_ns = parse_retry_after_seconds_ns(*reply.retry_after);

  bool retry = false;
  if (reply.transport_error || reply.status >= 500) {
    v.counters->failures.add();
    pause(v, now_ns + v.backoff.delay_ns(v.consecutive_failures++));
    retry = true;
  } else if (reply.status == 429) {
    v.counters->rate_limited.add();
    pause(v, now_ns + std::min(retry_after_ns.value_or(policy_.pause_without_retry_after_ns), kMaxPauseNs));
    retry = true;
  } else if (reply.status == 418) {
    v.counters->banned.add();
    std::int64_t ban_ns = retry_after_ns.value_or(0);
    if (const auto until_ms = parse_banned_until_ms(reply.body);
        until_ms && *until_ms <= (std::numeric_limits<std::int64_t>::max() / kNsPerMs)) {
      ban_ns = std::max(ban_ns, *until_ms * kNsPerMs - wall_now_ns);
    }
    if (ban_ns <= 0) ban_ns = policy_.min_ban_ns;
    pause(v, now_ns + std::min(ban_ns, kMaxPauseNs));
    retry = true;
  } else {
    v.consecutive_failures = 0;
  }

  if (!retry) {
    v.counters->delivered.add();
    v.delivered = std::move(v.in_flight);
    v.in_flight.reset();
    return ReplyVerdict::kDeliver;
  }
  Pending again = std::move(*v.in_flight);
  v.in_flight.reset();
  ++again.attempt;
  // Back to the head: it was waiting longer than anything queued behind it.
  queue_.push_front(std::move(again));
  return ReplyVerdict::kRetry;
}

}  // namespace sigflow::io::binance
