#pragma once
// The encodings' pre-split patterns, as tiktoken writes them and as PCRE2 must be given them.
//
// PCRE2 10.42 with PCRE2_UCP counts U+180E MONGOLIAN VOWEL SEPARATOR as \s; the Rust regex engine behind
// tiktoken follows Unicode's White_Space property, which dropped U+180E in Unicode 6.3. Left alone, every
// string with U+180E next to other white space splits differently (about one in nine of a random Unicode
// sample did). pcre2_pattern() therefore spells \s and \S out as the White_Space set.
#include <string>
#include <string_view>

#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies {

// Unicode White_Space, in PCRE2 class syntax (without the brackets).
inline constexpr std::string_view kWhiteSpaceClass =
    R"(\t-\r\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000})";

// pat_str of tiktoken_ext/openai_public.py (v0.14.0), verbatim.
std::string_view tiktoken_pattern(Encoding encoding);

// `pattern` with \s → [White_Space] and \S → [^White_Space] outside classes, \s → White_Space inside them.
std::string spell_out_white_space(std::string_view pattern);

// What the tokenizer compiles: spell_out_white_space(tiktoken_pattern(encoding)).
std::string pcre2_pattern(Encoding encoding);

}  // namespace sigflow::strategies
