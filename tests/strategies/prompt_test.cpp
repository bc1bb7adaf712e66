#include <gtest/gtest.h>
#include <simdjson.h>
#include "tests/support/paths.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "strategies/prompt/prompt_planner.hpp"
#include "strategies/prompt/reply_format.hpp"
#include "strategies/prompt/snapshot_line.hpp"
#include "strategies/tokenizer/chat_tokens.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

#include "tests/support/sanitized.hpp"

// Counts heap allocations made by the thread while it is inside an AllocationCounter scope, to prove plan()
// does not allocate in steady state. Replacing operator new is program-wide: it forwards to malloc and only
// counts.
namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocations = 0;

struct AllocationCounter {
  AllocationCounter() {
    g_allocations = 0;
    g_counting = true;
  }
  ~AllocationCounter() { g_counting = false; }
  std::size_t count() const { return g_allocations; }
};
}  // namespace

// Sanitizers own the allocator: a replaced operator new would pair with their new[] inside shared libraries
// (simdjson's document) and report mismatches. The allocation count is proven by the plain build.
#ifndef SIGFLOW_SANITIZED
// noinline and the pragma: GCC otherwise inlines these into gtest's `new TestClass` / `delete` pairs and
// warns about malloc/free meeting new/delete, which is exactly the pairing a replacement is allowed to make.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
__attribute__((noinline)) void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop
#endif

