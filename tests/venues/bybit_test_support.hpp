#pragma once
// Shared by the Bybit venue tests: fixture loading (messages passed to the decoder byte for byte, as the
// venue sent them) and a sink that keeps copies of the events, since a decoded event's views live only
// until the decoder's next call.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/bybit/decoder.hpp"
#include "tests/venues/fixture_messages.hpp"

namespace sigflow::io::bybit::testing {

inline std::string fixture(const std::string& name) {
  return io::testing::venue_fixture("bybit", name);
}

using io::testing::messages;
using io::testing::read_file;

struct Copied {
  MarketEvent event;  // views inside are not to be used after the decode; the copies below are
  std::string symbol, stream, type_name, message;
  std::vector<PriceLevel> bids, asks;
};

class CollectingSink final : public EventSink {
 public:
  void on_event(const MarketEvent& e) noexcept override {
    Copied c;
    c.event = e;
    c.symbol = std::string(e.symbol);
    c.stream = std::string(e.stream);
    c.type_name = std::string(e.type_name);
    if (e.kind == EventKind::kVenueError) c.message = std::string(e.error.message);
    if (e.kind == EventKind::kBookSnapshot) {
      c.bids.assign(e.snapshot.bids.begin(), e.snapshot.bids.end());
      c.asks.assign(e.snapshot.asks.begin(), e.snapshot.asks.end());
    } else if (e.kind == EventKind::kBookDelta) {
      c.bids.assign(e.delta.bids.begin(), e.delta.bids.end());
      c.asks.assign(e.delta.asks.begin(), e.delta.asks.end());
    }
    events.push_back(std::move(c));
  }
  std::vector<Copied> events;
};

// Decodes `text` as the FrameRing hands it over: followed by kFramePadding readable bytes.
inline bool decode(Decoder& decoder, const std::string& text, CollectingSink& sink,
                   std::int64_t recv_ns = 7) {
  std::string padded = text;
  padded.append(engine::kFramePadding, '\0');
  return decoder.decode(std::string_view(padded.data(), text.size()), recv_ns, {}, sink);
}

inline Decimal dec(std::string_view text) {
  return *Decimal::parse(text);
}

}  // namespace sigflow::io::bybit::testing
