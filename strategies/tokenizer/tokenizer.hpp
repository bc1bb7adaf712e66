#pragma once
// Tokenizer: exact byte-level BPE token counts for OpenAI's cl100k_base and o200k_base encodings, equal to
// tiktoken's encode_ordinary() for any valid UTF-8 text.
//
// A Tokenizer is immutable once loaded and may be shared read-only by any number of threads. Everything a
// call mutates (PCRE2 match data, the JIT stack, merge buffers) lives in a TokenizerScratch owned by the
// calling thread, so counting allocates nothing once the scratch buffers have grown to the longest piece
// seen.
//
// Special tokens (<|endoftext|> ...) are never produced: their text is encoded as ordinary bytes, so a user
// string cannot smuggle control tokens into a prompt.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::strategies {

enum class Encoding : std::uint8_t { kCl100kBase, kO200kBase };

std::string_view encoding_name(Encoding encoding);
std::optional<Encoding> parse_encoding(std::string_view name);

enum class TextError : std::uint8_t {
  kNone,
  kInvalidUtf8,      // the text is not valid UTF-8; error_offset is the first bad byte
  kPreSplitFailure,  // PCRE2 reported an error (e.g. JIT stack exhausted); error_offset is where it stopped
};

std::string_view text_error_name(TextError error);

struct TokenCount {
  std::size_t tokens = 0;
  TextError error = TextError::kNone;
  std::size_t error_offset = 0;

  bool ok() const { return error == TextError::kNone; }
};

class TokenizerScratch;

class Tokenizer {
 public:
  struct Impl;

  // Loads `<data_dir>/<encoding>.tiktoken`, checks its SHA-256 against the digest OpenAI publishes for that
  // encoding and compiles the pre-split pattern. On failure returns nullptr and sets `error` to a message
  // naming the file and what is wrong with it.
  static std::shared_ptr<const Tokenizer> load(Encoding encoding, const std::filesystem::path& data_dir,
                                               std::string& error);

  explicit Tokenizer(std::unique_ptr<Impl> impl);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  Encoding encoding() const;
  std::size_t vocabulary_size() const;  // ordinary (non-special) tokens

  TokenCount count(std::string_view text, TokenizerScratch& scratch) const;

  // Appends the token ids of `text` to `ids` (which the caller reuses across calls). On error, `ids` holds
  // the tokens of the text before error_offset.
  TokenCount encode(std::string_view text, TokenizerScratch& scratch, std::vector<std::uint32_t>& ids) const;

  // Appends the pre-split pieces of `text` (views into it) to `pieces`: what the merge runs on, for tests and
  // diagnostics. tokens in the result counts pieces.
  TokenCount pre_split(std::string_view text, TokenizerScratch& scratch,
                       std::vector<std::string_view>& pieces) const;

  // The bytes of an ordinary token, or an empty view for an id outside the vocabulary.
  std::string_view token_bytes(std::uint32_t id) const;

 private:
  std::unique_ptr<Impl> impl_;
};

// Per-thread mutable state for Tokenizer calls; works with any encoding. Not thread-safe.
class TokenizerScratch {
 public:
  TokenizerScratch();
  ~TokenizerScratch();
  TokenizerScratch(const TokenizerScratch&) = delete;
  TokenizerScratch& operator=(const TokenizerScratch&) = delete;

  struct State;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// First byte offset at which `text` stops being valid UTF-8 (overlong forms, surrogates and code points
// above U+10FFFF are invalid, as in PCRE2 and Rust's str), or nullopt when all of it is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace sigflow::strategies
