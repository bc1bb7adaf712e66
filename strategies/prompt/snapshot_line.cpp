#include "strategies/prompt/snapshot_line.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

namespace sigflow::strategies {
namespace {

// Appends to a fixed buffer; once anything does not fit, every later append is a no-op and overflowed() says
// so.
class LineWriter {
 public:
  explicit LineWriter(std::span<char> out)
      : begin_(out.data()), at_(out.data()), end_(out.data() + out.size()) {}

  void text(std::string_view s) {
    if (static_cast<std::size_t>(end_ - at_) < s.size()) {
      overflow_ = true;
      return;
    }
    std::memcpy(at_, s.data(), s.size());
    at_ += s.size();
  }
  void character(char c) { text(std::string_view(&c, 1)); }

  // `value` rounded to `decimals` places, trailing zeros (and a bare '.') removed, "-0" written as "0", and a
  // '+' in front of positive values when `sign` (so that a move's direction is one token, not an inference).
  void number(double value, int decimals, bool sign) {
    char buffer[64];
    const auto [end, ec] =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
    if (ec != std::errc{}) {
      overflow_ = true;
      return;
    }
    std::string_view digits(buffer, static_cast<std::size_t>(end - buffer));
    if (digits.find('.') != std::string_view::npos) {
      while (digits.back() == '0') digits.remove_suffix(1);
      if (digits.back() == '.') digits.remove_suffix(1);
    }
    if (digits == "-0") digits = "0";
    if (sign && digits.front() != '-' && digits != "0") character('+');
    text(digits);
  }

  // " key=value" when the value is present.
  void field(std::string_view key, double value, int decimals, bool sign) {
    if (!std::isfinite(value)) return;
    character(' ');
    text(key);
    character('=');
    number(value, decimals, sign);
  }

  std::size_t size() const { return static_cast<std::size_t>(at_ - begin_); }
  bool overflowed() const { return overflow_; }

 private:
  char* begin_;
  char* at_;
  char* end_;
  bool overflow_ = false;
};

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Venue symbols and market ids use letters, digits and . _ - only; anything else (white space, quotes, '@',
// control bytes) would break the line's token additivity, the reply format or the JSON schema, so it is
// refused rather than escaped. Starting and ending with a letter or digit keeps the pre-split from joining an
// id to the quotes around it in the schema's enum.
bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxPairId / 2 || !is_ascii_alnum(s.front()) || !is_ascii_alnum(s.back()))
    return false;
  for (char c : s) {
    if (!is_ascii_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// Enough decimals for ~7 significant digits whatever the price scale (BTC at 6e4, PEPE at 1e-5).
int price_decimals(double price) {
  const double magnitude = std::fabs(price);
  if (!(magnitude > 0)) return 0;
  const int exponent = static_cast<int>(std::floor(std::log10(magnitude)));
  const int decimals = 6 - exponent;
  return decimals < 0 ? 0 : (decimals > 10 ? 10 : decimals);
}

}  // namespace

SnapshotLineResult write_snapshot_line(const InstrumentFeatures& f, std::span<char> out) {
  SnapshotLineResult result;
  if (!is_identifier(f.symbol) || !is_identifier(f.venue)) {
    result.error = SnapshotLineError::kBadIdentifier;
    return result;
  }
  LineWriter w(out);
  w.text(f.symbol);
  w.character('@');
  w.text(f.venue);
  result.pair_size = w.size();

  if (std::isfinite(f.mid)) w.field("mid", f.mid, price_decimals(f.mid), false);
  w.field("spr", f.spread_bps, 2, false);
  w.field("mpo", f.microprice_offset_bps, 2, true);
  const bool any_imbalance =
      std::isfinite(f.imbalance_l1) || std::isfinite(f.imbalance_l5) || std::isfinite(f.imbalance_l20);
  if (any_imbalance) {
    // One field for the three depths: the shape across depths is the signal, and one key costs fewer tokens.
    w.text(" imb=");
    const double levels[3] = {f.imbalance_l1, f.imbalance_l5, f.imbalance_l20};
    for (int i = 0; i < 3; ++i) {
      if (i > 0) w.character('/');
      if (std::isfinite(levels[i])) {
        w.number(levels[i], 2, true);
      } else {
        w.character('_');
      }
    }
  }
  w.field("r1s", f.return_1s_bps, 2, true);
  w.field("r10s", f.return_10s_bps, 2, true);
  w.field("vol10s", f.volume_10s, 4, false);
  w.field("tbr", f.taker_buy_ratio_10s, 2, false);
  w.field("fund", f.funding_rate * 1e4, 3, true);  // in bps: 0.0001 reads as +1
  w.field("mark", f.mark_offset_bps, 2, true);
  w.field("age", f.data_age_ms, 0, false);
  if (!f.book_valid) w.text(" book=invalid");
  w.character('\n');

  if (w.overflowed()) {
    result.error = SnapshotLineError::kTooLong;
    return result;
  }
  result.size = w.size();
  return result;
}

std::string_view snapshot_line_legend() {
  return "Each line is one instrument: SYMBOL@VENUE then key=value fields (absent fields are omitted).\n"
         "mid: mid price. spr: bid-ask spread, bps. mpo: microprice minus mid, bps. "
         "imb: order book imbalance (bid-ask)/(bid+ask) at top 1/5/20 levels, -1..1, _ = unknown. "
         "r1s, r10s: mid return over 1 s and 10 s, bps. vol10s: traded base quantity in 10 s. "
         "tbr: taker-buy share of that volume, 0..1. fund: funding rate, bps. mark: mark minus mid, bps. "
         "age: ms since the last market update. book=invalid: the order book is not trustworthy.\n";
}

}  // namespace sigflow::strategies
