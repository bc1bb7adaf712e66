#pragma once
// StrategyThread: the pinned thread that drains the feed rings into the StrategyCore, runs the drift-free
// 50 ms cycle, and hands every signal, formatted as a JSON line, to the sink's ring. It never blocks: an
// empty ring means a short pause (spin in busy-poll mode, a sleep bounded by the next cycle otherwise), a
// full sink ring means a counted dropped signal.
//
// With an InferenceThread attached, each cycle also: drains the parsed replies into the SignalMerger, lets
// the merger put the freshest LLM view (or the local model's) into every instrument's signal, and plans the
// next prompts with the PromptPlanner for the instruments that changed most and are not waiting on a reply,
// within the queue room and tokens the inference thread publishes. All of it through the two SPSC channels
// and preallocated buffers: the cycle never blocks on, locks against or allocates for inference.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/counter.hpp"
#include "engine/cycle_timer.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"
#include "strategies/prompt/prompt_planner.hpp"
#include "strategies/signal_merger.hpp"
#include "strategies/strategy_core.hpp"

namespace sigflow::app {

struct StrategyThreadCounters {
  engine::Counter cycles;
  engine::Counter late_cycles;    // started more than a tenth of a period after their due time
  engine::Counter missed_cycles;  // slots skipped after a stall
  engine::Counter signal_drops;   // the sink ring was full
  engine::Counter prompt_jobs;    // chunks handed to the inference thread
  engine::Counter prompt_drops;   // the prompt channel was full
};

class InferenceThread;

class StrategyThread final : private strategies::SignalSink {
 public:
  StrategyThread(std::unique_ptr<strategies::StrategyCore> core, std::vector<engine::FrameRing*> inputs,
                 engine::FrameRing& signals, std::int64_t cycle_ns);
  ~StrategyThread() override;

  // Before start(): from now on signals merge the inference thread's replies. `budget` must be the one the
  // inference thread was given.
  void attach_inference(InferenceThread& inference, std::shared_ptr<const strategies::Tokenizer> tokenizer,
                        const strategies::PromptBudget& budget, strategies::SignalMergerConfig merger);

  void start(const engine::ThreadConfig& thread);
  // Drains the input rings once more, then ends the thread.
  void stop();

  const strategies::StrategyCore& core() const noexcept { return *core_; }
  const StrategyThreadCounters& counters() const noexcept { return counters_; }
  // Null without inference.
  const strategies::SignalMerger* merger() const noexcept { return merger_.get(); }

 private:
  void run();
  std::size_t drain_inputs();
  void take_replies(std::int64_t now_ns);
  void plan_prompts(std::int64_t now_ns);
  void on_signal(const strategies::Signal& signal) override;

  std::unique_ptr<strategies::StrategyCore> core_;
  std::vector<engine::FrameRing*> inputs_;
  engine::FrameRing& signals_;
  std::int64_t cycle_ns_;
  bool busy_poll_ = false;
  std::string line_;  // reused for every signal line
  StrategyThreadCounters counters_;
  InferenceThread* inference_ = nullptr;
  std::unique_ptr<strategies::PromptPlanner> planner_;
  std::unique_ptr<strategies::SignalMerger> merger_;
  std::vector<strategies::InstrumentFeatures> plan_features_;
  std::size_t request_tokens_ = 0;  // prompt budget + completion reserve of one full chunk
  std::uint64_t next_job_ = 1;
  std::uint32_t signal_index_ = 0;  // position of the next on_signal in instruments() order
  std::int64_t cycle_now_ns_ = 0;
  std::atomic<bool> stop_{false};
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