namespace sigflow::strategies {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const Tokenizer> tokenizer(Encoding encoding) {
  static std::shared_ptr<const Tokenizer> loaded[2];
  auto& slot = loaded[static_cast<int>(encoding)];
  if (!slot) {
    std::string error;
    slot = Tokenizer::load(encoding, fs::path(sigflow::testing_support::source_dir()) / "data" / "tokenizers",
                           error);
    EXPECT_NE(slot, nullptr) << error;
  }
  return slot;
}

std::size_t count(Encoding encoding, std::string_view text) {
  TokenizerScratch scratch;
  const TokenCount c = tokenizer(encoding)->count(text, scratch);
  EXPECT_TRUE(c.ok());
  return c.tokens;
}

std::string line_of(const InstrumentFeatures& f) {
  char buffer[kMaxSnapshotLine];
  const SnapshotLineResult r = write_snapshot_line(f, buffer);
  EXPECT_TRUE(r.ok());
  return std::string(buffer, r.size);
}

InstrumentFeatures full_features() {
  InstrumentFeatures f;
  f.venue = "binance-usdm";
  f.symbol = "BTCUSDT";
  f.instrument = "BTC-USDT-PERP";
  f.mid = 67234.55;
  f.spread_bps = 0.7436;
  f.microprice_offset_bps = 0.1249;
  f.imbalance_l1 = 0.31;
  f.imbalance_l5 = 0.12;
  f.imbalance_l20 = -0.051;
  f.return_1s_bps = 1.2;
  f.return_10s_bps = -3.4;
  f.volume_10s = 12.5;
  f.taker_buy_ratio_10s = 0.62;
  f.funding_rate = 0.0001;
  f.mark_offset_bps = -0.8;
  f.data_age_ms = 35.4;
  f.change_score = 1;
  f.book_valid = true;
  return f;
}

// ---- snapshot lines
// -------------------------------------------------------------------------------------------

TEST(SnapshotLine, WritesEveryPresentField) {
  EXPECT_EQ(line_of(full_features()),
            "BTCUSDT@binance-usdm mid=67234.55 spr=0.74 mpo=+0.12 imb=+0.31/+0.12/-0.05 r1s=+1.2 r10s=-3.4 "
            "vol10s=12.5 tbr=0.62 fund=+1 mark=-0.8 age=35\n");
}

TEST(SnapshotLine, LeavesAbsentFieldsOutAndFlagsAnInvalidBook) {
  InstrumentFeatures f;
  f.venue = "bybit-spot";
  f.symbol = "PEPEUSDT";
  f.mid = 0.0000123456789;
  f.spread_bps = -0.0001;  // rounds to zero: written "0", never "-0"
  f.imbalance_l5 = 0.5;
  f.book_valid = false;
  EXPECT_EQ(line_of(f), "PEPEUSDT@bybit-spot mid=0.0000123457 spr=0 imb=_/+0.5/_ vol10s=0 book=invalid\n");
}

TEST(SnapshotLine, SameFeaturesGiveTheSameBytes) {
  InstrumentFeatures f = full_features();
  EXPECT_EQ(line_of(f), line_of(f));
  f.mid = 1234567.0;
  EXPECT_EQ(line_of(f).substr(0, 34), "BTCUSDT@binance-usdm mid=1234567 s");
}

TEST(SnapshotLine, RefusesIdentifiersThatWouldBreakTheFormat) {
  char buffer[kMaxSnapshotLine];
  for (std::string_view symbol : {"", "BTC USDT", "BTC\"USDT", "BTC@USDT", "-BTC", "BTC-", "BTC\nX", "ÉTH"}) {
    InstrumentFeatures f = full_features();
    f.symbol = symbol;
    EXPECT_EQ(write_snapshot_line(f, buffer).error, SnapshotLineError::kBadIdentifier) << symbol;
  }
  InstrumentFeatures f = full_features();
  f.venue = "okx/spot";
  EXPECT_EQ(write_snapshot_line(f, buffer).error, SnapshotLineError::kBadIdentifier);
}

TEST(SnapshotLine, ReportsABufferThatIsTooSmall) {
  char small[40];
  EXPECT_EQ(write_snapshot_line(full_features(), small).error, SnapshotLineError::kTooLong);
}

TEST(SnapshotLine, ExtremeValuesStayWithinTheLineBound) {
  InstrumentFeatures f = full_features();
  f.mid = 1e300;
  f.spread_bps = -1e300;
  f.volume_10s = 1e300;
  f.funding_rate = 1e296;
  f.data_age_ms = std::numeric_limits<double>::infinity();  // not finite: left out
  char buffer[kMaxSnapshotLine];
  const SnapshotLineResult r = write_snapshot_line(f, buffer);
  // Every value is bounded by to_chars' 64-byte scratch; the line stays well inside kMaxSnapshotLine or is
  // refused, never truncated.
  if (r.ok()) {
    EXPECT_EQ(std::string_view(buffer, r.size).find("age="), std::string_view::npos);
  } else {
    EXPECT_EQ(r.error, SnapshotLineError::kTooLong);
  }
}

// ---- token additivity of lines
// --------------------------------------------------------------------------------

InstrumentFeatures random_features(std::mt19937_64& rng, std::vector<std::string>& names) {
  static const char* kVenues[] = {"binance", "binance-usdm", "bybit-spot", "bybit-linear", "okx", "deribit"};
  static const char* kBases[] = {"BTC", "ETH", "SOL", "1000PEPE", "UNI", "KEEP", "xrp", "DOGE"};
  static const char* kQuotes[] = {"USDT", "-USD-SWAP", "-PERPETUAL", "USDC", "_PERP", ".P"};
  std::uniform_real_distribution<double> unit(-1, 1);
  const auto maybe = [&](double v) { return rng() % 5 == 0 ? kAbsent : v; };
  names.push_back(std::string(kBases[rng() % 8]) + kQuotes[rng() % 6]);
  InstrumentFeatures f;
  f.venue = kVenues[rng() % 6];
  f.mid = maybe(std::pow(10.0, unit(rng) * 6) * (1 + unit(rng)));
  f.spread_bps = maybe(std::fabs(unit(rng)) * 30);
  f.microprice_offset_bps = maybe(unit(rng) * 5);
  f.imbalance_l1 = maybe(unit(rng));
  f.imbalance_l5 = maybe(unit(rng));
  f.imbalance_l20 = maybe(unit(rng));
  f.return_1s_bps = maybe(unit(rng) * 20);
  f.return_10s_bps = maybe(unit(rng) * 80);
  f.volume_10s = std::fabs(unit(rng)) * std::pow(10.0, 1 + 4 * std::fabs(unit(rng)));
  f.taker_buy_ratio_10s = maybe(std::fabs(unit(rng)));
  f.funding_rate = maybe(unit(rng) * 0.001);
  f.mark_offset_bps = maybe(unit(rng) * 10);
  f.data_age_ms = maybe(std::fabs(unit(rng)) * 3000);
  f.change_score = std::fabs(unit(rng));
  f.book_valid = rng() % 10 != 0;
  return f;
}

TEST(SnapshotLineTokens, LinesAreTokenAdditiveInBothEncodings) {
  std::mt19937_64 rng(99);
  for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
    for (int round = 0; round < 200; ++round) {
      std::vector<std::string> names;
      names.reserve(64);
      std::vector<InstrumentFeatures> features;
      const int lines = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < lines; ++i) features.push_back(random_features(rng, names));
      std::string message;
      std::size_t sum = 0;
      for (int i = 0; i < lines; ++i) {
        features[i].symbol = names[i];
        const std::string line = line_of(features[i]);
        sum += count(encoding, line);
        message += line;
      }
      ASSERT_EQ(count(encoding, message), sum) << encoding_name(encoding) << "\n" << message;
    }
  }
}

