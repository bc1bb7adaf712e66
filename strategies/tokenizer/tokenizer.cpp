#include "strategies/tokenizer/tokenizer.hpp"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "strategies/tokenizer/ascii_pre_split.hpp"
#include "strategies/tokenizer/byte_pair_merge.hpp"
#include "strategies/tokenizer/pre_split_pattern.hpp"
#include "strategies/tokenizer/rank_table.hpp"
#include "strategies/tokenizer/tokenizer_scratch_state.hpp"

namespace sigflow::strategies {
namespace {

struct EncodingSpec {
  Encoding encoding;
  std::string_view name;
  // tiktoken_ext/openai_public.py expected_hash: the files OpenAI publishes, which data/tokenizers/
  // reproduces.
  std::string_view sha256;
};

constexpr std::array<EncodingSpec, 2> kEncodings{{
    {Encoding::kCl100kBase, "cl100k_base",
     "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"},
    {Encoding::kO200kBase, "o200k_base", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"},
}};

const EncodingSpec& spec_of(Encoding encoding) {
  return kEncodings[static_cast<std::size_t>(encoding)];
}

// Large enough for any piece PCRE2 backtracks over in these patterns (the lookahead alternative on a
// whitespace run needs a frame per character it gives back, and it gives back at most one); 1 MiB is the
// recommended cap.
constexpr std::size_t kJitStackStart = 32 * 1024;
constexpr std::size_t kJitStackMax = 1024 * 1024;

bool read_file(const std::filesystem::path& path, std::string& out, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = path.string() + ": cannot open: " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) error = path.string() + ": read error";
  return !failed;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

std::size_t utf8_sequence_length(const unsigned char* p, std::size_t left) {
  const unsigned char c = p[0];
  const auto cont = [&](std::size_t i) { return i < left && (p[i] & 0xc0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && p[1] < 0xa0) return 0;   // overlong
    if (c == 0xed && p[1] >= 0xa0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xf4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

struct Tokenizer::Impl {
  Encoding encoding;
  detail::RankTable ranks;
  pcre2_code* pattern = nullptr;

  ~Impl() { pcre2_code_free(pattern); }
};

std::string_view encoding_name(Encoding encoding) {
  return spec_of(encoding).name;
}

std::optional<Encoding> parse_encoding(std::string_view name) {
  for (const EncodingSpec& spec : kEncodings) {
    if (spec.name == name) return spec.encoding;
  }
  return std::nullopt;
}

std::string_view text_error_name(TextError error) {
  switch (error) {
    case TextError::kNone:
      return "ok";
    case TextError::kInvalidUtf8:
      return "invalid UTF-8";
    case TextError::kPreSplitFailure:
      return "pre-split failure";
  }
  return "unknown";
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: prompt text is nearly all ASCII.
    if (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const std::size_t length = utf8_sequence_length(p + i, n - i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

std::shared_ptr<const Tokenizer> Tokenizer::load(Encoding encoding, const std::filesystem::path& data_dir,
                                                 std::string& error) {
  const EncodingSpec& spec = spec_of(encoding);
  const std::filesystem::path path = data_dir / (std::string(spec.name) + ".tiktoken");
  std::string file;
  if (!read_file(path, file, error)) return nullptr;

  const std::string digest = sha256_hex(file);
  if (digest != spec.sha256) {
    error = path.string() + ": SHA-256 mismatch: expected " + std::string(spec.sha256) + ", got " +
            (digest.empty() ? std::string("(digest failed)") : digest) +
            " — the rank file is corrupt or not OpenAI's " + std::string(spec.name);
    return nullptr;
  }

  auto impl = std::make_unique<Impl>();
  impl->encoding = encoding;
  if (!detail::parse_tiktoken_ranks(file, path.string(), impl->ranks, error)) return nullptr;

  const std::string pattern = pcre2_pattern(encoding);
  int code = 0;
  PCRE2_SIZE offset = 0;
  // DOLLAR_ENDONLY: tiktoken's regex crate reads `$` as end of text only, PCRE2 would also match before a
  // final newline.
  impl->pattern = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &code, &offset, nullptr);
  if (impl->pattern == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    error = std::string(spec.name) + " pre-split pattern does not compile at offset " +
            std::to_string(offset) + ": " + reinterpret_cast<const char*>(message);
    return nullptr;
  }
  if (const int rc = pcre2_jit_compile(impl->pattern, PCRE2_JIT_COMPLETE); rc != 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    error = std::string(spec.name) +
            " pre-split pattern: PCRE2 JIT unavailable: " + reinterpret_cast<const char*>(message);
    return nullptr;
  }
  return std::make_shared<const Tokenizer>(std::move(impl));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Encoding Tokenizer::encoding() const {
  return impl_->encoding;
}
std::size_t Tokenizer::vocabulary_size() const {
  return impl_->ranks.size();
}
std::string_view Tokenizer::token_bytes(std::uint32_t id) const {
  return impl_->ranks.bytes(id);
}

namespace {

std::size_t next_non_ascii(const unsigned char* p, std::size_t from, std::size_t n) {
  while (from + 8 <= n) {
    std::uint64_t word;
    std::memcpy(&word, p + from, 8);
    if ((word & 0x8080808080808080ULL) != 0) break;
    from += 8;
  }
  while (from < n && p[from] < 0x80) ++from;
  return from;
}

// Walks the pre-split pieces of `text`, calling on_piece(piece) for each and summing what it returns. The
// ASCII scanner splits what it can decide from ASCII bytes alone; PCRE2 splits the rest, one piece at a time.
template <typename OnPiece>
TokenCount for_each_piece(Encoding encoding, const pcre2_code* pattern, std::string_view text,
                          TokenizerScratch::State& state, OnPiece&& on_piece) {
  TokenCount result;
  if (const auto bad = find_invalid_utf8(text)) {
    // Nothing is counted: a partial count of invalid text would be a number nobody can use.
    result.error = TextError::kInvalidUtf8;
    result.error_offset = *bad;
    return result;
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const std::size_t n = text.size();
  std::size_t ascii_end = state.regex_only ? 0 : next_non_ascii(subject, 0, n);
  std::size_t at = 0;
  while (at < n) {
    if (at < ascii_end) {
      const std::size_t end = detail::piece_end(encoding, subject, at, ascii_end, n);
      if (end != detail::kNeedsRegex) {
        result.tokens += on_piece(text.substr(at, end - at));
        at = end;
        continue;
      }
    }
    // Unanchored like tiktoken's find_iter: bytes no alternative matches would be skipped there too (with
    // these patterns every character starts some alternative, so nothing is skipped in practice).
    const int rc = pcre2_jit_match(pattern, subject, n, at, 0, state.match_data, state.match_context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      result.error = TextError::kPreSplitFailure;
      result.error_offset = at;
      return result;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.match_data);
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    if (end == begin) {  // no alternative matches empty, but never loop on one
      ++at;
      while (at < n && (subject[at] & 0xc0) == 0x80) ++at;
      continue;
    }
    result.tokens += on_piece(text.substr(begin, end - begin));
    at = end;
    if (at > ascii_end && !state.regex_only) ascii_end = next_non_ascii(subject, at, n);
  }
  return result;
}

}  // namespace

namespace {

// The tokens of one piece: a whole-piece token, else the merge. Pieces of 3 to 16 bytes go through the
// scratch's cache. Returns the number of tokens; when `ids` is given, appends them.
std::size_t piece_tokens(Encoding encoding, const detail::RankTable& ranks, std::string_view piece,
                         TokenizerScratch::State& state, std::vector<std::uint32_t>* ids) {
  detail::PieceCache::Entry* slot = nullptr;
  if (piece.size() <= 2 && ids == nullptr) {
    // A byte or a byte pair is one direct-table load: cheaper than the cache.
    if (ranks.find(piece) != detail::RankTable::kNoRank) return 1;
  } else if (piece.size() <= detail::PieceCache::kMaxPiece) {
    if (const detail::PieceCache::Entry* hit = state.piece_cache.find(encoding, piece, slot)) {
      if (ids == nullptr) return hit->tokens;
      if (hit->ids_cached) {
        ids->insert(ids->end(), hit->ids, hit->ids + hit->tokens);
        return hit->tokens;
      }
    }
  }
  std::uint32_t single = ranks.find(piece);
  std::span<const std::uint32_t> tokens;
  if (single != detail::RankTable::kNoRank) {
    tokens = std::span<const std::uint32_t>(&single, 1);
  } else {
    tokens = detail::byte_pair_encode(ranks, piece, state.merge);
  }
  if (slot != nullptr) detail::PieceCache::store(*slot, encoding, piece, tokens, tokens.size());
  if (ids != nullptr) ids->insert(ids->end(), tokens.begin(), tokens.end());
  return tokens.size();
}

}  // namespace

TokenCount Tokenizer::count(std::string_view text, TokenizerScratch& scratch) const {
  TokenizerScratch::State& state = scratch.state();
  return for_each_piece(impl_->encoding, impl_->pattern, text, state, [&](std::string_view piece) {
    return piece_tokens(impl_->encoding, impl_->ranks, piece, state, nullptr);
  });
}

TokenCount Tokenizer::encode(std::string_view text, TokenizerScratch& scratch,
                             std::vector<std::uint32_t>& ids) const {
  TokenizerScratch::State& state = scratch.state();
  return for_each_piece(impl_->encoding, impl_->pattern, text, state, [&](std::string_view piece) {
    return piece_tokens(impl_->encoding, impl_->ranks, piece, state, &ids);
  });
}

TokenCount Tokenizer::pre_split(std::string_view text, TokenizerScratch& scratch,
                                std::vector<std::string_view>& pieces) const {
  return for_each_piece(impl_->encoding, impl_->pattern, text, scratch.state(), [&](std::string_view piece) {
    pieces.push_back(piece);
    return std::size_t{1};
  });
}

TokenizerScratch::TokenizerScratch() : state_(std::make_unique<State>()) {
  // One ovector pair: the patterns have no capturing groups. Allocation failures leave null pointers, which
  // pcre2_jit_match would dereference, so they end the process here rather than later on the hot path.
  state_->match_data = pcre2_match_data_create(1, nullptr);
  state_->match_context = pcre2_match_context_create(nullptr);
  state_->jit_stack = pcre2_jit_stack_create(kJitStackStart, kJitStackMax, nullptr);
  if (state_->match_data == nullptr || state_->match_context == nullptr || state_->jit_stack == nullptr) {
    std::fputs("sigflow: out of memory creating tokenizer scratch\n", stderr);
    std::abort();
  }
  pcre2_jit_stack_assign(state_->match_context, nullptr, state_->jit_stack);
  state_->merge.parts.reserve(detail::kLargePiece + 2);
  state_->merge.tokens.reserve(detail::kLargePiece);
}

TokenizerScratch::~TokenizerScratch() {
  pcre2_jit_stack_free(state_->jit_stack);
  pcre2_match_context_free(state_->match_context);
  pcre2_match_data_free(state_->match_data);
}

}  // namespace sigflow::strategies
