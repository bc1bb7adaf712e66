// The Deribit capture (tests/fixtures/captures/DERIBIT.jsonl, cryptofeed's raw recording of a live session)
// through the decoder: every received frame decodes, and every book channel's change_id chain is unbroken
// from its snapshot on.
#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "io/venues/deribit/decoder.hpp"
#include "tests/venues/deribit_test_support.hpp"

namespace sigflow::io::deribit {
namespace {

using testing::decode_text;
using testing::read_file;
using testing::RecordingSink;

struct BookChain {
  std::uint64_t last = kNoUpdateId;
  int snapshots = 0;
  int changes = 0;
  int gaps = 0;
};

TEST(DeribitCapture, EveryFrameDecodesAndBooksChainWithoutGaps) {
  std::istringstream lines(read_file(sigflow::testing_support::fixtures_dir() + "/captures/DERIBIT.jsonl"));
  Decoder decoder;
  RecordingSink sink;
  std::map<std::string, BookChain> books;
  std::map<EventKind, int> kinds;
  int frames = 0;
  int sent = 0;
  std::string line;
  while (std::getline(lines, line)) {
    const auto record = nlohmann::json::parse(line);
    const std::string t = record.at("t");
    if (t != "recv" && t != "send") continue;
    const std::string data = record.at("data");
    sink.events.clear();
    ASSERT_TRUE(decode_text(decoder, data, sink)) << decoder.error_message() << "\n" << data;
    ASSERT_FALSE(sink.events.empty()) << data;
    if (t == "send") {
      ++sent;
      EXPECT_EQ(sink.events[0].event.kind, EventKind::kIgnored);  // the client's subscribe request
      continue;
    }
    ++frames;
    for (const auto& r : sink.events) {
      ++kinds[r.event.kind];
      EXPECT_EQ(r.event.recv_ns, 7);
      if (r.event.kind == EventKind::kBookSnapshot) {
        BookChain& chain = books[r.stream];
        ++chain.snapshots;
        chain.last = r.event.snapshot.last_update_id;
      } else if (r.event.kind == EventKind::kBookDelta) {
        BookChain& chain = books[r.stream];
        ++chain.changes;
        if (chain.last == kNoUpdateId || r.event.delta.prev_final_update_id != chain.last) ++chain.gaps;
        EXPECT_EQ(r.event.delta.first_update_id, r.event.delta.final_update_id);
        EXPECT_GT(r.event.delta.final_update_id, r.event.delta.prev_final_update_id);
        chain.last = r.event.delta.final_update_id;
      }
      if (r.event.kind != EventKind::kSubscribeAck && r.event.kind != EventKind::kIgnored) {
        EXPECT_FALSE(r.symbol.empty());
        EXPECT_GT(r.event.exchange_ts_ns, 1'600'000'000'000'000'000);
      }
    }
  }
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(frames, 136);
  // What the capture holds (feeds.md §5): 10 book snapshots, 36 changes, 89 tickers, 1 subscribe reply.
  EXPECT_EQ(kinds[EventKind::kBookSnapshot], 10);
  EXPECT_EQ(kinds[EventKind::kBookDelta], 36);
  EXPECT_EQ(kinds[EventKind::kMarkFunding], 89);
  EXPECT_EQ(kinds[EventKind::kBestBidAsk], 89);
  EXPECT_EQ(kinds[EventKind::kSubscribeAck], 1);
  EXPECT_EQ(books.size(), 10u);
  int changes = 0;
  for (const auto& [stream, chain] : books) {
    EXPECT_EQ(chain.snapshots, 1) << stream;
    EXPECT_EQ(chain.gaps, 0) << stream;
    changes += chain.changes;
  }
  EXPECT_EQ(changes, 36);
}

}  // namespace
}  // namespace sigflow::io::deribit
