#include "strategies/tokenizer/byte_pair_merge.hpp"

#include <algorithm>

namespace sigflow::strategies::detail {
namespace {

using Part = MergeBuffers::Part;
using HeapEntry = MergeBuffers::HeapEntry;

const unsigned char* bytes_of(std::string_view piece) {
  return reinterpret_cast<const unsigned char*>(piece.data());
}

// tiktoken's loop, kept as written there so that its correctness argument carries over unchanged.
void merge_by_scan(const RankTable& ranks, std::string_view piece, MergeBuffers& buffers) {
  const unsigned char* p = bytes_of(piece);
  const std::size_t n = piece.size();
  std::vector<Part>& parts = buffers.parts;
  parts.clear();

  std::uint32_t min_rank = RankTable::kNoRank;
  std::size_t min_index = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const std::uint32_t rank = ranks.find(p + i, 2);
    if (rank < min_rank) {
      min_rank = rank;
      min_index = i;
    }
    parts.push_back(Part{static_cast<std::uint32_t>(i), rank});
  }
  parts.push_back(Part{static_cast<std::uint32_t>(n - 1), RankTable::kNoRank});
  parts.push_back(Part{static_cast<std::uint32_t>(n), RankTable::kNoRank});

  const auto rank_at = [&](std::size_t i) {
    if (i + 3 >= parts.size()) return RankTable::kNoRank;
    return ranks.find(p + parts[i].start, parts[i + 3].start - parts[i].start);
  };

  while (min_rank != RankTable::kNoRank) {
    const std::size_t i = min_index;
    if (i > 0) parts[i - 1].rank = rank_at(i - 1);
    parts[i].rank = rank_at(i);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1);

    min_rank = RankTable::kNoRank;
    for (std::size_t j = 0; j + 1 < parts.size(); ++j) {
      if (parts[j].rank < min_rank) {
        min_rank = parts[j].rank;
        min_index = j;
      }
    }
  }

  buffers.tokens.clear();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    buffers.tokens.push_back(ranks.find(p + parts[i].start, parts[i + 1].start - parts[i].start));
  }
}

// Min-heap order on (rank, start): std::push_heap builds a max-heap, so "less" means "later".
bool later(const HeapEntry& a, const HeapEntry& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.start > b.start;
}

void merge_by_heap(const RankTable& ranks, std::string_view piece, MergeBuffers& buffers) {
  const unsigned char* p = bytes_of(piece);
  const auto n = static_cast<std::uint32_t>(piece.size());
  // Node i is the part starting at byte i; next/prev link the live parts, n is the end sentinel.
  std::vector<std::uint32_t>& next = buffers.next;
  std::vector<std::uint32_t>& prev = buffers.prev;
  std::vector<Part>& parts = buffers.parts;  // parts[i].rank: rank of node i merged with its successor
  std::vector<HeapEntry>& heap = buffers.heap;
  next.resize(n + 1);
  prev.resize(n + 1);
  parts.resize(n + 1);
  heap.clear();

  constexpr std::uint32_t kDead = RankTable::kNoRank;
  for (std::uint32_t i = 0; i <= n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? kDead : i - 1;
    parts[i] = Part{i, RankTable::kNoRank};
  }
  for (std::uint32_t i = 0; i + 1 < n; ++i) {
    const std::uint32_t rank = ranks.find(p + i, 2);
    parts[i].rank = rank;
    if (rank != RankTable::kNoRank) heap.push_back(HeapEntry{rank, i});
  }
  std::make_heap(heap.begin(), heap.end(), later);

  // Node `i` is alive while parts[i].start == i; a merged-away node gets start = kDead.
  const auto pair_rank = [&](std::uint32_t i) {
    const std::uint32_t j = next[i];
    if (j >= n) return RankTable::kNoRank;
    return ranks.find(p + i, next[j] - i);
  };
  const auto update = [&](std::uint32_t i) {
    const std::uint32_t rank = pair_rank(i);
    parts[i].rank = rank;
    if (rank != RankTable::kNoRank) {
      heap.push_back(HeapEntry{rank, i});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const HeapEntry top = heap.back();
    heap.pop_back();
    const std::uint32_t i = top.start;
    if (parts[i].start != i || parts[i].rank != top.rank) continue;  // stale

    const std::uint32_t j = next[i];
    parts[j].start = kDead;
    next[i] = next[j];
    if (next[j] <= n) prev[next[j]] = i;
    update(i);
    if (prev[i] != kDead) update(prev[i]);
  }

  buffers.tokens.clear();
  for (std::uint32_t i = 0; i < n; i = next[i]) buffers.tokens.push_back(ranks.find(p + i, next[i] - i));
}

}  // namespace

std::span<const std::uint32_t> byte_pair_encode(const RankTable& ranks, std::string_view piece,
                                                MergeBuffers& buffers, std::size_t large_piece) {
  if (piece.size() == 1) {
    buffers.tokens.assign(1, ranks.find(piece));
  } else if (piece.size() < large_piece) {
    merge_by_scan(ranks, piece, buffers);
  } else {
    merge_by_heap(ranks, piece, buffers);
  }
  return buffers.tokens;
}

}  // namespace sigflow::strategies::detail
