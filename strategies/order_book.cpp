#include "strategies/order_book.hpp"

#include <algorithm>
#include <cstring>

namespace sigflow::strategies {

namespace {

// True when `a` is a strictly better price than `b` on this side.
bool better(bool is_bid, Decimal a, Decimal b) noexcept {
  return is_bid ? a > b : a < b;
}

}  // namespace

OrderBook::OrderBook(std::size_t capacity_per_side) : capacity_(std::max<std::size_t>(capacity_per_side, 1)) {
  bids_.levels.reset(new PriceLevel[capacity_]);
  bids_.is_bid = true;
  asks_.levels.reset(new PriceLevel[capacity_]);
  asks_.is_bid = false;
}

void OrderBook::clear() noexcept {
  bids_.count = 0;
  asks_.count = 0;
}

const PriceLevel* OrderBook::level(BookSide side, std::size_t i) const noexcept {
  const Side& s = side_of(side);
  return i < s.count ? &s.levels[s.count - 1 - i] : nullptr;
}

bool OrderBook::crossed() const noexcept {
  const PriceLevel* bid = best_bid();
  const PriceLevel* ask = best_ask();
  return bid && ask && bid->price >= ask->price;
}

double OrderBook::size_sum(BookSide side, std::size_t n) const noexcept {
  const Side& s = side_of(side);
  const std::size_t k = std::min(n, s.count);
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += s.levels[s.count - 1 - i].size.to_double();
  return sum;
}

void OrderBook::apply_level(BookSide side, Decimal price, Decimal size) noexcept {
  set(side_of(side), price, size);
}

void OrderBook::apply_snapshot(std::span<const PriceLevel> bids, std::span<const PriceLevel> asks) noexcept {
  assign(bids_, bids);
  assign(asks_, asks);
}

void OrderBook::set(Side& side, Decimal price, Decimal size) noexcept {
  PriceLevel* const levels = side.levels.get();
  // Storage runs worst → best: ascending prices for bids, descending for asks.
  PriceLevel* const end = levels + side.count;
  PriceLevel* const it = std::lower_bound(levels, end, price, [&side](const PriceLevel& level, Decimal p) {
    return side.is_bid ? level.price < p : level.price > p;
  });
  const std::size_t pos = static_cast<std::size_t>(it - levels);
  if (it != end && it->price == price) {
    if (size.is_zero()) {
      std::memmove(it, it + 1, (side.count - pos - 1) * sizeof(PriceLevel));
      --side.count;
    } else {
      *it = PriceLevel{price, size};  // the venue's latest text of the price, too
    }
    return;
  }
  if (size.is_zero()) return;
  if (side.count < capacity_) {
    std::memmove(it + 1, it, (side.count - pos) * sizeof(PriceLevel));
    *it = PriceLevel{price, size};
    ++side.count;
    return;
  }
  // Full: keep the best `capacity_` levels.
  ++truncated_;
  if (pos == 0) return;  // worse than every level held
  std::memmove(levels, levels + 1, (pos - 1) * sizeof(PriceLevel));
  levels[pos - 1] = PriceLevel{price, size};
}

void OrderBook::assign(Side& side, std::span<const PriceLevel> input) noexcept {
  // Venues send snapshots best first and strictly ordered: then the book is the reversed input, copied in
  // one pass. Anything else (unordered, duplicated) takes the general path, one level at a time.
  std::size_t nonzero = 0;
  bool ordered = true;
  const PriceLevel* previous = nullptr;
  for (const PriceLevel& level : input) {
    if (level.size.is_zero()) continue;
    if (previous && !better(side.is_bid, previous->price, level.price)) {
      ordered = false;
      break;
    }
    previous = &level;
    ++nonzero;
  }
  side.count = 0;
  if (!ordered) {
    for (const PriceLevel& level : input) set(side, level.price, level.size);
    return;
  }
  const std::size_t kept = std::min(nonzero, capacity_);
  truncated_ += nonzero - kept;
  std::size_t slot = kept;
  for (const PriceLevel& level : input) {
    if (slot == 0) break;
    if (!level.size.is_zero()) side.levels[--slot] = level;
  }
  side.count = kept;
}

}  // namespace sigflow::strategies
