#include "engine/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

namespace sigflow::engine {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::uint64_t kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Longest unit first so that "ms" is not read as "m" followed by garbage.
std::uint64_t take_unit(std::string_view& s) noexcept {
  struct Unit {
    std::string_view name;
    std::uint64_t ns;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
      {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  for (const Unit& unit : kUnits) {
    if (s.starts_with(unit.name)) {
      s.remove_prefix(unit.name.size());
      return unit.ns;
    }
  }
  return 0;
}

// Python float() semantics for a header value: surrounding blanks allowed, inf/nan accepted.
std::optional<double> parse_float(std::string_view text) noexcept {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

ServerDelay classify_seconds(double seconds) noexcept {
  // NaN fails both comparisons, as in openai-python's `0 < retry_after <= 120`.
  if (!(seconds > 0)) return ServerDelay{ServerDelayKind::none, 0};
  if (!(seconds <= static_cast<double>(kMaxServerDelayNs) / kNsPerSecond)) {
    return ServerDelay{ServerDelayKind::too_long, 0};
  }
  // A positive delay below half a nanosecond would round to 0, which the kind promises it is not (found by
  // tests/fuzz/retry_after_fuzz.cpp with "00000000000.000000000005").
  return ServerDelay{ServerDelayKind::delay, std::max<std::int64_t>(1, std::llround(seconds * kNsPerSecond))};
}

int parse_2(std::string_view s) noexcept {
  if (s.size() != 2 || !is_digit(s[0]) || !is_digit(s[1])) return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

int index_of(std::string_view needle, const std::string_view* table, int n) noexcept {
  for (int i = 0; i < n; ++i) {
    if (table[i] == needle) return i;
  }
  return -1;
}

}  // namespace

std::optional<std::int64_t> parse_go_duration_ns(std::string_view s) noexcept {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  std::uint64_t total = 0;
  while (!s.empty()) {
    std::uint64_t whole = 0;
    bool any_digit = false;
    while (!s.empty() && is_digit(s.front())) {
      const std::uint64_t digit = static_cast<std::uint64_t>(s.front() - '0');
      if (whole > (kInt64Max - digit) / 10) return std::nullopt;
      whole = whole * 10 + digit;
      any_digit = true;
      s.remove_prefix(1);
    }
    std::uint64_t fraction = 0;
    std::uint64_t scale = 1;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      while (!s.empty() && is_digit(s.front())) {
        // Digits past 10^18 are below 1 ns for any unit; dropping them is Go's truncation.
        if (scale < 1'000'000'000'000'000'000ULL) {
          fraction = fraction * 10 + static_cast<std::uint64_t>(s.front() - '0');
          scale *= 10;
        }
        any_digit = true;
        s.remove_prefix(1);
      }
    }
    if (!any_digit) return std::nullopt;
    const std::uint64_t unit = take_unit(s);
    if (unit == 0) return std::nullopt;
    if (whole > kInt64Max / unit) return std::nullopt;
    const auto part = static_cast<unsigned __int128>(whole) * unit +
                      static_cast<unsigned __int128>(fraction) * unit / scale;
    if (part > kInt64Max - total) return std::nullopt;
    total += static_cast<std::uint64_t>(part);
  }
  const auto value = static_cast<std::int64_t>(total);
  return negative ? -value : value;
}

std::optional<std::int64_t> parse_ratelimit_reset_ns(std::string_view text) noexcept {
  text = trim(text);
  if (!text.empty() && std::all_of(text.begin(), text.end(), is_digit)) {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (seconds > std::numeric_limits<std::int64_t>::max() / kNsPerSecond) return std::nullopt;
    return seconds * kNsPerSecond;
  }
  const std::optional<std::int64_t> ns = parse_go_duration_ns(text);
  if (!ns || *ns < 0) return std::nullopt;
  return ns;
}

std::optional<std::int64_t> parse_imf_fixdate_unix_ns(std::string_view s) noexcept {
  static constexpr std::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Fixed layout: "Sun, 06 Nov 1994 08:49:37 GMT".
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (index_of(s.substr(0, 3), kDays, 7) < 0) return std::nullopt;
  const int month = index_of(s.substr(8, 3), kMonths, 12) + 1;
  const int day = parse_2(s.substr(5, 2));
  const int hour = parse_2(s.substr(17, 2));
  const int minute = parse_2(s.substr(20, 2));
  const int second = parse_2(s.substr(23, 2));
  const std::string_view year_text = s.substr(12, 4);
  if (!std::all_of(year_text.begin(), year_text.end(), is_digit)) return std::nullopt;
  const int year = (year_text[0] - '0') * 1000 + (year_text[1] - '0') * 100 + (year_text[2] - '0') * 10 +
                   (year_text[3] - '0');
  // RFC 9110 allows second 60 (a leap second); it is read as the next second.
  if (month <= 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const std::int64_t seconds = ((days * 24 + hour) * 60 + minute) * 60 + second;
  // int64 nanoseconds span 1677-09-21 to 2262-04-11; a four-digit year reaches past both ends (found by
  // tests/fuzz/retry_after_fuzz.cpp: the multiplication overflowed).
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / kNsPerSecond;
  if (seconds > kLimit || seconds < -kLimit) return std::nullopt;
  return seconds * kNsPerSecond;
}

ServerDelay retry_delay(std::optional<std::string_view> retry_after_ms,
                        std::optional<std::string_view> retry_after, std::int64_t wall_now_unix_ns) noexcept {
  if (retry_after_ms) {
    if (const std::optional<double> ms = parse_float(*retry_after_ms)) return classify_seconds(*ms / 1000.0);
  }
  if (!retry_after) return ServerDelay{ServerDelayKind::none, 0};
  if (const std::optional<double> seconds = parse_float(*retry_after)) return classify_seconds(*seconds);
  if (const std::optional<std::int64_t> at = parse_imf_fixdate_unix_ns(trim(*retry_after))) {
    std::int64_t delta_ns = 0;
    // Any wall clock the caller passes, however far from the date: past int64 is "too far" either way.
    if (__builtin_sub_overflow(*at, wall_now_unix_ns, &delta_ns))
      return *at > wall_now_unix_ns ? ServerDelay{ServerDelayKind::too_long, 0}
                                    : ServerDelay{ServerDelayKind::none, 0};
    if (delta_ns <= 0) return ServerDelay{ServerDelayKind::none, 0};
    if (delta_ns > kMaxServerDelayNs) return ServerDelay{ServerDelayKind::too_long, 0};
    return ServerDelay{ServerDelayKind::delay, delta_ns};
  }
  return ServerDelay{ServerDelayKind::none, 0};
}

std::int64_t Backoff::delay_ns(std::uint32_t retries_made) noexcept {
  constexpr std::int64_t kInitialNs = 500'000'000;
  constexpr std::int64_t kMaxNs = 8'000'000'000;
  // 0.5 s · 2^4 already exceeds the 8 s cap; clamping the exponent keeps the shift defined.
  const std::int64_t base_ns = std::min(kInitialNs << std::min<std::uint32_t>(retries_made, 5), kMaxNs);
  // splitmix64: one multiply-xorshift step per draw, full period, good enough for jitter.
  state_ += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const double unit = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
  return static_cast<std::int64_t>(static_cast<double>(base_ns) * (1.0 - 0.25 * unit));
}

std::int64_t next_retry_delay_ns(const ServerDelay& server, Backoff& backoff,
                                 std::uint32_t retries_made) noexcept {
  if (server.kind == ServerDelayKind::delay) return server.delay_ns;
  return backoff.delay_ns(retries_made);
}

RetryAction classify_failure(const FailedResponse& f) noexcept {
  if (f.transport_error) return RetryAction::retry;
  // A quota 429 looks like a rate 429 by status; only type/code tell that waiting will not help.
  if (f.type == "insufficient_quota" || f.code == "insufficient_quota") return RetryAction::open_breaker;
  // 401/403: wrong key or no access to the model. 418: Binance IP ban after repeated 429s.
  if (f.status == 401 || f.status == 403 || f.status == 418) return RetryAction::open_breaker;
  if (f.code == "context_length_exceeded" || f.status == 413) return RetryAction::split_chunk;
  // One request above the whole TPM limit: a 429 with rate_limit_exceeded that no wait can satisfy.
  if (f.status == 429 && f.message.starts_with("Request too large")) return RetryAction::split_chunk;
  if (f.status == 408 || f.status == 409 || f.status == 429 || f.status >= 500) return RetryAction::retry;
  return RetryAction::do_not_retry;
}

}  // namespace sigflow::engine
