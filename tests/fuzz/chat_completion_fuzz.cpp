// libFuzzer: any bytes as what an OpenAI-compatible server sends back: a non-streaming 200 body, one stream
// chunk's data value (folded into a completion as the inference client does), and a non-2xx error body. The
// first byte picks the HTTP status of the error path. Decoding gives kOk, kProviderError or kMalformed and
// never crashes; a provider error always carries the status it was given.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "io/chat_completion.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static sigflow::io::ChatCompletionDecoder decoder;
  static sigflow::io::ChatCompletion completion;
  static sigflow::io::ChatCompletion folded;
  static sigflow::io::ProviderError error;
  static constexpr int kStatuses[] = {400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504};
  const int status = kStatuses[data[0] % std::size(kStatuses)];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  completion.clear();
  error.clear();
  if (decoder.decode_completion(body, completion, error) == sigflow::io::DecodeStatus::kProviderError &&
      error.http_status != 200)
    std::abort();

  sigflow::io::ChatChunk chunk;
  error.clear();
  if (data[0] & 0x80) folded.clear();  // otherwise chunks accumulate across inputs, as in a long stream
  if (decoder.decode_chunk(body, chunk, error) == sigflow::io::DecodeStatus::kOk) {
    (void)sigflow::io::to_string(chunk.finish_reason);
    sigflow::io::append_chunk(chunk, folded);
    if (folded.content.size() > (std::size_t{1} << 24)) folded.clear();  // bound memory over a long run
  }

  error.clear();
  const auto s = decoder.decode_error(status, body, error);
  if (s == sigflow::io::DecodeStatus::kProviderError && error.http_status != status) std::abort();
  if (s == sigflow::io::DecodeStatus::kMalformed && !error.message.empty()) std::abort();
  return 0;
}
