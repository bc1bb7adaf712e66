#include "io/chat_completion.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/sse_parser.hpp"

namespace sigflow::io {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> fixtures(std::string_view folder, std::string_view prefix, std::string_view extension) {
  std::vector<fs::path> paths;
  for (const auto& entry :
       fs::directory_iterator(fs::path(sigflow::testing_support::fixtures_dir()) / folder)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && entry.path().extension() == extension && !name.ends_with(".source.txt")) {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string text_or_empty(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : "";
}

// The expected result, computed from the same JSON with an independent library.
struct Expected {
  std::string id, model, content, refusal, finish_reason;
  bool has_usage = false;
  TokenUsage usage;
};

void take_usage(const nlohmann::json& usage, Expected& expected) {
  if (!usage.is_object()) return;
  expected.has_usage = true;
  expected.usage = {usage["prompt_tokens"].get<std::uint32_t>(),
                    usage["completion_tokens"].get<std::uint32_t>(),
                    usage["total_tokens"].get<std::uint32_t>()};
}

void expect_matches(const ChatCompletion& got, const Expected& expected) {
  EXPECT_EQ(got.id, expected.id);
  EXPECT_EQ(got.model, expected.model);
  EXPECT_EQ(got.content, expected.content);
  EXPECT_EQ(got.refusal, expected.refusal);
  EXPECT_EQ(to_string(got.finish_reason), expected.finish_reason);
  EXPECT_EQ(got.has_usage, expected.has_usage);
  EXPECT_EQ(got.usage.prompt_tokens, expected.usage.prompt_tokens);
  EXPECT_EQ(got.usage.completion_tokens, expected.usage.completion_tokens);
  EXPECT_EQ(got.usage.total_tokens, expected.usage.total_tokens);
}

std::vector<fs::path> completion_fixtures() {
  auto paths = fixtures("openai", "nonstream_", ".json");
  paths.push_back(fs::path(sigflow::testing_support::fixtures_dir()) / "openai" /
                  "spec_nonstream_default.json");
  return paths;
}

TEST(ChatCompletion, EveryNonStreamingFixture) {
  const auto paths = completion_fixtures();
  ASSERT_GE(paths.size(), 7u);
  ChatCompletionDecoder decoder;
  ChatCompletion got;
  ProviderError error;
  for (const auto& path : paths) {
    SCOPED_TRACE(path.filename().string());
    const std::string body = read_file(path);
    const auto json = nlohmann::json::parse(body);
    Expected expected;
    expected.id = json["id"];
    expected.model = json["model"];
    const auto& choice = json["choices"][0];
    expected.content = text_or_empty(choice["message"]["content"]);
    expected.refusal = text_or_empty(choice["message"]["refusal"]);
    expected.finish_reason = choice["finish_reason"];
    take_usage(json["usage"], expected);
    ASSERT_EQ(decoder.decode_completion(body, got, error), DecodeStatus::kOk);
    expect_matches(got, expected);
  }
}

TEST(ChatCompletion, KnownValuesOfTruncatedAndRefusedBodies) {
  ChatCompletionDecoder decoder;
  ChatCompletion got;
  ProviderError error;
  const fs::path folder = fs::path(sigflow::testing_support::fixtures_dir()) / "openai";
  ASSERT_EQ(decoder.decode_completion(read_file(folder / "nonstream_length_truncated.json"), got, error),
            DecodeStatus::kOk);
  EXPECT_EQ(got.finish_reason, FinishReason::kLength);
  EXPECT_EQ(got.content, "{\"");
  EXPECT_EQ(got.usage.total_tokens, 80u);
  ASSERT_EQ(decoder.decode_completion(read_file(folder / "nonstream_refusal.json"), got, error),
            DecodeStatus::kOk);
  EXPECT_EQ(got.content, "");
  EXPECT_EQ(got.refusal, "I'm very sorry, but I can't assist with that.");
}

// Every stream fixture, accumulated chunk by chunk, against the same stream folded with nlohmann.
TEST(ChatCompletion, EveryStreamFixtureAccumulates) {
  const auto paths = fixtures("openai", "stream_", ".sse");
  ASSERT_GE(paths.size(), 5u);
  ChatCompletionDecoder decoder;
  for (const auto& path : paths) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = read_file(path);
    SseParser sse;
    SseEvent event;
    ChatCompletion got;
    ChatChunk chunk;
    ProviderError error;
    Expected expected;
    std::string_view input = text;
    bool saw_done = false;
    bool saw_usage_chunk = false;
    while (!input.empty() && !saw_done) {
      const SseResult result = sse.feed(input, event);
      input.remove_prefix(result.consumed);
      ASSERT_NE(result.status, SseStatus::kEventTooLarge);
      if (result.status != SseStatus::kEvent) continue;
      if (event.done) {
        saw_done = true;
        break;
      }
      ASSERT_EQ(decoder.decode_chunk(event.data, chunk, error), DecodeStatus::kOk) << event.data;
      append_chunk(chunk, got);

      const auto json = nlohmann::json::parse(event.data);
      if (expected.id.empty()) expected.id = json["id"];
      if (expected.model.empty()) expected.model = json["model"];
      for (const auto& choice : json["choices"]) {
        if (choice["index"] != 0) continue;
        expected.content += text_or_empty(choice["delta"].value("content", nlohmann::json()));
        expected.refusal += text_or_empty(choice["delta"].value("refusal", nlohmann::json()));
        if (choice["finish_reason"].is_string()) expected.finish_reason = choice["finish_reason"];
      }
      if (json["choices"].empty()) {
        saw_usage_chunk = true;
        EXPECT_FALSE(chunk.has_choice);
        EXPECT_TRUE(chunk.has_usage);
      }
      if (json.contains("usage")) take_usage(json["usage"], expected);
    }
    EXPECT_TRUE(saw_done);
    expect_matches(got, expected);
    EXPECT_FALSE(expected.finish_reason.empty());
    if (saw_usage_chunk) {
      EXPECT_GT(got.usage.total_tokens, 0u);
    }
  }
}

TEST(ChatCompletion, StreamEqualsTheNonStreamingBodyItAccumulatesTo) {
  ChatCompletionDecoder decoder;
  ChatChunk chunk;
  ProviderError error;
  ChatCompletion streamed;
  const std::string chunks[] = {
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"BTCUSDT@binance: BUY"},"finish_reason":null}],"usage":null})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":" | 0.7 | \"up\""},"finish_reason":null}]})",
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
      R"({"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})"};
  for (const auto& data : chunks) {
    ASSERT_EQ(decoder.decode_chunk(data, chunk, error), DecodeStatus::kOk);
    append_chunk(chunk, streamed);
  }
  ChatCompletion whole;
  ASSERT_EQ(
      decoder.decode_completion(
          R"({"id":"c1","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"BTCUSDT@binance: BUY | 0.7 | \"up\"","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})",
          whole, error),
      DecodeStatus::kOk);
  EXPECT_EQ(streamed.id, whole.id);
  EXPECT_EQ(streamed.model, whole.model);
  EXPECT_EQ(streamed.content, whole.content);
  EXPECT_EQ(streamed.refusal, whole.refusal);
  EXPECT_EQ(streamed.finish_reason, whole.finish_reason);
  EXPECT_EQ(streamed.has_usage, whole.has_usage);
  EXPECT_EQ(streamed.usage.total_tokens, whole.usage.total_tokens);
}

