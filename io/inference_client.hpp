#pragma once
// InferenceClient: the request side of the inference thread. It turns prompt jobs into POST
// /chat/completions requests and keeps the API key's standing with the provider: it limits itself before
// the provider has to (linked RPM + TPM GCRA limiters and a cap on requests in flight, corrected from the
// x-ratelimit-* headers and from usage), and when the provider still says no it does what the provider
// asked (reference/inference.md §0, §1.4–1.6):
//  - 408, 409, 429 (rate), 5xx, timeouts and connection errors are retried after retry-after-ms, else
//    retry-after, else capped exponential backoff with jitter; a 429's delay holds back EVERY request, not
//    just the one refused, because the limit is the key's;
//  - 400, 404, 422 are never retried: the same bytes would fail the same way;
//  - 401, 403, 429 insufficient_quota and a retry-after above 120 s open the breaker at once;
//  - `Request too large`, context_length_exceeded, 413 and finish_reason "length" split the request's
//    items in halves, each retried on its own (a single item that is still too large fails);
//  - one circuit breaker for this (base_url, model): consecutive 5xx/timeouts/transport failures open it,
//    half-open probes find out when the provider is back.
//
// What a job's items are, how a body is written and what a reply means is the app's business
// (ChatRequestSource): the client only knows that a job has N items and that a request carries a range of
// them. The bytes go through a ChatTransport (the HTTP/1.1 pool in production, a scripted fake in tests).
//
// Single-threaded: the inference thread owns the client, its transport and its limiters; counters and
// published gauges are atomics read by other threads. Slots, bodies and parsers are sized at
// construction and reused, so a request allocates nothing once buffers have grown to the largest body.
// Nothing reads a clock: every entry point takes the time.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/circuit_breaker.hpp"
#include "engine/counter.hpp"
#include "engine/histogram.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/retry_after.hpp"
#include "io/chat_completion.hpp"
#include "io/sse_parser.hpp"

namespace sigflow::io {

// One line explaining a failed request, for the log and the status line: "500 server_error: <message>",
// "401 invalid_api_key: Incorrect API key provided: sk-***", "transport: <what>". The provider's message is
// cut to kMaxErrorTextBytes; control characters become spaces and API-key-like words are masked.
std::string describe_failure(const engine::FailedResponse& failure, std::string_view transport_what = {});
// Appends a provider's text as a log or the status line may show it: control characters become spaces,
// an API-key-like word ("sk-…", whatever follows "Bearer") is masked, and at most `max` bytes are kept.
void append_provider_text(std::string& out, std::string_view text, std::size_t max);

// The response headers a transport received, looked up by lower-case name.
class ResponseHeaders {
 public:
  virtual std::optional<std::string_view> find(std::string_view lower_case_name) const = 0;

 protected:
  ~ResponseHeaders() = default;
};

// How a transport reports a request's progress. Calls arrive on the client's thread, never from inside
// ChatTransport::post or cancel.
class ChatTransportEvents {
 public:
  virtual void on_response_head(std::uint64_t tag, int status, const ResponseHeaders& headers,
                                std::int64_t now_ns) = 0;
  // Body bytes in order (a buffered transport may deliver the whole body at once).
  virtual void on_response_body(std::uint64_t tag, std::string_view bytes, std::int64_t now_ns) = 0;
  virtual void on_response_end(std::uint64_t tag, std::int64_t now_ns) = 0;
  // No (complete) response: connect, TLS, reset, a transport-side timeout. Ends the request.
  virtual void on_transport_failure(std::uint64_t tag, std::string_view what, std::int64_t now_ns) = 0;

