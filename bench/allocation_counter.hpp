#pragma once
// Counts heap allocations per thread: include in exactly one translation unit of a benchmark program, which
// then interposes malloc, calloc, realloc, aligned_alloc and posix_memalign with counting versions (glibc's
// own allocator underneath). Interposing malloc, not only operator new, also catches the C libraries the hot
// path calls (OpenSSL, wslay, liburing). The definitions keep glibc's noexcept declarations (<cstdlib>,
// <mm_malloc.h>).
//
// Each thread gets a slot on its first allocation, holding its kernel thread id; thread_allocations()
// reads every slot with the thread's current name from /proc, so a benchmark can say "the feed thread made
// 0 allocations while it received N frames". A thread that never allocates never gets a slot: read a
// missing name as zero.
#include <execinfo.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
}

namespace sigflow::bench {

struct ThreadAllocationSlot {
  std::atomic<long> tid{0};
  std::atomic<std::uint64_t> count{0};
};

inline constexpr std::size_t kMaxCountedThreads = 1024;
inline ThreadAllocationSlot g_slots[kMaxCountedThreads];
inline std::atomic<std::size_t> g_slot_count{0};
inline std::atomic<std::uint64_t> g_uncounted{0};  // threads beyond kMaxCountedThreads
inline thread_local ThreadAllocationSlot* t_slot = nullptr;

// SIGFLOW_ALLOC_TRACE=<thread name>: once the program arms it (g_trace_armed, e.g. after warm-up), every
// 256th allocation (SIGFLOW_ALLOC_TRACE_EVERY=<n> to change) on threads of that name prints its call stack
// to stderr, to find what allocates on a path that should not.
inline std::atomic<bool> g_trace_armed{false};
inline void trace_allocation() noexcept {
  static const char* const traced = std::getenv("SIGFLOW_ALLOC_TRACE");
  static const std::uint64_t every = [] {
    const char* n = std::getenv("SIGFLOW_ALLOC_TRACE_EVERY");
    return n ? std::max<std::uint64_t>(1, std::strtoull(n, nullptr, 10)) : 256;
  }();
  static thread_local bool inside = false;
  static thread_local std::uint64_t seen = 0;
  if (!traced || inside || !g_trace_armed.load(std::memory_order_relaxed) || ++seen % every != 0) return;
  char name[16] = {};
  ::prctl(PR_GET_NAME, name);
  if (std::strncmp(name, traced, sizeof name) != 0) return;
  inside = true;
  void* frames[24];
  const int n = ::backtrace(frames, 24);
  ::dprintf(2, "allocation on %s:\n", name);
  ::backtrace_symbols_fd(frames, n, 2);
  inside = false;
}

inline void count_allocation() noexcept {
  if (!t_slot) [[unlikely]] {
    const std::size_t index = g_slot_count.fetch_add(1, std::memory_order_relaxed);
    if (index >= kMaxCountedThreads) {
      g_uncounted.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    g_slots[index].tid.store(::syscall(SYS_gettid), std::memory_order_relaxed);
    t_slot = &g_slots[index];
  }
  t_slot->count.fetch_add(1, std::memory_order_relaxed);
  trace_allocation();
}

struct ThreadAllocations {
  long tid;
  std::string name;  // the thread's name now ("feed", "strategy", ...), empty once it exited
  std::uint64_t count;
};

// Every thread that allocated so far. Reads /proc: not for a hot path.
inline std::vector<ThreadAllocations> thread_allocations() {
  std::vector<ThreadAllocations> out;
  const std::size_t n = std::min(g_slot_count.load(), kMaxCountedThreads);
  for (std::size_t i = 0; i < n; ++i) {
    const long tid = g_slots[i].tid.load(std::memory_order_relaxed);
    std::string name;
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::getline(comm, name);
    out.push_back({tid, name, g_slots[i].count.load(std::memory_order_relaxed)});
  }
  return out;
}

// Sum over the live threads named `name`.
inline std::uint64_t allocations_of(const std::vector<ThreadAllocations>& all, const std::string& name) {
  std::uint64_t n = 0;
  for (const ThreadAllocations& t : all)
    if (t.name == name) n += t.count;
  return n;
}

}  // namespace sigflow::bench

extern "C" {
void* malloc(std::size_t size) noexcept {
  sigflow::bench::count_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  sigflow::bench::count_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  sigflow::bench::count_allocation();
  return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  sigflow::bench::count_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  sigflow::bench::count_allocation();
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}

// operator new needs no replacement: libstdc++'s calls malloc through the PLT, which resolves to the
// counting malloc above.
