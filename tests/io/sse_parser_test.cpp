#include "io/sse_parser.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace sigflow::io {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::filesystem::path> stream_fixtures() {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(sigflow::testing_support::fixtures_dir()) / "openai")) {
    if (entry.path().extension() == ".sse") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

struct Collected {
  std::vector<std::string> data;
  std::vector<std::string> types;
  std::size_t done = 0;
  bool too_large = false;
};

void drain(SseParser& parser, std::string_view input, Collected& out) {
  SseEvent event;
  while (!input.empty()) {
    const SseResult result = parser.feed(input, event);
    input.remove_prefix(result.consumed);
    if (result.status == SseStatus::kEventTooLarge) {
      out.too_large = true;
      return;
    }
    if (result.status == SseStatus::kEvent) {
      out.data.emplace_back(event.data);
      out.types.emplace_back(event.type);
      out.done += event.done ? 1 : 0;
    }
  }
}

void finish(SseParser& parser, Collected& out) {
  SseEvent event;
  if (parser.finish(event) == SseStatus::kEvent) {
    out.data.emplace_back(event.data);
    out.types.emplace_back(event.type);
    out.done += event.done ? 1 : 0;
  }
}

Collected parse_whole(std::string_view input) {
  SseParser parser;
  Collected out;
  drain(parser, input, out);
  finish(parser, out);
  return out;
}

// The expected events, read line by line without the parser: every OpenAI event is one `data: ` line.
std::vector<std::string> data_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("data: ")) lines.push_back(line.substr(6));
  }
  return lines;
}

TEST(SseParser, FixturesGiveOneEventPerDataLineEndingInDone) {
  const auto paths = stream_fixtures();
  ASSERT_GE(paths.size(), 5u);
  for (const auto& path : paths) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = read_file(path);
    const Collected events = parse_whole(text);
    EXPECT_EQ(events.data, data_lines(text));
    ASSERT_FALSE(events.data.empty());
    EXPECT_EQ(events.data.back(), "[DONE]");
    EXPECT_EQ(events.done, 1u);
    for (std::size_t i = 0; i + 1 < events.data.size(); ++i) {
      EXPECT_TRUE(nlohmann::json::accept(events.data[i])) << events.data[i];
    }
  }
}

// FNV-1a over every event's data and its end, so that the n^2 bytes of this test allocate nothing.
struct Digest {
  std::uint64_t hash = 14695981039346656037ull;
  std::size_t events = 0;
  bool operator==(const Digest&) const = default;
  void add(std::string_view data) {
    for (char c : data) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    hash = (hash ^ 0x100) * 1099511628211ull;
    ++events;
  }
};

void drain(SseParser& parser, std::string_view input, Digest& out) {
  SseEvent event;
  while (!input.empty()) {
    const SseResult result = parser.feed(input, event);
    input.remove_prefix(result.consumed);
    ASSERT_NE(result.status, SseStatus::kEventTooLarge);
    if (result.status == SseStatus::kEvent) out.add(event.data);
  }
}

TEST(SseParser, EverySplitPositionGivesTheSameEvents) {
  for (const auto& path : stream_fixtures()) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = read_file(path);
    Digest whole;
    for (const std::string& data : parse_whole(text).data) whole.add(data);
    SseParser parser;
    SseEvent event;
    // Every position of the first 16 KiB (all of every fixture but the 47 KB json_object stream, whose later
    // events repeat the same shapes); the byte-at-a-time test below covers every position of it too.
    const std::size_t last_split = std::min<std::size_t>(text.size(), 16384);
    for (std::size_t split = 0; split <= last_split; ++split) {
      parser.reset();
      Digest parts;
      drain(parser, std::string_view(text).substr(0, split), parts);
      drain(parser, std::string_view(text).substr(split), parts);
      if (parser.finish(event) == SseStatus::kEvent) parts.add(event.data);
      if (!(parts == whole)) {
        ADD_FAILURE() << "split at byte " << split;
        break;
      }
    }
  }
}

