#include "io/venues/deribit/instrument_name.hpp"

#include <algorithm>

namespace sigflow::io::deribit {
namespace {

bool is_upper_alnum(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

// Deribit expiries: 1 or 2 day digits, a 3-letter month, 2 year digits ("7JUN24", "27DEC24").
bool is_expiry(std::string_view s) {
  if (s.size() != 6 && s.size() != 7) return false;
  const std::size_t day_digits = s.size() - 5;
  for (std::size_t i = 0; i < day_digits; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  static constexpr std::string_view kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  const std::string_view month = s.substr(day_digits, 3);
  if (std::find(std::begin(kMonths), std::end(kMonths), month) == std::end(kMonths)) return false;
  return s[s.size() - 2] >= '0' && s[s.size() - 2] <= '9' && s.back() >= '0' && s.back() <= '9';
}

// Strikes: digits, with "d" standing for the decimal point in fractional strikes ("0d625").
bool is_strike(std::string_view s) {
  if (s.empty() || s.front() == 'd' || s.back() == 'd' || std::count(s.begin(), s.end(), 'd') > 1)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == 'd'; });
}

}  // namespace

std::string normalized_instrument(std::string_view name) {
  const std::size_t dash = name.find('-');
  if (dash == std::string_view::npos) return {};
  std::string_view currency = name.substr(0, dash);
  std::string_view rest = name.substr(dash + 1);
  // Linear instruments name their margin currency after an underscore ("SOL_USDC"); inverse ones are
  // quoted in USD and margined in the base currency.
  std::string_view quote = "USD";
  if (const std::size_t underscore = currency.find('_'); underscore != std::string_view::npos) {
    quote = currency.substr(underscore + 1);
    currency = currency.substr(0, underscore);
    if (!is_upper_alnum(quote)) return {};
  }
  if (!is_upper_alnum(currency)) return {};
  std::string out(currency);
  out += '-';
  out += quote;
  if (rest == "PERPETUAL") return out + "-PERP";
  const std::size_t next = rest.find('-');
  const std::string_view expiry = rest.substr(0, next);
  if (!is_expiry(expiry)) return {};
  out += '-';
  out += expiry;
  if (next == std::string_view::npos) return out;
  rest.remove_prefix(next + 1);
  const std::size_t kind_dash = rest.find('-');
  if (kind_dash == std::string_view::npos) return {};
  const std::string_view strike = rest.substr(0, kind_dash);
  const std::string_view kind = rest.substr(kind_dash + 1);
  if (!is_strike(strike) || (kind != "C" && kind != "P")) return {};
  out += '-';
  out.append(rest);
  return out;
}

}  // namespace sigflow::io::deribit
