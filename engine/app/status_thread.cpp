#include "engine/app/status_thread.hpp"

#include <future>

#include "io/event_loop.hpp"
#include "io/metrics_server.hpp"

namespace sigflow::app {
namespace {

// Prints the status line every interval; the first render only starts the rate windows.
class StatusPrinter final : public io::TimerHandler {
 public:
  StatusPrinter(io::EventLoop& loop, std::int64_t interval_ns, const StatusThread::StatusLine& render,
                std::FILE* out)
      : timer_(loop, *this), interval_ns_(interval_ns), render_(render), out_(out) {
    if (interval_ns_ <= 0) return;
    next_ns_ = engine::monotonic_ns();
    render_(next_ns_);
    next_ns_ += interval_ns_;
    timer_.arm_at(next_ns_);
  }

  void on_timer(std::int64_t now_ns) override {
    const std::string line = render_(now_ns);
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
    // Drift-free, and a stall skips the missed lines instead of printing a burst of them.
    do next_ns_ += interval_ns_;
    while (next_ns_ <= now_ns);
    timer_.arm_at(next_ns_);
  }

 private:
  io::Timer timer_;
  std::int64_t interval_ns_;
  const StatusThread::StatusLine& render_;
  std::FILE* out_;
  std::int64_t next_ns_ = 0;
};

}  // namespace

StatusThread::StatusThread(StatusThreadConfig config, const engine::MetricsRegistry& registry,
                           StatusLine status_line)
    : config_(std::move(config)), registry_(registry), status_line_(std::move(status_line)) {}

StatusThread::~StatusThread() {
  stop();
}

void StatusThread::start(const engine::ThreadConfig& thread) {
  stop_ = false;
  // std::function needs a copyable body, so the promise is shared.
  auto ready = std::make_shared<std::promise<std::string>>();
  std::future<std::string> started = ready->get_future();
  thread_ = engine::PinnedThread("status", thread, [this, ready]() mutable {
    std::string error;
    // run() reports through `ready` once the endpoint is bound (or failed), then serves until stop().
    struct Reporter {
      std::promise<std::string>& promise;
      bool sent = false;
      void send(std::string e) {
        if (!sent) promise.set_value(std::move(e));
        sent = true;
      }
    } reporter{*ready};
    try {
      io::EventLoop loop;
      std::unique_ptr<io::MetricsServer> server;
      if (config_.metrics.enabled) {
        io::MetricsServerConfig mc;
        mc.address = config_.metrics.address;
        mc.port = config_.metrics.port;
        server = std::make_unique<io::MetricsServer>(loop, mc, [this](std::string& out) {
          out = registry_.render();
          scrapes_.fetch_add(1, std::memory_order_relaxed);
        });
        if (!server->start(error)) {
          reporter.send("metrics.listen: " + error);
          return;
        }
        port_.store(server->port(), std::memory_order_release);
      }
      StatusPrinter printer(loop, config_.status_interval_ns, status_line_, config_.status_out);
      reporter.send({});
      loop.run(stop_);
      if (server) {
        server->stop();
        loop.run_until([&] { return server->idle(); }, 1'000'000'000);
      }
    } catch (const std::exception& e) {
      reporter.send(std::string("status thread: ") + e.what());
    }
  });
  if (std::string error = started.get(); !error.empty()) {
    thread_.join();
    throw engine::ConfigError(error);
  }
}

void StatusThread::stop() {
  stop_ = true;
  thread_.join();
}

}  // namespace sigflow::app
