#pragma once
// Byte-pair merge of one pre-split piece: repeatedly merge the adjacent pair whose concatenation has the
// lowest rank, the leftmost one on ties, until no adjacent pair is in the vocabulary. This is tiktoken's
// _byte_pair_merge, and the tokens it yields are what tiktoken yields.
//
// tiktoken rescans all parts after each merge, O(n^2) in the piece length. That is the fastest way for the
// short pieces that make up nearly all text, but a long piece (a run of digits-free symbols, a base64 blob, a
// long whitespace run) would cost seconds, so pieces longer than kLargePiece go through a binary heap over a
// linked list of parts instead: O(n log n), same merge order. Ranks are unique per byte string, so a heap
// entry is current exactly when its part is alive and still carries the entry's rank, and (rank, start)
// orders the heap the way tiktoken's leftmost-minimum scan picks.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "strategies/tokenizer/rank_table.hpp"

namespace sigflow::strategies::detail {

inline constexpr std::size_t kLargePiece = 256;

struct MergeBuffers {
  struct Part {
    std::uint32_t start;
    std::uint32_t rank;  // rank of this part merged with the next one
  };
  struct HeapEntry {
    std::uint32_t rank;
    std::uint32_t start;  // byte offset of the left part, which is also its node index
  };
  std::vector<Part> parts;
  std::vector<HeapEntry> heap;
  std::vector<std::uint32_t> next;
  std::vector<std::uint32_t> prev;
  std::vector<std::uint32_t> tokens;
};

// The tokens of `piece` (non-empty, every byte in the table), valid until the next call with `buffers`.
// `large_piece` picks the algorithm by length; tests lower it to run the heap path on short pieces.
std::span<const std::uint32_t> byte_pair_encode(const RankTable& ranks, std::string_view piece,
                                                MergeBuffers& buffers, std::size_t large_piece = kLargePiece);

}  // namespace sigflow::strategies::detail
