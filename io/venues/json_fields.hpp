#pragma once
// What the venue decoders share when they read a frame's JSON fields with simdjson's on-demand API: raw
// string views, the one test of a type mismatch, the buffer their error messages are written into, the
// names of the errors every venue's DecodeError has, and the field readers of the decoders that judge a
// message's fields only once they know what the message is.
//
// What runs per field is inline and templated on the venue's own types, so each decoder compiles it into
// its own hot path as it did its private copy: no allocation, no exception, no virtual call.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string_view>

namespace sigflow::io::json_fields {

namespace od = simdjson::ondemand;

// A key or string in its raw form, escapes and all: no venue's keys, decimals, symbols or ids contain an
// escape, and one that did would match no key or fail the parse that follows. simdjson's first stage has
// validated the buffer, so the closing quote exists.
inline std::string_view raw_text(const char* start) noexcept {
  const char* end = start;
  while (*end != '"') ++end;
  return {start, static_cast<std::size_t>(end - start)};
}

// A value of another JSON type than asked for; a number beyond the integer asked for counts as one.
inline bool is_type_error(simdjson::error_code e) noexcept {
  return e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE;
}

// Whether a top-level value that is no object is broken JSON rather than valid JSON of another type. The
// type peek reads one character, so text that only starts like a literal ("nope" peeks like `null`, "tx"
// like `true`) has a type too: only parsing the literal tells.
inline bool is_broken_literal(od::document& doc, od::json_type type) noexcept {
  simdjson::error_code e = simdjson::SUCCESS;
  if (type == od::json_type::null) {
    bool is_null = false;
    e = doc.is_null().get(is_null);
    if (!e && !is_null) e = simdjson::INCORRECT_TYPE;
  } else if (type == od::json_type::boolean) {
    bool ignored = false;
    e = doc.get_bool().get(ignored);
  }
  return e != simdjson::SUCCESS;
}

// The message of a decoder's last error, written in place so that reporting an error never allocates. A
// message longer than the buffer is cut.
template <std::size_t Capacity>
class ErrorText {
 public:
  // Cold and out of line: inlined into each of a decoder's error sites, this loop made the readers on the
  // hot path too large for GCC to inline into one another (OKX frames decoded 20 % slower).
  [[gnu::cold, gnu::noinline]] void set(std::initializer_list<std::string_view> parts) noexcept {
    length_ = 0;
    for (std::string_view part : parts) {
      const std::size_t n = std::min(part.size(), Capacity - length_);
      if (n != 0) std::memcpy(text_ + length_, part.data(), n);
      length_ += n;
    }
  }

  void clear() noexcept { length_ = 0; }
  std::string_view view() const noexcept { return {text_, length_}; }

 private:
  char text_[Capacity] = {};
  std::size_t length_ = 0;
};

// The names of the errors every venue's DecodeError has, so that logs and metrics spell them alike. Each
// venue's to_string names its own errors and passes the rest here.
template <class Error>
constexpr std::string_view common_error_name(Error error) noexcept {
  switch (error) {
    case Error::kNone:
      return "none";
    case Error::kEmptyFrame:
      return "empty_frame";
    case Error::kInvalidJson:
      return "invalid_json";
    case Error::kNotAnObject:
      return "not_an_object";
    case Error::kWrongType:
      return "wrong_type";
    case Error::kBadDecimal:
      return "bad_decimal";
    case Error::kMissingField:
      return "missing_field";
    case Error::kTooManyLevels:
      return "too_many_levels";
    default:
      return "invalid";
  }
}

// Readers for a decoder that gathers an object's fields in one pass, in any key order, into a `Fields`
// record and judges them once it knows what the message is: a key can mean different things in different
// messages, so a value of the wrong type is an error only if the message turns out to need that field.
// Broken JSON aborts the decode at once (the rest of the document cannot be read); a type mismatch is
// recorded in `f.bad`, the first one's error and key kept for the message.
//
// `Fields` has `seen` and `bad` bit sets and the first mismatch's `bad_error` and `bad_key`. `Decoder`, the
// class deriving from these readers, reports broken JSON with `fail_json(error_code, key)` and other errors
// with `fail(error, text)`.
template <class Decoder, class Fields>
class FieldReaders {
 public:
  using Bits = decltype(Fields::seen);
  using Error = decltype(Fields::bad_error);

  // The top level is no object: tell valid JSON of another type ([..], 42) from text that only starts like
  // a literal ("not json" looks like `null` to a type peek).
  Error fail_not_object(od::document& doc) noexcept {
    Decoder& self = static_cast<Decoder&>(*this);
    od::json_type type;
    if (auto e = doc.type().get(type)) return self.fail_json(e, "document");
    if (is_broken_literal(doc, type)) return self.fail(Error::kInvalidJson, "document: not valid JSON");
    return self.fail(Error::kNotAnObject, "top-level value is not an object");
  }

  static void mark_bad(Fields& f, Bits bit, Error why, std::string_view key) noexcept {
    f.bad |= bit;
    if (f.bad_error == Error::kNone) {
      f.bad_error = why;
      f.bad_key = key;
    }
  }

  // `v` as a `T` (an integer, bool, string, raw string or array) into `out`; `got` says whether it was one.
  // Broken JSON returns its error; a type mismatch marks the field bad and returns kNone.
  template <class T>
  Error read_value(od::value& v, Fields& f, Bits bit, std::string_view key, T& out, bool& got) noexcept {
    got = false;
    if (auto e = v.get(out)) {
      if (!is_type_error(e)) return static_cast<Decoder&>(*this).fail_json(e, key);
      mark_bad(f, bit, Error::kWrongType, key);
      return Error::kNone;
    }
    got = true;
    return Error::kNone;
  }

  template <class Int>
  Error read_integer(od::value& v, Fields& f, Bits bit, std::string_view key, Int& out) noexcept {
    bool got = false;
    const Error r = read_value(v, f, bit, key, out, got);
    if (got) f.seen |= bit;
    return r;
  }

  Error read_text(od::value& v, Fields& f, Bits bit, std::string_view key, std::string_view& out) noexcept {
    od::raw_json_string raw;
    bool got = false;
    const Error r = read_value(v, f, bit, key, raw, got);
    if (got) {
      out = raw_text(raw.raw());
      f.seen |= bit;
    }
    return r;
  }
};

}  // namespace sigflow::io::json_fields
