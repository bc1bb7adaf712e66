#include "strategies/reply_parser.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

namespace sigflow::strategies {
namespace {

namespace od = simdjson::ondemand;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_decoration(char c) noexcept {
  return c == '*' || c == '`' || c == '"' || c == '_';
}

// Markdown emphasis, code spans and quotes that models put around pair ids and signals.
std::string_view strip_decoration(std::string_view text) noexcept {
  text = trim(text);
  while (!text.empty() && is_decoration(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_decoration(text.back())) text.remove_suffix(1);
  return trim(text);
}

std::string_view strip_bullet(std::string_view line) noexcept {
  for (std::string_view bullet : {"- ", "* ", "+ ", "\xE2\x80\xA2 "}) {
    if (line.starts_with(bullet)) return trim(line.substr(bullet.size()));
  }
  std::size_t digits = 0;
  while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    return trim(line.substr(digits + 2));
  }
  return line;
}

bool equals_upper(std::string_view text, std::string_view upper) noexcept {
  if (text.size() != upper.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

bool parse_action(std::string_view text, Action& action) noexcept {
  if (equals_upper(text, "BUY")) {
    action = Action::kBuy;
  } else if (equals_upper(text, "SELL")) {
    action = Action::kSell;
  } else if (equals_upper(text, "HOLD")) {
    action = Action::kHold;
  } else {
    return false;
  }
  return true;
}

bool parse_number(std::string_view text, double& value) noexcept {
  text = strip_decoration(text);
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

std::size_t utf8_boundary_at_or_before(std::string_view text, std::size_t limit) noexcept {
  while (limit > 0 && (static_cast<unsigned char>(text[limit]) & 0xC0) == 0x80) --limit;
  return limit;
}

// Content inside a ``` fence (the opening line may name a language), else the content itself.
std::string_view unfence(std::string_view text) noexcept {
  text = trim(text);
  if (!text.starts_with("```")) return text;
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return {};
  text.remove_prefix(newline + 1);
  text = trim(text);
  if (text.ends_with("```")) text.remove_suffix(3);
  return trim(text);
}

}  // namespace

ReplyParser::ReplyParser() {
  // Chunks hold tens of pairs; reserving now keeps the first cycles allocation-free too.
  entries_.reserve(64);
  missing_.reserve(64);
  seen_.reserve(64);
  padded_.reserve(8192 + simdjson::SIMDJSON_PADDING);
}

ReplyStatus ReplyParser::parse(std::span<const std::string_view> pair_ids, std::string_view content,
                               bool truncated) {
  pair_ids_ = pair_ids;
  entries_.clear();
  missing_.clear();
  seen_.assign(pair_ids.size(), 0);
  counts_ = {};
  format_ = ReplyFormat::kLines;

  ReplyStatus status = ReplyStatus::kOk;
  const std::string_view body = unfence(content);
  if (truncated) {
    status = ReplyStatus::kTruncated;
  } else if (trim(content).empty()) {
    status = ReplyStatus::kEmpty;
  } else if (body.starts_with('{')) {
    format_ = ReplyFormat::kStructured;
    status = parse_structured(body);
  } else {
    parse_lines(content);
  }
  if (status != ReplyStatus::kOk) {
    // A partial reply is not trusted at all: every pair abstains.
    entries_.clear();
    std::fill(seen_.begin(), seen_.end(), 0);
  }
  finish();
  return status;
}

void ReplyParser::accept(const Candidate& candidate) {
  std::uint32_t index = 0;
  while (index < pair_ids_.size() && pair_ids_[index] != candidate.pair) ++index;
  if (index == pair_ids_.size()) {
    ++counts_.unknown;
    return;
  }
  Action action = Action::kHold;
  if (!parse_action(candidate.signal, action) || !candidate.has_confidence ||
      std::isnan(candidate.confidence)) {
    ++counts_.invalid;
    return;
  }
  if (seen_[index] != 0) {
    ++counts_.duplicate;
    return;
  }
  seen_[index] = 1;
  double confidence = candidate.confidence;
  if (confidence < 0 || confidence > 1) {
    confidence = confidence < 0 ? 0.0 : 1.0;
    ++counts_.clamped;
  }
  std::string_view summary = candidate.summary;
  if (summary.size() > kMaxSummaryBytes) {
    summary = summary.substr(0, utf8_boundary_at_or_before(summary, kMaxSummaryBytes));
    ++counts_.summary_cut;
  }
  entries_.push_back({index, action, confidence, summary});
}

void ReplyParser::finish() {
  for (std::uint32_t i = 0; i < seen_.size(); ++i) {
    if (seen_[i] == 0) missing_.push_back(i);
  }
}

void ReplyParser::parse_lines(std::string_view content) {
  while (!content.empty()) {
    const std::size_t newline = content.find('\n');
    std::string_view line = content.substr(0, newline);
    content.remove_prefix(newline == std::string_view::npos ? content.size() : newline + 1);
    line = trim(line);
    if (line.empty()) continue;
    line = strip_bullet(line);
    const std::size_t colon = line.find(':');
    const std::size_t first_bar = colon == std::string_view::npos ? colon : line.find('|', colon);
    if (first_bar == std::string_view::npos) {
      ++counts_.noise_lines;
      continue;
    }
    Candidate candidate;
    candidate.pair = strip_decoration(line.substr(0, colon));
    candidate.signal = strip_decoration(line.substr(colon + 1, first_bar - colon - 1));
    std::string_view rest = line.substr(first_bar + 1);
    const std::size_t second_bar = rest.find('|');
    candidate.has_confidence = parse_number(rest.substr(0, second_bar), candidate.confidence);
    if (second_bar != std::string_view::npos) candidate.summary = trim(rest.substr(second_bar + 1));
    accept(candidate);
  }
}

ReplyStatus ReplyParser::parse_structured(std::string_view json) {
  // simdjson reads SIMDJSON_PADDING bytes past the end, which the caller's content does not promise.
  if (padded_.size() < json.size() + simdjson::SIMDJSON_PADDING) {
    padded_.resize(json.size() + simdjson::SIMDJSON_PADDING);
  }
  std::memcpy(padded_.data(), json.data(), json.size());
  od::document document;
  od::object root;
  if (json_parser_.iterate(padded_.data(), json.size(), padded_.size()).get(document) ||
      document.get_object().get(root)) {
    return ReplyStatus::kMalformed;
  }
  bool has_signals = false;
  for (auto root_field : root) {
    od::field field;
    std::string_view key;
    if (std::move(root_field).get(field) || field.unescaped_key().get(key)) return ReplyStatus::kMalformed;
    if (key != "signals") continue;
    has_signals = true;
    od::array signals;
    if (field.value().get_array().get(signals)) return ReplyStatus::kMalformed;
    for (auto element_result : signals) {
      od::value element;
      od::json_type type;
      if (std::move(element_result).get(element) || element.type().get(type)) return ReplyStatus::kMalformed;
      if (type != od::json_type::object) {
        ++counts_.invalid;
        continue;
      }
      od::object object;
      if (element.get_object().get(object)) return ReplyStatus::kMalformed;
      Candidate candidate;
      bool has_pair = false;
      for (auto entry_field : object) {
        od::field member;
        std::string_view name;
        if (std::move(entry_field).get(member) || member.unescaped_key().get(name))
          return ReplyStatus::kMalformed;
        od::json_type member_type;
        if (member.value().type().get(member_type)) return ReplyStatus::kMalformed;
        const bool is_string = member_type == od::json_type::string;
        if (name == "pair" && is_string) {
          if (member.value().get_string().get(candidate.pair)) return ReplyStatus::kMalformed;
          has_pair = true;
        } else if (name == "signal" && is_string) {
          if (member.value().get_string().get(candidate.signal)) return ReplyStatus::kMalformed;
        } else if (name == "confidence" && member_type == od::json_type::number) {
          if (member.value().get_double().get(candidate.confidence)) return ReplyStatus::kMalformed;
          candidate.has_confidence = true;
        } else if (name == "summary" && is_string) {
          if (member.value().get_string().get(candidate.summary)) return ReplyStatus::kMalformed;
        }
      }
      if (!has_pair) {
        ++counts_.invalid;
        continue;
      }
      accept(candidate);
    }
  }
  if (!has_signals) return ReplyStatus::kMalformed;
  return ReplyStatus::kOk;
}

}  // namespace sigflow::strategies
