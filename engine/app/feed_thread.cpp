#include "engine/app/feed_thread.hpp"

#include <stdexcept>
#include <thread>

#include "engine/clock.hpp"
#include "io/event_loop.hpp"

namespace sigflow::app {
namespace {

// How long a stopping feed thread waits for its WebSocket close handshakes.
constexpr std::int64_t kCloseGraceNs = 2'000'000'000;

}  // namespace

FeedThread::FeedThread(std::string name, engine::ThreadConfig thread,
                       std::vector<FeedConnectionConfig> connections, io::TlsOptions tls,
                       engine::FrameRing& ring)
    : name_(std::move(name)),
      thread_config_(thread),
      configs_(std::move(connections)),
      tls_options_(std::move(tls)),
      ring_(ring) {}

FeedThread::~FeedThread() {
  stop();
}

void FeedThread::start() {
  thread_ = engine::PinnedThread(name_, thread_config_, [this] { run(); });
  while (ready_.load(std::memory_order_acquire) == 0) std::this_thread::yield();
  if (ready_.load(std::memory_order_acquire) < 0) {
    thread_.join();
    throw std::runtime_error(name_ + ": " + error_);
  }
}

void FeedThread::stop() {
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

FeedTotals FeedThread::totals() const noexcept {
  if (finished_.load(std::memory_order_acquire)) return final_totals_;
  FeedTotals t;
  if (ready_.load(std::memory_order_acquire) != 1) return t;
  for (const auto& c : connections_) {
    t.messages += c->websocket_counters().messages.load();
    t.bytes += c->websocket_counters().bytes.load();
    t.ring_drops += c->websocket_counters().drops.load();
    t.disconnects += c->counters().disconnects.load();
  }
  return t;
}

void FeedThread::run() {
  std::unique_ptr<io::EventLoop> loop;
  std::unique_ptr<io::TlsContext> tls;
  try {
    io::EventLoopConfig loop_config;
    loop_config.busy_poll = thread_config_.wait == engine::WaitMode::kBusyPoll;
    loop = std::make_unique<io::EventLoop>(loop_config);
    bool needs_tls = false;
    for (const auto& c : configs_) needs_tls |= c.url.tls;
    if (needs_tls) {
      tls = io::TlsContext::create(tls_options_, error_);
      if (!tls) throw std::runtime_error(error_);
    }
    for (const auto& c : configs_)
      connections_.push_back(std::make_unique<FeedConnection>(*loop, tls.get(), c, ring_));
  } catch (const std::exception& e) {
    error_ = e.what();
    connections_.clear();
    ready_.store(-1, std::memory_order_release);
    return;
  }
  ready_.store(1, std::memory_order_release);

  for (auto& connection : connections_) connection->start();
  while (!stop_.load(std::memory_order_acquire)) {
    loop->run_once(io::EventLoop::kMaxWaitNs);
    std::size_t open = 0;
    for (const auto& connection : connections_) open += connection->is_open() ? 1 : 0;
    open_.store(open, std::memory_order_relaxed);
  }

  for (auto& connection : connections_) connection->stop();
  loop->run_until(
      [&] {
        for (const auto& connection : connections_)
          if (!connection->stopped()) return false;
        return true;
      },
      kCloseGraceNs);
  open_.store(0, std::memory_order_relaxed);
  final_totals_ = totals();
  finished_.store(true, std::memory_order_release);
  // Connections hold timers and operations on the loop: they go first, on this thread.
  connections_.clear();
  loop.reset();
}

}  // namespace sigflow::app
