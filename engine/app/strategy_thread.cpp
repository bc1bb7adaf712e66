#include "engine/app/strategy_thread.hpp"

#include <immintrin.h>

#include <algorithm>
#include <ctime>

#include "engine/app/inference_thread.hpp"
#include "engine/clock.hpp"

namespace sigflow::app {
namespace {

// Frames drained per ring before the cycle timer is looked at again: bounds how late a cycle can start
// under a burst (a few hundred frames take well under a millisecond to decode).
constexpr std::size_t kDrainBatch = 256;
// A sleeping strategy thread wakes at least this often to look at its rings.
constexpr std::int64_t kIdleSleepNs = 50'000;
// Reply records taken per cycle: far more than a cycle's worth, a bound only against a runaway producer.
constexpr std::size_t kRepliesPerCycle = 8192;

}  // namespace

StrategyThread::StrategyThread(std::unique_ptr<strategies::StrategyCore> core,
                               std::vector<engine::FrameRing*> inputs, engine::FrameRing& signals,
                               std::int64_t cycle_ns)
    : core_(std::move(core)), inputs_(std::move(inputs)), signals_(signals), cycle_ns_(cycle_ns) {
  line_.reserve(1024);
}

StrategyThread::~StrategyThread() {
  stop();
}

void StrategyThread::attach_inference(InferenceThread& inference,
                                      std::shared_ptr<const strategies::Tokenizer> tokenizer,
                                      const strategies::PromptBudget& budget,
                                      strategies::SignalMergerConfig merger) {
  const std::size_t n = core_->instruments().size();
  inference_ = &inference;
  planner_ = std::make_unique<strategies::PromptPlanner>(std::move(tokenizer), budget, n);
  merger_ = std::make_unique<strategies::SignalMerger>(n, std::move(merger));
  plan_features_.resize(n);
  request_tokens_ = budget.prompt_token_budget + budget.completion_tokens_base +
                    budget.completion_tokens_per_instrument * budget.max_instruments_per_chunk;
}

void StrategyThread::take_replies(std::int64_t now_ns) {
  const auto features = core_->features();
  ReplyRecord record;
  for (std::size_t n = 0; n < kRepliesPerCycle && inference_->replies().pop(record); ++n) {
    if (record.kind == ReplyRecord::Kind::kJobDone) {
      merger_->on_job_done(record.job);
    } else if (record.instrument < features.size()) {
      merger_->on_reply(record.instrument, record.job, record.action, record.confidence,
                        std::string_view(record.reason, record.reason_size), features[record.instrument],
                        now_ns);
    }
  }
  merger_->release_overdue(now_ns);
}

void StrategyThread::plan_prompts(std::int64_t now_ns) {
  const std::uint32_t slots = inference_->free_slots();
  const std::int64_t tokens = inference_->tokens_available();
  if (slots == 0 || tokens <= 0) return;
  const auto features = core_->features();
  for (std::size_t i = 0; i < features.size(); ++i) {
    plan_features_[i] = features[i];
    // An instrument waiting on a reply is not asked again: the planner skips what has no valid book.
    if (merger_->waiting(static_cast<std::uint32_t>(i))) plan_features_[i].book_valid = false;
  }
  // Plan no more than the free slots can carry, so that nothing planned is left behind unsent.
  const std::size_t allowance =
      std::min<std::size_t>(static_cast<std::size_t>(tokens), request_tokens_ * slots);
  planner_->plan(plan_features_, allowance, inference_->prompt_token_residual());
  engine::FrameRing& ring = inference_->prompts();
  std::uint32_t sent = 0;
  for (const strategies::PromptChunk& chunk : planner_->chunks()) {
    if (sent == slots) break;
    const auto members = planner_->instruments_of(chunk);
    PromptJobHeader header;
    header.job = next_job_;
    header.created_ns = now_ns;
    header.items = static_cast<std::uint32_t>(members.size());
    ring.begin(0, now_ns);
    bool ok = ring.append(std::string_view(reinterpret_cast<const char*>(&header), sizeof header));
    for (std::uint32_t index : members) {
      const std::string_view line = planner_->line(index);
      PromptItemHeader item;
      item.instrument = index;
      item.line_size = static_cast<std::uint16_t>(line.size());
      item.pair_size = static_cast<std::uint8_t>(planner_->pair_id(index).size());
      ok = ok && ring.append(std::string_view(reinterpret_cast<const char*>(&item), sizeof item)) &&
           ring.append(line);
    }
    if (!ok || !ring.commit()) {
      counters_.prompt_drops.add();
      break;
    }
    for (std::uint32_t index : members) {
      merger_->on_prompted(index, next_job_, features[index], now_ns);
      core_->reset_change_score(index);
    }
    ++next_job_;
    ++sent;
    counters_.prompt_jobs.add();
  }
}

void StrategyThread::set_engine_id(std::string_view id) {
  engine_tail_ = ",\"engine\":";
  strategies::append_json_string(id, engine_tail_);
  engine_tail_ += "}\n";
}

void StrategyThread::start(const engine::ThreadConfig& thread) {
  busy_poll_ = thread.wait == engine::WaitMode::kBusyPoll;
  thread_ = engine::PinnedThread("strategy", thread, [this] { run(); });
}

void StrategyThread::stop() {
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

std::size_t StrategyThread::drain_inputs() {
  // One clock read per frame: each frame's finish time is the next one's dequeue time.
  std::size_t n = 0;
  std::int64_t now = engine::monotonic_ns();
  for (engine::FrameRing* ring : inputs_)
    n += ring->consume([this, &now](const engine::FrameView& frame) { now = core_->on_frame(frame, now); },
                       kDrainBatch);
  return n;
}

void StrategyThread::on_signal(const strategies::Signal& local) {
  const std::uint32_t index = signal_index_++;
  line_.clear();
  if (merger_ && index < core_->features().size()) {
    strategies::Signal signal = local;
    merger_->merge(index, core_->features()[index], cycle_now_ns_, signal);
    strategies::append_json_line(signal, line_);
  } else {
    strategies::append_json_line(local, line_);
  }
  // The engine's id as the last field: append_json_line's fixed field order (ts_ns, cycle first) stays.
  line_.resize(line_.size() - 2);
  line_ += engine_tail_;
  const std::int64_t now = engine::monotonic_ns();
  if (!signals_.push(index, now, line_)) {
    counters_.signal_drops.add();
    return;
  }
  // Only the first signal after a tick measures tick → signal: an instrument that did not trade for a
  // minute would otherwise report its own quietness. data_age_ms is the age at the cycle's start (NaN
  // before the first event), so the newest event arrived after the previous cycle started iff its age is
  // below the time between the two cycles.
  if (!(local.data_age_ms >= 0)) return;  // NaN: converting it to an integer would be undefined
  const auto age_ns = static_cast<std::int64_t>(local.data_age_ms * 1e6);
  if (age_ns < cycle_now_ns_ - previous_cycle_ns_)
    latencies_->tick_to_signal.record(static_cast<std::uint64_t>(now - cycle_now_ns_ + age_ns));
}

void StrategyThread::run() {
  // The first cycle is one period after start, so that it sees the first period's data.
  engine::CycleTimer timer(engine::monotonic_ns() + cycle_ns_, cycle_ns_);
  std::uint64_t late_seen = 0;
  std::uint64_t missed_seen = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    const std::size_t drained = drain_inputs();
    if (drained != 0) {
      if (const std::int64_t delay = drain_delay_ns_.load(std::memory_order_relaxed); delay > 0) {
        timespec ts{static_cast<time_t>(delay / 1'000'000'000), static_cast<long>(delay % 1'000'000'000)};
        nanosleep(&ts, nullptr);
      }
    }
    const std::int64_t now = engine::monotonic_ns();
    std::uint64_t cycle = 0;
    const std::int64_t due = timer.next_due_ns();
    if (timer.poll(now, cycle)) {
      latencies_->cycle_lateness.record(static_cast<std::uint64_t>(now - due));
      if (inference_) take_replies(now);
      signal_index_ = 0;
      previous_cycle_ns_ = cycle_now_ns_ ? cycle_now_ns_ : now - cycle_ns_;
      cycle_now_ns_ = now;
      core_->on_cycle(cycle, now, engine::wall_ns(), *this);
      if (inference_) {
        const std::int64_t plan_start = engine::monotonic_ns();
        plan_prompts(now);
        latencies_->prompt_build.record(static_cast<std::uint64_t>(engine::monotonic_ns() - plan_start));
      }
      latencies_->cycle_duration.record(static_cast<std::uint64_t>(engine::monotonic_ns() - now));
      counters_.cycles.add();
      counters_.late_cycles.add(timer.late_cycles() - late_seen);
      counters_.missed_cycles.add(timer.missed_cycles() - missed_seen);
      late_seen = timer.late_cycles();
      missed_seen = timer.missed_cycles();
      continue;
    }
    if (drained) continue;
    if (busy_poll_) {
      _mm_pause();
      continue;
    }
    const std::int64_t sleep_ns = std::min(kIdleSleepNs, timer.next_due_ns() - now);
    if (sleep_ns > 0) {
      timespec ts{0, static_cast<long>(sleep_ns)};
      nanosleep(&ts, nullptr);
    }
  }
  drain_inputs();
}

}  // namespace sigflow::app
