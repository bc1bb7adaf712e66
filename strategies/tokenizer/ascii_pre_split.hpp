#pragma once
// The pre-split patterns evaluated by hand on ASCII, for speed: prompt text is ASCII, and its pieces average
// two bytes, so a pcre2_jit_match call per piece costs more than the merge.
//
// piece_end() walks the pattern's alternatives in order with the same greedy, possessive and lookahead
// behaviour, restricted to ASCII, where the Unicode classes reduce to:
//   \p{L} = [A-Za-z] (\p{Lu} = [A-Z], \p{Ll} = [a-z], no Lt/Lm/Lo/M), \p{N} = [0-9],
//   White_Space = [\t\n\v\f\r ].
// Every byte it inspects must lie before `ascii_end` (the next non-ASCII byte) or be the end of the text.
// When a decision would depend on a byte at or past ascii_end (a letter run reaching 'é', a space run
// reaching U+3000, a contraction with U+017F) it returns kNeedsRegex and the caller asks PCRE2 for that one
// piece. The differential test against tiktoken and a test forcing PCRE2 on every piece hold the two to the
// same pieces.
#include <cstddef>

#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies::detail {

inline constexpr std::size_t kNeedsRegex = static_cast<std::size_t>(-1);

// End of the piece that starts at `at` (< ascii_end <= size), or kNeedsRegex.
std::size_t piece_end(Encoding encoding, const unsigned char* text, std::size_t at, std::size_t ascii_end,
                      std::size_t size);

}  // namespace sigflow::strategies::detail
