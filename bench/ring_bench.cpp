// FrameRing (Boost.Lockfree descriptors + a byte arena) against the naive channel a first version would
// use: std::mutex + std::deque of owned frames (one heap allocation per frame). Both move the same frames,
// real Binance messages from the capture, between two threads pinned to different CPUs; each benchmark
// iteration moves kBatch frames end to end, so items/s is frames/s through the channel.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"

namespace {

using sigflow::engine::FrameRing;
using sigflow::engine::FrameView;

constexpr int kBatch = 100'000;

// Frames of the real size mix: the capture's received payloads (trades, book tickers, depth updates).
const std::vector<std::string>& frames() {
  static const std::vector<std::string> kFrames = [] {
    std::vector<std::string> out;
    std::ifstream in(std::string(SIGFLOW_FIXTURES) + "/captures/BINANCE_FUTURES.jsonl");
    std::string line;
    const std::string key = "\"data\":\"";
    while (std::getline(in, line) && out.size() < 1024) {
      if (line.find("\"t\":\"recv\"") == std::string::npos) continue;
      // The payload is a JSON string; its length is what matters here, not its unescaped content.
      const auto start = line.find(key);
      if (start != std::string::npos)
        out.push_back(line.substr(start + key.size(), line.size() - start - key.size() - 2));
    }
    if (out.empty()) out.push_back(std::string(200, 'x'));
    return out;
  }();
  return kFrames;
}

// The consumer touches every byte (a checksum) so that neither side's copies can be optimised away.
std::uint64_t checksum(std::string_view bytes) {
  std::uint64_t sum = 0;
  for (char c : bytes) sum += static_cast<unsigned char>(c);
  return sum;
}

void pin(int cpu) {
  if (std::thread::hardware_concurrency() > static_cast<unsigned>(cpu))
    sigflow::engine::pin_current_thread(cpu);
}

void BM_FrameRing(benchmark::State& state) {
  const auto& input = frames();
  FrameRing ring(32u << 20, 65'536);
  pin(0);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    std::thread producer([&] {
      pin(1);
      for (int i = 0; i < kBatch; ++i) {
        const std::string& f = input[static_cast<std::size_t>(i) % input.size()];
        while (!ring.push(1, i, f)) {
        }  // the benchmark measures throughput, so the producer waits instead of dropping
      }
    });
    for (int received = 0; received < kBatch;) {
      received += static_cast<int>(ring.consume([&](const FrameView& f) { sum += checksum(f.bytes); }));
    }
    producer.join();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// The baseline: what "a queue of frames" looks like without thinking about the hot path.
class MutexDequeChannel {
 public:
  void push(std::uint32_t conn, std::int64_t ts, std::string_view bytes) {
    Frame frame{conn, ts, std::string(bytes)};
    {
      std::lock_guard lock(mutex_);
      frames_.push_back(std::move(frame));
    }
    ready_.notify_one();
  }
  template <class F>
  std::size_t consume(F&& f) {
    std::deque<Frame> taken;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return !frames_.empty(); });
      taken.swap(frames_);
    }
    for (const Frame& frame : taken) f(FrameView{frame.conn, frame.ts, frame.bytes});
    return taken.size();
  }

 private:
  struct Frame {
    std::uint32_t conn;
    std::int64_t ts;
    std::string bytes;
  };
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Frame> frames_;
};

void BM_MutexDeque(benchmark::State& state) {
  const auto& input = frames();
  MutexDequeChannel channel;
  pin(0);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    std::thread producer([&] {
      pin(1);
      for (int i = 0; i < kBatch; ++i) channel.push(1, i, input[static_cast<std::size_t>(i) % input.size()]);
    });
    for (int received = 0; received < kBatch;) {
      received += static_cast<int>(channel.consume([&](const FrameView& f) { sum += checksum(f.bytes); }));
    }
    producer.join();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_FrameRing)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MutexDeque)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
