#include "io/tls_allocator.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define SIGFLOW_ASAN 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
#define SIGFLOW_ASAN 1
#endif
#endif

#if defined(SIGFLOW_ASAN)
#include <sanitizer/asan_interface.h>
// A cached block is free as far as OpenSSL is concerned: ASan still reports a use after free of one.
#define SIGFLOW_POISON(block, bytes) ASAN_POISON_MEMORY_REGION(block, bytes)
#define SIGFLOW_UNPOISON(block, bytes) ASAN_UNPOISON_MEMORY_REGION(block, bytes)
#else
#define SIGFLOW_POISON(block, bytes) ((void)(block), (void)(bytes))
#define SIGFLOW_UNPOISON(block, bytes) ((void)(block), (void)(bytes))
#endif

namespace sigflow::io {
namespace {

// Precedes every block OpenSSL gets from us; 16 bytes keep the payload aligned as malloc's is.
struct alignas(16) BlockHeader {
  std::size_t capacity;  // payload bytes; kTlsCachedBlockBytes marks a block the cache may keep
};

BlockHeader* header_of(void* payload) noexcept {
  return static_cast<BlockHeader*>(payload) - 1;
}

// Trivially destructible, so it stays readable while the thread's other thread_local objects are being
// destroyed: OpenSSL frees its per-thread state from a pthread key destructor, after those.
thread_local bool t_cache_closed = false;
thread_local TlsAllocatorThreadStats t_stats;

struct ThreadBlockCache {
  BlockHeader* blocks[kTlsCachedBlocksPerThread];
  std::size_t count = 0;

  ~ThreadBlockCache() {
    t_cache_closed = true;
    while (count > 0) {
      BlockHeader* header = blocks[--count];
      SIGFLOW_UNPOISON(header + 1, kTlsCachedBlockBytes);
      std::free(header);
    }
  }
};
thread_local ThreadBlockCache t_cache;

void* system_block(std::size_t capacity) noexcept {
  auto* header = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + capacity));
  if (header == nullptr) return nullptr;
  ++t_stats.system_allocs;
  header->capacity = capacity;
  return header + 1;
}

void* cached_malloc(std::size_t bytes, const char*, int) noexcept {
  if (bytes > kTlsCachedBlockBytes) return system_block(bytes);
  if (!t_cache_closed && t_cache.count > 0) {
    ++t_stats.cache_hits;
    BlockHeader* header = t_cache.blocks[--t_cache.count];
    SIGFLOW_UNPOISON(header + 1, kTlsCachedBlockBytes);
    return header + 1;
  }
  return system_block(kTlsCachedBlockBytes);
}

void cached_free(void* payload, const char*, int) noexcept {
  if (payload == nullptr) return;
  BlockHeader* header = header_of(payload);
  // A block freed on another thread than the one that allocated it is as good as any: they are all the same
  // size and all come from malloc.
  if (header->capacity == kTlsCachedBlockBytes && !t_cache_closed &&
      t_cache.count < kTlsCachedBlocksPerThread) {
    t_cache.blocks[t_cache.count++] = header;
    SIGFLOW_POISON(payload, kTlsCachedBlockBytes);
    return;
  }
  std::free(header);
}

void* cached_realloc(void* payload, std::size_t bytes, const char* file, int line) noexcept {
  if (payload == nullptr) return cached_malloc(bytes, file, line);
  if (bytes == 0) {
    cached_free(payload, file, line);
    return nullptr;
  }
  BlockHeader* header = header_of(payload);
  if (bytes <= header->capacity) return payload;
  if (header->capacity == kTlsCachedBlockBytes) {
    // A cached-size block must keep its exact capacity, so growing it moves to a block of its own.
    void* grown = system_block(bytes);
    if (grown == nullptr) return nullptr;
    std::memcpy(grown, payload, kTlsCachedBlockBytes);
    cached_free(payload, file, line);
    return grown;
  }
  auto* moved = static_cast<BlockHeader*>(std::realloc(header, sizeof(BlockHeader) + bytes));
  if (moved == nullptr) return nullptr;
  ++t_stats.system_allocs;
  moved->capacity = bytes;
  return moved + 1;
}

bool g_installed = false;

}  // namespace
}  // namespace sigflow::io

// Priority 101 is the first a program may use: before any other constructor that could reach OpenSSL. Not
// static: io/CMakeLists.txt names it to the linker so that every program linking the module keeps it.
extern "C" __attribute__((constructor(101))) void sigflow_install_tls_allocator() {
  using namespace sigflow::io;
  g_installed = CRYPTO_set_mem_functions(cached_malloc, cached_realloc, cached_free) == 1;
}

namespace sigflow::io {

bool tls_allocator_installed() noexcept {
  return g_installed;
}

TlsAllocatorThreadStats tls_allocator_thread_stats() noexcept {
  return t_stats;
}

}  // namespace sigflow::io
