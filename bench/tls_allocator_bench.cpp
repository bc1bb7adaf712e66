// The block cache OpenSSL allocates from (io/tls_allocator.hpp) against glibc's malloc, on the pattern the
// feed thread gives it: one 40-byte block taken and given back per TLS 1.3 record. glibc serves that pair
// from its own per-thread tcache, so this measures the cost of the hand-written part, not a rescue from a
// lock: what it buys is that the feed thread never enters malloc (counted by bench_e2e).
#include <benchmark/benchmark.h>
#include <openssl/crypto.h>

#include <cstdlib>

#include "io/tls_allocator.hpp"

namespace {

constexpr std::size_t kRecordBlockBytes = 40;  // OpenSSL 3.0's WPACKET sub-packet, one per record

void BM_RecordBlock_TlsBlockCache(benchmark::State& state) {
  if (!sigflow::io::tls_allocator_installed()) {
    state.SkipWithError("the block cache is not installed");
    return;
  }
  for (auto _ : state) {
    void* block = OPENSSL_zalloc(kRecordBlockBytes);
    benchmark::DoNotOptimize(block);
    OPENSSL_free(block);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordBlock_TlsBlockCache);

void BM_RecordBlock_GlibcMalloc(benchmark::State& state) {
  for (auto _ : state) {
    void* block = std::calloc(1, kRecordBlockBytes);
    benchmark::DoNotOptimize(block);
    std::free(block);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordBlock_GlibcMalloc);

}  // namespace

BENCHMARK_MAIN();