// The argument in snapshot_line.hpp is about any line that starts with a letter or digit and ends with one
// '\n', not just ours: check it on adversarial lines (punctuation, '/', apostrophes and spaces before the
// newline, non-ASCII letters and digits).
TEST(SnapshotLineTokens, AnyAlphanumericLedLinesAreTokenAdditive) {
  const std::vector<std::string> starts = {"a", "Z", "7", "é", "中", "٣"};
  const std::vector<std::string> body = {" ",  "  ", "x", "Q", "9", "123",          "'", "'s", "/",
                                         "//", "-",  ".", "=", "+", "\"",           ",", ":",  "@",
                                         "%",  "\t", "ü", "ß", "😀", "\xe3\x80\x80", "_"};
  std::mt19937_64 rng(5);
  for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
    for (int round = 0; round < 400; ++round) {
      std::string message;
      std::size_t sum = 0;
      const int lines = 2 + static_cast<int>(rng() % 6);
      for (int i = 0; i < lines; ++i) {
        std::string line = starts[rng() % starts.size()];
        const int parts = static_cast<int>(rng() % 12);
        for (int k = 0; k < parts; ++k) line += body[rng() % body.size()];
        line += '\n';
        sum += count(encoding, line);
        message += line;
      }
      ASSERT_EQ(count(encoding, message), sum) << encoding_name(encoding) << "\n" << message;
    }
  }
}

// ---- reply format
// ---------------------------------------------------------------------------------------------

TEST(ReplyFormat, SystemMessageDescribesTheLenientLineFormat) {
  const std::string_view message = system_message();
  EXPECT_NE(message.find("PAIR: SIGNAL | CONFIDENCE | SUMMARY"), std::string_view::npos);
  EXPECT_NE(message.find("BUY, SELL or HOLD"), std::string_view::npos);
  EXPECT_NE(message.find("imb:"), std::string_view::npos);
}

TEST(ReplyFormat, SchemaIsStrictAndListsExactlyTheChunksPairs) {
  const std::vector<std::string_view> pairs = {"BTCUSDT@binance-usdm", "UNI-USD-SWAP@okx",
                                               "BTC-PERPETUAL@deribit"};
  std::string format;
  append_response_format(pairs, format);

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(format).get(root), simdjson::SUCCESS) << format;
  EXPECT_EQ(std::string_view(root["type"].get_string()), "json_schema");
  EXPECT_TRUE(bool(root["json_schema"]["strict"].get_bool()));
  EXPECT_EQ(std::string_view(root["json_schema"]["name"].get_string()), "trading_signals");

  // Strict mode: every object has additionalProperties false and requires all its properties.
  const auto check_object = [](simdjson::dom::element object) {
    EXPECT_FALSE(bool(object["additionalProperties"].get_bool()));
    std::set<std::string_view> required, properties;
    for (simdjson::dom::element r : object["required"].get_array()) required.insert(r.get_string());
    for (auto field : object["properties"].get_object()) properties.insert(field.key);
    EXPECT_EQ(required, properties);
  };
  simdjson::dom::element schema = root["json_schema"]["schema"];
  check_object(schema);
  simdjson::dom::element item = schema["properties"]["signals"]["items"];
  check_object(item);

  std::vector<std::string_view> listed;
  for (simdjson::dom::element p : item["properties"]["pair"]["enum"].get_array())
    listed.push_back(p.get_string());
  EXPECT_EQ(listed, pairs);
  std::vector<std::string_view> signals;
  for (simdjson::dom::element s : item["properties"]["signal"]["enum"].get_array())
    signals.push_back(s.get_string());
  EXPECT_EQ(signals, (std::vector<std::string_view>{"BUY", "SELL", "HOLD"}));
}

