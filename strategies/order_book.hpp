#pragma once
// OrderBook: one instrument's L2 book with exact decimal prices and a fixed capacity per side.
//
// Each side is a sorted flat array ordered from worst to best price, so the best level is the last
// element. Almost all L2 traffic touches the top few levels: with the best at the end, inserting or
// deleting there moves only the handful of levels above it, and reading the top N is a walk back from
// the end. A level is found by binary search (O(log n)); inserts and deletes memmove the tail. The arrays
// are allocated once, at construction, and never grow: when a side is full, the worst level is dropped
// (counted in `truncated_levels`) — the levels that matter to a signal are the best ones, and an unbounded
// deep book is how the feed handlers in feeds.md §4 ran out of memory.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "io/venues/market_event.hpp"

namespace sigflow::strategies {

using io::Decimal;
using io::PriceLevel;

enum class BookSide : std::uint8_t { kBid, kAsk };

class OrderBook {
 public:
  static constexpr std::size_t kDefaultCapacity = 1000;

  explicit OrderBook(std::size_t capacity_per_side = kDefaultCapacity);

  OrderBook(OrderBook&&) noexcept = default;
  OrderBook& operator=(OrderBook&&) noexcept = default;

  // Replaces the whole book. Levels may come in any order (venues send best first); zero sizes are skipped.
  void apply_snapshot(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks) noexcept;

  // Sets one level's size; size 0 deletes the level (deleting an absent level is not an error: Binance
  // documents it as normal).
  void apply_level(BookSide side, Decimal price, Decimal size) noexcept;

  void clear() noexcept;

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t depth(BookSide side) const noexcept { return side_of(side).count; }
  bool empty() const noexcept { return bids_.count == 0 && asks_.count == 0; }

  // The i-th best level of a side (0 = best); nullptr past the end.
  const PriceLevel* level(BookSide side, std::size_t i) const noexcept;
  const PriceLevel* best_bid() const noexcept { return level(BookSide::kBid, 0); }
  const PriceLevel* best_ask() const noexcept { return level(BookSide::kAsk, 0); }

  // Best bid at or above best ask: a book that can only come from missed updates.
  bool crossed() const noexcept;

  // Sum of the sizes of the best n levels of a side, as double (a feature input).
  double size_sum(BookSide side, std::size_t n) const noexcept;

  // Levels dropped because a side was full (worst levels evicted or inserts below the worst refused).
  std::uint64_t truncated_levels() const noexcept { return truncated_; }

 private:
  struct Side {
    std::unique_ptr<PriceLevel[]> levels;  // worst ... best
    std::size_t count = 0;
    bool is_bid = true;
  };

  const Side& side_of(BookSide side) const noexcept { return side == BookSide::kBid ? bids_ : asks_; }
  Side& side_of(BookSide side) noexcept { return side == BookSide::kBid ? bids_ : asks_; }

  void set(Side& side, Decimal price, Decimal size) noexcept;
  void assign(Side& side, std::span<const PriceLevel> levels) noexcept;

  std::size_t capacity_;
  Side bids_;
  Side asks_;
  std::uint64_t truncated_ = 0;
};

}  // namespace sigflow::strategies
