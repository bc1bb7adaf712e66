// libFuzzer: any bytes as the retry headers a server sends (retry-after-ms, retry-after,
// x-ratelimit-reset-*): the Go-duration, reset, IMF-fixdate and retry-delay parsers. The input is split at
// its first NUL into the two retry headers. A usable server delay is always in (0, kMaxServerDelayNs]; a
// reset is never negative.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "engine/retry_after.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace e = sigflow::engine;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)e::parse_go_duration_ns(text);
  if (const auto reset = e::parse_ratelimit_reset_ns(text); reset && *reset < 0) std::abort();
  (void)e::parse_imf_fixdate_unix_ns(text);

  const std::size_t nul = text.find('\0');
  const std::optional<std::string_view> ms =
      nul == std::string_view::npos ? std::nullopt : std::optional(text.substr(0, nul));
  const std::string_view after = nul == std::string_view::npos ? text : text.substr(nul + 1);
  // Wall clock at the openai-python test's mocked time (Fri, 29 Sep 2023 16:26:37 GMT) and at the extremes.
  for (const std::int64_t now :
       {std::int64_t{1'696'004'797'000'000'000}, std::int64_t{0}, INT64_MAX, INT64_MIN}) {
    const e::ServerDelay d = e::retry_delay(ms, after, now);
    if (d.kind == e::ServerDelayKind::delay && (d.delay_ns <= 0 || d.delay_ns > e::kMaxServerDelayNs))
      std::abort();
    e::Backoff backoff(static_cast<std::uint64_t>(size));
    if (e::next_retry_delay_ns(d, backoff, static_cast<std::uint32_t>(size)) < 0) std::abort();
  }
  e::FailedResponse failure;
  failure.status = size > 0 ? 100 + data[0] * 2 : 0;
  failure.code = after;
  failure.type = ms.value_or(std::string_view{});
  failure.message = text;
  (void)e::classify_failure(failure);
  return 0;
}
