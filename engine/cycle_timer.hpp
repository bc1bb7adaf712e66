#pragma once
// Drift-free cycle schedule: the n-th cycle is due at start + n * period, whatever the time the previous
// cycles took. A cycle that starts late is counted, and the schedule skips the slots it missed instead of
// firing them back to back: a burst of catch-up cycles would emit stale signals at the worst moment.
#include <cstdint>

namespace sigflow::engine {

class CycleTimer {
 public:
  CycleTimer(std::int64_t start_ns, std::int64_t period_ns) : start_ns_(start_ns), period_ns_(period_ns) {}

  // Time the next cycle is due.
  std::int64_t next_due_ns() const noexcept { return start_ns_ + next_ * period_ns_; }

  // If a cycle is due at `now_ns`, returns true and sets `cycle` to its number. Slots that passed entirely
  // (now beyond their successor's due time) are skipped and counted as missed.
  bool poll(std::int64_t now_ns, std::uint64_t& cycle) noexcept {
    if (now_ns < next_due_ns()) return false;
    const std::int64_t slot = (now_ns - start_ns_) / period_ns_;  // the latest slot already due
    if (static_cast<std::uint64_t>(slot) > next_) {
      missed_ += static_cast<std::uint64_t>(slot) - next_;
      next_ = static_cast<std::uint64_t>(slot);
    }
    if (now_ns - next_due_ns() > late_threshold_ns()) ++late_;
    cycle = next_++;
    return true;
  }

  std::uint64_t late_cycles() const noexcept { return late_; }
  std::uint64_t missed_cycles() const noexcept { return missed_; }
  std::int64_t period_ns() const noexcept { return period_ns_; }

 private:
  // A cycle that starts more than a tenth of a period after its due time is late: the strategy thread was
  // busy (a burst of frames) or descheduled.
  std::int64_t late_threshold_ns() const noexcept { return period_ns_ / 10; }

  std::int64_t start_ns_;
  std::int64_t period_ns_;
  std::uint64_t next_ = 0;
  std::uint64_t late_ = 0;
  std::uint64_t missed_ = 0;
};

}  // namespace sigflow::engine
