// The real Bybit session of tests/fixtures/captures/BYBIT.jsonl (a linear and a spot connection, books 200,
// tickers, trades, klines, acks) through the decoder: every received frame decodes without error, and on
// every connection and book topic the update ids chain with zero gaps — the evidence that Bybit's `u`
// advances by one per frame and topic and that the decoder's first/final/prev mapping expresses it.
#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

#include <iostream>

#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "tests/venues/bybit_test_support.hpp"

namespace sigflow::io::bybit {
namespace {

struct ChainSink final : public EventSink {
  struct Chain {
    bool synced = false;
    std::uint64_t at = 0;
  };
  void on_event(const MarketEvent& e) noexcept override {
    ++events;
    ++by_kind[e.kind];
    const auto key = std::make_pair(connection, std::string(e.stream));
    if (e.kind == EventKind::kBookSnapshot) {
      ++snapshots;
      chains[key] = Chain{true, e.snapshot.last_update_id};
    } else if (e.kind == EventKind::kBookDelta) {
      ++deltas;
      Chain& c = chains[key];
      if (!c.synced || e.delta.prev_final_update_id != c.at || e.delta.first_update_id != c.at + 1) ++gaps;
      c.at = e.delta.final_update_id;
      c.synced = true;
    }
  }
  std::string connection;
  std::map<std::pair<std::string, std::string>, Chain> chains;
  std::map<EventKind, std::size_t> by_kind;
  std::size_t events = 0, snapshots = 0, deltas = 0, gaps = 0;
};

TEST(BybitCapture, EveryFrameDecodesAndBookChainsHaveNoGaps) {
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/captures/BYBIT.jsonl");
  ASSERT_TRUE(in);
  Decoder decoder;
  ChainSink sink;
  std::size_t frames = 0, errors = 0, silent_frames = 0;
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line);
    if (record["t"] != "recv") continue;
    ++frames;
    sink.connection = record["conn"].get<std::string>();
    const std::string data = record["data"].get<std::string>();
    std::string padded = data;
    padded.append(engine::kFramePadding, '\0');
    const std::size_t before = sink.events;
    if (!decoder.decode(std::string_view(padded.data(), data.size()), 1, {}, sink)) {
      ++errors;
      ADD_FAILURE() << "frame " << frames << ": " << decoder.error_message() << "\n" << data.substr(0, 200);
    }
    if (sink.events == before) ++silent_frames;
  }
  EXPECT_EQ(frames, 3227u);
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(silent_frames, 0u);   // every frame yields at least one event, if only kIgnored
  EXPECT_EQ(sink.snapshots, 6u);  // 4 linear + 2 spot books
  EXPECT_EQ(sink.deltas, 2142u);
  EXPECT_EQ(sink.gaps, 0u);
  EXPECT_EQ(sink.chains.size(), 6u);  // the same topic names on both connections are separate chains
  EXPECT_EQ(sink.by_kind[EventKind::kSubscribeAck], 24u);
  EXPECT_GE(sink.by_kind[EventKind::kTrade], 120u);  // 120 publicTrade frames, at least one trade each
  EXPECT_GT(sink.by_kind[EventKind::kMarkFunding], 0u);
  EXPECT_GT(sink.by_kind[EventKind::kBestBidAsk], 0u);
  EXPECT_EQ(sink.by_kind[EventKind::kVenueError], 0u);
  std::cout << "[ capture  ] " << frames << " frames, " << sink.events << " events, " << sink.snapshots
            << " snapshots, " << sink.deltas << " deltas, " << sink.gaps << " gaps, "
            << sink.by_kind[EventKind::kTrade] << " trades\n";
}

}  // namespace
}  // namespace sigflow::io::bybit
