#pragma once
// SignalMerger: which view of an instrument goes out this cycle — the language model's or the local
// model's — so that every instrument gets a signal every cycle whatever the inference side is doing.
//
// The strategy thread records each instrument it puts into a prompt (the job, the cycle time, the mid and
// data age the model was shown). A reply is accepted only for an instrument still waiting on that job, and
// only while the market has not moved past `stale_move_bps` from the mid the model saw: a judgement on a
// book that no longer exists is dropped and counted, never emitted. An accepted view replaces the local
// signal while it is younger than `ttl_ns` and the mid stays within the bound; after that the local model
// speaks again. `data_age_ms` of an LLM signal is the age of the data the model judged (its age when
// prompted plus the time since), so a consumer can tell an old view from fresh local data.
//
// The mid move is the staleness measure (rather than the instrument's change score, which the prompt
// planner resets) because it is what a directional signal is about and it cannot be reset by a later prompt.
//
// Single-threaded (the strategy thread). Sized at construction; nothing allocates afterwards.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counter.hpp"
#include "engine/histogram.hpp"
#include "strategies/features.hpp"
#include "strategies/signal.hpp"

namespace sigflow::strategies {

struct SignalMergerConfig {
  std::int64_t ttl_ns = 2'000'000'000;
  double stale_move_bps = 10;
  // An instrument waiting longer than this on a job is free again (its job's completion was lost).
  std::int64_t max_wait_ns = 60'000'000'000;
  std::string model;  // the LLM's name, as signals report it
};

enum class ReplyVerdict : std::uint8_t {
  kAccepted,
  kStale,       // the mid moved past the bound since the prompt
  kNotWaiting,  // no prompt of this job is outstanding for the instrument (late or duplicate)
};

struct SignalMergerCounters {
  engine::Counter prompted;  // instruments put into prompts
  engine::Counter replies_accepted;
  engine::Counter replies_stale;  // dropped: data changed beyond the bound before the reply came
  engine::Counter replies_not_waiting;
  engine::Counter llm_signals;
  engine::Counter local_signals;
  engine::Counter views_expired;      // an accepted view outlived ttl
  engine::Counter views_invalidated;  // an accepted view's market moved past the bound
  engine::Counter waits_abandoned;    // max_wait_ns passed without the job's completion
};

class SignalMerger {
 public:
  static constexpr std::size_t kMaxReason = 160;

  SignalMerger(std::size_t instruments, SignalMergerConfig config);

  // Bookkeeping of prompts and jobs.
  void on_prompted(std::uint32_t instrument, std::uint64_t job, const InstrumentFeatures& shown,
                   std::int64_t now_ns) noexcept;
  bool waiting(std::uint32_t instrument) const noexcept { return views_[instrument].waiting_job != 0; }
  // The job will deliver nothing more: its instruments may be prompted again.
  void on_job_done(std::uint64_t job) noexcept;
  // Frees instruments whose job completion never came (a lost message), so they are prompted again.
  void release_overdue(std::int64_t now_ns) noexcept;

  // A validated reply entry for `instrument` from `job`.
  ReplyVerdict on_reply(std::uint32_t instrument, std::uint64_t job, Action action, double confidence,
                        std::string_view reason, const InstrumentFeatures& current,
                        std::int64_t now_ns) noexcept;

  // Replaces the local `signal` of `instrument` by its LLM view when that view is fresh; counts either way.
  // The signal's reason then points into the merger, valid until the next on_reply for the instrument.
  void merge(std::uint32_t instrument, const InstrumentFeatures& current, std::int64_t now_ns,
             Signal& signal) noexcept;

  const SignalMergerCounters& counters() const noexcept { return counters_; }
  // Time from the cycle that prompted an instrument to the first signal made from the reply.
  const engine::LatencyHistogram& prompt_to_signal() const noexcept { return prompt_to_signal_; }
  const SignalMergerConfig& config() const noexcept { return config_; }

 private:
  struct View {
    std::uint64_t waiting_job = 0;  // 0: nothing outstanding
    std::int64_t prompted_ns = 0;
    double prompted_mid = kAbsent;
    double prompted_age_ms = kAbsent;
    // The accepted view.
    bool valid = false;
    bool emitted = false;
    Action action = Action::kHold;
    double confidence = 0;
    std::int64_t view_prompted_ns = 0;
    std::int64_t received_ns = 0;
    double view_mid = kAbsent;
    double view_age_ms = kAbsent;
    std::uint8_t reason_size = 0;
    char reason[kMaxReason];
  };

  bool moved_past_bound(double from_mid, const InstrumentFeatures& current) const noexcept;

  SignalMergerConfig config_;
  std::vector<View> views_;
  SignalMergerCounters counters_;
  engine::LatencyHistogram prompt_to_signal_;
};

}  // namespace sigflow::strategies
