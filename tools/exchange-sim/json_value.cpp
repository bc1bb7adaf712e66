#include "tools/exchange-sim/json_value.hpp"

#include <cstdint>

namespace sigflow::tools {
namespace {

// Deep enough for any request a venue accepts; bounded so a hostile client cannot exhaust the stack.
constexpr int kMaxDepth = 64;

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  std::optional<JsonValue> document() {
    skip_space();
    JsonValue value;
    if (!read_value(value, 0)) return std::nullopt;
    skip_space();
    if (pos_ != text_.size()) return failed("unexpected text after the value");
    return value;
  }

  std::string error() const { return error_ + " at offset " + std::to_string(pos_); }

 private:
  std::nullopt_t failed(const char* why) {
    if (error_.empty()) error_ = why;
    return std::nullopt;
  }
  bool fail(const char* why) {
    failed(why);
    return false;
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  bool consume_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool read_value(JsonValue& out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    if (at_end()) return fail("unexpected end of input");
    switch (peek()) {
      case '{':
        return read_object(out, depth);
      case '[':
        return read_array(out, depth);
      case '"':
        out.kind = JsonValue::Kind::string;
        return read_string(out.text);
      case 't':
        out.kind = JsonValue::Kind::boolean;
        out.boolean = true;
        return consume_literal("true");
      case 'f':
        out.kind = JsonValue::Kind::boolean;
        return consume_literal("false");
      case 'n':
        out.kind = JsonValue::Kind::null;
        return consume_literal("null");
      default:
        return read_number(out);
    }
  }

  bool read_object(JsonValue& out, int depth) {
    out.kind = JsonValue::Kind::object;
    ++pos_;
    skip_space();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      if (at_end() || peek() != '"') return fail("expected a member name");
      std::string key;
      if (!read_string(key)) return false;
      skip_space();
      if (at_end() || peek() != ':') return fail("expected ':'");
      ++pos_;
      skip_space();
      JsonValue value;
      if (!read_value(value, depth + 1)) return false;
      out.members.push_back({std::move(key), std::move(value)});
      skip_space();
      if (at_end()) return fail("unterminated object");
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      if (peek() != ',') return fail("expected ',' or '}'");
      ++pos_;
    }
  }

  bool read_array(JsonValue& out, int depth) {
    out.kind = JsonValue::Kind::array;
    ++pos_;
    skip_space();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      JsonValue value;
      if (!read_value(value, depth + 1)) return false;
      out.items.push_back(std::move(value));
      skip_space();
      if (at_end()) return fail("unterminated array");
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      if (peek() != ',') return fail("expected ',' or ']'");
      ++pos_;
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  bool read_number(JsonValue& out) {
    const std::size_t start = pos_;
    if (!at_end() && peek() == '-') ++pos_;
    if (at_end() || !is_digit(peek())) return fail("invalid value");
    if (peek() == '0') {
      ++pos_;
    } else {
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (at_end() || !is_digit(peek())) return fail("invalid number");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) return fail("invalid number");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    out.kind = JsonValue::Kind::number;
    out.text.assign(text_.substr(start, pos_ - start));
    return true;
  }

  bool read_hex4(std::uint32_t& code) {
    if (text_.size() - pos_ < 4) return fail("truncated \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9') {
        code |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        code |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        code |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return fail("invalid \\u escape");
      }
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool read_escape(std::string& out) {
    if (at_end()) return fail("unterminated escape");
    const char c = text_[pos_++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'u':
        break;
      default:
        return fail("invalid escape");
    }
    std::uint32_t cp = 0;
    if (!read_hex4(cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (text_.substr(pos_, 2) != "\\u") return fail("high surrogate without its low half");
      pos_ += 2;
      if (!read_hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return fail("invalid surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, cp);
    return true;
  }

  bool read_string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) return fail("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (!read_escape(out)) return false;
        continue;
      }
      // Copy the run of plain bytes at once: capture lines hold long escaped frames.
      std::size_t end = pos_;
      while (end < text_.size() && text_[end] != '"' && text_[end] != '\\' &&
             static_cast<unsigned char>(text_[end]) >= 0x20)
        ++end;
      out.append(text_.substr(pos_, end - pos_));
      pos_ = end;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

bool JsonValue::is_integer() const {
  return kind == Kind::number && text.find_first_of(".eE") == std::string::npos;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : members)
    if (name == key) return &value;
  return nullptr;
}

std::optional<JsonValue> parse_json(std::string_view text, std::string* error) {
  Reader reader(text);
  auto value = reader.document();
  if (!value && error) *error = reader.error();
  return value;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace sigflow::tools
