#pragma once
// Pipeline: the whole engine built from a Config — a feed thread (io_uring, TLS WebSockets) per process for
// now, its FrameRing, the strategy thread, the signal ring and the sink thread — started and stopped in the
// order that loses nothing: consumers start first and stop last, so every frame a feed accepted is decoded
// and every signal made is written.
#include <memory>
#include <string>

#include "engine/app/feed_thread.hpp"
#include "engine/app/signal_writer.hpp"
#include "engine/app/strategy_thread.hpp"
#include "engine/config.hpp"
#include "engine/status_line.hpp"
#include "io/tls_session.hpp"

namespace sigflow::app {

struct PipelineTotals {
  std::uint64_t frames = 0;  // WebSocket messages received
  std::uint64_t ring_drops = 0;
  std::uint64_t decoded_events = 0;
  std::uint64_t decode_errors = 0;
  std::uint64_t cycles = 0;
  std::uint64_t signals = 0;
  std::uint64_t signals_written = 0;
  std::uint64_t signal_drops = 0;
  std::uint64_t disconnects = 0;
};

class Pipeline {
 public:
  // Validates what the config alone cannot (URLs, symbols); throws engine::ConfigError naming the key.
  // `extra_ca_pem` is trusted in addition to the system store and the venues' ca_file (the demo's CA).
  explicit Pipeline(engine::Config config, std::string extra_ca_pem = {});
  ~Pipeline();

  // Starts sink, strategy, then feed. Throws when a thread cannot start (bad CPU, io_uring unavailable).
  void start();
  // Stops feed (graceful WebSocket closes), then strategy (drains its rings), then sink (drains, flushes).
  void stop();

  // One status line (rates since the previous call).
  std::string status_line(std::int64_t now_ns);
  PipelineTotals totals() const;

 private:
  engine::Config config_;
  std::unique_ptr<engine::FrameRing> frames_;
  std::unique_ptr<engine::FrameRing> signal_lines_;
  std::unique_ptr<SignalWriter> writer_;
  std::unique_ptr<StrategyThread> strategy_;
  std::unique_ptr<FeedThread> feed_;
  engine::StatusLine status_;
  bool running_ = false;
};

}  // namespace sigflow::app
