// InferenceClient against a scripted transport: what it sends, when, and what it does with each answer.
// Time is a plain number the test advances, so every "not before" is checked exactly, without sleeping.
#include "io/inference_client.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace sigflow::io {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;

std::string fixture(const std::string& name) {
  std::ifstream in(sigflow::testing_support::fixtures_dir() + "/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Headers final : public ResponseHeaders {
 public:
  std::map<std::string, std::string> values;
  std::optional<std::string_view> find(std::string_view name) const override {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

struct Post {
  std::uint64_t tag;
  std::string body;
};

class FakeTransport final : public ChatTransport {
 public:
  std::vector<Post> posts;
  std::vector<std::uint64_t> cancelled;
  bool accept = true;
  bool post(std::uint64_t tag, std::string_view body, std::int64_t) override {
    if (!accept) return false;
    posts.push_back({tag, std::string(body)});
    return true;
  }
  void cancel(std::uint64_t tag) override { cancelled.push_back(tag); }
};

struct Range {
  std::uint64_t job;
  std::uint32_t first;
  std::uint32_t count;
};

class Source final : public ChatRequestSource {
 public:
  std::int64_t prompt_tokens_per_item = 100;
  std::vector<Range> replies;
  std::vector<std::string> contents;
  std::vector<std::pair<Range, ItemsFailure>> failures;
  std::vector<std::uint64_t> done;

  RequestCost write_request(std::uint64_t job, std::uint32_t first, std::uint32_t count,
                            std::string& body) override {
    body =
        "job=" + std::to_string(job) + " first=" + std::to_string(first) + " count=" + std::to_string(count);
    RequestCost cost;
    cost.prompt_tokens = prompt_tokens_per_item * count;
    cost.estimated_prompt_tokens = cost.prompt_tokens;
    cost.max_completion_tokens = 50;
    return cost;
  }
  void on_reply(std::uint64_t job, std::uint32_t first, std::uint32_t count, const ChatCompletion& reply,
                const RequestCost&, std::int64_t) override {
    replies.push_back({job, first, count});
    contents.push_back(reply.content);
  }
  void on_items_failed(std::uint64_t job, std::uint32_t first, std::uint32_t count, ItemsFailure why,
                       std::int64_t) override {
    failures.push_back({{job, first, count}, why});
  }
  void on_job_done(std::uint64_t job, std::int64_t) override { done.push_back(job); }
};

std::string completion_body(std::string_view content, std::string_view finish = "stop") {
  std::string escaped;
  for (char c : content) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
         R"("message":{"role":"assistant","content":")" +
         escaped + R"(","refusal":null},"finish_reason":")" + std::string(finish) +
         R"("}],"usage":{"prompt_tokens":120,"completion_tokens":10,"total_tokens":130}})";
}