TEST(SseParser, ByteAtATimeAndOtherLineEndingsGiveTheSameEvents) {
  for (const auto& path : stream_fixtures()) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = read_file(path);
    const Collected whole = parse_whole(text);
    for (std::string_view ending : {"\r\n", "\r"}) {
      std::string converted;
      for (char c : text) {
        if (c == '\n') {
          converted += ending;
        } else {
          converted += c;
        }
      }
      EXPECT_EQ(parse_whole(converted).data, whole.data);
      SseParser parser;
      Collected bytewise;
      for (char c : converted) drain(parser, std::string_view(&c, 1), bytewise);
      finish(parser, bytewise);
      EXPECT_EQ(bytewise.data, whole.data);
    }
  }
}

TEST(SseParser, FieldsCommentsAndMultiLineData) {
  SseParser parser;
  Collected events;
  drain(parser,
        ": OPENROUTER PROCESSING\n\n"
        "event: update\nid: 42\nretry: 1500\ndata: first\ndata:second\ndata\nunknown: x\n\n"
        "data: {\"a\":1}\n\n",
        events);
  ASSERT_EQ(events.data.size(), 2u);
  EXPECT_EQ(events.data[0], "first\nsecond\n");
  EXPECT_EQ(events.types[0], "update");
  EXPECT_EQ(events.data[1], "{\"a\":1}");
  EXPECT_EQ(events.types[1], "");  // the event type does not carry over to the next event
  EXPECT_EQ(parser.retry_ms(), 1500);
}

TEST(SseParser, IdPersistsAndBadRetryIsIgnored) {
  SseParser parser;
  SseEvent event;
  std::string_view input = "id: 7\nretry: 12x\ndata: a\n\ndata: b\n\n";
  SseResult result = parser.feed(input, event);
  ASSERT_EQ(result.status, SseStatus::kEvent);
  EXPECT_EQ(event.id, "7");
  input.remove_prefix(result.consumed);
  result = parser.feed(input, event);
  ASSERT_EQ(result.status, SseStatus::kEvent);
  EXPECT_EQ(event.data, "b");
  EXPECT_EQ(event.id, "7");
  EXPECT_EQ(parser.retry_ms(), -1);
}

TEST(SseParser, BlankLinesWithoutDataDispatchNothing) {
  const Collected events = parse_whole("\n\n\r\n: ping\n\nevent: x\n\n");
  EXPECT_TRUE(events.data.empty());
}

TEST(SseParser, DoneWithoutTrailingBlankLineIsDispatchedAtFinish) {
  SseParser parser;
  Collected events;
  drain(parser, "data: {}\n\ndata: [DONE]", events);
  ASSERT_EQ(events.data.size(), 1u);
  finish(parser, events);
  ASSERT_EQ(events.data.size(), 2u);
  EXPECT_EQ(events.done, 1u);
  SseEvent event;
  EXPECT_EQ(parser.finish(event), SseStatus::kNeedMore);
}

TEST(SseParser, OversizedEventIsAnErrorUntilReset) {
  SseParser parser(32);
  Collected events;
  drain(parser, "data: 0123456789ABCDEF\ndata: 0123456789ABCDEF\n\n", events);
  EXPECT_TRUE(events.too_large);
  SseEvent event;
  EXPECT_EQ(parser.feed("data: x\n\n", event).status, SseStatus::kEventTooLarge);

  Collected long_line;
  SseParser line_parser(32);
  drain(line_parser, std::string(40, 'a'), long_line);  // no line end yet: still bounded
  EXPECT_TRUE(long_line.too_large);

  parser.reset();
  Collected after;
  drain(parser, "data: x\n\n", after);
  EXPECT_FALSE(after.too_large);
  EXPECT_EQ(after.data, std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace sigflow::io
