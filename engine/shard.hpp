#pragma once
// Hash sharding of the instrument universe: N engines given the same venue lists and shard counts, each with
// its own index, own disjoint subsets that together cover every instrument once. The hash must not change
// between builds, compilers or machines (std::hash may), so it is FNV-1a 64 written out here, over the
// bytes "<venue>/<SYMBOL in upper case>" (venue symbols are case-insensitive for the engine, so the case a
// config happens to use must not move an instrument to another shard).
#include <cstdint>
#include <string_view>

namespace sigflow::engine {

constexpr std::uint64_t fnv1a64(std::string_view bytes,
                                std::uint64_t hash = 14695981039346656037ull) noexcept {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

constexpr std::uint64_t instrument_hash(std::string_view venue, std::string_view symbol) noexcept {
  std::uint64_t hash = fnv1a64(venue);
  hash = fnv1a64("/", hash);
  for (const char c : symbol) {
    const char upper = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    hash = fnv1a64(std::string_view(&upper, 1), hash);
  }
  return hash;
}

// The shard 0..count-1 that owns (venue, symbol). count must be >= 1.
constexpr std::uint64_t shard_of(std::string_view venue, std::string_view symbol,
                                 std::uint64_t count) noexcept {
  return instrument_hash(venue, symbol) % count;
}

}  // namespace sigflow::engine
