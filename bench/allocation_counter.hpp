#pragma once
// Counts heap allocations made by this process: include in exactly one benchmark translation unit, which
// then replaces the global operator new/delete with counting versions. The hot-path claim "zero heap
// allocations per message in steady state" is checked by reading allocations() around the measured loop.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace sigflow::bench {

inline std::atomic<std::size_t> g_allocations{0};

inline std::size_t allocations() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace sigflow::bench

void* operator new(std::size_t size) {
  sigflow::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  sigflow::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return operator new(size, align);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
