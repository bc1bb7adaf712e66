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
#include "engine/histogram.hpp"
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

// Latencies of the strategy cycle, in ns.
struct StrategyThreadLatencies {
  engine::LatencyHistogram cycle_duration;  // features, model, signals, prompt planning
  engine::LatencyHistogram cycle_lateness;  // due time → cycle start
  engine::LatencyHistogram prompt_build;    // planning and writing the cycle's prompt chunks
  // A market event received → the first signal that reflects it handed to the sink (the wait for the
  // next cycle included); one sample per instrument that had new data in the cycle.
  engine::LatencyHistogram tick_to_signal;
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

  // Every signal line then ends with ,"engine":"<id>" (before start()). The line also goes into the signal
  // ring with its instrument index as the frame's conn_id, which the sink's NATS side maps to a subject.
  void set_engine_id(std::string_view id);

  void start(const engine::ThreadConfig& thread);
  // Drains the input rings once more, then ends the thread.
  void stop();

  const strategies::StrategyCore& core() const noexcept { return *core_; }
  const StrategyThreadCounters& counters() const noexcept { return counters_; }
  const StrategyThreadLatencies& latencies() const noexcept { return *latencies_; }
  // Null without inference.
  const strategies::SignalMerger* merger() const noexcept { return merger_.get(); }

  // Test hook: the thread sleeps this long after every batch it drains, as a strategy too slow for its
  // feed would, so that tests can fill the ring on purpose. 0 (the default) turns it off.
  void set_drain_delay_ns(std::int64_t ns) noexcept { drain_delay_ns_.store(ns, std::memory_order_relaxed); }

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
  std::string line_;                                        // reused for every signal line
  std::string engine_tail_ = ",\"engine\":\"sigflow\"}\n";  // replaces the line's closing "}\n"
  StrategyThreadCounters counters_;
  std::unique_ptr<StrategyThreadLatencies> latencies_ = std::make_unique<StrategyThreadLatencies>();
  InferenceThread* inference_ = nullptr;
  std::unique_ptr<strategies::PromptPlanner> planner_;
  std::unique_ptr<strategies::SignalMerger> merger_;
  std::vector<strategies::InstrumentFeatures> plan_features_;
  std::size_t request_tokens_ = 0;  // prompt budget + completion reserve of one full chunk
  std::uint64_t next_job_ = 1;
  std::uint32_t signal_index_ = 0;  // position of the next on_signal in instruments() order
  std::int64_t cycle_now_ns_ = 0;
  std::int64_t previous_cycle_ns_ = 0;  // start of the cycle before this one
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> drain_delay_ns_{0};
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