class InferenceClientTest : public ::testing::Test {
 protected:
  void make(InferenceClientConfig config = {}) {
    if (config.job_max_age_ns == InferenceClientConfig{}.job_max_age_ns) config.job_max_age_ns = 3600 * kSec;
    client = std::make_unique<InferenceClient>(config, source);
    client->set_transport(transport);
  }
  void respond(std::size_t post, int status, const std::string& body, const Headers& headers = {}) {
    ChatTransportEvents& events = client->transport_events();
    events.on_response_head(transport.posts[post].tag, status, headers, now);
    events.on_response_body(transport.posts[post].tag, body, now);
    events.on_response_end(transport.posts[post].tag, now);
  }
  std::int64_t poll() { return client->poll(now, 1'700'000'000 * kSec + now); }

  Source source;
  FakeTransport transport;
  std::unique_ptr<InferenceClient> client;
  std::int64_t now = 1000 * kSec;
};

TEST_F(InferenceClientTest, SendsAJobAndDeliversTheReply) {
  make();
  ASSERT_TRUE(client->submit(7, 3, now));
  poll();
  ASSERT_EQ(transport.posts.size(), 1u);
  EXPECT_EQ(transport.posts[0].body, "job=7 first=0 count=3");
  EXPECT_EQ(client->in_flight(), 1u);
  respond(0, 200, completion_body("BTCUSDT@x: BUY | 0.7 | up"));
  ASSERT_EQ(source.replies.size(), 1u);
  EXPECT_EQ(source.replies[0].count, 3u);
  EXPECT_EQ(source.contents[0], "BTCUSDT@x: BUY | 0.7 | up");
  EXPECT_EQ(source.done, std::vector<std::uint64_t>{7});
  EXPECT_EQ(client->in_flight(), 0u);
  EXPECT_EQ(client->counters().prompt_tokens.load(), 120u);  // usage, not the estimate
  EXPECT_EQ(client->counters().items_replied.load(), 3u);
}

TEST_F(InferenceClientTest, RetryAfterMsHoldsEveryRequestUntilItElapses) {
  InferenceClientConfig config;
  config.max_in_flight = 1;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  ASSERT_TRUE(client->submit(2, 1, now));
  poll();
  ASSERT_EQ(transport.posts.size(), 1u);
  Headers h;
  h.values["retry-after-ms"] = "1500";
  h.values["retry-after"] = "2";
  respond(0, 429, fixture("openai/error_429_requests_rpm.json"), h);
  EXPECT_EQ(client->counters().http_429.load(), 1u);
  const std::int64_t wake = poll();
  EXPECT_EQ(wake, now + 1500 * kMs);
  now += 1499 * kMs;
  poll();
  EXPECT_EQ(transport.posts.size(), 1u) << "sent before the server's retry-after-ms";
  now += 1 * kMs;
  poll();
  ASSERT_EQ(transport.posts.size(), 2u);
  // Job 2 had waited behind job 1's slot; order is kept (job 1's retry first).
  EXPECT_EQ(transport.posts[1].body, "job=1 first=0 count=1");
}

TEST_F(InferenceClientTest, RetryAfterSecondsWhenNoMs) {
  make();
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  Headers h;
  h.values["retry-after"] = "3";
  respond(0, 503, R"({"error":{"message":"overloaded","type":"server_error","param":null,"code":null}})", h);
  EXPECT_EQ(poll(), now + 3 * kSec);
  now += 3 * kSec - 1;
  poll();
  EXPECT_EQ(transport.posts.size(), 1u);
  now += 1;
  poll();
  EXPECT_EQ(transport.posts.size(), 2u);
  EXPECT_EQ(client->counters().http_5xx.load(), 1u);
  EXPECT_EQ(client->counters().retries.load(), 1u);
}

TEST_F(InferenceClientTest, BackoffWithoutServerDelayIsCappedExponential) {
  InferenceClientConfig config;
  config.breaker.failure_threshold = 100;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSERT_EQ(transport.posts.size(), static_cast<std::size_t>(attempt + 1));
    client->transport_events().on_transport_failure(transport.posts.back().tag, "reset", now);
    const std::int64_t wake = poll();
    const double expected_s = std::min(0.5 * (1 << attempt), 8.0);
    EXPECT_LE(wake - now, static_cast<std::int64_t>(expected_s * 1e9));
    EXPECT_GE(wake - now, static_cast<std::int64_t>(expected_s * 0.75 * 1e9));
    now = wake;
    poll();
  }
}

TEST_F(InferenceClientTest, NeverRetries400And404) {
  make();
  ASSERT_TRUE(client->submit(1, 2, now));
  ASSERT_TRUE(client->submit(2, 2, now));
  poll();
  ASSERT_EQ(transport.posts.size(), 2u);
  respond(0, 400, fixture("openai/error_400_invalid_json_schema.json"));
  respond(
      1, 404,
      R"({"error":{"message":"no such model","type":"invalid_request_error","param":null,"code":"model_not_found"}})");
  now += 60 * kSec;
  poll();
  EXPECT_EQ(transport.posts.size(), 2u);
  ASSERT_EQ(source.failures.size(), 2u);
  EXPECT_EQ(source.failures[0].second, ItemsFailure::kRejected);
  EXPECT_EQ(source.done.size(), 2u);
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::closed);
}

TEST_F(InferenceClientTest, ContextLengthExceededSplitsInHalves) {
  make();
  ASSERT_TRUE(client->submit(1, 5, now));
  poll();
  respond(0, 400, fixture("openai/error_400_context_length_exceeded.json"));
  poll();
  ASSERT_EQ(transport.posts.size(), 3u);
  EXPECT_EQ(transport.posts[1].body, "job=1 first=0 count=2");
  EXPECT_EQ(transport.posts[2].body, "job=1 first=2 count=3");
  EXPECT_EQ(client->counters().splits.load(), 1u);
  respond(1, 200, completion_body("a"));
  EXPECT_TRUE(source.done.empty()) << "the job is done only when both halves are";
  respond(2, 200, completion_body("b"));
  EXPECT_EQ(source.done, std::vector<std::uint64_t>{1});
  EXPECT_EQ(source.replies.size(), 2u);
}

TEST_F(InferenceClientTest, RequestTooLargeAndTruncationSplitUntilOneItemFails) {
  make();
  ASSERT_TRUE(client->submit(1, 2, now));
  poll();
  respond(0, 429, fixture("openai/error_429_request_too_large.json"));
  poll();
  ASSERT_EQ(transport.posts.size(), 3u);
  respond(1, 200, completion_body("{\"", "length"));  // truncated single item: cannot split further
  respond(2, 200, completion_body("ok"));
  ASSERT_EQ(source.failures.size(), 1u);
  EXPECT_EQ(source.failures[0].second, ItemsFailure::kTooLarge);
  EXPECT_EQ(source.replies.size(), 1u);
  EXPECT_EQ(client->counters().truncated.load(), 1u);
  EXPECT_EQ(source.done.size(), 1u);
}

