#pragma once
// Chat-completion bodies as OpenAI-compatible servers send them: the non-streaming response, the stream
// chunk (one SSE data value), and provider error bodies.
//
// Decoding uses simdjson on-demand with one reused parser and one reused padded copy of the input, so
// once the buffers have grown to the largest body nothing allocates. Only choice 0 is read: the engine
// asks for n = 1 and other choices would be other answers, not parts of this one.
//
// Errors come in several shapes and all decode into ProviderError (inference.md §1.4, §2):
//  - OpenAI `{"error":{"message","type","param","code"}}`, also inside an HTTP 200 body or a stream chunk;
//  - vLLM before 0.16: the fields at the top level with `"object":"error"` and a numeric code;
//  - vLLM ≥ 0.16 and llama.cpp: the wrapped shape with a numeric `code` (llama.cpp omits `param`).
// A numeric code is kept as its decimal text, so callers classify by strings whatever the server.
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace sigflow::io {

enum class FinishReason : std::uint8_t {
  kNone,  // not finished (stream) or absent
  kStop,
  kLength,  // output cut at the token limit: content is truncated
  kToolCalls,
  kContentFilter,
  kFunctionCall,
  kOther
};

std::string_view to_string(FinishReason reason) noexcept;

struct TokenUsage {
  std::uint32_t prompt_tokens = 0;
  std::uint32_t completion_tokens = 0;
  std::uint32_t total_tokens = 0;
};

// Owned strings, cleared (not freed) between uses, so the accumulator can build one across chunks.
struct ChatCompletion {
  std::string id;
  std::string model;
  std::string content;
  std::string refusal;  // set instead of content when the model declines
  FinishReason finish_reason = FinishReason::kNone;
  bool has_usage = false;
  TokenUsage usage;

  void clear() noexcept;
};

// One stream chunk; the views point into the decoder and stay valid until its next call.
struct ChatChunk {
  std::string_view id;
  std::string_view model;
  std::string_view content;  // delta text, empty when absent or null
  std::string_view refusal;  // delta refusal text
  FinishReason finish_reason = FinishReason::kNone;
  bool has_choice = false;  // false for the final usage chunk (choices: [])
  bool has_usage = false;
  TokenUsage usage;
};

struct ProviderError {
  int http_status = 0;  // from the caller (200 for an error inside a 200 body or a stream)
  std::string type;
  std::string code;  // string code, or a numeric code in decimal; empty when null or absent
  std::string message;
  std::string param;

  void clear() noexcept;
};

enum class DecodeStatus : std::uint8_t {
  kOk,
  kProviderError,  // the body carried an error object; see the ProviderError
  kMalformed       // not JSON, or not the expected shape
};

class ChatCompletionDecoder {
 public:
  ChatCompletionDecoder();

  // A non-streaming 200 body. An `error` object in it gives kProviderError with http_status 200.
  DecodeStatus decode_completion(std::string_view body, ChatCompletion& out, ProviderError& error);

  // One SSE data value (not `[DONE]`). A mid-stream `error` gives kProviderError with http_status 200.
  DecodeStatus decode_chunk(std::string_view data, ChatChunk& out, ProviderError& error);

  // A non-2xx body. kMalformed when no error shape was found (error.message is then empty).
  DecodeStatus decode_error(int http_status, std::string_view body, ProviderError& out);

 private:
  void load(std::string_view json);  // into padded_

  simdjson::ondemand::parser parser_;
  std::string padded_;
};

// Folds one stream chunk into `into`, so that after the last chunk `into` equals what the non-streaming
// body of the same completion decodes to. Call into.clear() before the first chunk.
void append_chunk(const ChatChunk& chunk, ChatCompletion& into);

}  // namespace sigflow::io
