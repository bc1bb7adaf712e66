#pragma once
// A small strict JSON reader for the simulator's control plane: client requests (a few hundred bytes) and
// capture-file records (read once at start). It is not on any hot path, so it builds a plain tree; the
// library that owns this module links no JSON parser, and strictness matters more here than speed because
// the simulator must reject exactly what a venue would reject.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::tools {

struct JsonMember;

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  // For numbers: the literal text as written (so ids echo back byte-exact); for strings: the decoded text.
  std::string text;
  std::vector<JsonValue> items;
  std::vector<JsonMember> members;  // in document order

  bool is_string() const { return kind == Kind::string; }
  // True for a number literal with no fraction or exponent.
  bool is_integer() const;
  // The first member named `key`, or nullptr (also for non-objects).
  const JsonValue* find(std::string_view key) const;
};

struct JsonMember {
  std::string name;
  JsonValue value;
};

// Parses one complete JSON text (RFC 8259; surrounding whitespace allowed, nothing else after the value).
// On failure returns nullopt and, if `error` is given, a short reason with the byte offset.
std::optional<JsonValue> parse_json(std::string_view text, std::string* error = nullptr);

// Appends `text` as a JSON string literal (quotes included), escaping as RFC 8259 requires.
void append_json_string(std::string& out, std::string_view text);

}  // namespace sigflow::tools
