#include "strategies/signal.hpp"

#include <charconv>
#include <cmath>

namespace sigflow::strategies {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid (overlong forms, UTF-16
// surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  const auto continuation = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    const unsigned char second = byte(i + 1);
    if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
    if (lead == 0xED && second > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    const unsigned char second = byte(i + 1);
    if (lead == 0xF0 && second < 0x90) return 0;  // overlong
    if (lead == 0xF4 && second > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

template <class T>
void append_integer(T value, std::string& out) {
  char buffer[24];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, r.ptr);
}

// Rounds to `decimals` places and writes the shortest text that reads back as that value ("0.73", not
// "0.73000000000000001").
void append_rounded(double value, double scale, std::string& out) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  const double rounded = std::round(value * scale) / scale;
  char buffer[32];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, rounded == 0 ? 0.0 : rounded);
  out.append(buffer, r.ptr);
}

}  // namespace

void append_json_string(std::string_view text, std::string& out) {
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t n = utf8_sequence_length(text, i)) {
        i += n;
        continue;
      }
    }
    out.append(text.data() + run, i - run);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(escaped, sizeof escaped);
        } else {
          out += kReplacement;  // a byte that starts no valid UTF-8 sequence
        }
    }
    run = ++i;
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_json_line(const Signal& s, std::string& out) {
  out += "{\"ts_ns\":";
  append_integer(s.ts_ns, out);
  out += ",\"cycle\":";
  append_integer(s.cycle, out);
  out += ",\"venue\":";
  append_json_string(s.venue, out);
  out += ",\"symbol\":";
  append_json_string(s.symbol, out);
  out += ",\"instrument\":";
  append_json_string(s.instrument, out);
  out += ",\"signal\":\"";
  out += to_string(s.action);
  out += "\",\"confidence\":";
  append_rounded(std::fmin(std::fmax(s.confidence, 0.0), 1.0), 1e4, out);
  out += ",\"source\":\"";
  out += to_string(s.source);
  out += "\",\"model\":";
  append_json_string(s.model, out);
  out += ",\"data_age_ms\":";
  append_rounded(s.data_age_ms, 1e3, out);
  out += ",\"reason\":";
  append_json_string(s.reason, out);
  out += "}\n";
}

}  // namespace sigflow::strategies