// ---- planning
// -------------------------------------------------------------------------------------------------

struct Universe {
  std::vector<std::string> names;
  std::vector<InstrumentFeatures> features;
};

Universe make_universe(std::size_t n, std::uint64_t seed) {
  Universe u;
  u.names.reserve(n);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    u.features.push_back(random_features(rng, u.names));
    u.names.back() += std::to_string(i);  // unique pair ids
    u.features.back().book_valid = true;
  }
  for (std::size_t i = 0; i < n; ++i) u.features[i].symbol = u.names[i];
  return u;
}

// Exact prompt tokens of a chunk: the messages as sent plus the response_format JSON.
std::size_t exact_prompt_tokens(Encoding encoding, PromptPlanner& planner, const PromptChunk& chunk) {
  std::string user, format;
  planner.append_user_message(chunk, user);
  planner.append_response_format(chunk, format);
  TokenizerScratch scratch;
  const ChatMessage messages[2] = {{"system", planner.system_message(), {}}, {"user", user, {}}};
  return count_chat_tokens(*tokenizer(encoding), scratch, messages).tokens + count(encoding, format);
}

TEST(PromptPlanner, ChunkPromptTokensAreExact) {
  for (Encoding encoding : {Encoding::kCl100kBase, Encoding::kO200kBase}) {
    const Universe u = make_universe(300, 3);
    PromptBudget budget;
    budget.prompt_token_budget = 3000;
    budget.max_instruments_per_chunk = 60;
    PromptPlanner planner(tokenizer(encoding), budget, u.features.size());
    planner.plan(u.features, SIZE_MAX);
    ASSERT_EQ(planner.stats().planned, 300u);
    ASSERT_GT(planner.chunks().size(), 1u);
    for (const PromptChunk& chunk : planner.chunks()) {
      EXPECT_EQ(chunk.prompt_tokens, exact_prompt_tokens(encoding, planner, chunk))
          << encoding_name(encoding);
      EXPECT_LE(chunk.prompt_tokens, budget.prompt_token_budget);
      EXPECT_EQ(chunk.max_completion_tokens,
                budget.completion_tokens_base + budget.completion_tokens_per_instrument * chunk.count);
    }
  }
}

TEST(PromptPlanner, PacksIntoFewChunksWithoutSplittingAnyInstrument) {
  const Universe u = make_universe(500, 4);
  PromptBudget budget;
  budget.prompt_token_budget = 4000;
  budget.max_instruments_per_chunk = 1000;
  PromptPlanner planner(tokenizer(Encoding::kO200kBase), budget, u.features.size());
  planner.plan(u.features, SIZE_MAX);

  std::vector<int> seen(u.features.size(), 0);
  std::size_t variable_total = 0;
  for (const PromptChunk& chunk : planner.chunks()) {
    const auto members = planner.instruments_of(chunk);
    EXPECT_TRUE(std::is_sorted(members.begin(), members.end()));
    for (std::uint32_t index : members) ++seen[index];
    variable_total += chunk.prompt_tokens - planner.fixed_prompt_tokens();
  }
  for (int s : seen) EXPECT_EQ(s, 1);
  // Near-optimal: no more chunks than the token total needs plus one, and no two chunks could be merged.
  const std::size_t capacity = budget.prompt_token_budget - planner.fixed_prompt_tokens();
  EXPECT_LE(planner.chunks().size(), (variable_total + capacity - 1) / capacity + 1);
  const auto chunks = planner.chunks();
  for (std::size_t a = 0; a < chunks.size(); ++a) {
    for (std::size_t b = a + 1; b < chunks.size(); ++b) {
      EXPECT_GT(chunks[a].prompt_tokens + chunks[b].prompt_tokens - planner.fixed_prompt_tokens(),
                budget.prompt_token_budget);
    }
  }
}

TEST(PromptPlanner, RespectsTheInstrumentCapPerChunk) {
  const Universe u = make_universe(250, 5);
  PromptBudget budget;
  budget.prompt_token_budget = 1000000;
  budget.max_instruments_per_chunk = 100;
  PromptPlanner planner(tokenizer(Encoding::kO200kBase), budget, u.features.size());
  planner.plan(u.features, SIZE_MAX);
  ASSERT_EQ(planner.chunks().size(), 3u);
  EXPECT_EQ(planner.chunks()[0].count, 100u);
  EXPECT_EQ(planner.chunks()[2].count, 50u);
}

