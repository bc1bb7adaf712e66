#pragma once
// What to do after a failed request: the server's requested delay (retry-after-ms, retry-after,
// x-ratelimit-reset-*), the SDKs' backoff when it gives none, and which failures are worth retrying.
// Rules from reference/inference.md §0, §1.4–1.6 (openai-python @ e43b4224 `_base_client.py`).
// Parsers take string_views of header values already extracted by the HTTP layer; no allocation, no
// exceptions, no clock reads (wall-clock time is passed in where an HTTP-date needs it).
#include <cstdint>
#include <optional>
#include <string_view>

namespace sigflow::engine {

// Go time.ParseDuration grammar, as OpenAI sends x-ratelimit-reset-*: `6m0s`, `12ms`, `26.604s`,
// `1h2m3.5s`, `0`, with an optional sign and units h, m, s, ms, us, µs, μs, ns. nullopt for anything
// else or for a value that does not fit in int64 ns. Fractions below 1 ns are truncated, as Go does.
std::optional<std::int64_t> parse_go_duration_ns(std::string_view text) noexcept;

// x-ratelimit-reset-* as all providers send it: a Go duration, or Azure's bare integer seconds (`55`).
// Negative values (Azure has sent -1) are rejected: they say nothing about when the limit resets.
std::optional<std::int64_t> parse_ratelimit_reset_ns(std::string_view text) noexcept;

// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) → Unix time in ns.
std::optional<std::int64_t> parse_imf_fixdate_unix_ns(std::string_view text) noexcept;

// openai-python honours a server delay only in (0, 120 s]; above that it does not retry at all.
inline constexpr std::int64_t kMaxServerDelayNs = 120'000'000'000;

enum class ServerDelayKind : std::uint8_t {
  none,      // absent, unparsable, NaN or <= 0: fall back to Backoff
  delay,     // wait delay_ns
  too_long,  // the server asks for more than kMaxServerDelayNs: do not retry, open the breaker
};

struct ServerDelay {
  ServerDelayKind kind;
  std::int64_t delay_ns;  // meaningful for kind == delay
};

// retry-after-ms (float milliseconds) wins when present and parsable, then retry-after (float seconds,
// else an IMF-fixdate taken relative to wall_now_unix_ns). A header the caller did not receive is nullopt.
ServerDelay retry_delay(std::optional<std::string_view> retry_after_ms,
                        std::optional<std::string_view> retry_after, std::int64_t wall_now_unix_ns) noexcept;

// Capped exponential backoff with jitter, as both OpenAI SDKs: min(0.5·2^n, 8) s × (1 − 0.25·u), u in
// [0, 1), n = retries already made. The jitter source is a seeded splitmix64, so a run is reproducible.
class Backoff {
 public:
  explicit Backoff(std::uint64_t seed) noexcept : state_(seed) {}

  std::int64_t delay_ns(std::uint32_t retries_made) noexcept;

 private:
  std::uint64_t state_;
};

// The delay before the next attempt: the server's when it gave a usable one, else the backoff's.
std::int64_t next_retry_delay_ns(const ServerDelay& server, Backoff& backoff,
                                 std::uint32_t retries_made) noexcept;

enum class RetryAction : std::uint8_t {
  retry,         // transient: 408, 409, 429 (rate), >= 500, timeouts, connection errors
  do_not_retry,  // a request bug or capability mismatch: retrying sends the same bad request
  split_chunk,   // the prompt is too large for the model or the TPM limit: retry smaller pieces
  open_breaker,  // nothing will succeed until an operator acts (key, permission, quota, IP ban)
};

struct FailedResponse {
  int status = 0;                // HTTP status; ignored when transport_error
  std::string_view type;         // error.type
  std::string_view code;         // error.code ("" when null)
  std::string_view message;      // error.message
  bool transport_error = false;  // timeout, reset, TLS failure: no HTTP status was received
};

RetryAction classify_failure(const FailedResponse& failure) noexcept;

}  // namespace sigflow::engine
