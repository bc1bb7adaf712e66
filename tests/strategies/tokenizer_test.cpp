#include "strategies/tokenizer/tokenizer.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "strategies/tokenizer/byte_pair_merge.hpp"
#include "strategies/tokenizer/chat_tokens.hpp"
#include "strategies/tokenizer/pre_split_pattern.hpp"
#include "strategies/tokenizer/tokenizer_scratch_state.hpp"
#include "strategies/tokenizer/tokens_command.hpp"

namespace sigflow::strategies {
namespace {

namespace fs = std::filesystem;

const fs::path kDataDir = fs::path(sigflow::testing_support::source_dir()) / "data" / "tokenizers";
const fs::path kFixtures = fs::path(sigflow::testing_support::fixtures_dir()) / "tiktoken";
const fs::path kReferenceDir = fs::path(sigflow::testing_support::source_dir()) / "tools" / "tiktoken-ref";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Loading a rank file takes ~100 ms; every test shares one tokenizer per encoding.
const Tokenizer& tokenizer(Encoding encoding) {
  static const std::shared_ptr<const Tokenizer> loaded[2] = {
      [] {
        std::string error;
        auto t = Tokenizer::load(Encoding::kCl100kBase, kDataDir, error);
        if (!t) ADD_FAILURE() << error;
        return t;
      }(),
      [] {
        std::string error;
        auto t = Tokenizer::load(Encoding::kO200kBase, kDataDir, error);
        if (!t) ADD_FAILURE() << error;
        return t;
      }(),
  };
  return *loaded[static_cast<int>(encoding)];
}

std::vector<std::uint32_t> encode(Encoding encoding, std::string_view text) {
  TokenizerScratch scratch;
  std::vector<std::uint32_t> ids;
  const TokenCount result = tokenizer(encoding).encode(text, scratch, ids);
  EXPECT_TRUE(result.ok()) << text_error_name(result.error) << " at " << result.error_offset;
  EXPECT_EQ(result.tokens, ids.size());
  return ids;
}

std::size_t count(Encoding encoding, std::string_view text) {
  TokenizerScratch scratch;
  const TokenCount result = tokenizer(encoding).count(text, scratch);
  EXPECT_TRUE(result.ok()) << text_error_name(result.error) << " at " << result.error_offset;
  return result.tokens;
}

std::string decode(Encoding encoding, const std::vector<std::uint32_t>& ids) {
  std::string out;
  for (std::uint32_t id : ids) out += tokenizer(encoding).token_bytes(id);
  return out;
}

TEST(TokenizerLoad, BothEncodingsLoadWithTheirFullVocabulary) {
  EXPECT_EQ(tokenizer(Encoding::kCl100kBase).vocabulary_size(), 100256u);
  EXPECT_EQ(tokenizer(Encoding::kO200kBase).vocabulary_size(), 199998u);
  EXPECT_EQ(tokenizer(Encoding::kO200kBase).encoding(), Encoding::kO200kBase);
}

TEST(TokenizerLoad, MissingFileIsAClearError) {
  std::string error;
  EXPECT_EQ(Tokenizer::load(Encoding::kCl100kBase, "/nonexistent-sigflow-dir", error), nullptr);
  EXPECT_NE(error.find("/nonexistent-sigflow-dir/cl100k_base.tiktoken"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST(TokenizerLoad, AlteredFileFailsTheChecksum) {
  const fs::path dir = fs::temp_directory_path() / ("sigflow-tok-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string file = read_text(kDataDir / "o200k_base.tiktoken");
  ASSERT_FALSE(file.empty());
  // Swap two ranks: still a well-formed rank file, but not OpenAI's, and it would tokenize differently.
  file.replace(file.find(" 0\n"), 3, " 9\n");
  std::ofstream(dir / "o200k_base.tiktoken", std::ios::binary) << file;
  std::string error;
  EXPECT_EQ(Tokenizer::load(Encoding::kO200kBase, dir, error), nullptr);
  EXPECT_NE(error.find("SHA-256 mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find("446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(TokenizerLoad, EncodingNamesRoundTrip) {
  EXPECT_EQ(parse_encoding("cl100k_base"), Encoding::kCl100kBase);
  EXPECT_EQ(parse_encoding("o200k_base"), Encoding::kO200kBase);
  EXPECT_EQ(parse_encoding("p50k_base"), std::nullopt);
  EXPECT_EQ(encoding_name(Encoding::kO200kBase), "o200k_base");
}

TEST(PreSplitPattern, SpelledOutPatternsAreTheVerifiedFixtures) {
  EXPECT_EQ(pcre2_pattern(Encoding::kCl100kBase), read_text(kFixtures / "cl100k_pcre2_explicit_ws.pat"));
  EXPECT_EQ(pcre2_pattern(Encoding::kO200kBase), read_text(kFixtures / "o200k_pcre2_explicit_ws.pat"));
}

TEST(PreSplitPattern, PatternsMatchTheRankFilesMetadata) {
  for (const auto& [encoding, name] :
       {std::pair{Encoding::kCl100kBase, "cl100k_base"}, std::pair{Encoding::kO200kBase, "o200k_base"}}) {
    simdjson::dom::parser parser;
    simdjson::dom::element meta;
    ASSERT_EQ(parser.load((kDataDir / (std::string(name) + ".meta.json")).string()).get(meta),
              simdjson::SUCCESS);
    std::string_view pat;
    ASSERT_EQ(meta["pat_str"].get(pat), simdjson::SUCCESS);
    if (encoding == Encoding::kCl100kBase) {
      // The meta file carries tiktoken's older non-possessive spelling of the same pattern; ours is
      // v0.14.0's.
      EXPECT_NE(pat.find("\\p{N}{1,3}"), std::string_view::npos);
    } else {
      EXPECT_EQ(pat, tiktoken_pattern(encoding));
    }
  }
}

TEST(TokenizerVectors, CookbookVectorsEncodeExactly) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.load((kFixtures / "vectors.json").string()).get(root), simdjson::SUCCESS);
  int checked = 0;
  for (simdjson::dom::element vector : root["encode"].get_array()) {
    const std::string_view text = vector["text"].get_string();
    for (const auto& [encoding, name] :
         {std::pair{Encoding::kCl100kBase, "cl100k_base"}, std::pair{Encoding::kO200kBase, "o200k_base"}}) {
      std::vector<std::uint32_t> expected;
      for (simdjson::dom::element id : vector[name].get_array())
        expected.push_back(std::uint32_t(id.get_uint64()));
      EXPECT_EQ(encode(encoding, text), expected) << name << ": " << text;
      EXPECT_EQ(count(encoding, text), expected.size());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8);
}

TEST(TokenizerVectors, CookbookChatExampleCounts129And124) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.load((kFixtures / "vectors.json").string()).get(root), simdjson::SUCCESS);
  std::vector<ChatMessage> messages;
  for (simdjson::dom::object m : root["chat_count"]["messages"].get_array()) {
    ChatMessage message;
    message.role = m["role"].get_string();
    message.content = m["content"].get_string();
    std::string_view name;
    if (m["name"].get(name) == simdjson::SUCCESS) message.name = name;
    messages.push_back(message);
  }
  ASSERT_EQ(messages.size(), 6u);
  TokenizerScratch scratch;
  const TokenCount cl = count_chat_tokens(tokenizer(Encoding::kCl100kBase), scratch, messages);
  const TokenCount o2 = count_chat_tokens(tokenizer(Encoding::kO200kBase), scratch, messages);
  ASSERT_TRUE(cl.ok());
  ASSERT_TRUE(o2.ok());
  EXPECT_EQ(cl.tokens, 129u);
  EXPECT_EQ(o2.tokens, 124u);
}

TEST(Tokenizer, EmptyTextHasNoTokens) {
  EXPECT_EQ(count(Encoding::kCl100kBase, ""), 0u);
  EXPECT_TRUE(encode(Encoding::kO200kBase, "").empty());
}

TEST(Tokenizer, SpecialTokenTextIsEncodedAsOrdinaryText) {
  for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
    const std::string text = "a<|endoftext|>b<|endofprompt|><|fim_prefix|>";
    const std::vector<std::uint32_t> ids = encode(encoding, text);
    EXPECT_GT(ids.size(), 5u);
    for (std::uint32_t id : ids) EXPECT_LT(id, tokenizer(encoding).vocabulary_size()) << id;
    EXPECT_EQ(decode(encoding, ids), text);
  }
}

TEST(Tokenizer, InvalidUtf8IsReportedWithItsOffset) {
  TokenizerScratch scratch;
  std::vector<std::uint32_t> ids;
  for (const std::string& bad :
       {std::string("ok \xff"), std::string("ok \xc0\xaf"), std::string("ok \xed\xa0\x80"),
        std::string("ok \xf4\x90\x80\x80"), std::string("ok \xe2\x82")}) {
    const TokenCount result = tokenizer(Encoding::kCl100kBase).encode(bad, scratch, ids);
    EXPECT_EQ(result.error, TextError::kInvalidUtf8);
    EXPECT_EQ(result.error_offset, 3u);
    EXPECT_EQ(result.tokens, 0u);
  }
  EXPECT_TRUE(ids.empty());
  EXPECT_EQ(find_invalid_utf8("\xf0\x9f\x98\x80 \xe3\x80\x80 \xc2\xa0"), std::nullopt);
}

TEST(Tokenizer, MongolianVowelSeparatorIsNotWhiteSpace) {
  // Expected ids from the tiktoken npm package 1.0.22: PCRE2 with a plain \s splits this differently.
  const std::string a = "a \xe1\xa0\x8e b";
  const std::string x = "x  \xe1\xa0\x8e\xe3\x80\x80 \n";
  EXPECT_EQ(encode(Encoding::kCl100kBase, a), (std::vector<std::uint32_t>{64, 87189, 254, 236, 293}));
  EXPECT_EQ(encode(Encoding::kCl100kBase, x),
            (std::vector<std::uint32_t>{87, 220, 87189, 254, 236, 23249, 720}));
  EXPECT_EQ(encode(Encoding::kO200kBase, a), (std::vector<std::uint32_t>{64, 220, 157, 254, 236, 287}));
  EXPECT_EQ(encode(Encoding::kO200kBase, x),
            (std::vector<std::uint32_t>{87, 220, 220, 157, 254, 236, 1397, 793}));
}

TEST(Tokenizer, EncodeRoundTripsAndCountAgreesOnLongPieces) {
  std::mt19937_64 rng(7);
  for (std::size_t length : {255u, 256u, 257u, 1000u, 20000u}) {
    std::string letters, digits_free_symbols, spaces;
    for (std::size_t i = 0; i < length; ++i) {
      letters += static_cast<char>('a' + rng() % 26);
      digits_free_symbols += "!#$%&*+-./:;<=>?@^_~"[rng() % 20];
      spaces += " \t"[rng() % 2];
    }
    for (const std::string& text : {letters, digits_free_symbols, spaces + "x"}) {
      for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
        const std::vector<std::uint32_t> ids = encode(encoding, text);
        EXPECT_EQ(decode(encoding, ids), text);
        EXPECT_EQ(count(encoding, text), ids.size());
      }
    }
  }
}

// The heap merge must pick exactly the pairs tiktoken's scan picks: run both on the same pieces.
TEST(BytePairMerge, HeapAndScanMergesAgree) {
  std::mt19937_64 rng(11);
  const std::string alphabet[] = {"e", "t",   "a",   "in", "er", " ", "\xc3\xa9", "\xe4\xb8\xad",
                                  "0", "ing", "{\"", "\n"};
  int compared = 0;
  for (const char* name : {"cl100k_base", "o200k_base"}) {
    detail::RankTable ranks;
    std::string error;
    ASSERT_TRUE(detail::parse_tiktoken_ranks(read_text(kDataDir / (std::string(name) + ".tiktoken")), name,
                                             ranks, error))
        << error;
    detail::MergeBuffers scan_buffers, heap_buffers;
    for (int round = 0; round < 3000; ++round) {
      std::string piece;
      const int parts = 1 + static_cast<int>(rng() % 80);
      for (int i = 0; i < parts; ++i) piece += alphabet[rng() % std::size(alphabet)];
      const auto scan = detail::byte_pair_encode(ranks, piece, scan_buffers, piece.size() + 1);
      const auto heap = detail::byte_pair_encode(ranks, piece, heap_buffers, 0);
      ASSERT_EQ(std::vector<std::uint32_t>(scan.begin(), scan.end()),
                std::vector<std::uint32_t>(heap.begin(), heap.end()))
          << name << ": " << piece;
      std::string joined;
      for (std::uint32_t id : heap) joined += ranks.bytes(id);
      ASSERT_EQ(joined, piece);
      ++compared;
    }
  }
  EXPECT_EQ(compared, 6000);
}

// The ASCII scanner must cut exactly where PCRE2 cuts. Strings are built from the characters its rules branch
// on (contraction letters in both cases, each white-space kind, '/', apostrophes) with a little non-ASCII
// mixed in to exercise the hand-over in both directions.
TEST(AsciiPreSplit, CutsWherePcre2Cuts) {
  const std::vector<std::string> pieces = {"'",        "s",           "S",
                                           "t",        "d",           "m",
                                           "l",        "L",           "v",
                                           "e",        "E",           "r",
                                           "R",        "x",           "Ab",
                                           "AB",       "aB",          "1",
                                           "22",       "3333",        " ",
                                           "  ",       "\t",          "\n",
                                           "\r\n",     "\v",          "\f",
                                           "/",        "//",          ".",
                                           "!?",       "_",           "-",
                                           "\"",       "\x01",        "\x7f",
                                           "\xc3\xa9", "\xc5\xbf",    "\xe3\x80\x80",
                                           "\xd9\xa3", "\xe2\x80\x94"};
  std::mt19937_64 rng(3);
  TokenizerScratch fast, regex;
  regex.state().regex_only = true;
  std::vector<std::string_view> fast_pieces, regex_pieces;
  for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
    for (int round = 0; round < 20000; ++round) {
      std::string text;
      const int parts = 1 + static_cast<int>(rng() % 14);
      for (int i = 0; i < parts; ++i) {
        // Mostly ASCII: the last five entries are non-ASCII.
        const std::size_t range = (rng() % 8 == 0) ? pieces.size() : pieces.size() - 5;
        text += pieces[rng() % range];
      }
      fast_pieces.clear();
      regex_pieces.clear();
      ASSERT_TRUE(tokenizer(encoding).pre_split(text, fast, fast_pieces).ok());
      ASSERT_TRUE(tokenizer(encoding).pre_split(text, regex, regex_pieces).ok());
      ASSERT_EQ(fast_pieces, regex_pieces) << encoding_name(encoding) << ": '" << text << "'";
    }
  }
}

// ---- Differential test against the tiktoken npm package
// -----------------------------------------------------

std::string random_text(std::mt19937_64& rng) {
  static const std::vector<std::string> kFragments = {
      // whitespace, including the code points where regex engines disagree
      " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\xe1\xa0\x8e", "\xe3\x80\x80", "\xc2\xa0",
      "\xc2\x85", "\xe2\x80\xa8", "\xe2\x80\x8b", "\xe2\x80\x83", "\x0b", "\x0c",
      // words, contractions, case
      "the", "The", "THE", "quick", "Brown", "fox", "don't", "I'M", "we'll", "they're", "'s", "'LL",
      "McDonald", "naïve", "Straße", "ÉCOLE", "ﬁnance",
      // scripts and combining marks
      "привет", "Ελληνικά", "中文字符", "日本語のテキスト", "한국어", "العربية", "हिन्दी", "ไทย", "e\xcc\x81",
      "\xe0\xa4\x95\xe0\xa5\x8d", "ǅ", "ʰ",
      // emoji: plain, ZWJ sequences, skin tones, flags, keycaps
      "😀", "🚀🚀", "👩‍👩‍👧‍👦", "👍🏽", "🇺🇸", "1️⃣", "❤️",
      // digits
      "0", "7", "42", "123", "2026", "12345678", "3.14159", "-0.0001", "1e-7", "٣٤٥", "①", "½",
      // punctuation, code, JSON
      ".", ",", "!", "?!", "...", "—", "«", "»", "/", "//", "{", "}", "[", "]", "\"", "':", "==", "->", "&&",
      "{\"symbol\":\"BTCUSDT\",\"bid\":\"67234.10\",\"qty\":0.5}", "[{\"a\":1},{\"b\":[2,3]}]",
      "<|endoftext|>", "https://api.binance.com/api/v3/depth?symbol=ETHUSDT&limit=1000", "#include <vector>",
      "    return x;",
      // market snapshot lines
      "binance-usdm:BTCUSDT mid=67234.5 spr=0.74 mp=+0.12 imb=+0.31,+0.12,-0.05 r1s=+1.2 r10s=-3.4 age=35\n",
      "okx:UNI-USD-SWAP mid=7.1234 spr=1.4 fund=+0.0100% mark=-0.8\n",
      "BTC-USDT-PERP: BUY | 0.73 | bid wall\n"};
  std::string text;
  const int fragments = static_cast<int>(rng() % 24);
  for (int i = 0; i < fragments; ++i) {
    const std::size_t pick = rng() % (kFragments.size() + 3);
    if (pick < kFragments.size()) {
      text += kFragments[pick];
    } else if (pick == kFragments.size()) {
      // a random code point from the BMP or beyond, excluding surrogates
      std::uint32_t cp = static_cast<std::uint32_t>(rng() % 0x10ffff) + 1;
      if (cp >= 0xd800 && cp < 0xe000) cp = 0x3000;
      if (cp < 0x80) {
        text += static_cast<char>(cp);
      } else if (cp < 0x800) {
        text += static_cast<char>(0xc0 | (cp >> 6));
        text += static_cast<char>(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        text += static_cast<char>(0xe0 | (cp >> 12));
        text += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        text += static_cast<char>(0x80 | (cp & 0x3f));
      } else {
        text += static_cast<char>(0xf0 | (cp >> 18));
        text += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        text += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        text += static_cast<char>(0x80 | (cp & 0x3f));
      }
    } else if (pick == kFragments.size() + 1) {
      // a run long enough for the heap merge
      const std::string unit = kFragments[rng() % kFragments.size()];
      const int repeat = 50 + static_cast<int>(rng() % 400);
      for (int r = 0; r < repeat; ++r) text += unit;
    } else {
      text += static_cast<char>(0x20 + rng() % 95);
    }
  }
  return text;
}

void append_json_string(std::string_view text, std::string& out) {
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

TEST(TokenizerDifferential, MatchesTiktokenNpmOnThousandsOfGeneratedStrings) {
  ASSERT_TRUE(fs::exists(kReferenceDir / "node_modules" / "tiktoken" / "package.json"))
      << "the tiktoken npm reference is not installed; run: npm ci --prefix " << kReferenceDir.string();

  constexpr int kStrings = 3000;
  std::mt19937_64 rng(20261123);
  std::vector<std::string> texts;
  std::string jsonl;
  for (int i = 0; i < kStrings; ++i) {
    texts.push_back(random_text(rng));
    append_json_string(texts.back(), jsonl);
    jsonl += '\n';
  }
  const fs::path dir = fs::temp_directory_path() / ("sigflow-tiktoken-diff-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in.jsonl", std::ios::binary) << jsonl;

  TokenizerScratch scratch;
  for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
    const fs::path out = dir / (std::string(encoding_name(encoding)) + ".txt");
    const std::string command = "node '" + (kReferenceDir / "encode.mjs").string() + "' " +
                                std::string(encoding_name(encoding)) + " '" + (dir / "in.jsonl").string() +
                                "' '" + out.string() + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;

    std::ifstream reference(out);
    std::string line;
    int compared = 0, mismatched = 0;
    std::vector<std::uint32_t> ids;
    for (const std::string& text : texts) {
      ASSERT_TRUE(std::getline(reference, line)) << "reference output ends early at " << compared;
      std::vector<std::uint32_t> expected;
      std::istringstream fields(line);
      for (std::uint32_t id; fields >> id;) expected.push_back(id);
      ids.clear();
      const TokenCount result = tokenizer(encoding).encode(text, scratch, ids);
      ASSERT_TRUE(result.ok());
      const TokenCount counted = tokenizer(encoding).count(text, scratch);
      if (ids != expected || counted.tokens != expected.size()) {
        if (++mismatched <= 5) {
          std::string shown;
          append_json_string(text, shown);
          ADD_FAILURE() << encoding_name(encoding) << " differs from tiktoken on " << shown << ": "
                        << ids.size() << " tokens (count " << counted.tokens << ") vs " << expected.size();
        }
      }
      ++compared;
    }
    EXPECT_EQ(compared, kStrings);
    EXPECT_EQ(mismatched, 0) << encoding_name(encoding);
  }
  fs::remove_all(dir);
}

// ---- sigflow tokens
// -------------------------------------------------------------------------------------------

int run(const TokensCommand& command, std::string_view input, std::string& out, std::string& err) {
  std::istringstream in{std::string(input)};
  std::ostringstream o, e;
  const int rc = run_tokens_command(command, in, o, e);
  out = o.str();
  err = e.str();
  return rc;
}

TEST(TokensCommand, PrintsTheCountOfStdin) {
  TokensCommand command;
  command.data_dir = kDataDir;
  std::string out, err;
  EXPECT_EQ(run(command, "tiktoken is great!", out, err), 0) << err;
  EXPECT_EQ(out, "6\n");
  command.encoding = "cl100k_base";
  EXPECT_EQ(run(command, "2 + 2 = 4", out, err), 0) << err;
  EXPECT_EQ(out, "7\n");
}

TEST(TokensCommand, IdsPrintsTheTokens) {
  TokensCommand command;
  command.data_dir = kDataDir;
  command.encoding = "o200k_base";
  command.ids = true;
  std::string out, err;
  EXPECT_EQ(run(command, "tiktoken is great!", out, err), 0) << err;
  EXPECT_EQ(out, "83 8251 2488 382 2212 0\n");
}

TEST(TokensCommand, ReadsAFile) {
  TokensCommand command;
  command.data_dir = kDataDir;
  command.input = (kFixtures / "cl100k_pcre2_explicit_ws.pat").string();
  std::string out, err;
  EXPECT_EQ(run(command, "", out, err), 0) << err;
  EXPECT_EQ(out, std::to_string(count(Encoding::kO200kBase, read_text(command.input))) + "\n");
}

TEST(TokensCommand, ErrorsAreClearAndNonZero) {
  TokensCommand command;
  command.data_dir = kDataDir;
  std::string out, err;
  command.encoding = "p50k_base";
  EXPECT_EQ(run(command, "x", out, err), 2);
  EXPECT_NE(err.find("unknown encoding 'p50k_base'"), std::string::npos) << err;

  command.encoding = "cl100k_base";
  command.input = "/nonexistent/input.txt";
  EXPECT_EQ(run(command, "", out, err), 1);
  EXPECT_NE(err.find("/nonexistent/input.txt"), std::string::npos) << err;

  command.input = "-";
  EXPECT_EQ(run(command, "abc \xff def", out, err), 1);
  EXPECT_NE(err.find("invalid UTF-8 at byte 4"), std::string::npos) << err;
  EXPECT_TRUE(out.empty());

  command.data_dir = "/nonexistent-data";
  EXPECT_EQ(run(command, "x", out, err), 1);
  EXPECT_NE(err.find("cannot open"), std::string::npos) << err;
}

}  // namespace
}  // namespace sigflow::strategies
