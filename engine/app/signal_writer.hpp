#pragma once
// SignalWriter: the sink thread. The strategy thread formats each signal as one JSON line into a FrameRing
// (it never blocks on stdout or a file); this thread drains the ring and writes the lines out in batches,
// flushing after each batch so that a reader of the stream sees every cycle promptly.
#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "engine/histogram.hpp"
#include "engine/pinned_thread.hpp"

namespace sigflow::app {

class NatsSignalSink;

class SignalWriter {
 public:
  // path "-" = stdout. Throws std::runtime_error when the file cannot be opened.
  SignalWriter(const std::string& path, engine::FrameRing& lines);
  ~SignalWriter();

  // Also publish every line to NATS JetStream ([nats] enabled): before start(). The sink thread then drives
  // the publisher (acks, replay) between batches, and stop() waits up to kNatsStopFlushMs for the last acks;
  // what is still unacknowledged then stays in the spill file for the next run.
  void attach_nats(NatsSignalSink* nats) noexcept { nats_ = nats; }
  static constexpr std::int64_t kNatsStopFlushMs = 5'000;

  void start(const engine::ThreadConfig& thread);
  // Drains what the ring still holds, flushes and ends the thread.
  void stop();

  std::uint64_t lines_written() const noexcept { return written_.load(); }
  std::uint64_t write_errors() const noexcept { return errors_.load(); }
  // Signal handed to the ring by the strategy thread → written and flushed, ns.
  const engine::LatencyHistogram& write_latency() const noexcept { return *write_latency_; }
  const engine::FrameRing& ring() const noexcept { return lines_; }

 private:
  void run();
  std::size_t drain();

  std::FILE* out_;
  bool owns_file_;
  engine::FrameRing& lines_;
  NatsSignalSink* nats_ = nullptr;
  std::atomic<bool> stop_{false};
  engine::Counter written_;
  engine::Counter errors_;
  // Lines are drained in batches of at most kBatch; their ring stamps wait here until the batch is flushed.
  static constexpr std::size_t kBatch = 1024;
  std::array<std::int64_t, kBatch> batch_stamps_{};
  std::unique_ptr<engine::LatencyHistogram> write_latency_ = std::make_unique<engine::LatencyHistogram>();
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
