#pragma once
// OpenSSL's heap, served from a per-thread block cache so that steady-state TLS traffic never calls malloc.
//
// OpenSSL 3.0 allocates and frees one 40-byte block for every TLS 1.3 record it encrypts or decrypts:
// tls13_enc builds the record's additional data with WPACKET_init_static_len, whose sub-packet bookkeeping
// lives on the heap. On the feed thread that is ~4,000 malloc/free pairs a second at 150k frames/s. The
// cache keeps small blocks (up to kTlsCachedBlockBytes) that a thread freed and hands them back to the next
// small request on that thread: the pair becomes a push and a pop on a thread-local array, with no lock, no
// shared cache line and no trip into glibc. Larger or rarer requests (handshakes, certificates) go to
// malloc with a 16-byte header that records the block's size.
//
// OpenSSL accepts new memory functions only before its first allocation, so they are installed by a
// constructor that runs before main in every program that links this module.
#include <cstddef>
#include <cstdint>

namespace sigflow::io {

inline constexpr std::size_t kTlsCachedBlockBytes = 64;  // the WPACKET block is 40; the rest is headroom
inline constexpr std::size_t kTlsCachedBlocksPerThread = 32;

// False when OpenSSL had already allocated before the constructor ran (then its own malloc is used).
bool tls_allocator_installed() noexcept;

// What OpenSSL asked of the calling thread's cache so far.
struct TlsAllocatorThreadStats {
  std::uint64_t cache_hits = 0;     // small requests served from blocks this thread freed earlier
  std::uint64_t system_allocs = 0;  // requests that went to malloc (or realloc)
};
TlsAllocatorThreadStats tls_allocator_thread_stats() noexcept;

}  // namespace sigflow::io
