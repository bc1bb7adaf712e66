#pragma once
// The simdjson parser every venue decoder keeps. simdjson grows its buffers to the largest document it has
// seen: reserving 1 MiB at construction keeps every ordinary frame (a few KiB; a 1000-level snapshot is
// ~50 KB) from allocating on the strategy thread. Its ceiling is the largest frame a feed can be configured
// to accept, so a frame the WebSocket took is never refused for its size by the parser (a 100 ms trade
// batch in a liquidation cascade can pass 1 MiB); such a frame grows the parser once.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>

#include "engine/frame_ring.hpp"

namespace sigflow::io {

static_assert(engine::kFramePadding >= simdjson::SIMDJSON_PADDING,
              "FrameRing padding must cover simdjson's padding contract: frames are parsed in place");

inline constexpr std::size_t kReservedParserBytes = std::size_t{1} << 20;

inline simdjson::ondemand::parser make_frame_parser(std::size_t max_document_bytes = engine::kMaxFrameBytes) {
  simdjson::ondemand::parser parser(std::max(max_document_bytes, kReservedParserBytes));
  // Not fatal when it fails: the parser tries again when the first document arrives.
  [[maybe_unused]] const simdjson::error_code reserved = parser.allocate(kReservedParserBytes);
  return parser;
}

}  // namespace sigflow::io
