// The OKX book checksum against the venue's own: the 2022 UNI-USD-SWAP capture (a 400-level snapshot and
// the 20 updates that followed it, each with the CRC32 OKX computed) replayed through the decoder into a
// small test-side book. Every computed checksum must equal the frame's.
#include "io/venues/okx/checksum.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "io/venues/okx/decoder.hpp"
#include "tests/venues/okx_fixtures.hpp"

namespace sigflow::io::okx {
namespace {

using testing::CollectingSink;
using testing::fixture;
using testing::messages;

// Levels keyed by exact price; the first entry of each map is the best level.
struct TestBook {
  std::map<Decimal, Decimal, std::greater<>> bids;
  std::map<Decimal, Decimal> asks;

  void apply(std::span<const PriceLevel> bid_levels, std::span<const PriceLevel> ask_levels) {
    for (const PriceLevel& l : bid_levels) set(bids, l);
    for (const PriceLevel& l : ask_levels) set(asks, l);
  }

  template <class Map>
  static void set(Map& side, const PriceLevel& l) {
    if (l.size.is_zero()) {
      side.erase(l.price);
    } else {
      // Replace the key as well: the venue's latest text of the price is what the checksum hashes.
      side.erase(l.price);
      side.emplace(l.price, l.size);
    }
  }

  std::int32_t checksum() const {
    std::vector<PriceLevel> b, a;
    for (const auto& [p, s] : bids) b.push_back({p, s});
    for (const auto& [p, s] : asks) a.push_back({p, s});
    return book_checksum(b, a);
  }
};

TEST(OkxChecksum, EveryFrameOfTheCaptureMatches) {
  Decoder decoder;
  CollectingSink sink;
  TestBook book;
  ASSERT_TRUE(testing::decode(decoder, fixture("books_snapshot_UNI-USD-SWAP.json"), sink))
      << decoder.error_message();
  ASSERT_EQ(sink.events.size(), 1u);
  const auto& snapshot = sink.events[0];
  ASSERT_EQ(snapshot.event.kind, EventKind::kBookSnapshot);
  book.apply(snapshot.bids, snapshot.asks);
  ASSERT_TRUE(snapshot.event.snapshot.checksum.has_value());
  EXPECT_EQ(book.checksum(), *snapshot.event.snapshot.checksum);
  // The snapshot's own levels, best first as sent, give the same value without any book.
  EXPECT_EQ(book_checksum(snapshot.bids, snapshot.asks), *snapshot.event.snapshot.checksum);

  std::size_t matched = 1;
  const auto updates = messages(fixture("books_update_sequence_UNI-USD-SWAP.json"));
  ASSERT_EQ(updates.size(), 20u);
  for (const auto& frame : updates) {
    sink.events.clear();
    ASSERT_TRUE(testing::decode(decoder, frame, sink)) << decoder.error_message();
    ASSERT_EQ(sink.events.size(), 1u);
    const auto& delta = sink.events[0];
    ASSERT_EQ(delta.event.kind, EventKind::kBookDelta);
    book.apply(delta.bids, delta.asks);
    ASSERT_TRUE(delta.event.delta.checksum.has_value());
    EXPECT_EQ(book.checksum(), *delta.event.delta.checksum) << frame;
    if (book.checksum() == *delta.event.delta.checksum) ++matched;
  }
  EXPECT_EQ(matched, 21u);
}

TEST(OkxChecksum, DetectsAWrongBook) {
  Decoder decoder;
  CollectingSink sink;
  ASSERT_TRUE(testing::decode(decoder, fixture("books_snapshot_UNI-USD-SWAP.json"), sink));
  TestBook book;
  book.apply(sink.events[0].bids, sink.events[0].asks);
  const std::int32_t expected = *sink.events[0].event.snapshot.checksum;
  // One size changed in the top 25, and the same number written differently ("60" vs "60.0"): both differ.
  auto changed = book;
  changed.asks.begin()->second = *Decimal::parse("61");
  EXPECT_NE(changed.checksum(), expected);
  auto rewritten = book;
  rewritten.asks.begin()->second = *Decimal::parse("60.0");
  EXPECT_NE(rewritten.checksum(), expected);
  // A change below level 25 does not enter the checksum.
  auto deep = book;
  std::next(deep.asks.begin(), 30)->second = *Decimal::parse("1");
  EXPECT_EQ(deep.checksum(), expected);
}

TEST(OkxChecksum, OneSidedAndEmptyBooks) {
  // The string for bids only is "bidPx:bidSz:..."; CRC32("") is 0.
  EXPECT_EQ(book_checksum({}, {}), 0);
  const PriceLevel bid{*Decimal::parse("3366.1"), *Decimal::parse("7")};
  const PriceLevel ask{*Decimal::parse("3366.8"), *Decimal::parse("9")};
  // zlib: crc32(b"3366.1:7:3366.8:9") = 0x854D0FA6 (computed with Python's zlib.crc32 as a cross-check).
  const std::vector<PriceLevel> bids{bid}, asks{ask};
  EXPECT_EQ(static_cast<std::uint32_t>(book_checksum(bids, asks)), 0x854D0FA6u);
}

}  // namespace
}  // namespace sigflow::io::okx
