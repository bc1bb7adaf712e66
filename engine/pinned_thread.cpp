#include "engine/pinned_thread.hpp"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <future>

namespace sigflow::engine {

std::string pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
    return "cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(rc);
  return {};
}

PinnedThread::PinnedThread(std::string name, const ThreadConfig& config, std::function<void()> body)
    : name_(std::move(name)) {
  // The new thread reports whether placement worked before running the body, so a bad CPU is an error
  // at start-up in the caller, not a thread that silently runs elsewhere.
  std::promise<std::string> placed;
  std::future<std::string> placement = placed.get_future();
  thread_ =
      std::thread([this, cpu = config.cpu, body = std::move(body), placed = std::move(placed)]() mutable {
        // Linux limits thread names to 15 characters.
        pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
        std::string error = cpu ? pin_current_thread(*cpu) : std::string();
        const bool ok = error.empty();
        placed.set_value(std::move(error));
        if (ok) body();
      });
  if (std::string error = placement.get(); !error.empty()) {
    thread_.join();
    throw ConfigError("threads." + name_ + ".cpu: " + error);
  }
}

PinnedThread::~PinnedThread() {
  join();
}

void PinnedThread::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace sigflow::engine
