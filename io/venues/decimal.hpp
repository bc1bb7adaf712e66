#pragma once
// Decimal: an exact decimal number as a venue writes it ("7.6110", "0.00000638", "-0.00012").
//
// Venues send prices and sizes as strings precisely so that nobody rounds them through binary floating
// point. A book keyed by double would merge or split levels that the venue keeps apart and could not echo
// the venue's own text back (the replay summary and the decode tool print prices "as the exchange wrote
// them"). So a price is kept as an int64 mantissa and a base-10 exponent, parsed straight from the string,
// and formatted back to the identical string: "7.6110" stays mantissa 76110, exponent -4, and is never
// normalised to "7.611". Comparison is numeric and exact across exponents ("7.6" == "7.60"), which is what
// a book needs when a venue changes its tick precision. Conversion to double exists for features only.
//
// The one text that does not round-trip is a negative zero ("-0.000" formats as "0.000"): an int64 has no
// negative zero, and the value is the same number.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace sigflow::io {

class Decimal {
 public:
  // The longest text format() writes: sign, 19 digits, a point, and up to kMaxScale leading zeros.
  static constexpr int kMaxScale = 30;
  static constexpr std::size_t kMaxChars = 1 + 19 + 1 + kMaxScale + 1;

  constexpr Decimal() = default;
  constexpr Decimal(std::int64_t mantissa, int exponent) noexcept
      : mantissa_(mantissa), exponent_(static_cast<std::int8_t>(exponent)) {}

  // Parses [-]digits[.digits]. Rejects empty text, a sign without digits, '+', exponents, a leading or
  // trailing point, leading zeros in the integer part ("007", which could not be written back), more than
  // kMaxScale fraction digits, and mantissas beyond int64.
  static constexpr std::optional<Decimal> parse(std::string_view text) noexcept {
    const char* p = text.data();
    const char* const end = p + text.size();
    bool negative = false;
    if (p != end && *p == '-') {
      negative = true;
      ++p;
    }
    if (p == end || !is_digit(*p)) return std::nullopt;
    if (*p == '0' && p + 1 != end && is_digit(p[1])) return std::nullopt;
    // Accumulate as a negative number so that INT64_MIN's magnitude fits.
    constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::min();
    std::int64_t acc = 0;
    int scale = 0;
    bool in_fraction = false;
    for (; p != end; ++p) {
      const char c = *p;
      if (c == '.') {
        if (in_fraction || p + 1 == end) return std::nullopt;
        in_fraction = true;
        continue;
      }
      if (!is_digit(c)) return std::nullopt;
      const int digit = c - '0';
      if (acc < (kLimit + digit) / 10) return std::nullopt;
      acc = acc * 10 - digit;
      if (in_fraction && ++scale > kMaxScale) return std::nullopt;
    }
    if (!negative) {
      if (acc == kLimit) return std::nullopt;
      acc = -acc;
    }
    return Decimal(acc, -scale);
  }

  constexpr std::int64_t mantissa() const noexcept { return mantissa_; }
  constexpr int exponent() const noexcept { return exponent_; }
  constexpr bool is_zero() const noexcept { return mantissa_ == 0; }
  constexpr bool is_negative() const noexcept { return mantissa_ < 0; }

  // Writes the text form into [first, last) and returns one past its end, or nullptr if it does not fit
  // (kMaxChars always fits).
  char* format(char* first, char* last) const noexcept;

  // Nearest double (correctly rounded while |mantissa| < 2^53 and the exponent is within ±22).
  double to_double() const noexcept;

  // True when both the value and the written form are the same ("7.60" is not identical to "7.6").
  constexpr bool identical(Decimal other) const noexcept {
    return mantissa_ == other.mantissa_ && exponent_ == other.exponent_;
  }

  friend constexpr std::strong_ordering operator<=>(Decimal a, Decimal b) noexcept {
    if (a.exponent_ == b.exponent_) return a.mantissa_ <=> b.mantissa_;
    // Bring the operand with the larger exponent down to the smaller one. |mantissa| < 10^19, so a
    // non-zero value scaled by 10^19 or more outweighs any mantissa: only its sign matters then.
    const bool a_scaled = a.exponent_ > b.exponent_;
    const Decimal big = a_scaled ? a : b;
    const Decimal small = a_scaled ? b : a;
    const int shift = big.exponent_ - small.exponent_;
    std::strong_ordering big_vs_small = std::strong_ordering::equal;
    if (shift >= 19 && big.mantissa_ != 0) {
      big_vs_small = big.mantissa_ > 0 ? std::strong_ordering::greater : std::strong_ordering::less;
    } else {
      __int128 scaled = big.mantissa_;
      for (int i = 0; i < shift; ++i) scaled *= 10;
      big_vs_small = scaled <=> static_cast<__int128>(small.mantissa_);
    }
    if (a_scaled) return big_vs_small;
    return 0 <=> big_vs_small;
  }
  friend constexpr bool operator==(Decimal a, Decimal b) noexcept { return (a <=> b) == 0; }

 private:
  static constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

  std::int64_t mantissa_ = 0;
  std::int8_t exponent_ = 0;
};

}  // namespace sigflow::io
