#include "strategies/tokenizer/ascii_pre_split.hpp"

#include <array>

namespace sigflow::strategies::detail {
namespace {

enum Kind : unsigned char { kUpper, kLower, kDigit, kBlank, kNewline, kOther, kEnd, kUnknown };

// kBlank is White_Space other than \r and \n: both patterns treat \r\n apart ([\r\n] and the letter prefix
// [^\r\n\p{L}\p{N}]), the rest of the space class alike.
constexpr std::array<Kind, 128> kKinds = [] {
  std::array<Kind, 128> kinds{};
  for (int c = 0; c < 128; ++c) {
    if (c >= 'A' && c <= 'Z') {
      kinds[c] = kUpper;
    } else if (c >= 'a' && c <= 'z') {
      kinds[c] = kLower;
    } else if (c >= '0' && c <= '9') {
      kinds[c] = kDigit;
    } else if (c == '\r' || c == '\n') {
      kinds[c] = kNewline;
    } else if (c == '\t' || c == '\v' || c == '\f' || c == ' ') {
      kinds[c] = kBlank;
    } else {
      kinds[c] = kOther;
    }
  }
  return kinds;
}();

bool is_letter(Kind k) {
  return k == kUpper || k == kLower;
}
bool is_space(Kind k) {
  return k == kBlank || k == kNewline;
}
char lower(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

class Scanner {
 public:
  Scanner(const unsigned char* text, std::size_t ascii_end, std::size_t size)
      : p_(text), ascii_end_(ascii_end), n_(size) {}

  // The byte's class; a byte past ascii_end makes the whole answer kNeedsRegex.
  Kind kind(std::size_t i) {
    if (i >= n_) return kEnd;
    if (i >= ascii_end_) {
      unknown_ = true;
      return kUnknown;
    }
    return kKinds[p_[i]];
  }

  // End of the run from i of bytes satisfying `in`. The byte that stops it is inspected (so a non-ASCII one
  // that the Unicode class might have continued the run with makes the answer kNeedsRegex).
  template <typename In>
  std::size_t run(std::size_t i, In in) {
    while (in(kind(i))) ++i;
    return i;
  }

  // A run of [\r\n] (cl100k) or [\r\n/] (o200k): no non-ASCII byte could extend it, so none is inspected.
  std::size_t newline_run(std::size_t i, bool slash) {
    while (i < n_ && i < ascii_end_ && (p_[i] == '\r' || p_[i] == '\n' || (slash && p_[i] == '/'))) ++i;
    return i;
  }

  // o200k's optional (?i:'s|'t|'re|'ve|'m|'ll|'d) after a letter run ending at i.
  std::size_t contraction(std::size_t i) {
    if (i >= n_ || i >= ascii_end_ || p_[i] != '\'') return i;
    const Kind k1 = kind(i + 1);
    if (!is_letter(k1)) return i;
    const char c1 = lower(p_[i + 1]);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 2;
    if (c1 != 'r' && c1 != 'v' && c1 != 'l') return i;
    if (!is_letter(kind(i + 2))) return i;
    const char c2 = lower(p_[i + 2]);
    return (c1 == 'l' ? c2 == 'l' : c2 == 'e') ? i + 3 : i;
  }

  // Up to three digits: \p{N}{1,3}.
  std::size_t digits(std::size_t i) {
    std::size_t end = i + 1;
    while (end < i + 3 && kind(end) == kDigit) ++end;
    return end;
  }

  // White space from i (kind(i) is blank or newline): the end of the run and of its last newline.
  struct SpaceRun {
    std::size_t end;
    std::size_t after_last_newline;  // 0: no newline in the run
  };
  SpaceRun space_run(std::size_t i) {
    SpaceRun r{i, 0};
    for (Kind k; is_space(k = kind(r.end)); ++r.end) {
      if (k == kNewline) r.after_last_newline = r.end + 1;
    }
    return r;
  }

  // '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|
  // \s+(?!\S)|\s
  std::size_t cl100k(std::size_t i) {
    const Kind c0 = kind(i);
    if (p_[i] == '\'' && is_letter(kind(i + 1))) {
      const char c1 = lower(p_[i + 1]);
      if (c1 == 's' || c1 == 'd' || c1 == 'm' || c1 == 't') return i + 2;
      if ((c1 == 'l' || c1 == 'v' || c1 == 'r') && is_letter(kind(i + 2))) {
        const char c2 = lower(p_[i + 2]);
        if (c1 == 'l' ? c2 == 'l' : c2 == 'e') return i + 3;
      }
    }
    if (is_letter(c0)) return run(i, is_letter);
    if ((c0 == kBlank || c0 == kOther) && is_letter(kind(i + 1))) return run(i + 1, is_letter);
    if (c0 == kDigit) return digits(i);
    const std::size_t j = (p_[i] == ' ' && kind(i + 1) == kOther) ? i + 1 : i;
    if (kind(j) == kOther) return newline_run(run(j, [](Kind k) { return k == kOther; }), false);

    const SpaceRun r = space_run(i);
    if (r.end == n_) return r.end;                               // \s++$
    if (r.after_last_newline != 0) return r.after_last_newline;  // \s*[\r\n]
    if (r.end - i >= 2) return r.end - 1;  // \s+(?!\S): leave one space for the next word
    return i + 1;                          // \s
  }

  // [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
  // [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
  // \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
  std::size_t o200k(std::size_t i) {
    const Kind c0 = kind(i);
    const std::size_t j = (c0 == kBlank || c0 == kOther) ? i + 1 : i;
    if (is_letter(kind(j))) {
      // Upper case then lower case: a run of capitals followed by no lower-case letter is the second
      // alternative; giving capitals back can never make room for a lower-case one, so there is no other
      // case.
      const std::size_t upper_end = run(j, [](Kind k) { return k == kUpper; });
      const std::size_t lower_end = run(upper_end, [](Kind k) { return k == kLower; });
      return contraction(lower_end);
    }
    if (c0 == kDigit) return digits(i);
    const std::size_t k = (p_[i] == ' ' && kind(i + 1) == kOther) ? i + 1 : i;
    if (kind(k) == kOther) return newline_run(run(k, [](Kind x) { return x == kOther; }), true);

    const SpaceRun r = space_run(i);
    if (r.after_last_newline != 0) return r.after_last_newline;  // \s*[\r\n]+
    if (r.end == n_) return r.end;                               // \s+(?!\S) at the end
    if (r.end - i >= 2) return r.end - 1;                        // \s+(?!\S)
    return r.end;                                                // \s+ (one character)
  }

  bool unknown() const { return unknown_; }

 private:
  const unsigned char* p_;
  std::size_t ascii_end_;
  std::size_t n_;
  bool unknown_ = false;
};

}  // namespace

std::size_t piece_end(Encoding encoding, const unsigned char* text, std::size_t at, std::size_t ascii_end,
                      std::size_t size) {
  Scanner scanner(text, ascii_end, size);
  const std::size_t end = encoding == Encoding::kCl100kBase ? scanner.cl100k(at) : scanner.o200k(at);
  return scanner.unknown() ? kNeedsRegex : end;
}

}  // namespace sigflow::strategies::detail
