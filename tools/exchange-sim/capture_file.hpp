#pragma once
// Reading cryptofeed raw captures (tests/fixtures/captures/README.md): one JSON object per line; `recv`
// records hold a received frame verbatim in `data` and its receive time in `ts` (unix seconds, a string or a
// number). The simulator replays those frames; every other record kind is skipped.
#include <string>
#include <vector>

#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

struct Capture {
  std::vector<RecordedFrame> frames;  // in file order
  std::size_t skipped = 0;            // recv records the venue could not attribute to a topic
};

// Throws std::runtime_error naming the file and line on unreadable files or malformed records.
Capture load_capture(const std::string& path, const Venue& venue);

}  // namespace sigflow::tools