TEST_F(InferenceClientTest, UnauthorizedOpensTheBreakerAtOnceAndAProbeClosesIt) {
  InferenceClientConfig config;
  config.breaker.base_cooldown_ns = 2 * kSec;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  respond(
      0, 401,
      R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})");
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::open);
  EXPECT_EQ(client->breaker().cause(), engine::BreakerCause::unauthorized);
  ASSERT_TRUE(client->submit(2, 1, now));
  now += 1999 * kMs;
  poll();
  EXPECT_EQ(transport.posts.size(), 1u) << "sent while the breaker was open";
  now += 1 * kMs;
  poll();
  ASSERT_EQ(transport.posts.size(), 2u) << "one half-open probe";
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::half_open);
  respond(1, 200, completion_body("x"));
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::closed);
  poll();
  EXPECT_EQ(transport.posts.size(), 3u);
}

TEST_F(InferenceClientTest, InsufficientQuotaOpensTheBreaker) {
  make();
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  respond(0, 429, fixture("openai/error_429_insufficient_quota.json"));
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::open);
  EXPECT_EQ(client->breaker().cause(), engine::BreakerCause::insufficient_quota);
}

TEST_F(InferenceClientTest, ConsecutiveServerErrorsOpenTheBreaker) {
  InferenceClientConfig config;
  config.breaker.failure_threshold = 3;
  config.max_in_flight = 3;
  make(config);
  for (std::uint64_t j = 1; j <= 3; ++j) ASSERT_TRUE(client->submit(j, 1, now));
  poll();
  ASSERT_EQ(transport.posts.size(), 3u);
  for (std::size_t p = 0; p < 3; ++p) respond(p, 502, "<html>bad gateway</html>");
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::open);
  EXPECT_EQ(client->breaker().cause(), engine::BreakerCause::consecutive_failures);
}

TEST_F(InferenceClientTest, RpmLimitPacesRequests) {
  InferenceClientConfig config;
  config.rpm = 2;
  config.max_in_flight = 8;
  make(config);
  for (std::uint64_t j = 1; j <= 3; ++j) ASSERT_TRUE(client->submit(j, 1, now));
  const std::int64_t wake = poll();
  EXPECT_EQ(transport.posts.size(), 2u);
  EXPECT_EQ(wake, now + 30 * kSec);  // 2 per minute: one more every 30 s
  now = wake - 1;
  poll();
  EXPECT_EQ(transport.posts.size(), 2u);
  now = wake;
  poll();
  EXPECT_EQ(transport.posts.size(), 3u);
}

TEST_F(InferenceClientTest, TpmLimitCountsPromptAndCompletionTokens) {
  InferenceClientConfig config;
  config.tpm = 600;  // one 5-item request costs 550
  make(config);
  ASSERT_TRUE(client->submit(1, 5, now));
  ASSERT_TRUE(client->submit(2, 5, now));
  poll();
  EXPECT_EQ(transport.posts.size(), 1u);
  EXPECT_GT(client->counters().limiter_waits.load(), 0u);
}

TEST_F(InferenceClientTest, LimitsDiscoveredFromHeaders) {
  InferenceClientConfig config;
  config.rpm = 1000;
  config.tpm = 1'000'000;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  Headers h;
  h.values["x-ratelimit-limit-requests"] = "60";
  h.values["x-ratelimit-limit-tokens"] = "150000";
  h.values["x-ratelimit-remaining-requests"] = "0";
  h.values["x-ratelimit-reset-requests"] = "1.5s";
  h.values["x-ratelimit-remaining-tokens"] = "149000";
  h.values["x-ratelimit-reset-tokens"] = "6m0s";
  respond(0, 200, completion_body("x"), h);
  EXPECT_EQ(client->rpm_limit(), 60);
  EXPECT_EQ(client->tpm_limit(), 150000);
  EXPECT_EQ(client->counters().limits_from_headers.load(), 2u);
  ASSERT_TRUE(client->submit(2, 1, now));
  const std::int64_t wake = poll();
  EXPECT_EQ(transport.posts.size(), 1u) << "remaining-requests 0 must hold the next request";
  EXPECT_GE(wake, now + 1500 * kMs);
}

