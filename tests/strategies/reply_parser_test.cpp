#include "strategies/reply_parser.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "strategies/prompt/reply_format.hpp"

namespace sigflow::strategies {
namespace {

constexpr std::array<std::string_view, 3> kPairs = {"BTCUSDT@binance-usdm", "ETHUSDT@binance-usdm",
                                                    "SOLUSDT@bybit-linear"};

std::vector<std::uint32_t> missing_of(const ReplyParser& parser) {
  return {parser.missing().begin(), parser.missing().end()};
}

TEST(ReplyParser, StructuredReplyPerSchema) {
  ReplyParser parser;
  const std::string content =
      R"({"signals":[{"pair":"ETHUSDT@binance-usdm","signal":"SELL","confidence":0.61,"summary":"ask wall, falling 10 s return"},)"
      R"({"pair":"BTCUSDT@binance-usdm","signal":"BUY","confidence":1,"summary":"bid-heavy book \u2191"},)"
      R"({"pair":"SOLUSDT@bybit-linear","signal":"HOLD","confidence":0.2,"summary":"stale"}]})";
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  EXPECT_EQ(parser.format(), ReplyFormat::kStructured);
  ASSERT_EQ(parser.entries().size(), 3u);
  EXPECT_EQ(parser.entries()[0].instrument, 1u);
  EXPECT_EQ(parser.entries()[0].action, Action::kSell);
  EXPECT_DOUBLE_EQ(parser.entries()[0].confidence, 0.61);
  EXPECT_EQ(parser.entries()[0].summary, "ask wall, falling 10 s return");
  EXPECT_EQ(parser.entries()[1].instrument, 0u);
  EXPECT_EQ(parser.entries()[1].action, Action::kBuy);
  EXPECT_DOUBLE_EQ(parser.entries()[1].confidence, 1.0);
  EXPECT_EQ(parser.entries()[1].summary, "bid-heavy book \xE2\x86\x91");
  EXPECT_EQ(parser.entries()[2].action, Action::kHold);
  EXPECT_TRUE(parser.missing().empty());
  EXPECT_EQ(parser.counts().clamped, 0u);
  EXPECT_EQ(parser.counts().unknown, 0u);
}

// The schema sent to the server and the parser agree on the field names.
TEST(ReplyParser, SchemaNamesTheFieldsTheParserReads) {
  std::string schema;
  append_reply_schema(kPairs, schema);
  for (std::string_view field : {"\"signals\"", "\"pair\"", "\"signal\"", "\"confidence\"", "\"summary\""}) {
    EXPECT_NE(schema.find(field), std::string::npos) << field;
  }
}

TEST(ReplyParser, StructuredReplyInsideAMarkdownFence) {
  ReplyParser parser;
  const std::string content =
      "```json\n{\"signals\":[{\"pair\":\"SOLUSDT@bybit-linear\",\"signal\":\"buy\",\"confidence\":0.5,"
      "\"summary\":\"x\"}]}\n```\n";
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  EXPECT_EQ(parser.format(), ReplyFormat::kStructured);
  ASSERT_EQ(parser.entries().size(), 1u);
  EXPECT_EQ(parser.entries()[0].instrument, 2u);
  EXPECT_EQ(parser.entries()[0].action, Action::kBuy);
  EXPECT_EQ(missing_of(parser), (std::vector<std::uint32_t>{0, 1}));
}

TEST(ReplyParser, LenientLinesExactlyAsThePromptAsks) {
  ReplyParser parser;
  const std::string content =
      "BTCUSDT@binance-usdm: BUY | 0.72 | bid-heavy book, rising 10 s return\n"
      "ETHUSDT@binance-usdm: SELL | 0.4 | ask wall\n"
      "SOLUSDT@bybit-linear: HOLD | 0 | stale data";
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  EXPECT_EQ(parser.format(), ReplyFormat::kLines);
  ASSERT_EQ(parser.entries().size(), 3u);
  EXPECT_EQ(parser.entries()[0].action, Action::kBuy);
  EXPECT_DOUBLE_EQ(parser.entries()[0].confidence, 0.72);
  EXPECT_EQ(parser.entries()[0].summary, "bid-heavy book, rising 10 s return");
  EXPECT_EQ(parser.entries()[1].action, Action::kSell);
  EXPECT_EQ(parser.entries()[2].action, Action::kHold);
  EXPECT_EQ(parser.entries()[2].summary, "stale data");
  EXPECT_EQ(parser.counts().noise_lines, 0u);
}

TEST(ReplyParser, LenientLinesWithNoise) {
  ReplyParser parser;
  const std::string content =
      "Here are the signals for this snapshot:\r\n"
      "```\r\n"
      "- **BTCUSDT@binance-usdm**: **Buy** | 0.9 | strong bids | more text\r\n"
      "2. `ETHUSDT@binance-usdm`: sell | .35\r\n"
      "* SOLUSDT@bybit-linear: HOLD |0.1|   quiet   \r\n"
      "```\r\n"
      "Note: these are not financial advice.\r\n";
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  ASSERT_EQ(parser.entries().size(), 3u);
  EXPECT_EQ(parser.entries()[0].action, Action::kBuy);
  EXPECT_DOUBLE_EQ(parser.entries()[0].confidence, 0.9);
  EXPECT_EQ(parser.entries()[0].summary, "strong bids | more text");
  EXPECT_EQ(parser.entries()[1].instrument, 1u);
  EXPECT_EQ(parser.entries()[1].action, Action::kSell);
  EXPECT_DOUBLE_EQ(parser.entries()[1].confidence, 0.35);
  EXPECT_EQ(parser.entries()[1].summary, "");
  EXPECT_EQ(parser.entries()[2].summary, "quiet");
  EXPECT_EQ(parser.counts().noise_lines, 4u);
  EXPECT_TRUE(parser.missing().empty());
}

TEST(ReplyParser, UnknownDuplicateInvalidAndMissingPairs) {
  ReplyParser parser;
  const std::string content =
      "DOGEUSDT@binance-usdm: BUY | 0.9 | not in this chunk\n"
      "btcusdt@binance-usdm: BUY | 0.9 | pair ids are matched exactly\n"
      "BTCUSDT@binance-usdm: LONG | 0.9 | not a signal\n"
      "BTCUSDT@binance-usdm: BUY | high | not a number\n"
      "BTCUSDT@binance-usdm: SELL | 0.3 | first valid one wins\n"
      "BTCUSDT@binance-usdm: BUY | 0.8 | duplicate\n";
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  ASSERT_EQ(parser.entries().size(), 1u);
  EXPECT_EQ(parser.entries()[0].instrument, 0u);
  EXPECT_EQ(parser.entries()[0].action, Action::kSell);
  EXPECT_EQ(parser.entries()[0].summary, "first valid one wins");
  EXPECT_EQ(parser.counts().unknown, 2u);
  EXPECT_EQ(parser.counts().invalid, 2u);
  EXPECT_EQ(parser.counts().duplicate, 1u);
  EXPECT_EQ(missing_of(parser), (std::vector<std::uint32_t>{1, 2}));
}

TEST(ReplyParser, StructuredUnknownDuplicateAndBadEntries) {
  ReplyParser parser;
  const std::string content =
      R"({"signals":[{"pair":"XRPUSDT@okx","signal":"BUY","confidence":0.5,"summary":""},)"
      R"({"pair":"ETHUSDT@binance-usdm","signal":"BUY","confidence":0.5,"summary":"a"},)"
      R"({"pair":"ETHUSDT@binance-usdm","signal":"SELL","confidence":0.5,"summary":"b"},)"
      R"({"pair":"SOLUSDT@bybit-linear","signal":"BUY","confidence":"0.5","summary":"c"},)"
      R"({"signal":"BUY","confidence":0.5},7]})";
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  ASSERT_EQ(parser.entries().size(), 1u);
  EXPECT_EQ(parser.entries()[0].summary, "a");
  EXPECT_EQ(parser.counts().unknown, 1u);
  EXPECT_EQ(parser.counts().duplicate, 1u);
  EXPECT_EQ(parser.counts().invalid, 3u);
  EXPECT_EQ(missing_of(parser), (std::vector<std::uint32_t>{0, 2}));
}

TEST(ReplyParser, ConfidenceIsClampedAndCounted) {
  ReplyParser parser;
  ASSERT_EQ(parser.parse(
                kPairs,
                R"({"signals":[{"pair":"BTCUSDT@binance-usdm","signal":"BUY","confidence":72,"summary":""},)"
                R"({"pair":"ETHUSDT@binance-usdm","signal":"SELL","confidence":-0.2,"summary":""},)"
                R"({"pair":"SOLUSDT@bybit-linear","signal":"HOLD","confidence":1.0,"summary":""}]})",
                false),
            ReplyStatus::kOk);
  ASSERT_EQ(parser.entries().size(), 3u);
  EXPECT_EQ(parser.entries()[0].confidence, 1.0);
  EXPECT_EQ(parser.entries()[1].confidence, 0.0);
  EXPECT_EQ(parser.entries()[2].confidence, 1.0);
  EXPECT_EQ(parser.counts().clamped, 2u);
  ASSERT_EQ(parser.parse(kPairs, "SOLUSDT@bybit-linear: BUY | 1.5 | x", false), ReplyStatus::kOk);
  EXPECT_EQ(parser.entries()[0].confidence, 1.0);
  EXPECT_EQ(parser.counts().clamped, 1u);
}

TEST(ReplyParser, SummaryIsBoundedAtACharacterBoundary) {
  ReplyParser parser;
  std::string summary;
  while (summary.size() < 2 * ReplyParser::kMaxSummaryBytes) summary += "\xC3\xA9";  // é, 2 bytes
  summary.insert(0, "a");  // so the byte limit falls inside a character
  const std::string content = "BTCUSDT@binance-usdm: BUY | 0.5 | " + summary;  // outlives the views into it
  ASSERT_EQ(parser.parse(kPairs, content, false), ReplyStatus::kOk);
  ASSERT_EQ(parser.entries().size(), 1u);
  const std::string_view kept = parser.entries()[0].summary;
  EXPECT_LE(kept.size(), ReplyParser::kMaxSummaryBytes);
  EXPECT_GE(kept.size(), ReplyParser::kMaxSummaryBytes - 1);
  EXPECT_EQ(static_cast<unsigned char>(kept.back()), 0xA9u);  // ends on a whole character
  EXPECT_EQ(parser.counts().summary_cut, 1u);
}

TEST(ReplyParser, TruncatedReplyIsAnErrorValue) {
  ReplyParser parser;
  const std::string whole =
      R"({"signals":[{"pair":"BTCUSDT@binance-usdm","signal":"BUY","confidence":0.7,"summary":"bids"}]})";
  // finish_reason "length": never trusted, even when what arrived happens to parse.
  EXPECT_EQ(parser.parse(kPairs, whole, true), ReplyStatus::kTruncated);
  EXPECT_TRUE(parser.entries().empty());
  EXPECT_EQ(missing_of(parser), (std::vector<std::uint32_t>{0, 1, 2}));
  // Cut JSON without the flag is malformed, at every cut, and yields no entry.
  for (std::size_t cut = 1; cut < whole.size(); ++cut) {
    const ReplyStatus status = parser.parse(kPairs, std::string_view(whole).substr(0, cut), false);
    EXPECT_EQ(status, ReplyStatus::kMalformed) << cut;
    EXPECT_TRUE(parser.entries().empty()) << cut;
    EXPECT_EQ(parser.missing().size(), 3u) << cut;
  }
  EXPECT_EQ(parser.parse(kPairs, R"({"signal":[]})", false), ReplyStatus::kMalformed);
}

TEST(ReplyParser, EmptyContent) {
  ReplyParser parser;
  EXPECT_EQ(parser.parse(kPairs, "", false), ReplyStatus::kEmpty);
  EXPECT_EQ(parser.parse(kPairs, " \n\t\r\n", false), ReplyStatus::kEmpty);
  EXPECT_EQ(parser.missing().size(), 3u);
  // Prose only: parsed, nothing valid, everything missing.
  EXPECT_EQ(parser.parse(kPairs, "I cannot give trading advice.", false), ReplyStatus::kOk);
  EXPECT_TRUE(parser.entries().empty());
  EXPECT_EQ(parser.counts().noise_lines, 1u);
  EXPECT_EQ(parser.missing().size(), 3u);
}

TEST(ReplyParser, ReusedParserForgetsThePreviousReply) {
  ReplyParser parser;
  ASSERT_EQ(parser.parse(kPairs, "BTCUSDT@binance-usdm: BUY | 0.5 | a\nX@y: BUY | 0.5 | b", false),
            ReplyStatus::kOk);
  EXPECT_EQ(parser.counts().unknown, 1u);
  ASSERT_EQ(parser.parse(kPairs, "ETHUSDT@binance-usdm: SELL | 0.5 | c", false), ReplyStatus::kOk);
  ASSERT_EQ(parser.entries().size(), 1u);
  EXPECT_EQ(parser.entries()[0].instrument, 1u);
  EXPECT_EQ(parser.counts().unknown, 0u);
  EXPECT_EQ(missing_of(parser), (std::vector<std::uint32_t>{0, 2}));
}

}  // namespace
}  // namespace sigflow::strategies
