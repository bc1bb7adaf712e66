#pragma once
// StrategyThread: the pinned thread that drains the feed rings into the StrategyCore, runs the drift-free
// 50 ms cycle, and hands every signal, formatted as a JSON line, to the sink's ring. It never blocks: an
// empty ring means a short pause (spin in busy-poll mode, a sleep bounded by the next cycle otherwise), a
// full sink ring means a counted dropped signal.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/counter.hpp"
#include "engine/cycle_timer.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"
#include "strategies/strategy_core.hpp"

namespace sigflow::app {

struct StrategyThreadCounters {
  engine::Counter cycles;
  engine::Counter late_cycles;    // started more than a tenth of a period after their due time
  engine::Counter missed_cycles;  // slots skipped after a stall
  engine::Counter signal_drops;   // the sink ring was full
};

class StrategyThread final : private strategies::SignalSink {
 public:
  StrategyThread(std::unique_ptr<strategies::StrategyCore> core, std::vector<engine::FrameRing*> inputs,
                 engine::FrameRing& signals, std::int64_t cycle_ns);
  ~StrategyThread() override;

  void start(const engine::ThreadConfig& thread);
  // Drains the input rings once more, then ends the thread.
  void stop();

  const strategies::StrategyCore& core() const noexcept { return *core_; }
  const StrategyThreadCounters& counters() const noexcept { return counters_; }

 private:
  void run();
  std::size_t drain_inputs();
  void on_signal(const strategies::Signal& signal) override;

  std::unique_ptr<strategies::StrategyCore> core_;
  std::vector<engine::FrameRing*> inputs_;
  engine::FrameRing& signals_;
  std::int64_t cycle_ns_;
  bool busy_poll_ = false;
  std::string line_;  // reused for every signal line
  StrategyThreadCounters counters_;
  std::atomic<bool> stop_{false};
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
