// OrderBook: sorted sides with the best level last, exact decimal prices, bounded capacity.
#include "strategies/order_book.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace sigflow::strategies {
namespace {

Decimal dec(std::string_view text) {
  return Decimal::parse(text).value();
}
PriceLevel lv(std::string_view price, std::string_view size) {
  return {dec(price), dec(size)};
}

std::string text(Decimal d) {
  char buffer[Decimal::kMaxChars];
  return std::string(buffer, d.format(buffer, buffer + sizeof buffer));
}

TEST(OrderBook, SnapshotBestFirstAndTopOfBook) {
  OrderBook book(10);
  const std::vector<PriceLevel> bids = {lv("7.6110", "2"), lv("7.6100", "7"), lv("7.6090", "0"),
                                        lv("7.5040", "813")};
  const std::vector<PriceLevel> asks = {lv("7.6120", "297"), lv("7.6150", "1563")};
  book.apply_snapshot(bids, asks);
  EXPECT_EQ(book.depth(BookSide::kBid), 3u);  // the zero-size level is not a level
  EXPECT_EQ(book.depth(BookSide::kAsk), 2u);
  ASSERT_NE(book.best_bid(), nullptr);
  EXPECT_EQ(text(book.best_bid()->price), "7.6110");
  EXPECT_EQ(text(book.best_ask()->price), "7.6120");
  EXPECT_EQ(text(book.level(BookSide::kBid, 2)->price), "7.5040");
  EXPECT_EQ(book.level(BookSide::kBid, 3), nullptr);
  EXPECT_FALSE(book.crossed());
  EXPECT_DOUBLE_EQ(book.size_sum(BookSide::kBid, 2), 9.0);
  EXPECT_DOUBLE_EQ(book.size_sum(BookSide::kBid, 100), 822.0);
  EXPECT_DOUBLE_EQ(book.size_sum(BookSide::kAsk, 1), 297.0);
}

TEST(OrderBook, UnorderedSnapshotTakesTheGeneralPath) {
  OrderBook book(10);
  const std::vector<PriceLevel> bids = {lv("1.0", "1"), lv("3.0", "3"), lv("2.0", "2"), lv("3.00", "4")};
  book.apply_snapshot(bids, {});
  EXPECT_EQ(book.depth(BookSide::kBid), 3u);
  EXPECT_EQ(text(book.best_bid()->price), "3.00");  // the later duplicate wins, with its own text
  EXPECT_EQ(text(book.best_bid()->size), "4");
  EXPECT_EQ(book.best_ask(), nullptr);
}

TEST(OrderBook, ApplyLevelInsertsUpdatesDeletes) {
  OrderBook book(10);
  book.apply_level(BookSide::kAsk, dec("101"), dec("1"));
  book.apply_level(BookSide::kAsk, dec("100.5"), dec("2"));
  book.apply_level(BookSide::kAsk, dec("102"), dec("3"));
  book.apply_level(BookSide::kBid, dec("99"), dec("5"));
  EXPECT_EQ(text(book.best_ask()->price), "100.5");
  EXPECT_EQ(text(book.level(BookSide::kAsk, 2)->price), "102");
  book.apply_level(BookSide::kAsk, dec("100.50"), dec("9"));  // same price, other text: an update
  EXPECT_EQ(book.depth(BookSide::kAsk), 3u);
  EXPECT_EQ(text(book.best_ask()->size), "9");
  book.apply_level(BookSide::kAsk, dec("100.5"), dec("0"));
  EXPECT_EQ(text(book.best_ask()->price), "101");
  book.apply_level(BookSide::kAsk, dec("55"), dec("0"));  // deleting an absent level is harmless
  EXPECT_EQ(book.depth(BookSide::kAsk), 2u);
  EXPECT_FALSE(book.crossed());
  book.apply_level(BookSide::kBid, dec("101"), dec("1"));
  EXPECT_TRUE(book.crossed());
  book.clear();
  EXPECT_TRUE(book.empty());
  EXPECT_FALSE(book.crossed());
}

TEST(OrderBook, FullSideKeepsTheBestLevels) {
  OrderBook book(3);
  for (const char* p : {"10", "11", "12"}) book.apply_level(BookSide::kBid, dec(p), dec("1"));
  book.apply_level(BookSide::kBid, dec("9"), dec("1"));  // worse than all held: refused
  EXPECT_EQ(book.depth(BookSide::kBid), 3u);
  EXPECT_EQ(text(book.level(BookSide::kBid, 2)->price), "10");
  book.apply_level(BookSide::kBid, dec("11.5"), dec("1"));  // evicts the worst (10)
  EXPECT_EQ(text(book.level(BookSide::kBid, 0)->price), "12");
  EXPECT_EQ(text(book.level(BookSide::kBid, 1)->price), "11.5");
  EXPECT_EQ(text(book.level(BookSide::kBid, 2)->price), "11");
  EXPECT_EQ(book.truncated_levels(), 2u);

  const std::vector<PriceLevel> asks = {lv("1", "1"), lv("2", "1"), lv("3", "1"), lv("4", "1"), lv("5", "1")};
  book.apply_snapshot({}, asks);
  EXPECT_EQ(book.depth(BookSide::kAsk), 3u);
  EXPECT_EQ(text(book.level(BookSide::kAsk, 2)->price), "3");
  EXPECT_EQ(book.truncated_levels(), 4u);
}

// The book against a std::map model under random operations on both sides.
TEST(OrderBook, MatchesAMapModel) {
  std::mt19937 rng(42);
  OrderBook book(1000);
  std::map<std::int64_t, std::int64_t> bids, asks;  // price ticks → size
  for (int step = 0; step < 20000; ++step) {
    const bool bid = rng() % 2;
    const std::int64_t price =
        bid ? 1000 + static_cast<std::int64_t>(rng() % 300) : 1200 + static_cast<std::int64_t>(rng() % 300);
    const std::int64_t size = rng() % 4 == 0 ? 0 : 1 + static_cast<std::int64_t>(rng() % 50);
    book.apply_level(bid ? BookSide::kBid : BookSide::kAsk, Decimal(price, -2), Decimal(size, 0));
    auto& side = bid ? bids : asks;
    if (size == 0) {
      side.erase(price);
    } else {
      side[price] = size;
    }
  }
  ASSERT_EQ(book.depth(BookSide::kBid), bids.size());
  ASSERT_EQ(book.depth(BookSide::kAsk), asks.size());
  std::size_t i = 0;
  for (auto it = bids.rbegin(); it != bids.rend(); ++it, ++i) {
    EXPECT_EQ(book.level(BookSide::kBid, i)->price, Decimal(it->first, -2));
    EXPECT_EQ(book.level(BookSide::kBid, i)->size, Decimal(it->second, 0));
  }
  i = 0;
  for (auto it = asks.begin(); it != asks.end(); ++it, ++i) {
    EXPECT_EQ(book.level(BookSide::kAsk, i)->price, Decimal(it->first, -2));
  }
}

}  // namespace
}  // namespace sigflow::strategies
