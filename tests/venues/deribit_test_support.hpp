#pragma once
// Shared by the Deribit venue tests: fixture loading and a sink that copies each event out of the decoder
// (events only live during the sink call: their levels and texts point into the decoder).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/deribit/decoder.hpp"
#include "tests/venues/fixture_messages.hpp"

namespace sigflow::io::deribit::testing {

inline std::string fixture(const std::string& name) {
  return io::testing::venue_fixture("deribit", name);
}

using io::testing::messages;
using io::testing::read_file;

// One event, copied.
struct Recorded {
  MarketEvent event;                            // views in it are cleared; the copies below replace them
  std::string symbol, stream, type_name, text;  // text: error message or liquidation status
  std::vector<PriceLevel> bids, asks;
};

class RecordingSink final : public EventSink {
 public:
  void on_event(const MarketEvent& e) noexcept override {
    Recorded r;
    r.event = e;
    r.symbol = std::string(e.symbol);
    r.stream = std::string(e.stream);
    r.type_name = std::string(e.type_name);
    if (e.kind == EventKind::kBookSnapshot) {
      r.bids.assign(e.snapshot.bids.begin(), e.snapshot.bids.end());
      r.asks.assign(e.snapshot.asks.begin(), e.snapshot.asks.end());
    } else if (e.kind == EventKind::kBookDelta) {
      r.bids.assign(e.delta.bids.begin(), e.delta.bids.end());
      r.asks.assign(e.delta.asks.begin(), e.delta.asks.end());
    } else if (e.kind == EventKind::kVenueError) {
      r.text = std::string(e.error.message);
    } else if (e.kind == EventKind::kLiquidation) {
      r.text = std::string(e.liquidation.status);
    }
    r.event.symbol = r.event.stream = r.event.type_name = {};
    r.event.snapshot.bids = r.event.snapshot.asks = {};
    r.event.delta.bids = r.event.delta.asks = {};
    r.event.error.message = r.event.liquidation.status = {};
    events.push_back(std::move(r));
  }
  std::vector<Recorded> events;
};

// Decodes `text` as the FrameRing delivers it: followed by kFramePadding readable bytes.
inline bool decode_text(Decoder& decoder, const std::string& text, RecordingSink& sink,
                        std::int64_t recv_ns = 7) {
  std::string padded = text;
  padded.append(engine::kFramePadding, '\0');
  return decoder.decode(std::string_view(padded.data(), text.size()), recv_ns, "", sink);
}

inline Decimal dec(std::string_view text) {
  const auto d = Decimal::parse(text);
  EXPECT_TRUE(d.has_value()) << text;
  return d.value_or(Decimal());
}

// Exact text equality: "5.0" must stay "5.0", not merely equal 5.
inline ::testing::AssertionResult identical(Decimal actual, std::string_view expected) {
  const Decimal e = dec(expected);
  if (actual.identical(e)) return ::testing::AssertionSuccess();
  char buf[Decimal::kMaxChars];
  const char* end = actual.format(buf, buf + sizeof buf);
  return ::testing::AssertionFailure()
         << "got " << std::string_view(buf, static_cast<std::size_t>(end - buf)) << ", expected " << expected;
}

}  // namespace sigflow::io::deribit::testing
