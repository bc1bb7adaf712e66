#pragma once
// Test support for the OKX tests: fixture frames byte for byte, padded as the FrameRing delivers them, and a
// sink that copies every event out of the decoder's buffers.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/venue_decoder.hpp"
#include "tests/venues/fixture_messages.hpp"

namespace sigflow::io::okx::testing {

inline std::string fixture(const std::string& name) {
  return io::testing::venue_fixture("okx", name);
}

using io::testing::messages;
using io::testing::read_file;

class PaddedFrame {
 public:
  explicit PaddedFrame(std::string_view bytes) : storage_(bytes), length_(bytes.size()) {
    storage_.append(engine::kFramePadding, '\0');
  }
  std::string_view padded() const { return {storage_.data(), length_}; }

 private:
  std::string storage_;
  std::size_t length_;
};

inline std::string text(Decimal d) {
  char buffer[Decimal::kMaxChars];
  char* end = d.format(buffer, buffer + sizeof buffer);
  return end ? std::string(buffer, end) : std::string("<unformattable>");
}

inline std::string text(const std::optional<Decimal>& d) {
  return d ? text(*d) : std::string("<none>");
}

// An event with everything it points at copied.
struct CopiedEvent {
  MarketEvent event;
  std::string symbol, stream, type_name, message, status;
  std::vector<PriceLevel> bids, asks;
};

class CollectingSink final : public EventSink {
 public:
  void on_event(const MarketEvent& e) noexcept override {
    CopiedEvent c;
    c.event = e;
    c.symbol = std::string(e.symbol);
    c.stream = std::string(e.stream);
    c.type_name = std::string(e.type_name);
    if (e.kind == EventKind::kVenueError) c.message = std::string(e.error.message);
    if (e.kind == EventKind::kLiquidation) c.status = std::string(e.liquidation.status);
    if (e.kind == EventKind::kBookSnapshot) {
      c.bids.assign(e.snapshot.bids.begin(), e.snapshot.bids.end());
      c.asks.assign(e.snapshot.asks.begin(), e.snapshot.asks.end());
    } else if (e.kind == EventKind::kBookDelta) {
      c.bids.assign(e.delta.bids.begin(), e.delta.bids.end());
      c.asks.assign(e.delta.asks.begin(), e.delta.asks.end());
    }
    events.push_back(std::move(c));
  }
  std::vector<CopiedEvent> events;
};

// Decodes one frame, padded; the events land in `sink`.
inline bool decode(VenueDecoder& decoder, std::string_view bytes, CollectingSink& sink,
                   std::int64_t recv_ns = 42) {
  const PaddedFrame frame(bytes);
  return decoder.decode(frame.padded(), recv_ns, {}, sink);
}

}  // namespace sigflow::io::okx::testing
