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

namespace sigflow::io::bybit::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string fixture(const std::string& name) {
  return read_file(std::string(SIGFLOW_FIXTURES) + "/bybit/" + name);
}

// A fixture file is one message or a JSON array of consecutive messages; the array is split on its
// top-level elements rather than re-serialised, so key order and number spelling reach the decoder intact.
inline std::vector<std::string> messages(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \r\n\t");
  if (first == std::string::npos || text[first] != '[') return {text};
  std::vector<std::string> out;
  int depth = 0;
  bool in_string = false;
  std::size_t start = 0;
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
