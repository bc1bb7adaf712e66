#pragma once
// `sigflow record --config FILE --out FILE`: live frames, with their receive timestamps, into sigflow's
// capture format (engine/app/capture_file.hpp), for `sigflow replay`.
//
// The feed side is the engine's own (venue wiring, FeedThread, REST snapshot source); there is no strategy
// thread. A writer thread drains the FrameRing into the file, and runs a StrategyCore on the same frames
// only to ask for what the engine would ask for: the REST snapshots of Binance books (first sync and every
// resync) and the resubscribes of silent topics. So the capture holds exactly the snapshots a replay
// needs to sync its books, as the live engine would have.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "engine/config.hpp"
#include "strategies/strategy_core.hpp"

namespace sigflow::app {

struct RecordOptions {
  std::string config_path;
  std::string out_path;
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
};

struct RecordTotals {
  std::uint64_t frames = 0;      // frames written to the capture
  std::uint64_t ring_drops = 0;  // frames the feed lost to a full ring
  std::uint64_t bytes = 0;       // bytes written
  std::uint64_t write_errors = 0;
};

class Recorder {
 public:
  // Throws engine::ConfigError for a bad configuration and std::runtime_error when `out_path` cannot be
  // created. `extra_ca_pem`: one more CA to trust (the loopback simulator's).
  Recorder(engine::Config config, const std::string& out_path, std::string extra_ca_pem = {});
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void start();
  // Stops the feed, drains what it delivered into the file, and closes it.
  void stop();

  // Frames written so far (readable from any thread).
  std::uint64_t frames_written() const noexcept { return written_.load(std::memory_order_relaxed); }
  RecordTotals totals() const noexcept;
  // The books as the recorder saw the frames live (for checks against a replay); after stop().
  const strategies::StrategyCore& core() const noexcept;

 private:
  struct State;
  void write_loop();
  std::size_t drain();

  std::unique_ptr<State> state_;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<bool> stop_{false};
  std::thread writer_;
};

// Exit status: 0 after a clean stop, 1 when a write to the file failed, 2 on a configuration or file error
// (named on stderr).
int run_record(const RecordOptions& options);

}  // namespace sigflow::app
