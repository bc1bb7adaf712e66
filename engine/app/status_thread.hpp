#pragma once
// StatusThread: the engine's observability thread. It runs its own io_uring EventLoop serving the Prometheus
// endpoint (io::MetricsServer, GET /metrics) and prints the once-a-second status line from a loop timer.
// Everything it does reads the stages' atomic counters and histograms: scraping and printing cost the hot
// threads nothing, and a slow scraper or a blocked stderr stalls only this thread.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "engine/config.hpp"
#include "engine/metrics_registry.hpp"
#include "engine/pinned_thread.hpp"

namespace sigflow::app {

struct StatusThreadConfig {
  std::int64_t status_interval_ns = 1'000'000'000;  // 0: no status line
  engine::MetricsConfig metrics;
  std::FILE* status_out = stderr;
};

class StatusThread {
 public:
  using StatusLine = std::function<std::string(std::int64_t now_ns)>;

  // registry and the sources it reads must outlive the thread.
  StatusThread(StatusThreadConfig config, const engine::MetricsRegistry& registry, StatusLine status_line);
  ~StatusThread();
  StatusThread(const StatusThread&) = delete;
  StatusThread& operator=(const StatusThread&) = delete;

  // Starts the thread; throws engine::ConfigError naming `metrics.listen` when the endpoint cannot bind, or
  // `threads.status.*` when placement fails.
  void start(const engine::ThreadConfig& thread);
  void stop();

  // The bound port (the configured one, or the ephemeral one for port 0); 0 when metrics are off.
  std::uint16_t metrics_port() const noexcept { return port_.load(std::memory_order_acquire); }
  std::uint64_t scrapes() const noexcept { return scrapes_.load(std::memory_order_relaxed); }

 private:
  StatusThreadConfig config_;
  const engine::MetricsRegistry& registry_;
  StatusLine status_line_;
  engine::PinnedThread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint16_t> port_{0};
  std::atomic<std::uint64_t> scrapes_{0};
};

}  // namespace sigflow::app
