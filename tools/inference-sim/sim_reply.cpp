#include "tools/inference-sim/sim_reply.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace sigflow::tools {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// SYMBOL@VENUE with the identifier characters snapshot lines allow ([A-Za-z0-9._-]).
bool is_pair_id(std::string_view word) {
  const std::size_t at = word.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= word.size()) return false;
  if (!is_alnum(word.front()) || !is_alnum(word.back())) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    if (i != at && !is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return word.find('@', at + 1) == std::string_view::npos;
}

// "+0.31", "-3.4", "_" (unknown: 0).
double number(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  return r.ec == std::errc() && std::isfinite(v) ? v : 0;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

void append_fixed(double v, int decimals, std::string& out) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  out.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::vector<PromptInstrument> parse_snapshot_lines(std::string_view text) {
  std::vector<PromptInstrument> out;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    const std::size_t space = line.find(' ');
    const std::string_view first = line.substr(0, space);
    if (!is_pair_id(first)) continue;
    PromptInstrument instrument;
    instrument.pair = std::string(first);
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    while (!line.empty()) {
      const std::size_t sp = line.find(' ');
      const std::string_view field = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view key = field.substr(0, eq);
      const std::string_view value = field.substr(eq + 1);
      if (key == "imb") {
        std::string_view rest = value;
        for (double& level : instrument.imbalance) {
          const std::size_t slash = rest.find('/');
          level = number(rest.substr(0, slash));
          if (slash == std::string_view::npos) break;
          rest = rest.substr(slash + 1);
        }
      } else if (key == "mpo") {
        instrument.microprice_offset_bps = number(value);
      } else if (key == "r1s") {
        instrument.return_1s_bps = number(value);
      } else if (key == "r10s") {
        instrument.return_10s_bps = number(value);
      } else if (key == "book") {
        instrument.book_invalid = value == "invalid";
      }
    }
    out.push_back(std::move(instrument));
  }
  return out;
}

std::string_view to_string(SimAction action) {
  switch (action) {
    case SimAction::kBuy:
      return "BUY";
    case SimAction::kSell:
      return "SELL";
    case SimAction::kHold:
      break;
  }
  return "HOLD";
}

SimSignal decide(const PromptInstrument& in, std::uint64_t seed) {
  SimSignal s;
  s.pair = in.pair;
  // Jitter in [-0.03, 0.03): enough to make replies look less mechanical, too little to flip a clear book.
  const double jitter =
      (static_cast<double>(splitmix(seed ^ fnv1a(in.pair)) >> 11) / 9007199254740992.0 - 0.5) * 0.06;
  if (in.book_invalid) {
    s.action = SimAction::kHold;
    s.confidence = 0.1;
    s.summary = "book not trustworthy, no call";
    return s;
  }
  const double book = 0.5 * in.imbalance[0] + 0.3 * in.imbalance[1] + 0.1 * in.imbalance[2];
  const double flow = 0.04 * in.microprice_offset_bps + 0.03 * in.return_1s_bps + 0.02 * in.return_10s_bps;
  const double score = book + std::clamp(flow, -0.5, 0.5) + jitter;
  if (score > kHoldBand) {
    s.action = SimAction::kBuy;
  } else if (score < -kHoldBand) {
    s.action = SimAction::kSell;
  } else {
    s.action = SimAction::kHold;
  }
  if (s.action == SimAction::kHold) {
    s.confidence = std::round((0.35 + jitter) * 100) / 100;
    s.summary = "balanced book, no clear drift";
    return s;
  }
  s.confidence = std::round(std::min(0.95, 0.5 + std::fabs(score)) * 100) / 100;
  const bool buy = s.action == SimAction::kBuy;
  const bool book_led = std::fabs(book) >= std::fabs(flow);
  s.summary = book_led ? (buy ? "bid-heavy book" : "ask-heavy book")
                       : (buy ? "buyers lifting offers" : "sellers hitting bids");
  s.summary += in.return_10s_bps > 0   ? ", rising 10 s return"
               : in.return_10s_bps < 0 ? ", falling 10 s return"
                                       : "";
  return s;
}

void append_json_string(std::string_view text, std::string& out) {
  out += '"';
  for (const char c : text) {
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
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string render_structured(const std::vector<SimSignal>& signals) {
  std::string out = R"({"signals":[)";
  for (std::size_t i = 0; i < signals.size(); ++i) {
    const SimSignal& s = signals[i];
    if (i > 0) out += ',';
    out += R"({"pair":)";
    append_json_string(s.pair, out);
    out += R"(,"signal":")";
    out += to_string(s.action);
    out += R"(","confidence":)";
    append_fixed(s.confidence, 2, out);
    out += R"(,"summary":)";
    append_json_string(s.summary, out);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string render_lines(const std::vector<SimSignal>& signals) {
  std::string out;
  for (const SimSignal& s : signals) {
    out += s.pair;
    out += ": ";
    out += to_string(s.action);
    out += " | ";
    append_fixed(s.confidence, 2, out);
    out += " | ";
    out += s.summary;
    out += '\n';
  }
  return out;
}

}  // namespace sigflow::tools