TEST(PromptPlanner, TokenShortfallServesHighestChangeFirstAndCarriesTheRest) {
  Universe u = make_universe(100, 6);
  for (std::size_t i = 0; i < u.features.size(); ++i)
    u.features[i].change_score = static_cast<double>(i % 10);
  PromptBudget budget;
  PromptPlanner planner(tokenizer(Encoding::kO200kBase), budget, u.features.size());
  planner.plan(u.features, SIZE_MAX);
  const std::size_t everything = planner.stats().tokens;

  planner.plan(u.features, everything / 3);
  const PromptPlanStats first = planner.stats();
  EXPECT_GT(first.planned, 0u);
  EXPECT_LT(first.planned, 100u);
  EXPECT_EQ(first.planned + first.carried, 100u);
  EXPECT_LE(first.tokens, everything / 3);
  double lowest_planned = 1e9;
  std::vector<bool> planned_first(100, false);
  for (const PromptChunk& chunk : planner.chunks()) {
    for (std::uint32_t index : planner.instruments_of(chunk)) {
      lowest_planned = std::min(lowest_planned, u.features[index].change_score);
      planned_first[index] = true;
    }
  }
  for (std::uint32_t i = 0; i < 100; ++i) {
    if (!planned_first[i]) {
      EXPECT_LE(u.features[i].change_score, lowest_planned);
      EXPECT_EQ(planner.cycles_waiting(i), 1u);
    }
  }

  // Next cycle the carried ones go first even though their change_score is lower.
  planner.plan(u.features, everything / 3);
  for (const PromptChunk& chunk : planner.chunks()) {
    for (std::uint32_t index : planner.instruments_of(chunk)) EXPECT_FALSE(planned_first[index]) << index;
  }
}

TEST(PromptPlanner, AgingBoundsTheWaitUnderAPersistentShortfall) {
  Universe u = make_universe(200, 7);
  PromptPlanner planner(tokenizer(Encoding::kCl100kBase), PromptBudget{}, u.features.size());
  planner.plan(u.features, SIZE_MAX);
  const std::size_t allowance = planner.stats().tokens / 4;

  std::mt19937_64 rng(1);
  std::vector<std::size_t> last_served(200, 0);
  std::size_t worst_gap = 0, min_planned = SIZE_MAX;
  for (std::size_t cycle = 1; cycle <= 60; ++cycle) {
    // Change scores that would starve instruments under a pure change_score order: the same ten always lead.
    for (std::size_t i = 0; i < 200; ++i) u.features[i].change_score = i < 10 ? 100 + double(rng() % 10) : 0;
    planner.plan(u.features, allowance);
    min_planned = std::min(min_planned, planner.stats().planned);
    for (const PromptChunk& chunk : planner.chunks()) {
      for (std::uint32_t index : planner.instruments_of(chunk)) {
        worst_gap = std::max(worst_gap, cycle - last_served[index]);
        last_served[index] = cycle;
      }
    }
  }
  for (std::size_t i = 0; i < 200; ++i) EXPECT_GT(last_served[i], 50u) << "instrument " << i << " starved";
  EXPECT_LE(worst_gap, (200 + min_planned - 1) / min_planned + 1);
}

TEST(PromptPlanner, SamePlanForTheSameState) {
  const Universe u = make_universe(400, 8);
  PromptBudget budget;
  budget.prompt_token_budget = 2500;
  PromptPlanner a(tokenizer(Encoding::kO200kBase), budget, 0);
  PromptPlanner b(tokenizer(Encoding::kO200kBase), budget, 400);
  a.plan(u.features, 20000);
  b.plan(u.features, 20000);
  ASSERT_EQ(a.chunks().size(), b.chunks().size());
  for (std::size_t c = 0; c < a.chunks().size(); ++c) {
    const auto ma = a.instruments_of(a.chunks()[c]);
    const auto mb = b.instruments_of(b.chunks()[c]);
    EXPECT_TRUE(std::equal(ma.begin(), ma.end(), mb.begin(), mb.end()));
    EXPECT_EQ(a.chunks()[c].prompt_tokens, b.chunks()[c].prompt_tokens);
  }
}

