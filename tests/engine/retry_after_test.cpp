#include "engine/retry_after.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using sigflow::engine::Backoff;
using sigflow::engine::classify_failure;
using sigflow::engine::FailedResponse;
using sigflow::engine::next_retry_delay_ns;
using sigflow::engine::parse_go_duration_ns;
using sigflow::engine::parse_imf_fixdate_unix_ns;
using sigflow::engine::parse_ratelimit_reset_ns;
using sigflow::engine::retry_delay;
using sigflow::engine::RetryAction;
using sigflow::engine::ServerDelayKind;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000 * kMs;
// openai-python's tests mock time.time() to this: Fri, 29 Sep 2023 16:26:37 GMT.
constexpr std::int64_t kFixtureNow = 1'696'004'797 * kSec;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(GoDuration, ValuesOpenAiSends) {
  EXPECT_EQ(parse_go_duration_ns("6m0s"), 6 * 60 * kSec);
  EXPECT_EQ(parse_go_duration_ns("1s"), kSec);
  EXPECT_EQ(parse_go_duration_ns("12ms"), 12 * kMs);
  EXPECT_EQ(parse_go_duration_ns("9ms"), 9 * kMs);
  EXPECT_EQ(parse_go_duration_ns("26.604s"), 26'604 * kMs);
  EXPECT_EQ(parse_go_duration_ns("1h2m3.5s"), (3600 + 120 + 3) * kSec + 500 * kMs);
  EXPECT_EQ(parse_go_duration_ns("0s"), 0);
  EXPECT_EQ(parse_go_duration_ns("0"), 0);
}

