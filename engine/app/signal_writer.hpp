#pragma once
// SignalWriter: the sink thread. The strategy thread formats each signal as one JSON line into a FrameRing
// (it never blocks on stdout or a file); this thread drains the ring and writes the lines out in batches,
// flushing after each batch so that a reader of the stream sees every cycle promptly.
#include <atomic>
#include <cstdio>
#include <string>

#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"

namespace sigflow::app {

class SignalWriter {
 public:
  // path "-" = stdout. Throws std::runtime_error when the file cannot be opened.
  SignalWriter(const std::string& path, engine::FrameRing& lines);
  ~SignalWriter();

  void start(const engine::ThreadConfig& thread);
  // Drains what the ring still holds, flushes and ends the thread.
  void stop();

  std::uint64_t lines_written() const noexcept { return written_.load(); }
  std::uint64_t write_errors() const noexcept { return errors_.load(); }

 private:
  void run();
  std::size_t drain();

  std::FILE* out_;
  bool owns_file_;
  engine::FrameRing& lines_;
  std::atomic<bool> stop_{false};
  engine::Counter written_;
  engine::Counter errors_;
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