TEST(PromptPlanner, RejectsBadIdentifiersAndInstrumentsTooLargeForAnyChunk) {
  Universe u = make_universe(10, 9);
  u.features[3].symbol = "BAD SYMBOL";
  u.features[5].book_valid = false;
  PromptBudget budget;
  PromptPlanner planner(tokenizer(Encoding::kO200kBase), budget, 10);
  planner.plan(u.features, SIZE_MAX);
  EXPECT_EQ(planner.stats().eligible, 9u);
  EXPECT_EQ(planner.stats().rejected, 1u);
  EXPECT_EQ(planner.stats().planned, 8u);

  budget.prompt_token_budget = planner.fixed_prompt_tokens() + 5;  // no line fits
  PromptPlanner tight(tokenizer(Encoding::kO200kBase), budget, 10);
  tight.plan(u.features, SIZE_MAX);
  EXPECT_EQ(tight.stats().planned, 0u);
  EXPECT_EQ(tight.stats().rejected, 9u);
  EXPECT_EQ(tight.stats().carried, 0u);
  EXPECT_TRUE(tight.chunks().empty());
}

TEST(PromptPlanner, CorrectionIsAddedToEveryChunk) {
  const Universe u = make_universe(50, 10);
  PromptPlanner planner(tokenizer(Encoding::kO200kBase), PromptBudget{}, 50);
  planner.plan(u.features, SIZE_MAX);
  const std::size_t plain = planner.chunks()[0].prompt_tokens;
  planner.plan(u.features, SIZE_MAX, 11.2);
  EXPECT_EQ(planner.chunks()[0].prompt_tokens, plain + 12);
}

TEST(PromptPlanner, SteadyStatePlanningDoesNotAllocate) {
#ifdef SIGFLOW_SANITIZED
  GTEST_SKIP() << "allocation counting needs the plain allocator; the non-sanitized build runs this test";
#endif
  Universe u = make_universe(500, 11);
  PromptBudget budget;
  budget.prompt_token_budget = 3000;
  PromptPlanner planner(tokenizer(Encoding::kO200kBase), budget, u.features.size());
  planner.plan(u.features, 30000);  // warm-up: scratch buffers reach their working size
  std::string user, format;
  user.reserve(1 << 16);
  format.reserve(1 << 16);
  std::mt19937_64 rng(12);
  std::size_t allocations = 0;
  for (int cycle = 0; cycle < 20; ++cycle) {
    for (InstrumentFeatures& f : u.features) {
      f.mid *= 1 + 1e-4 * (double(rng() % 200) - 100);
      f.change_score = double(rng() % 1000);
    }
    AllocationCounter counter;
    planner.plan(u.features, 30000);
    for (const PromptChunk& chunk : planner.chunks()) {
      user.clear();
      format.clear();
      planner.append_user_message(chunk, user);
      planner.append_response_format(chunk, format);
    }
    allocations += counter.count();
  }
  EXPECT_EQ(allocations, 0u);

  // The counter itself works: a growing string allocates.
  AllocationCounter control;
  std::string grown(200, 'x');
  grown.append(grown);
  EXPECT_GT(control.count(), 0u);
  EXPECT_EQ(grown.size(), 400u);
}

TEST(PromptTokenCorrection, LearnsTheResidualAndIgnoresMissingUsage) {
  PromptTokenCorrection correction(0.5);
  EXPECT_EQ(correction.corrected(100), 100u);
  correction.observe(100, 130);
  EXPECT_EQ(correction.residual(), 30);
  correction.observe(100, 0);  // no usage reported
  EXPECT_EQ(correction.samples(), 1u);
  correction.observe(200, 210);
  EXPECT_EQ(correction.residual(), 20);
  EXPECT_EQ(correction.corrected(1000), 1020u);

  PromptTokenCorrections models;
  models.for_model("gpt-4o-mini").observe(10, 15);
  EXPECT_EQ(models.find("gpt-4o-mini")->residual(), 5);
  EXPECT_EQ(models.find("gpt-4.1"), nullptr);
  EXPECT_EQ(&models.for_model("gpt-4o-mini"), models.find("gpt-4o-mini"));
}

}  // namespace
}  // namespace sigflow::strategies
