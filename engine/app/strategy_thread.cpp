#include "engine/app/strategy_thread.hpp"

#include <immintrin.h>

#include <algorithm>
#include <ctime>

#include "engine/clock.hpp"

namespace sigflow::app {
namespace {

// Frames drained per ring before the cycle timer is looked at again: bounds how late a cycle can start
// under a burst (a few hundred frames take well under a millisecond to decode).
constexpr std::size_t kDrainBatch = 256;
// A sleeping strategy thread wakes at least this often to look at its rings.
constexpr std::int64_t kIdleSleepNs = 50'000;

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

void StrategyThread::start(const engine::ThreadConfig& thread) {
  busy_poll_ = thread.wait == engine::WaitMode::kBusyPoll;
  thread_ = engine::PinnedThread("strategy", thread, [this] { run(); });
}

void StrategyThread::stop() {
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

std::size_t StrategyThread::drain_inputs() {
  std::size_t n = 0;
  for (engine::FrameRing* ring : inputs_)
    n += ring->consume([this](const engine::FrameView& frame) { core_->on_frame(frame); }, kDrainBatch);
  return n;
}

void StrategyThread::on_signal(const strategies::Signal& signal) {
  line_.clear();
  strategies::append_json_line(signal, line_);
  if (!signals_.push(0, engine::monotonic_ns(), line_)) counters_.signal_drops.add();
}

void StrategyThread::run() {
  // The first cycle is one period after start, so that it sees the first period's data.
  engine::CycleTimer timer(engine::monotonic_ns() + cycle_ns_, cycle_ns_);
  std::uint64_t late_seen = 0;
  std::uint64_t missed_seen = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    const std::size_t drained = drain_inputs();
    const std::int64_t now = engine::monotonic_ns();
    std::uint64_t cycle = 0;
    if (timer.poll(now, cycle)) {
      core_->on_cycle(cycle, now, engine::wall_ns(), *this);
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
