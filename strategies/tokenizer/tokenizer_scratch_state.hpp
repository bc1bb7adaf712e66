#pragma once
// What a TokenizerScratch holds. In a header of its own (rather than in tokenizer.cpp) only so that tests can
// force the PCRE2 path on text the ASCII scanner would handle, and compare the two.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "strategies/tokenizer/byte_pair_merge.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies {

namespace detail {

// Tokens of recently seen short pieces. Prompt text repeats its pieces (keys, '=', signs, digit groups) so
// that most lookups hit here, in a table that stays in L2, instead of probing the multi-megabyte rank table
// and merging again. Direct-mapped: a colliding piece replaces the entry. Keyed by encoding as well, since
// one scratch serves every tokenizer.
class PieceCache {
 public:
  static constexpr std::size_t kMaxPiece = 16;
  static constexpr std::size_t kMaxIds = 3;

  struct Entry {
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    std::uint8_t size = 0;  // 0: empty
    std::uint8_t encoding = 0;
    std::uint8_t tokens = 0;
    std::uint8_t ids_cached = 0;  // ids[] holds the tokens (tokens <= kMaxIds)
    std::uint32_t ids[kMaxIds] = {};
  };

  PieceCache() : entries_(kEntries) {}

  // The entry for `piece` if cached, else nullptr; `slot` receives where to store it.
  const Entry* find(Encoding encoding, std::string_view piece, Entry*& slot) {
    Key key = key_of(piece);
    Entry& e = entries_[index_of(key, encoding)];
    slot = &e;
    const bool hit = e.size == piece.size() && e.encoding == static_cast<std::uint8_t>(encoding) &&
                     e.low == key.low && e.high == key.high;
    return hit ? &e : nullptr;
  }

  static void store(Entry& slot, Encoding encoding, std::string_view piece,
                    std::span<const std::uint32_t> ids, std::size_t tokens) {
    const Key key = key_of(piece);
    slot.low = key.low;
    slot.high = key.high;
    slot.size = static_cast<std::uint8_t>(piece.size());
    slot.encoding = static_cast<std::uint8_t>(encoding);
    slot.tokens = static_cast<std::uint8_t>(tokens);
    slot.ids_cached = ids.size() == tokens && tokens <= kMaxIds ? 1 : 0;
    if (slot.ids_cached) std::memcpy(slot.ids, ids.data(), tokens * sizeof(std::uint32_t));
  }

 private:
  static constexpr std::size_t kEntries = 4096;
  struct Key {
    std::uint64_t low = 0;
    std::uint64_t high = 0;
  };
  static Key key_of(std::string_view piece) {
    Key key;
    const std::size_t n = piece.size();
    std::memcpy(&key.low, piece.data(), n < 8 ? n : 8);
    if (n > 8) std::memcpy(&key.high, piece.data() + 8, n - 8);
    return key;
  }
  static std::size_t index_of(const Key& key, Encoding encoding) {
    std::uint64_t h = key.low * 0x9e3779b97f4a7c15ULL ^
                      (key.high + static_cast<std::uint64_t>(encoding)) * 0xc2b2ae3d27d4eb4fULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h & (kEntries - 1);
  }

  std::vector<Entry> entries_;
};

}  // namespace detail

struct TokenizerScratch::State {
  pcre2_match_data* match_data = nullptr;
  pcre2_match_context* match_context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  detail::MergeBuffers merge;
  detail::PieceCache piece_cache;
  bool regex_only = false;  // tests: split every piece with PCRE2
};

}  // namespace sigflow::strategies
