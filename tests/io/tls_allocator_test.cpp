// The block cache behind OpenSSL's allocations, driven through OpenSSL's own allocation API.
#include "io/tls_allocator.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <cstring>
#include <thread>
#include <vector>

namespace sigflow::io {
namespace {

TEST(TlsAllocator, IsInstalledBeforeOpenSslsFirstAllocation) {
  EXPECT_TRUE(tls_allocator_installed());
}

TEST(TlsAllocator, AFreedSmallBlockServesTheNextSmallRequestZeroedWhenAsked) {
  auto* first = static_cast<unsigned char*>(OPENSSL_malloc(40));
  ASSERT_NE(first, nullptr);
  std::memset(first, 0xAB, 40);
  OPENSSL_free(first);
  const TlsAllocatorThreadStats before = tls_allocator_thread_stats();
  auto* second = static_cast<unsigned char*>(OPENSSL_zalloc(kTlsCachedBlockBytes));
  const TlsAllocatorThreadStats after = tls_allocator_thread_stats();
  EXPECT_EQ(second, first);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  EXPECT_EQ(after.system_allocs, before.system_allocs);
  for (std::size_t i = 0; i < kTlsCachedBlockBytes; ++i) ASSERT_EQ(second[i], 0) << i;
  OPENSSL_free(second);
}

TEST(TlsAllocator, LargeBlocksGoToMallocEveryTime) {
  OPENSSL_free(OPENSSL_malloc(4096));
  const TlsAllocatorThreadStats before = tls_allocator_thread_stats();
  void* block = OPENSSL_malloc(4096);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(tls_allocator_thread_stats().system_allocs, before.system_allocs + 1);
  EXPECT_EQ(tls_allocator_thread_stats().cache_hits, before.cache_hits);
  OPENSSL_free(block);
}

TEST(TlsAllocator, ReallocKeepsTheBytesWhenItGrowsOutOfTheCachedSize) {
  auto* block = static_cast<char*>(OPENSSL_malloc(16));
  ASSERT_NE(block, nullptr);
  std::memcpy(block, "sixteen bytes!!", 16);
  EXPECT_EQ(OPENSSL_realloc(block, 8), block);  // shrinking stays in place
  block = static_cast<char*>(OPENSSL_realloc(block, 10000));
  ASSERT_NE(block, nullptr);
  EXPECT_STREQ(block, "sixteen bytes!!");
  std::memset(block + 16, 'x', 10000 - 16);
  block = static_cast<char*>(OPENSSL_realloc(block, 20000));
  ASSERT_NE(block, nullptr);
  EXPECT_STREQ(block, "sixteen bytes!!");
  EXPECT_EQ(block[9999], 'x');
  OPENSSL_free(block);
}

TEST(TlsAllocator, TheCacheHoldsABoundedNumberOfBlocks) {
  const std::size_t n = 2 * kTlsCachedBlocksPerThread;
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < n; ++i) blocks.push_back(OPENSSL_malloc(32));
  for (void* block : blocks) OPENSSL_free(block);
  const TlsAllocatorThreadStats before = tls_allocator_thread_stats();
  for (void*& block : blocks) block = OPENSSL_malloc(32);
  const TlsAllocatorThreadStats after = tls_allocator_thread_stats();
  EXPECT_EQ(after.cache_hits - before.cache_hits, kTlsCachedBlocksPerThread);
  EXPECT_EQ(after.system_allocs - before.system_allocs, n - kTlsCachedBlocksPerThread);
  for (void* block : blocks) OPENSSL_free(block);
}

TEST(TlsAllocator, ABlockFreedOnAnotherThreadIsReusedThere) {
  void* from_other = nullptr;
  std::thread([&] { from_other = OPENSSL_malloc(24); }).join();
  ASSERT_NE(from_other, nullptr);
  // Empty this thread's cache first so that the next request can only be served by the block just freed.
  std::vector<void*> drained;
  for (std::size_t i = 0; i < kTlsCachedBlocksPerThread; ++i) drained.push_back(OPENSSL_malloc(8));
  OPENSSL_free(from_other);
  void* reused = OPENSSL_malloc(8);
  EXPECT_EQ(reused, from_other);
  OPENSSL_free(reused);
  for (void* block : drained) OPENSSL_free(block);
}

TEST(TlsAllocator, AThreadThatExitsReturnsItsCachedBlocks) {
  // Run under ASan's leak check in CI: blocks left in a dead thread's cache would be reported as leaks.
  std::thread([] {
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < kTlsCachedBlocksPerThread; ++i) blocks.push_back(OPENSSL_malloc(40));
    for (void* block : blocks) OPENSSL_free(block);
    EXPECT_EQ(tls_allocator_thread_stats().cache_hits, 0u);
  }).join();
}

}  // namespace
}  // namespace sigflow::io
