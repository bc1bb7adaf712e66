#include "strategies/signal_merger.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sigflow::strategies {
namespace {

// Cuts at a UTF-8 boundary so that the sink never sees half a character.
std::size_t utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

SignalMerger::SignalMerger(std::size_t instruments, SignalMergerConfig config)
    : config_(std::move(config)), views_(instruments) {}

void SignalMerger::on_prompted(std::uint32_t instrument, std::uint64_t job, const InstrumentFeatures& shown,
                               std::int64_t now_ns) noexcept {
  if (instrument >= views_.size() || job == 0) return;
  View& v = views_[instrument];
  v.waiting_job = job;
  v.prompted_ns = now_ns;
  v.prompted_mid = shown.mid;
  v.prompted_age_ms = shown.data_age_ms;
  counters_.prompted.add();
}

void SignalMerger::on_job_done(std::uint64_t job) noexcept {
  for (View& v : views_)
    if (v.waiting_job == job) v.waiting_job = 0;
}

void SignalMerger::release_overdue(std::int64_t now_ns) noexcept {
  for (View& v : views_) {
    if (v.waiting_job != 0 && now_ns - v.prompted_ns > config_.max_wait_ns) {
      v.waiting_job = 0;
      counters_.waits_abandoned.add();
    }
  }
}

bool SignalMerger::moved_past_bound(double from_mid, const InstrumentFeatures& current) const noexcept {
  // No mid now (book lost) or then: nothing shows the view still applies.
  if (!std::isfinite(from_mid) || !std::isfinite(current.mid) || from_mid <= 0) return true;
  return std::fabs(current.mid - from_mid) / from_mid * 1e4 > config_.stale_move_bps;
}

ReplyVerdict SignalMerger::on_reply(std::uint32_t instrument, std::uint64_t job, Action action,
                                    double confidence, std::string_view reason,
                                    const InstrumentFeatures& current, std::int64_t now_ns) noexcept {
  if (instrument >= views_.size() || job == 0 || views_[instrument].waiting_job != job) {
    counters_.replies_not_waiting.add();
    return ReplyVerdict::kNotWaiting;
  }
  View& v = views_[instrument];
  v.waiting_job = 0;  // one entry per instrument per job: a second would be a duplicate
  if (moved_past_bound(v.prompted_mid, current)) {
    counters_.replies_stale.add();
    return ReplyVerdict::kStale;
  }
  v.valid = true;
  v.emitted = false;
  v.action = action;
  v.confidence = std::clamp(std::isfinite(confidence) ? confidence : 0.0, 0.0, 1.0);
  v.view_prompted_ns = v.prompted_ns;
  v.received_ns = now_ns;
  v.view_mid = v.prompted_mid;
  v.view_age_ms = v.prompted_age_ms;
  v.reason_size = static_cast<std::uint8_t>(utf8_prefix(reason, kMaxReason));
  std::memcpy(v.reason, reason.data(), v.reason_size);
  counters_.replies_accepted.add();
  return ReplyVerdict::kAccepted;
}

void SignalMerger::merge(std::uint32_t instrument, const InstrumentFeatures& current, std::int64_t now_ns,
                         Signal& signal) noexcept {
  if (instrument < views_.size()) {
    View& v = views_[instrument];
    if (v.valid && now_ns - v.received_ns > config_.ttl_ns) {
      v.valid = false;
      counters_.views_expired.add();
    }
    if (v.valid && moved_past_bound(v.view_mid, current)) {
      v.valid = false;
      counters_.views_invalidated.add();
    }
    if (v.valid) {
      signal.action = v.action;
      signal.confidence = v.confidence;
      signal.source = SignalSource::kLlm;
      signal.model = config_.model;
      const double since_prompt_ms = static_cast<double>(now_ns - v.view_prompted_ns) / 1e6;
      signal.data_age_ms = std::isfinite(v.view_age_ms) ? v.view_age_ms + since_prompt_ms : since_prompt_ms;
      signal.reason = std::string_view(v.reason, v.reason_size);
      if (!v.emitted) {
        v.emitted = true;
        prompt_to_signal_.record(
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - v.view_prompted_ns)));
      }
      counters_.llm_signals.add();
      return;
    }
  }
  counters_.local_signals.add();
}

}  // namespace sigflow::strategies
