// SIGINT and SIGTERM for the long-running commands (run, demo, record, tail): the first asks for a graceful
// stop, the second exits at once with 130 (the user wants out now).
#pragma once

#include <signal.h>

#include <atomic>
#include <thread>

namespace sigflow::app {

// Blocks SIGINT and SIGTERM in every thread and takes them on a thread of its own with sigtimedwait. Waiting
// for them synchronously, rather than in a handler, makes the second signal count wherever the first one
// caught the process: a handler runs on whichever thread the kernel picks, and a thread parked in
// io_uring_enter (or one whose handler a sanitizer defers) may never run it before a graceful stop ends.
// Make it before any other thread, so that every thread inherits the blocked mask; the destructor restores
// the previous mask for a caller that goes on (tests run commands in-process).
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool stop_requested() const noexcept { return received_.load() > 0; }

 private:
  void wait();

  sigset_t set_;
  sigset_t previous_;
  std::atomic<int> received_{0};
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

}  // namespace sigflow::app
