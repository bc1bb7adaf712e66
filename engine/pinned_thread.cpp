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

namespace {

constexpr std::string_view kPriorityError = "SCHED_FIFO priority ";

std::string set_fifo_priority(int priority) {
  sched_param param{};
  param.sched_priority = priority;
  if (const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); rc != 0)
    return std::string(kPriorityError) + std::to_string(priority) + " refused: " + std::strerror(rc) +
           " (needs CAP_SYS_NICE or an rtprio limit: `ulimit -r " + std::to_string(priority) + "`)";
  return {};
}

}  // namespace

PinnedThread::PinnedThread(std::string name, const ThreadConfig& config, std::function<void()> body)
    : name_(std::move(name)) {
  // The new thread reports whether placement worked before running the body, so a bad CPU is an error
  // at start-up in the caller, not a thread that silently runs elsewhere.
  std::promise<std::string> placed;
  std::future<std::string> placement = placed.get_future();
  thread_ = std::thread([this, cpu = config.cpu, priority = config.priority, body = std::move(body),
                         placed = std::move(placed)]() mutable {
    // Linux limits thread names to 15 characters.
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    std::string error = cpu ? pin_current_thread(*cpu) : std::string();
    if (error.empty() && priority) error = set_fifo_priority(*priority);
    const bool ok = error.empty();
    placed.set_value(std::move(error));
    if (ok) body();
  });
  if (std::string error = placement.get(); !error.empty()) {
    thread_.join();
    const bool priority_failed = error.rfind(kPriorityError, 0) == 0;
    throw ConfigError("threads." + name_ + (priority_failed ? ".priority: " : ".cpu: ") + error);
  }
}

PinnedThread::~PinnedThread() {
  join();
}

void PinnedThread::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace sigflow::engine