TEST_F(InferenceClientTest, TimeoutCancelsAndRetries) {
  InferenceClientConfig config;
  config.request_timeout_ns = 5 * kSec;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  EXPECT_EQ(poll(), now + 5 * kSec);
  now += 5 * kSec;
  poll();
  ASSERT_EQ(transport.cancelled.size(), 1u);
  EXPECT_EQ(client->counters().timeouts.load(), 1u);
  // A late answer for the cancelled request is ignored.
  respond(0, 200, completion_body("late"));
  EXPECT_TRUE(source.replies.empty());
  now += 10 * kSec;
  poll();
  EXPECT_EQ(transport.posts.size(), 2u);
}

TEST_F(InferenceClientTest, ExpiredJobsAreDroppedNotSent) {
  InferenceClientConfig config;
  config.job_max_age_ns = 3 * kSec;
  make(config);
  transport.accept = false;  // every post fails: the job keeps waiting on backoff
  ASSERT_TRUE(client->submit(1, 4, now));
  for (int i = 0; i < 50 && source.done.empty(); ++i) {
    now += 500 * kMs;
    poll();
  }
  ASSERT_EQ(source.done.size(), 1u);
  ASSERT_EQ(source.failures.size(), 1u);
  EXPECT_EQ(source.failures[0].second, ItemsFailure::kExpired);
  EXPECT_EQ(client->counters().jobs_expired.load(), 1u);
}

TEST_F(InferenceClientTest, ErrorInsideA200IsAFailure) {
  make();
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  respond(0, 200, fixture("compat/vllm_error_legacy_toplevel.json"));
  EXPECT_EQ(client->counters().provider_errors_in_200.load(), 1u);
  EXPECT_TRUE(source.replies.empty());
  // Its code 400 is the status it meant: not retried.
  ASSERT_EQ(source.failures.size(), 1u);
  EXPECT_EQ(source.failures[0].second, ItemsFailure::kRejected);
}

TEST_F(InferenceClientTest, MalformedBodyIsRetried) {
  make();
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  respond(0, 200, "{\"id\":");
  EXPECT_EQ(client->counters().malformed.load(), 1u);
  now += 10 * kSec;
  poll();
  EXPECT_EQ(transport.posts.size(), 2u);
}

TEST_F(InferenceClientTest, QueueIsBoundedAndPublishesRoom) {
  InferenceClientConfig config;
  config.max_queued = 2;
  config.max_in_flight = 1;
  make(config);
  EXPECT_EQ(client->free_slots(), 2u);
  ASSERT_TRUE(client->submit(1, 1, now));
  ASSERT_TRUE(client->submit(2, 1, now));
  EXPECT_FALSE(client->submit(3, 1, now));
  EXPECT_EQ(client->counters().jobs_refused.load(), 1u);
  EXPECT_EQ(client->free_slots(), 0u);
}

TEST_F(InferenceClientTest, StreamedReplyIsAssembled) {
  InferenceClientConfig config;
  config.stream = true;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  const std::string sse = fixture("openai/stream_structured_output.sse");
  ChatTransportEvents& events = client->transport_events();
  const Headers h;
  events.on_response_head(transport.posts[0].tag, 200, h, now);
  for (std::size_t i = 0; i < sse.size(); i += 7)  // split anywhere
    events.on_response_body(transport.posts[0].tag, std::string_view(sse).substr(i, 7), now);
  events.on_response_end(transport.posts[0].tag, now);
  ASSERT_EQ(source.contents.size(), 1u);
  EXPECT_EQ(source.contents[0], R"({"city":"San Francisco","temperature":61,"units":"f"})");
  EXPECT_EQ(client->counters().prompt_tokens.load(), 79u);
}

TEST_F(InferenceClientTest, StreamCutBeforeTheEndIsRetried) {
  InferenceClientConfig config;
  config.stream = true;
  make(config);
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  const std::string sse = fixture("openai/stream_structured_output.sse");
  ChatTransportEvents& events = client->transport_events();
  const Headers h;
  events.on_response_head(transport.posts[0].tag, 200, h, now);
  events.on_response_body(transport.posts[0].tag, std::string_view(sse).substr(0, sse.size() / 3), now);
  events.on_response_end(transport.posts[0].tag, now);
  EXPECT_TRUE(source.contents.empty());
  EXPECT_EQ(client->counters().malformed.load(), 1u);
}

TEST_F(InferenceClientTest, RetryAfterBeyond120sOpensTheBreaker) {
  make();
  ASSERT_TRUE(client->submit(1, 1, now));
  poll();
  Headers h;
  h.values["retry-after"] = "86400";
  respond(0, 429, fixture("openai/error_429_tokens_tpm.json"), h);
  EXPECT_EQ(client->breaker().state(), engine::BreakerState::open);
  EXPECT_EQ(client->breaker().cause(), engine::BreakerCause::retry_after_too_long);
}

}  // namespace
}  // namespace sigflow::io
