#include "strategies/tokenizer/pre_split_pattern.hpp"

namespace sigflow::strategies {

std::string_view tiktoken_pattern(Encoding encoding) {
  switch (encoding) {
    case Encoding::kCl100kBase:
      return R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s)";
    case Encoding::kO200kBase:
      return R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
             R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
             R"(|\p{N}{1,3})"
             R"(| ?[^\s\p{L}\p{N}]+[\r\n/]*)"
             R"(|\s*[\r\n]+)"
             R"(|\s+(?!\S))"
             R"(|\s+)";
  }
  return {};
}

std::string spell_out_white_space(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char escaped = pattern[++i];
      if (escaped == 's') {
        if (in_class) {
          out += kWhiteSpaceClass;
        } else {
          out += '[';
          out += kWhiteSpaceClass;
          out += ']';
        }
      } else if (escaped == 'S' && !in_class) {
        out += "[^";
        out += kWhiteSpaceClass;
        out += ']';
      } else {
        // \S inside a class never occurs in these patterns; it is copied as is rather than guessed at.
        out += c;
        out += escaped;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' or '^]' right after '[' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

std::string pcre2_pattern(Encoding encoding) {
  return spell_out_white_space(tiktoken_pattern(encoding));
}

}  // namespace sigflow::strategies