TEST(ChatCompletion, SpecChunkExampleDecodes) {
  std::istringstream lines(read_file(fs::path(sigflow::testing_support::fixtures_dir()) / "openai" /
                                     "spec_stream_chunks_example.txt"));
  ChatCompletionDecoder decoder;
  ChatChunk chunk;
  ProviderError error;
  ChatCompletion got;
  int decoded = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with('{')) continue;
    ASSERT_EQ(decoder.decode_chunk(line, chunk, error), DecodeStatus::kOk) << line;
    append_chunk(chunk, got);
    ++decoded;
  }
  EXPECT_EQ(decoded, 3);
  EXPECT_EQ(got.content, "Hello");
  EXPECT_EQ(got.finish_reason, FinishReason::kStop);
  EXPECT_EQ(got.id, "chatcmpl-123");
}

TEST(ChatCompletion, ErrorObjectMidStreamAndInA200Body) {
  ChatCompletionDecoder decoder;
  ChatChunk chunk;
  ChatCompletion completion;
  ProviderError error;
  const std::string body =
      R"({"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})";
  ASSERT_EQ(decoder.decode_chunk(body, chunk, error), DecodeStatus::kProviderError);
  EXPECT_EQ(error.http_status, 200);
  EXPECT_EQ(error.type, "server_error");
  EXPECT_EQ(error.message, "The server had an error");
  EXPECT_EQ(error.code, "");
  ASSERT_EQ(decoder.decode_completion(R"({"id":"x","error":{"code":502,"message":"upstream down"}})",
                                      completion, error),
            DecodeStatus::kProviderError);
  EXPECT_EQ(error.http_status, 200);
  EXPECT_EQ(error.code, "502");
  EXPECT_EQ(error.message, "upstream down");
}

int status_from_name(const std::string& name) {
  const auto digits = name.find_first_of("0123456789");
  return digits == std::string::npos ? 0 : std::stoi(name.substr(digits, 3));
}

