#pragma once
// Test support for the OKX tests: fixture frames byte for byte, padded as the FrameRing delivers them, and a
// sink that copies every event out of the decoder's buffers.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/frame_ring.hpp"
#include "io/venues/venue_decoder.hpp"

namespace sigflow::io::okx::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string fixture(const std::string& name) {
  return read_file(std::string(SIGFLOW_FIXTURES) + "/okx/" + name);
}

// A fixture file is one message or a JSON array of consecutive messages. The messages' bytes must reach the
// decoder verbatim (key order included), so the array is split on its top-level brackets rather than
// re-serialised.
inline std::vector<std::string> messages(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \r\n\t");
  if (first == std::string::npos || text[first] != '[') return {text};
  std::vector<std::string> out;
  int depth = 0;
  bool in_string = false;
  std::size_t start = std::string::npos;
  for (std::size_t i = first + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 0) start = i;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;
      if (--depth == 0) out.push_back(text.substr(start, i - start + 1));
    }
  }
  return out;
}

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
