#pragma once
// Deribit writes prices and sizes as JSON numbers (`92288.5`, `60000.0`, `1e-05`), not strings. Parsing them
// through double would lose the venue's exact text and merge levels it keeps apart, so the decoder reads the
// number token's own characters and turns them into a Decimal exactly:
//   "60000.0" → 600000e-1 (the trailing zero is kept: the text formats back identically),
//   "1e-05"   → 1e-5 (formats as "0.00001": the exponent form itself cannot be echoed, the value is exact),
//   "2.5E+3"  → 25e2 (formats as "2500").
// Rejected, never rounded: anything outside the JSON number grammar, mantissas beyond int64 (about 19
// significant digits), more than Decimal::kMaxScale fraction digits after applying the exponent, and
// positive exponents that leave more than kMaxPositiveExponent trailing zeros.
#include <optional>
#include <string_view>

#include "io/venues/decimal.hpp"

namespace sigflow::io::deribit {

// A positive power of ten beyond this is no price or size a venue sends; bounding it keeps format()'s output
// within Decimal::kMaxChars.
inline constexpr int kMaxPositiveExponent = 18;

// `token` is one JSON number exactly as written (no surrounding whitespace).
std::optional<Decimal> parse_json_number(std::string_view token) noexcept;

}  // namespace sigflow::io::deribit
