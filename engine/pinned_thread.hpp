#pragma once
// A named thread placed on the CPU its config gives. Placement happens inside the new thread before it runs
// any work, so that nothing it allocates or touches first lands on another CPU's memory or cache.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "engine/config.hpp"

namespace sigflow::engine {

class PinnedThread {
 public:
  PinnedThread() = default;
  // Starts `body` on a new thread named `name` (shown by top -H and perf), pinned and prioritised per
  // `config`. Throws ConfigError naming `threads.<name>.cpu` when the CPU cannot be used (offline, outside
  // the cpuset) or `threads.<name>.priority` when SCHED_FIFO is refused (no CAP_SYS_NICE / rtprio limit).
  PinnedThread(std::string name, const ThreadConfig& config, std::function<void()> body);
  PinnedThread(PinnedThread&&) = default;
  PinnedThread& operator=(PinnedThread&&) = default;
  ~PinnedThread();

  void join();
  bool joinable() const { return thread_.joinable(); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::thread thread_;
};

// Pins the calling thread; returns an empty string or the reason it failed.
std::string pin_current_thread(int cpu);

}  // namespace sigflow::engine
