#pragma once
// SnapshotLine: one instrument's state as one compact, stable line of prompt text.
//
//   BTCUSDT@binance-usdm mid=67234.5 spr=0.74 mpo=+0.12 imb=+0.31/+0.12/-0.05 r1s=+1.2 r10s=-3.4 vol10s=12.5
//   tbr=0.62 fund=+1 mark=-0.8 age=35\n                                           (one line; wrapped here)
//
// The line starts with the pair id (SYMBOL@VENUE), which is also the name the reply must use. Absent values
// (NaN) are left out rather than written as a placeholder: fewer tokens, nothing for the model to misread.
// The same features always give the same bytes (std::to_chars, fixed decimals, trailing zeros trimmed).
//
// Token additivity: every line starts with an ASCII letter or digit and ends with exactly one '\n'. Under
// both encodings' pre-split patterns a piece that contains a '\n' extends past it only over further white
// space (and, in o200k, '/'), and no piece that starts before a '\n' can take a letter or digit after it, so
// the pieces of "line1\nline2\n" are those of "line1\n" followed by those of "line2\n". A user message made
// of such lines therefore costs exactly the sum of its lines' tokens (tests/strategies/prompt_test.cpp checks
// this on generated lines and on adversarial ones).
#include <cstddef>
#include <span>
#include <string_view>

#include "strategies/features.hpp"

namespace sigflow::strategies {

inline constexpr std::size_t kMaxSnapshotLine = 512;
inline constexpr std::size_t kMaxPairId = 96;

enum class SnapshotLineError : unsigned char {
  kNone,
  kBadIdentifier,  // empty or over-long venue or symbol, a character outside [A-Za-z0-9._-], or not
                   // starting and ending with a letter or digit
  kTooLong,        // does not fit the output buffer
};

struct SnapshotLineResult {
  std::size_t size = 0;       // bytes written, including the final '\n'
  std::size_t pair_size = 0;  // the pair id is the first pair_size bytes
  SnapshotLineError error = SnapshotLineError::kNone;

  bool ok() const { return error == SnapshotLineError::kNone; }
};

// Writes the line for `features` to `out` (no allocation). On error writes nothing usable.
SnapshotLineResult write_snapshot_line(const InstrumentFeatures& features, std::span<char> out);

// The field legend the system message gives the model.
std::string_view snapshot_line_legend();

}  // namespace sigflow::strategies
