#include "io/venues/deribit/json_number.hpp"

#include <cstdint>
#include <limits>

namespace sigflow::io::deribit {
namespace {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Decimal> parse_json_number(std::string_view token) noexcept {
  const char* p = token.data();
  const char* const end = p + token.size();
  bool negative = false;
  if (p != end && *p == '-') {
    negative = true;
    ++p;
  }
  // JSON: int = "0" | [1-9][0-9]*; frac = "." [0-9]+; exp = [eE] [+-]? [0-9]+.
  if (p == end || !is_digit(*p)) return std::nullopt;
  if (*p == '0' && p + 1 != end && is_digit(p[1])) return std::nullopt;
  // Accumulate negatively so that INT64_MIN's magnitude fits, as Decimal::parse does.
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::min();
  std::int64_t acc = 0;
  int exponent = 0;
  auto push_digit = [&acc](char c) noexcept {
    const int digit = c - '0';
    if (acc < (kLimit + digit) / 10) return false;
    acc = acc * 10 - digit;
    return true;
  };
  for (; p != end && is_digit(*p); ++p)
    if (!push_digit(*p)) return std::nullopt;
  if (p != end && *p == '.') {
    ++p;
    if (p == end || !is_digit(*p)) return std::nullopt;
    for (; p != end && is_digit(*p); ++p) {
      if (!push_digit(*p)) return std::nullopt;
      --exponent;
    }
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exponent_negative = false;
    if (p != end && (*p == '+' || *p == '-')) exponent_negative = *p++ == '-';
    if (p == end || !is_digit(*p)) return std::nullopt;
    int written = 0;
    for (; p != end && is_digit(*p); ++p) {
      written = written * 10 + (*p - '0');
      if (written > 1000) return std::nullopt;  // far beyond any representable scale: stop before overflow
    }
    exponent += exponent_negative ? -written : written;
  }
  if (p != end) return std::nullopt;
  // A positive exponent is folded into the mantissa while it fits ("2.5E+3" → 2500), so that the common
  // forms keep exponent ≤ 0 like the decimal strings of the other venues.
  while (exponent > 0 && acc != 0 && acc >= kLimit / 10) {
    acc *= 10;
    --exponent;
  }
  if (acc == 0 && exponent > 0) exponent = 0;
  if (exponent > kMaxPositiveExponent || exponent < -Decimal::kMaxScale) return std::nullopt;
  if (!negative) {
    if (acc == kLimit) return std::nullopt;
    acc = -acc;
  }
  return Decimal(acc, exponent);
}

}  // namespace sigflow::io::deribit
