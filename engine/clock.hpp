#pragma once
// One clock for every timestamp the engine takes. CLOCK_MONOTONIC is read through the vDSO (no syscall)
// and never jumps, so differences between two stamps are latencies; wall time is kept separately for
// output records that other systems correlate with exchange time.
#include <cstdint>
#include <ctime>

namespace sigflow::engine {

inline std::int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline std::int64_t wall_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace sigflow::engine