 protected:
  ~ChatTransportEvents() = default;
};

class ChatTransport {
 public:
  virtual ~ChatTransport() = default;
  // Starts POST {base_url}/chat/completions with `body` (which stays valid until the request ends).
  // False when the request could not be started at all; no event follows then.
  virtual bool post(std::uint64_t tag, std::string_view body, std::int64_t timeout_ns) = 0;
  // Abandons a request: no event for `tag` follows.
  virtual void cancel(std::uint64_t tag) = 0;
};

struct RequestCost {
  std::int64_t prompt_tokens = 0;            // charged as input: our exact count plus the learned residual
  std::int64_t estimated_prompt_tokens = 0;  // our exact count alone (what usage corrects)
  std::int64_t max_completion_tokens = 0;    // what the body allows as output
};

enum class ItemsFailure : std::uint8_t {
  kExpired,   // the job outlived its usefulness (ttl) before a reply came
  kRejected,  // a 4xx that retrying cannot fix
  kRetriesExhausted,
  kTooLarge,  // one item alone is too large for the model or the TPM limit
  kRefused,   // the model declined (message.refusal)
  kShutdown,
};

std::string_view to_string(ItemsFailure failure) noexcept;

// Provider text kept in an explanation: the message is cut to this many bytes.
inline constexpr std::size_t kMaxErrorTextBytes = 200;

// The app's side: the items of a job, how to write a request for a range of them, and what to do with
// the outcome. Called on the client's thread.
class ChatRequestSource {
 public:
  // Writes (replacing) `body` for items [first, first + count) of `job` and says what it costs.
  virtual RequestCost write_request(std::uint64_t job, std::uint32_t first, std::uint32_t count,
                                    std::string& body) = 0;
  // A completed reply for the range (finish_reason is never "length": that range was split instead).
  virtual void on_reply(std::uint64_t job, std::uint32_t first, std::uint32_t count,
                        const ChatCompletion& reply, const RequestCost& cost, std::int64_t now_ns) = 0;
  virtual void on_items_failed(std::uint64_t job, std::uint32_t first, std::uint32_t count, ItemsFailure why,
                               std::int64_t now_ns) = 0;
  // Every item of the job has had its reply or its failure; the job's data may be released.
  virtual void on_job_done(std::uint64_t job, std::int64_t now_ns) = 0;

 protected:
  ~ChatRequestSource() = default;
};

struct InferenceClientConfig {
  std::int64_t rpm = 60;
  std::int64_t tpm = 100'000;
  std::uint32_t max_in_flight = 4;
  // Requests waiting to be sent (including retries and split halves); submit() refuses beyond it.
  std::uint32_t max_queued = 16;
  std::int64_t request_timeout_ns = 30'000'000'000;
  // A job not answered by then is dropped: its reply would describe a market that has moved on.
  std::int64_t job_max_age_ns = 10'000'000'000;
  std::uint32_t max_retries = 6;  // per request, beyond the first attempt
  bool stream = false;            // the body asks for SSE; responses are decoded as a stream
  engine::BreakerConfig breaker{};
  // Where failed requests are explained (status, provider error type/code/message; never a header or the
  // key), once per distinct error per minute. Null: not logged (last_error() still has it).
  std::FILE* error_log = nullptr;
  std::uint64_t seed = 0x5eed;  // backoff jitter
};

// Written by the client's thread only; any thread may read.
struct InferenceCounters {
  engine::Counter jobs_submitted;
  engine::Counter jobs_refused;  // submit() with the queue full
  engine::Counter jobs_done;
  engine::Counter jobs_expired;
  engine::Counter requests;  // sent, including retries and split halves
  engine::Counter responses_ok;
  engine::Counter http_429;
  engine::Counter http_4xx;  // other than 429
  engine::Counter http_5xx;
  engine::Counter provider_errors_in_200;  // an error object in a 200 body or stream
  engine::Counter transport_failures;
  engine::Counter timeouts;
  engine::Counter malformed;  // 2xx bodies that are neither a completion nor an error
  engine::Counter retries;
  engine::Counter splits;
  engine::Counter truncated;  // finish_reason "length"
  engine::Counter refusals;
  engine::Counter items_replied;
  engine::Counter items_failed;
  engine::Counter limiter_waits;          // a ready request held back by RPM/TPM/in-flight
  engine::Counter server_delay_holds;     // a retry-after that paused every request
  engine::Counter limits_from_headers;    // x-ratelimit-limit-* lowered a configured limit
  engine::Counter remaining_corrections;  // x-ratelimit-remaining-* applied
  engine::Counter prompt_tokens;          // usage.prompt_tokens (or our estimate when usage is absent)
  engine::Counter completion_tokens;
  engine::Counter breaker_refusals;  // requests held back by an open breaker (each once, however long)
  // Request handed to the transport → response complete, whatever its HTTP status (not timeouts).
  engine::LatencyHistogram round_trip;
};

class InferenceClient final : private ChatTransportEvents {
 public:
  InferenceClient(const InferenceClientConfig& config, ChatRequestSource& source);
  ~InferenceClient();
  InferenceClient(const InferenceClient&) = delete;
  InferenceClient& operator=(const InferenceClient&) = delete;

  // The events the transport must report to. Set the transport before the first poll().
  ChatTransportEvents& transport_events() noexcept { return *this; }
  void set_transport(ChatTransport& transport) noexcept { transport_ = &transport; }

  // Queues a job of `items` items (> 0). False (counted) when the queue is full: the caller drops the job.
  bool submit(std::uint64_t job, std::uint32_t items, std::int64_t now_ns);

