#pragma once
// RankTable: the BPE vocabulary as a map from byte strings to ranks (token ids), read-only once built.
//
// The merge loop is a stream of lookups, most of them for 2 to 8 bytes and many of them misses, so the layout
// is built around cache misses rather than around generality:
//  - single bytes and byte pairs are direct tables (1 KiB and 256 KiB): the first round of every merge and
//    most short pieces never hash;
//  - everything else is an open-addressing table (linear probing, load factor <= 0.5) of 16-byte slots
//  holding
//    the token's first 8 bytes, its size and its rank, so a probe for a token of up to 8 bytes is settled
//    within one cache line, and a longer one reads the byte arena only to confirm a match.
// std::unordered_map<std::string, rank> costs two to three dependent misses per probe instead.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::strategies::detail {

class RankTable {
 public:
  static constexpr std::uint32_t kNoRank = std::numeric_limits<std::uint32_t>::max();

  RankTable();

  // Adds a token; returns false for empty bytes or a rank already present. Call build() after the last add;
  // it returns false when two ranks have the same bytes.
  bool add(std::string_view bytes, std::uint32_t rank);
  bool build();

  std::uint32_t find(const unsigned char* bytes, std::size_t size) const {
    if (size == 1) return byte_ranks_[bytes[0]];
    if (size == 2) return pair_ranks_[static_cast<std::size_t>(bytes[0]) << 8 | bytes[1]];
    const std::uint64_t prefix = load_prefix(bytes, size);
    for (std::size_t slot = hash(prefix, size) & mask_;; slot = (slot + 1) & mask_) {
      const Slot& s = slots_[slot];
      if (s.rank == kNoRank) return kNoRank;
      if (s.prefix == prefix && s.size == size &&
          (size <= 8 || std::memcmp(arena_.data() + tokens_[s.rank].offset + 8, bytes + 8, size - 8) == 0)) {
        return s.rank;
      }
    }
  }
  std::uint32_t find(std::string_view bytes) const {
    return find(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }

  std::string_view bytes(std::uint32_t rank) const {
    if (rank >= tokens_.size() || tokens_[rank].size == 0) return {};
    return {arena_.data() + tokens_[rank].offset, tokens_[rank].size};
  }
  std::size_t size() const { return count_; }
  bool has_all_single_bytes() const;

 private:
  struct Token {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;  // 0: no token has this rank
  };
  struct Slot {
    std::uint64_t prefix = 0;  // first min(size, 8) bytes, little-endian, zero-padded
    std::uint32_t rank = kNoRank;
    std::uint32_t size = 0;
  };

  static std::uint64_t load_prefix(const unsigned char* bytes, std::size_t size) {
    std::uint64_t prefix = 0;
    std::memcpy(&prefix, bytes, size < 8 ? size : 8);
    return prefix;
  }
  // The prefix and the size identify short tokens, and for long ones collisions are settled by the size and
  // the arena. SplitMix64's finaliser spreads every input bit over the slot index, which linear probing
  // needs.
  static std::uint64_t hash(std::uint64_t prefix, std::size_t size) {
    std::uint64_t h = prefix ^ (static_cast<std::uint64_t>(size) * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
  }

  std::vector<char> arena_;
  std::vector<Token> tokens_;  // indexed by rank
  std::vector<Slot> slots_;    // tokens of 3 bytes or more
  std::vector<std::uint32_t> pair_ranks_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
  std::uint32_t byte_ranks_[256];
};

// Fills `table` from the text of a .tiktoken file ("base64(bytes) rank" per line) and builds it. On a
// malformed file returns false with `error` naming `source` and the line.
bool parse_tiktoken_ranks(std::string_view file, std::string_view source, RankTable& table,
                          std::string& error);

}  // namespace sigflow::strategies::detail
