#pragma once
// FeedThread: a pinned network thread that owns one io_uring loop, a TLS context and the venue connections
// assigned to it, and feeds one FrameRing. The loop, the context and the connections are created on the
// thread itself (a loop belongs to the thread that made it) and destroyed there after a graceful close.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/app/feed_connection.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"
#include "io/tls_session.hpp"

namespace sigflow::app {

struct FeedTotals {
  std::uint64_t messages = 0;  // WebSocket messages received
  std::uint64_t bytes = 0;
  std::uint64_t ring_drops = 0;  // messages lost to a full ring
  std::uint64_t disconnects = 0;
};

class FeedThread {
 public:
  FeedThread(std::string name, engine::ThreadConfig thread, std::vector<FeedConnectionConfig> connections,
             io::TlsOptions tls, engine::FrameRing& ring);
  ~FeedThread();

  // Starts the thread and waits until its loop and connections exist. Throws std::runtime_error when they
  // cannot be made (io_uring unavailable, an unreadable CA file) and ConfigError for a bad CPU.
  void start();
  // Closes every connection gracefully (bounded wait), then ends the thread.
  void stop();

  // Readable from any thread once start() returned.
  std::size_t connections_open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::size_t connection_count() const noexcept { return configs_.size(); }
  // Live sums while running; the final sums once stop() returned. Not to be called during stop().
  FeedTotals totals() const noexcept;

 private:
  void run();

  std::string name_;
  engine::ThreadConfig thread_config_;
  std::vector<FeedConnectionConfig> configs_;
  io::TlsOptions tls_options_;
  engine::FrameRing& ring_;

  std::vector<std::unique_ptr<FeedConnection>> connections_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ready_{0};  // 0 starting, 1 running, -1 failed (error_ says why)
  std::string error_;
  std::atomic<std::size_t> open_{0};
  FeedTotals final_totals_;
  std::atomic<bool> finished_{false};
  engine::PinnedThread thread_;
};

}  // namespace sigflow::app