TEST(GoDuration, OtherGoUnitsSignsAndFractions) {
  EXPECT_EQ(parse_go_duration_ns("1.5h"), 5'400 * kSec);
  EXPECT_EQ(parse_go_duration_ns("-1.5h"), -5'400 * kSec);
  EXPECT_EQ(parse_go_duration_ns("+3ns"), 3);
  EXPECT_EQ(parse_go_duration_ns("7us"), 7'000);
  EXPECT_EQ(parse_go_duration_ns("7\xC2\xB5s"), 7'000);
  EXPECT_EQ(parse_go_duration_ns("7\xCE\xBCs"), 7'000);
  EXPECT_EQ(parse_go_duration_ns(".5s"), 500 * kMs);
  EXPECT_EQ(parse_go_duration_ns("1.s"), kSec);
  EXPECT_EQ(parse_go_duration_ns("1.0000000019s"), kSec + 1);  // below 1 ns is truncated
  EXPECT_EQ(parse_go_duration_ns("2562047h47m16.854775807s"), INT64_MAX);
}

TEST(GoDuration, GarbageIsAnError) {
  for (const char* bad : {"", "s", "1", "10", "-", ".", ".s", "1x", "1 s", " 1s", "1s ", "1sm", "1.2.3s",
                          "ms", "inf", "1e3s", "2562047h47m16.854775808s", "99999999999999999999ns", "-1"}) {
    EXPECT_FALSE(parse_go_duration_ns(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(RateLimitReset, GoDurationOrAzureIntegerSecondsNeverNegative) {
  EXPECT_EQ(parse_ratelimit_reset_ns("6m0s"), 360 * kSec);
  EXPECT_EQ(parse_ratelimit_reset_ns("55"), 55 * kSec);
  EXPECT_FALSE(parse_ratelimit_reset_ns("-1").has_value());
  EXPECT_FALSE(parse_ratelimit_reset_ns("-1s").has_value());
  EXPECT_FALSE(parse_ratelimit_reset_ns("soon").has_value());
  EXPECT_FALSE(parse_ratelimit_reset_ns("").has_value());
}

TEST(ImfFixdate, ParsesRfc9110ExampleAndRejectsMalformed) {
  EXPECT_EQ(parse_imf_fixdate_unix_ns("Sun, 06 Nov 1994 08:49:37 GMT"), 784'111'777 * kSec);
  EXPECT_EQ(parse_imf_fixdate_unix_ns("Fri, 29 Sep 2023 16:26:37 GMT"), kFixtureNow);
  EXPECT_EQ(parse_imf_fixdate_unix_ns("Thu, 29 Feb 2024 00:00:00 GMT"), 1'709'164'800 * kSec);
  for (const char* bad :
       {"Zun, 29 Sep 2023 16:26:27 GMT", "Fri, 29 Sep 100000 16:26:57 GMT", "Fri, 31 Sep 2023 16:26:37 GMT",
        "Fri, 29 Sep 2023 24:00:00 GMT", "Fri, 29 Sep 2023 16:60:00 GMT", "Fri, 29 Sep 2023 16:26:37 UTC",
        "Fri, 29 Zep 2023 16:26:37 GMT", "Fri, 2x Sep 2023 16:26:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
        ""}) {
    EXPECT_FALSE(parse_imf_fixdate_unix_ns(bad).has_value()) << bad;
  }
}

// Found by tests/fuzz/retry_after_fuzz.cpp: a four-digit year past 2262 (or before 1677) overflowed int64
// nanoseconds (signed overflow, UBSan), and a date far from the wall clock overflowed the delay. Both are
// now values: unparsable dates, and "too long" or "none" delays.
TEST(ImfFixdate, DatesOutsideInt64NanosecondsAreRejectedNotOverflowed) {
  EXPECT_FALSE(parse_imf_fixdate_unix_ns("Fri, 31 Dec 9999 23:59:59 GMT").has_value());
  EXPECT_FALSE(parse_imf_fixdate_unix_ns("Sat, 01 Jan 0000 00:00:00 GMT").has_value());
  EXPECT_TRUE(parse_imf_fixdate_unix_ns("Fri, 11 Apr 2262 00:00:00 GMT").has_value());
  EXPECT_EQ(retry_delay(std::nullopt, "Fri, 31 Dec 9999 23:59:59 GMT", kFixtureNow).kind,
            ServerDelayKind::none);
  // The fuzzer's input: a valid date against the far ends of the clock.
  const std::string_view date = "Fri, 29 Sep 2023 16:27:37 GMT";
  EXPECT_EQ(retry_delay(std::nullopt, date, std::numeric_limits<std::int64_t>::min()).kind,
            ServerDelayKind::too_long);
  EXPECT_EQ(retry_delay(std::nullopt, date, std::numeric_limits<std::int64_t>::max()).kind,
            ServerDelayKind::none);
  EXPECT_EQ(retry_delay(std::nullopt, date, kFixtureNow).kind, ServerDelayKind::delay);
}

// Found by tests/fuzz/retry_after_fuzz.cpp: a positive delay too small for a nanosecond rounded to a "delay"
// of 0 ns; a delay the server asks for is at least 1 ns, as its kind says.
TEST(RetryDelay, TinyPositiveDelayIsAtLeastOneNanosecond) {
  for (const auto& [ms, seconds] : {std::pair<std::optional<std::string_view>, std::string_view>{
                                        std::nullopt, "00000000000.000000000005"},
                                    {"0.0000000001", "5"}}) {
    const auto d = retry_delay(ms, seconds, kFixtureNow);
    EXPECT_EQ(d.kind, ServerDelayKind::delay) << seconds;
    EXPECT_EQ(d.delay_ns, 1) << seconds;
  }
}

struct RetryAfterVector {
  int remaining_retries;
  std::string header;
  double expected_seconds;
};

std::vector<RetryAfterVector> load_vectors() {
  std::vector<RetryAfterVector> vectors;
  std::istringstream in(
      read_file(sigflow::testing_support::fixtures_dir() + "/openai/retry_after_vectors.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto bar1 = line.find(" | ");
    const auto bar2 = line.rfind(" | ");
    const std::string quoted = line.substr(bar1 + 3, bar2 - bar1 - 3);
    vectors.push_back({std::stoi(line.substr(0, bar1)), quoted.substr(1, quoted.size() - 2),
                       std::stod(line.substr(bar2 + 3))});
  }
  return vectors;
}

TEST(RetryDelay, OpenAiPythonVectors) {
  const std::vector<RetryAfterVector> vectors = load_vectors();
  ASSERT_EQ(vectors.size(), 23u);
  constexpr int kMaxRetries = 3;
  Backoff backoff(42);
  for (const RetryAfterVector& v : vectors) {
    SCOPED_TRACE(v.header + " remaining " + std::to_string(v.remaining_retries));
    const auto server = retry_delay(std::nullopt, v.header, kFixtureNow);
    const auto retries_made = static_cast<std::uint32_t>(kMaxRetries - v.remaining_retries);
    const std::int64_t delay = next_retry_delay_ns(server, backoff, retries_made);
    const auto expected = static_cast<std::int64_t>(v.expected_seconds * kSec);
    if (server.kind == ServerDelayKind::delay) {
      EXPECT_EQ(delay, expected);
    } else {
      // The vectors give the backoff before jitter; jitter scales it into (0.75, 1].
      EXPECT_LE(delay, expected);
      EXPECT_GT(delay, expected * 3 / 4);
    }
  }
}

TEST(RetryDelay, MaxDelayVectorsDecideWhetherToRetry) {
  // test_retry_after_max_delay: more than 120 s is not retried at all.
  EXPECT_EQ(retry_delay(std::nullopt, "120", kFixtureNow).kind, ServerDelayKind::delay);
  EXPECT_EQ(retry_delay(std::nullopt, "121", kFixtureNow).kind, ServerDelayKind::too_long);
  EXPECT_EQ(retry_delay("120000", std::nullopt, kFixtureNow).kind, ServerDelayKind::delay);
  EXPECT_EQ(retry_delay("120001", std::nullopt, kFixtureNow).kind, ServerDelayKind::too_long);
  EXPECT_EQ(retry_delay(std::nullopt, "Fri, 29 Sep 2023 16:28:37 GMT", kFixtureNow).kind,
            ServerDelayKind::delay);
  EXPECT_EQ(retry_delay(std::nullopt, "Fri, 29 Sep 2023 16:28:38 GMT", kFixtureNow).kind,
            ServerDelayKind::too_long);
  EXPECT_EQ(retry_delay(std::nullopt, "inf", kFixtureNow).kind, ServerDelayKind::too_long);
  EXPECT_EQ(retry_delay(std::nullopt, "nan", kFixtureNow).kind, ServerDelayKind::none);
}

TEST(RetryDelay, RetryAfterMsFirstAndFractional) {
  const auto ms = retry_delay("1500.5", "30", kFixtureNow);
  ASSERT_EQ(ms.kind, ServerDelayKind::delay);
  EXPECT_EQ(ms.delay_ns, 1'500'500'000);
  // An unparsable retry-after-ms falls through to retry-after, as in openai-python.
  const auto fallback = retry_delay("soon", "30", kFixtureNow);
  ASSERT_EQ(fallback.kind, ServerDelayKind::delay);
  EXPECT_EQ(fallback.delay_ns, 30 * kSec);
  EXPECT_EQ(retry_delay(std::nullopt, "2.25", kFixtureNow).delay_ns, 2'250 * kMs);
  EXPECT_EQ(retry_delay(std::nullopt, std::nullopt, kFixtureNow).kind, ServerDelayKind::none);
}

TEST(Backoff, DeterministicForASeedAndCappedAtEightSeconds) {
  Backoff a(7);
  Backoff b(7);
  Backoff c(8);
  bool any_differs = false;
  for (std::uint32_t n = 0; n < 64; ++n) {
    const std::int64_t da = a.delay_ns(n);
    EXPECT_EQ(da, b.delay_ns(n));
    any_differs = any_differs || da != c.delay_ns(n);
    const std::int64_t base = std::min<std::int64_t>(500 * kMs << std::min<std::uint32_t>(n, 4), 8 * kSec);
    EXPECT_LE(da, base) << n;
    EXPECT_GT(da, base * 3 / 4) << n;
  }
  EXPECT_TRUE(any_differs);
  EXPECT_LE(a.delay_ns(UINT32_MAX), 8 * kSec);
}

TEST(Backoff, JitterCoversItsRange) {
  Backoff backoff(1);
  std::int64_t lo = INT64_MAX;
  std::int64_t hi = 0;
  for (int i = 0; i < 2'000; ++i) {
    const std::int64_t d = backoff.delay_ns(0);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 380 * kMs);  // near 0.375 s
  EXPECT_GT(hi, 495 * kMs);  // near 0.5 s
}

FailedResponse from_fixture(int status, const std::string& name, nlohmann::json& storage) {
  storage = nlohmann::json::parse(read_file(sigflow::testing_support::fixtures_dir() + "/openai/" + name));
  const nlohmann::json& error = storage.at("error");
  FailedResponse f;
  f.status = status;
  f.type = error.at("type").get_ref<const std::string&>();
  f.code = error.at("code").is_null() ? std::string_view{} : error.at("code").get_ref<const std::string&>();
  f.message = error.at("message").get_ref<const std::string&>();
  return f;
}

TEST(ClassifyFailure, OpenAiFixtureBodies) {
  struct Case {
    int status;
    const char* fixture;
    RetryAction expected;
  };
  const Case cases[] = {
      {429, "error_429_requests_rpm.json", RetryAction::retry},
      {429, "error_429_tokens_tpm.json", RetryAction::retry},
      {429, "error_429_request_too_large.json", RetryAction::split_chunk},
      {429, "error_429_insufficient_quota.json", RetryAction::open_breaker},
      {400, "error_400_context_length_exceeded.json", RetryAction::split_chunk},
      {400, "error_400_invalid_json_schema.json", RetryAction::do_not_retry},
      {400, "error_400_unsupported_parameter_max_tokens.json", RetryAction::do_not_retry},
      {400, "error_400_unsupported_value_temperature.json", RetryAction::do_not_retry},
  };
  for (const Case& c : cases) {
    nlohmann::json storage;
    EXPECT_EQ(classify_failure(from_fixture(c.status, c.fixture, storage)), c.expected) << c.fixture;
  }
}

TEST(ClassifyFailure, InsufficientQuotaWithNullCodeAsIn2023) {
  FailedResponse f;
  f.status = 429;
  f.type = "insufficient_quota";
  EXPECT_EQ(classify_failure(f), RetryAction::open_breaker);
}

TEST(ClassifyFailure, StatusTable) {
  struct Case {
    int status;
    RetryAction expected;
  };
  const Case cases[] = {
      {400, RetryAction::do_not_retry}, {401, RetryAction::open_breaker}, {403, RetryAction::open_breaker},
      {404, RetryAction::do_not_retry}, {408, RetryAction::retry},        {409, RetryAction::retry},
      {413, RetryAction::split_chunk},  {422, RetryAction::do_not_retry}, {429, RetryAction::retry},
      {500, RetryAction::retry},        {502, RetryAction::retry},        {503, RetryAction::retry},
      {504, RetryAction::retry},
  };
  for (const Case& c : cases) {
    FailedResponse f;
    f.status = c.status;
    EXPECT_EQ(classify_failure(f), c.expected) << c.status;
  }
  FailedResponse transport;
  transport.transport_error = true;
  EXPECT_EQ(classify_failure(transport), RetryAction::retry);
}

TEST(ClassifyFailure, BinanceIpBanOpensTheBreaker) {
  const nlohmann::json body = nlohmann::json::parse(
      read_file(sigflow::testing_support::fixtures_dir() + "/binance/rest_418_ip_ban_-1003.json"));
  ASSERT_EQ(body.at("code").get<int>(), -1003);
  FailedResponse f;
  f.status = 418;
  f.message = body.at("msg").get_ref<const std::string&>();
  EXPECT_EQ(classify_failure(f), RetryAction::open_breaker);
}

}  // namespace
