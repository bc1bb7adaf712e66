#pragma once
// An OpenAI-compatible chat-completions server on loopback, for the engine's inference path, its tests, its
// benchmark and `sigflow demo`. It speaks what api.openai.com speaks (reference/inference.md §1): the
// non-streaming body, SSE streaming with `[DONE]` and the include_usage chunk, the error bodies, the
// x-ratelimit-* headers with Go durations, 429 with retry-after / retry-after-ms; and it answers the
// engine's own prompts plausibly: one signal for exactly the instruments whose snapshot lines the prompt
// holds, as JSON per the response_format schema or as `PAIR: SIGNAL | CONFIDENCE | SUMMARY` lines,
// deterministic from the seed and the features (imbalance, microprice offset, returns).
//
// Endpoints: POST /v1/chat/completions and /chat/completions; GET /health, /v1/models.
//
// Threads: one acceptor and one thread per connection (blocking sockets, OpenSSL when TLS is on, Beast's
// request parser, HTTP/1.1 keep-alive). It is a test tool: a mutex guards the limiter, the random source
// and the counters.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace sigflow::tools {

struct InferenceSimConfig {
  std::uint16_t port = 0;  // 0: ephemeral, see InferenceSim::port()
  bool tls = true;         // a CA and a server certificate for 127.0.0.1 made at start; see ca_pem()
  std::string model = "sim-gpt-4o-mini";  // echoed in replies; the request's model wins when given
  std::uint64_t seed = 1;
  // Service time of a completion: lognormal around the median (sigma is of the log), cut at max. A median of
  // 0 answers at once (tests). Streaming spends it across the chunks.
  double latency_median_ms = 180;
  double latency_sigma = 0.5;
  double latency_max_ms = 5000;
  // Limits per minute, as OpenAI applies them: buckets that refill continuously over 60 s. 0: unlimited (and
  // no x-ratelimit-* headers). A request debits 1 request and prompt + max completion tokens.
  std::uint64_t rpm = 0;
  std::uint64_t tpm = 0;
  // prompt + max completion tokens above this: 400 context_length_exceeded.
  std::uint64_t context_tokens = 128'000;
  // Completion budget when the request names none.
  std::uint64_t default_max_completion_tokens = 4096;
  // Directory holding <encoding>.tiktoken (data/tokenizers): prompt tokens are then counted exactly with
  // the engine's tokenizer (OpenAI Cookbook chat framing + the response_format text). Empty or unloadable:
  // an estimate of one token per 4 bytes (stats().exact_tokens says which).
  std::string tokenizer_dir;
  std::string encoding = "o200k_base";
  // When set, requests must carry `Authorization: Bearer <api_key>`; others get 401 invalid_api_key.
  std::string api_key;
  // Streaming: content characters per SSE chunk.
  std::size_t stream_chunk_chars = 16;
  std::size_t max_request_bytes = 4u << 20;
};

struct InferenceSimStartResult {
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

struct InferenceSimStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t tls_failures = 0;
  std::uint64_t requests = 0;        // HTTP requests parsed, any path
  std::uint64_t completions = 0;     // chat completions answered 200 (streams included)
  std::uint64_t streams = 0;         // of which streamed
  std::uint64_t rate_limited = 0;    // 429 rate_limit_exceeded (requests, tokens, request too large)
  std::uint64_t quota_rejected = 0;  // 429 insufficient_quota
  std::uint64_t injected_faults = 0;
  std::uint64_t hung = 0;
  std::uint64_t prompt_tokens = 0;  // summed over answered completions
  std::uint64_t completion_tokens = 0;
  std::uint64_t instruments_answered = 0;
  std::uint64_t by_status[6] = {};  // [2] 2xx … [5] 5xx, by status class
  std::uint64_t status_400 = 0, status_401 = 0, status_404 = 0, status_429 = 0, status_500 = 0,
                status_503 = 0;
  bool exact_tokens = false;  // the tokenizer loaded
};

// Faults, each on the next `count` chat completions (after the limit check, so a limited request is
// answered 429 and does not consume a fault).
enum class SimFault : std::uint8_t {
  kServerError,      // 500 server_error
  kOverloaded,       // 503 "The engine is currently overloaded"
  kHang,             // read the request, never answer (until the client leaves or stop())
  kMalformedBody,    // 200 with a body that is not JSON
  kErrorIn200,       // 200 whose body is an error object (OpenRouter, vLLM)
  kFinishLength,     // content cut in half, finish_reason "length"
  kMidStreamError,   // stream: a few chunks, then a data: {"error":…} event and the end
  kCloseMidResponse  // half the response, then the connection drops
};

// What a 200 completion carries: the signals (default), or content a model produces when it is not
// following the reply format, so that an engine's unusable-reply accounting can be exercised.
enum class SimReplyContent : std::uint8_t {
  kSignals,         // one valid signal per instrument, in the format asked for
  kPlainText,       // prose, not the reply format
  kNoSignals,       // the format with no entry: {"signals":[]} (an empty text in the lines format)
  kUnknownPairs,    // entries naming pairs the prompt does not hold
  kInvalidEntries,  // entries with a signal that is not BUY/SELL/HOLD
  kRefusal,         // content null, message.refusal set (non-streamed replies)
};

class InferenceSim {
 public:
  explicit InferenceSim(InferenceSimConfig config);
  ~InferenceSim();  // stops
  InferenceSim(const InferenceSim&) = delete;
  InferenceSim& operator=(const InferenceSim&) = delete;

  // Makes the certificates, loads the tokenizer, binds 127.0.0.1 and starts the acceptor.
  InferenceSimStartResult start();
  // Closes every connection and joins every thread; returns within about a second. Idempotent.
  void stop();

  std::uint16_t port() const;
  const std::string& ca_pem() const;  // what clients must trust (empty without TLS)
  // "https://127.0.0.1:PORT/v1" (or http://), the base_url the engine's config takes.
  std::string base_url() const;
  InferenceSimStats stats() const;

  void inject(SimFault fault, std::size_t count = 1);
  // Injects a 500 at random into this fraction of completions (deterministic from the seed).
  void set_error_rate(double fraction);
  // Every completion is answered 429 insufficient_quota while on.
  void set_insufficient_quota(bool on);
  // What every following 200 completion carries.
  void set_reply_content(SimReplyContent content);
  void set_latency(double median_ms, double sigma);
  // Changes the limits; the buckets start full.
  void set_limits(std::uint64_t rpm, std::uint64_t tpm);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Go's time.Duration.String() for a non-negative duration, as OpenAI's x-ratelimit-reset-* use it: "6m0s",
// "1s", "26.604s", "12ms", "0s". Values below a second keep Go's unit choice (ms, µs, ns).
std::string format_go_duration(std::chrono::nanoseconds duration);

}  // namespace sigflow::tools
