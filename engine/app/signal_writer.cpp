#include "engine/app/signal_writer.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace sigflow::app {

SignalWriter::SignalWriter(const std::string& path, engine::FrameRing& lines)
    : out_(path == "-" ? stdout : std::fopen(path.c_str(), "a")), owns_file_(path != "-"), lines_(lines) {
  if (!out_) throw std::runtime_error("cannot open signal output '" + path + "': " + std::strerror(errno));
}

SignalWriter::~SignalWriter() {
  stop();
  if (owns_file_) std::fclose(out_);
}

void SignalWriter::start(const engine::ThreadConfig& thread) {
  thread_ = engine::PinnedThread("sink", thread, [this] { run(); });
}

void SignalWriter::stop() {
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

std::size_t SignalWriter::drain() {
  const std::size_t n = lines_.consume([this](const engine::FrameView& line) {
    if (std::fwrite(line.bytes.data(), 1, line.bytes.size(), out_) != line.bytes.size()) {
      errors_.add();
      return;
    }
    written_.add();
  });
  if (n && std::fflush(out_) != 0) errors_.add();
  return n;
}

void SignalWriter::run() {
  // Signals come in bursts, one per instrument every cycle: sleeping a millisecond between empty polls
  // adds at most that to their latency and leaves the core to the feed and strategy threads.
  while (!stop_.load(std::memory_order_acquire)) {
    if (drain() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  drain();
}

}  // namespace sigflow::app
