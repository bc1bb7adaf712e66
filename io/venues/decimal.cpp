#include "io/venues/decimal.hpp"

#include <cmath>
#include <cstring>

namespace sigflow::io {

namespace {

// Powers of ten that double represents exactly: dividing or multiplying an exact integer by one of them is
// a single correctly rounded operation.
constexpr double kExactPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr int kMaxExactPow10 = 22;

}  // namespace

char* Decimal::format(char* first, char* last) const noexcept {
  // Digits of |mantissa|, least significant first; unsigned so that INT64_MIN has a magnitude.
  char digits[20];
  int n = 0;
  std::uint64_t magnitude = mantissa_ < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(mantissa_)
                                          : static_cast<std::uint64_t>(mantissa_);
  do {
    digits[n++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);

  const int scale = exponent_ < 0 ? -exponent_ : 0;
  const int trailing_zeros = exponent_ > 0 ? exponent_ : 0;
  const int integer_digits = n > scale ? n - scale : 1;  // "0.xx" when all digits are fraction digits
  const std::size_t length = static_cast<std::size_t>((mantissa_ < 0 ? 1 : 0) + integer_digits +
                                                      trailing_zeros + (scale > 0 ? 1 + scale : 0));
  if (static_cast<std::size_t>(last - first) < length) return nullptr;

  char* out = first;
  if (mantissa_ < 0) *out++ = '-';
  // Position p counts decimal places from the point: p >= 0 is an integer digit of weight 10^p.
  for (int p = integer_digits - 1; p >= 0; --p) {
    const int index = p + scale;
    *out++ = index < n ? digits[index] : '0';
  }
  for (int i = 0; i < trailing_zeros; ++i) *out++ = '0';
  if (scale > 0) {
    *out++ = '.';
    for (int index = scale - 1; index >= 0; --index) *out++ = index < n ? digits[index] : '0';
  }
  return out;
}

double Decimal::to_double() const noexcept {
  const double m = static_cast<double>(mantissa_);
  const int e = exponent_;
  if (e == 0) return m;
  if (e < 0 && -e <= kMaxExactPow10) return m / kExactPow10[-e];
  if (e > 0 && e <= kMaxExactPow10) return m * kExactPow10[e];
  return m * std::pow(10.0, e);
}

}  // namespace sigflow::io
