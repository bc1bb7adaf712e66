#include "engine/app/fault_storm.hpp"

#include <algorithm>

#include "engine/clock.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"
#include "tools/inference-sim/inference_sim.hpp"

namespace sigflow::app {
namespace {

// SplitMix64: a seeded, reproducible draw per fault.
std::uint64_t next_random(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A 429 spell lasts this long: long enough for the client's breaker and Retry-After handling to engage,
// short enough that the model's view comes back between spells.
constexpr std::int64_t kQuotaSpellNs = 4'000'000'000;

}  // namespace

FaultStorm::FaultStorm(tools::ExchangeSim& sim, tools::InferenceSim* llm, FaultStormConfig config)
    : sim_(sim), llm_(llm), config_(config), venues_(sim.venues()) {}

FaultStorm::~FaultStorm() {
  stop();
}

void FaultStorm::start() {
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void FaultStorm::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  for (const auto& [id, until] : silenced_) sim_.set_silent(false, id);
  silenced_.clear();
  if (llm_ && quota_until_ns_ != 0) llm_->set_insufficient_quota(false);
  quota_until_ns_ = 0;
}

FaultStormCounts FaultStorm::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

std::string FaultStorm::summary() const {
  const FaultStormCounts c = counts();
  static constexpr const char* kNames[kStormFaultKinds] = {"disconnect", "silence", "gap", "malformed",
                                                           "inference"};
  std::string out = "faults:";
  for (std::size_t k = 0; k < kStormFaultKinds; ++k)
    out += std::string(" ") + kNames[k] + "=" + std::to_string(c.injected[k]);
  return out;
}

void FaultStorm::run() {
  std::uint64_t rng = config_.seed;
  std::vector<StormFault> kinds;
  for (std::size_t k = 0; k < kStormFaultKinds; ++k)
    if (config_.kinds[k] && (k != static_cast<std::size_t>(StormFault::kInference) || llm_))
      kinds.push_back(static_cast<StormFault>(k));
  if (kinds.empty()) return;
  const std::int64_t period_ns = std::chrono::nanoseconds(config_.period).count();
  std::int64_t next_ns = engine::monotonic_ns() + period_ns;
  std::unique_lock lock(mutex_);
  while (!stop_) {
    // Wake for the next fault or the next end of a silence, whichever comes first.
    std::int64_t wake_ns = next_ns;
    for (const auto& [id, until] : silenced_) wake_ns = std::min(wake_ns, until);
    if (quota_until_ns_ != 0) wake_ns = std::min(wake_ns, quota_until_ns_);
    const std::int64_t now = engine::monotonic_ns();
    if (wake_ns > now) {
      wake_.wait_for(lock, std::chrono::nanoseconds(wake_ns - now));
      continue;
    }
    for (auto it = silenced_.begin(); it != silenced_.end();) {
      if (it->second <= now) {
        sim_.set_silent(false, it->first);
        it = silenced_.erase(it);
      } else {
        ++it;
      }
    }
    if (quota_until_ns_ != 0 && quota_until_ns_ <= now) {
      llm_->set_insufficient_quota(false);
      quota_until_ns_ = 0;
    }
    if (now < next_ns) continue;
    const std::uint64_t draw = next_random(rng);
    inject(kinds[draw % kinds.size()], next_random(rng));
    // Jitter ±50% around the period, so faults do not beat with the venues' own cadences.
    next_ns = now + period_ns / 2 +
              static_cast<std::int64_t>(next_random(rng) % std::max<std::int64_t>(1, period_ns));
  }
}

void FaultStorm::inject(StormFault kind, std::uint64_t draw) {
  const std::string& venue = venues_[draw % venues_.size()];
  draw /= venues_.size();
  const auto kind_index = static_cast<std::size_t>(kind);
  if (kind == StormFault::kInference) {
    // 5xx, overloaded, hung (the client's timeout ends them) or a spell of 429 insufficient_quota. The
    // simulator applies counted faults to the next completions whenever they come; while the client's
    // breaker is open they come once a cool-down, so counted faults would pile up and keep the model down
    // long after the storm. A counted fault is injected only once the previous ones were served.
    const bool served = llm_->stats().injected_faults >= llm_faults_requested_;
    switch (served ? draw % 4 : 3) {
      case 0:
        llm_->inject(tools::SimFault::kServerError, 3);
        llm_faults_requested_ += 3;
        break;
      case 1:
        llm_->inject(tools::SimFault::kOverloaded, 3);
        llm_faults_requested_ += 3;
        break;
      case 2:
        llm_->inject(tools::SimFault::kHang, 1);
        llm_faults_requested_ += 1;
        break;
      default:
        if (quota_until_ns_ == 0) llm_->set_insufficient_quota(true);
        quota_until_ns_ = engine::monotonic_ns() + kQuotaSpellNs;
        break;
    }
    ++counts_.injected[kind_index];
    ++counts_.inference_bursts;
    return;
  }
  const std::vector<std::uint64_t> ids = sim_.connection_ids(venue);
  if (ids.empty()) return;  // every connection of the venue is down (reconnecting): try another next time
  const std::uint64_t id = ids[draw % ids.size()];
  std::size_t reached = 0;
  switch (kind) {
    case StormFault::kDisconnect:
      reached = sim_.disconnect(id);
      break;
    case StormFault::kSilence:
      if (std::any_of(silenced_.begin(), silenced_.end(), [&](const auto& s) { return s.first == id; }))
        return;
      reached = sim_.set_silent(true, id);
      if (reached)
        silenced_.emplace_back(id,
                               engine::monotonic_ns() + std::chrono::nanoseconds(config_.silence).count());
      break;
    case StormFault::kGap:
      reached = sim_.skip_depth_update(id);
      counts_.gap_connections += reached;
      break;
    case StormFault::kMalformed:
      reached = sim_.send_malformed_json(id);
      break;
    case StormFault::kInference:
      break;
  }
  if (reached) ++counts_.injected[kind_index];
}

}  // namespace sigflow::app