void expect_error_matches(const fs::path& path, int status) {
  SCOPED_TRACE(path.filename().string());
  const std::string body = read_file(path);
  auto json = nlohmann::json::parse(body);
  const nlohmann::json fields = json.contains("error") ? json["error"] : json;  // vLLM legacy: top level
  std::string code;
  if (fields["code"].is_string()) code = fields["code"];
  if (fields["code"].is_number()) code = std::to_string(fields["code"].get<long>());
  ChatCompletionDecoder decoder;
  ProviderError error;
  ASSERT_EQ(decoder.decode_error(status, body, error), DecodeStatus::kProviderError);
  EXPECT_EQ(error.http_status, status);
  EXPECT_EQ(error.message, text_or_empty(fields["message"]));
  EXPECT_FALSE(error.message.empty());
  EXPECT_EQ(error.type, text_or_empty(fields.value("type", nlohmann::json())));
  EXPECT_EQ(error.param, text_or_empty(fields.value("param", nlohmann::json())));
  EXPECT_EQ(error.code, code);
}

TEST(ChatCompletion, EveryOpenAiErrorFixture) {
  const auto paths = fixtures("openai", "error_", ".json");
  ASSERT_EQ(paths.size(), 8u);
  for (const auto& path : paths) expect_error_matches(path, status_from_name(path.filename().string()));
}

TEST(ChatCompletion, EveryCompatErrorFixture) {
  const fs::path folder = fs::path(sigflow::testing_support::fixtures_dir()) / "compat";
  expect_error_matches(folder / "llamacpp_health_503_loading.json", 503);
  expect_error_matches(folder / "vllm_error_legacy_toplevel.json", 400);
  expect_error_matches(folder / "vllm_error_wrapped.json", 400);

  ChatCompletionDecoder decoder;
  ProviderError error;
  ASSERT_EQ(decoder.decode_error(400, read_file(folder / "vllm_error_legacy_toplevel.json"), error),
            DecodeStatus::kProviderError);
  EXPECT_EQ(error.type, "BadRequestError");
  EXPECT_EQ(error.code, "400");
  ASSERT_EQ(decoder.decode_error(503, read_file(folder / "llamacpp_health_503_loading.json"), error),
            DecodeStatus::kProviderError);
  EXPECT_EQ(error.type, "unavailable_error");
  EXPECT_EQ(error.message, "Loading model");
  EXPECT_EQ(error.param, "");
}

TEST(ChatCompletion, MalformedBodiesAreErrorValues) {
  ChatCompletionDecoder decoder;
  ChatCompletion completion;
  ChatChunk chunk;
  ProviderError error;
  const std::string full = read_file(fs::path(sigflow::testing_support::fixtures_dir()) / "openai" /
                                     "spec_nonstream_default.json");
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, full.size() / 2, full.size() - 3}) {
    EXPECT_EQ(decoder.decode_completion(std::string_view(full).substr(0, cut), completion, error),
              DecodeStatus::kMalformed)
        << cut;
  }
  EXPECT_EQ(decoder.decode_completion("[1,2]", completion, error), DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.decode_completion(R"({"id":"x"})", completion, error), DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.decode_completion(R"({"choices":[{"message":{"content":5}}]})", completion, error),
            DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.decode_chunk("[DONE]", chunk, error), DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.decode_error(502, "<html>Bad Gateway</html>", error), DecodeStatus::kMalformed);
  EXPECT_EQ(error.http_status, 502);
  EXPECT_EQ(decoder.decode_error(500, R"({"status":"bad"})", error), DecodeStatus::kMalformed);
  // The decoder is still usable after errors.
  EXPECT_EQ(decoder.decode_completion(full, completion, error), DecodeStatus::kOk);
  EXPECT_EQ(completion.content, "Hello! How can I assist you today?");
}

// Found by tests/fuzz/chat_completion_fuzz.cpp: a syntax error after the error object's fields had been read
// gave kMalformed with the half-read message still in the ProviderError, against the contract that a
// malformed body leaves it empty (a caller would have shown text the server never sent whole).
TEST(ChatCompletion, MalformedErrorBodyLeavesNoHalfReadFields) {
  ChatCompletionDecoder decoder;
  ProviderError error;
  const std::string body =
      "{\n  \"error\": {\n    \"message\": \"Invalid schema for response_format 'json_schema'\",\n"
      "    \"type\": \"invalid_request_error\",\n    \"param\": \"response_format\",\n"
      "    \"code\"h: null\n  }\n}\n";
  EXPECT_EQ(decoder.decode_error(400, body, error), DecodeStatus::kMalformed);
  EXPECT_EQ(error.http_status, 400);
  EXPECT_TRUE(error.message.empty()) << error.message;
  EXPECT_TRUE(error.type.empty()) << error.type;
  EXPECT_TRUE(error.param.empty()) << error.param;
  EXPECT_TRUE(error.code.empty()) << error.code;
}

}  // namespace
}  // namespace sigflow::io