  // Expires, sends what the breaker and limits allow, and returns when it next needs to run (the
  // transport's events may also make work earlier). `wall_ns` is only for HTTP-date retry-after values.
  std::int64_t poll(std::int64_t now_ns, std::int64_t wall_ns);

  // Fails every queued and in-flight request (cancelling them) and finishes every job.
  void shutdown(std::int64_t now_ns);

  // What the strategy thread may plan against: queue room and tokens the TPM limiter could grant now
  // (minus what queued requests will take). Published by poll() for other threads.
  std::uint32_t free_slots() const noexcept { return free_slots_.load(std::memory_order_relaxed); }
  std::int64_t tokens_available() const noexcept { return tokens_available_.load(std::memory_order_relaxed); }

  const InferenceCounters& counters() const noexcept { return *counters_; }
  const engine::CircuitBreaker& breaker() const noexcept { return breaker_; }
  std::int64_t rpm_limit() const noexcept { return rpm_.capacity(); }
  std::int64_t tpm_limit() const noexcept { return tpm_.capacity(); }
  std::uint32_t in_flight() const noexcept { return limits_.in_flight(); }
  std::int64_t hold_until_ns() const noexcept { return hold_until_ns_; }
  // The latest failed request explained ("500 server_error: The server had an error…"); empty before any
  // failure. Any thread.
  std::string last_error() const;

 private:
  enum class SlotState : std::uint8_t { kFree, kQueued, kInFlight };

  struct Slot;
  struct Job {
    std::uint64_t id = 0;
    std::uint32_t outstanding = 0;  // requests of the job not yet finished
    std::int64_t deadline_ns = 0;
    bool used = false;
  };

  void on_response_head(std::uint64_t tag, int status, const ResponseHeaders& headers,
                        std::int64_t now_ns) override;
  void on_response_body(std::uint64_t tag, std::string_view bytes, std::int64_t now_ns) override;
  void on_response_end(std::uint64_t tag, std::int64_t now_ns) override;
  void on_transport_failure(std::uint64_t tag, std::string_view what, std::int64_t now_ns) override;

  Slot* find_in_flight(std::uint64_t tag) noexcept;
  Slot* free_slot() noexcept;
  Job* find_job(std::uint64_t id) noexcept;
  bool try_send(Slot& slot, std::int64_t now_ns);
  void finish_in_flight(Slot& slot) noexcept;  // returns the in-flight slot to the limits
  void correct_limits(const ResponseHeaders& headers, std::int64_t now_ns);
  void complete(Slot& slot, std::int64_t now_ns);
  void fail(Slot& slot, const engine::FailedResponse& failure, std::int64_t now_ns);
  void retry_later(Slot& slot, std::int64_t delay_ns, std::int64_t now_ns);
  void split(Slot& slot, std::int64_t now_ns);
  void give_up(Slot& slot, ItemsFailure why, std::int64_t now_ns);
  void release(Slot& slot, std::int64_t now_ns);  // the request ends; finishes its job when it was the last
  void publish(std::int64_t now_ns) noexcept;
  // Records (and logs, rate-limited) why a request failed.
  void explain(const engine::FailedResponse& failure, std::int64_t now_ns);

  struct ErrorLogEntry {
    std::size_t key = 0;  // hash of the explanation
    std::int64_t logged_ns = 0;
    std::uint64_t suppressed = 0;
  };
  static constexpr std::int64_t kErrorLogIntervalNs = 60'000'000'000;

  InferenceClientConfig config_;
  ChatRequestSource& source_;
  ChatTransport* transport_ = nullptr;
  engine::GcraLimiter rpm_;
  engine::GcraLimiter tpm_;
  engine::LinkedLimits limits_;
  engine::CircuitBreaker breaker_;
  engine::Backoff backoff_;
  ChatCompletionDecoder decoder_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Job> jobs_;
  std::uint64_t next_tag_ = 1;
  std::uint64_t next_order_ = 1;
  std::int64_t hold_until_ns_ = 0;  // a server delay that holds back every request
  std::int64_t wall_ns_ = 0;
  std::unique_ptr<InferenceCounters> counters_;
  std::string transport_what_;  // what the transport said about the failure being explained
  std::array<ErrorLogEntry, 8> error_log_{};
  mutable std::mutex last_error_mutex_;
  std::string last_error_;
  std::atomic<std::uint32_t> free_slots_{0};
  std::atomic<std::int64_t> tokens_available_{0};
};

}  // namespace sigflow::io
