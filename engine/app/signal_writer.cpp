#include "engine/app/signal_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "engine/app/nats_signal_sink.hpp"
#include "engine/clock.hpp"

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
  std::size_t stamped = 0;
  const std::size_t n = lines_.consume(
      [this, &stamped](const engine::FrameView& line) {
        if (nats_) nats_->on_line(line);
        if (std::fwrite(line.bytes.data(), 1, line.bytes.size(), out_) != line.bytes.size()) {
          errors_.add();
          return;
        }
        written_.add();
        batch_stamps_[stamped++] = line.recv_ns;
      },
      kBatch);
  if (n && std::fflush(out_) != 0) errors_.add();
  const std::int64_t now = engine::monotonic_ns();
  for (std::size_t i = 0; i < stamped; ++i)
    write_latency_->record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - batch_stamps_[i])));
  return n;
}

void SignalWriter::run() {
  // Signals come in bursts, one per instrument every cycle: sleeping a millisecond between empty polls
  // adds at most that to their latency and leaves the core to the feed and strategy threads.
  while (!stop_.load(std::memory_order_acquire)) {
    bool work = drain() > 0;
    if (nats_) work = nats_->poll() || work;
    if (!work) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  while (drain()) {
  }
  if (nats_) nats_->flush(kNatsStopFlushMs);
}

}  // namespace sigflow::app
