#pragma once
// Stage counters: cheap, lock-free, readable from any thread (the status line, /metrics).
#include <atomic>
#include <cstdint>

namespace sigflow::engine {

inline constexpr std::size_t kCacheLine = 64;

// A counter with exactly one writing thread. The writer does a relaxed load + store instead of an atomic
// read-modify-write: there is no other writer to race with, and `lock xadd` costs ~20 cycles on the hot
// path. Readers see a value that is at most a few increments old, which is all a rate needs. Each counter
// owns its cache line so that two stages' writers never share one (false sharing).
class alignas(kCacheLine) Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A counter that several threads may bump (rare events: reconnects, config reloads).
class alignas(kCacheLine) SharedCounter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A high-water mark with one writer (e.g. ring depth seen by the producer).
class alignas(kCacheLine) HighWater {
 public:
  void observe(std::uint64_t v) noexcept {
    if (v > value_.load(std::memory_order_relaxed)) value_.store(v, std::memory_order_relaxed);
  }
  std::uint64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace sigflow::engine
