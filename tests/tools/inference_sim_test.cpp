// The inference simulator driven by the engine's own pieces: io::HttpConnection / HttpPool on an EventLoop
// for the transport, strategies' snapshot lines and reply schema for the prompt, io::SseParser and
// io::ChatCompletionDecoder for the answers, engine/retry_after for the headers.
#include "tools/inference-sim/inference_sim.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/retry_after.hpp"
#include "io/chat_completion.hpp"
#include "io/event_loop.hpp"
#include "io/http_client.hpp"
#include "io/sse_parser.hpp"
#include "io/tls_session.hpp"
#include "strategies/prompt/reply_format.hpp"
#include "strategies/prompt/snapshot_line.hpp"
#include "strategies/tokenizer/chat_tokens.hpp"
#include "strategies/tokenizer/tokenizer.hpp"
#include "tools/inference-sim/sim_reply.hpp"

namespace sigflow::tools {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kBound = 60'000 * kMs;

std::string tokenizer_dir() {
  return (std::filesystem::path(sigflow::testing_support::source_dir()) / "data" / "tokenizers").string();
}

// A snapshot line exactly as the engine writes it.
std::string line(std::string_view symbol, double imb, double r10s, bool valid = true) {
  strategies::InstrumentFeatures f;
  f.venue = "binance-usdm";
  f.symbol = symbol;
  f.mid = 100.5;
  f.spread_bps = 0.8;
  f.imbalance_l1 = imb;
  f.imbalance_l5 = imb / 2;
  f.return_10s_bps = r10s;
  f.data_age_ms = 12;
  f.book_valid = valid;
  char buf[strategies::kMaxSnapshotLine];
  const auto r = strategies::write_snapshot_line(f, buf);
  EXPECT_TRUE(r.ok());
  return std::string(buf, r.size);
}

std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump();
}

// The request body the engine sends for one chunk (engine/app/inference_thread.cpp's shape).
std::string chat_body(const std::vector<std::string>& lines, bool structured, bool stream,
                      std::uint64_t max_completion = 800) {
  std::string user;
  std::vector<std::string_view> pairs;
  for (const auto& l : lines) {
    user += l;
    pairs.push_back(std::string_view(l).substr(0, l.find(' ')));
  }
  std::string body = R"({"model":"gpt-4o-mini","max_completion_tokens":)" + std::to_string(max_completion) +
                     R"(,"temperature":0,"n":1,"messages":[{"role":"system","content":)" +
                     json_string(strategies::system_message()) + R"(},{"role":"user","content":)" +
                     json_string(user) + "}]";
  if (structured) {
    body += R"(,"response_format":)";
    strategies::append_response_format(pairs, body);
  }
  if (stream) body += R"(,"stream":true,"stream_options":{"include_usage":true})";
  body += "}";
  return body;
}

struct Reply final : io::HttpResponseHandler {
  void on_head(const io::HttpResponse& r) override { status = r.status(); }
  bool on_body(std::string_view bytes) override {
    body += bytes;
    ++pieces;
    return true;
  }
  void on_complete(const io::HttpError& e, const io::HttpResponse* r) override {
    done = true;
    kind = e.kind;
    message = std::string(e.message);
    if (r == nullptr) return;
    status = r->status();
    if (!r->body().empty()) body = std::string(r->body());
    r->for_each_header([&](std::string_view name, std::string_view value) {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[lower] = std::string(value);
    });
  }
  std::optional<std::string_view> header(const std::string& name) const {
    const auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  }

  bool done = false;
  io::HttpErrorKind kind = io::HttpErrorKind::kNone;
  std::string message;
  unsigned status = 0;
  std::string body;
  int pieces = 0;
  std::map<std::string, std::string> headers;
};

// Instant answers over plain TCP unless a test says otherwise: the tests assert on content, not timing.
InferenceSimConfig fast() {
  InferenceSimConfig c;
  c.tls = false;
  c.latency_median_ms = 0;
  return c;
}

class InferenceSimTest : public ::testing::Test {
 protected:
  void start(InferenceSimConfig config) {
    if (config.tokenizer_dir.empty()) config.tokenizer_dir = tokenizer_dir();
    sim_ = std::make_unique<InferenceSim>(config);
    const auto started = sim_->start();
    ASSERT_TRUE(started.ok()) << started.error;
    io::HttpOriginConfig origin;
    origin.host = "127.0.0.1";
    origin.port = sim_->port();
    origin.plaintext = !config.tls;
    // Hang guards under kBound, generous for a simulator that may wait seconds for a core.
    origin.first_byte_timeout_ns = 30'000 * kMs;
    origin.request_timeout_ns = 40'000 * kMs;
    if (config.tls) {
      io::TlsOptions options;
      options.trust_system_store = false;
      options.ca_pem = sim_->ca_pem();
      std::string error;
      tls_ = io::TlsContext::create(options, error);
      ASSERT_NE(tls_, nullptr) << error;
    }
    pool_ = std::make_unique<io::HttpPool>(loop_, tls_.get(), origin, 4);
  }

  void post(const std::string& body, Reply& reply, bool stream = false,
            std::string_view target = "/v1/chat/completions", std::int64_t first_byte_timeout_ns = 0) {
    static const io::HttpHeader headers[] = {{"Content-Type", "application/json"},
                                             {"Authorization", "Bearer sk-sim-test"}};
    io::HttpRequest request;
    request.method = "POST";
    request.target = target;
    request.headers = headers;
    request.body = body;
    request.delivery = stream ? io::HttpDelivery::kStreaming : io::HttpDelivery::kBuffered;
    request.first_byte_timeout_ns = first_byte_timeout_ns;
    ASSERT_TRUE(pool_->send(request, reply));
    ASSERT_TRUE(loop_.run_until([&] { return reply.done; }, kBound));
  }

  io::ChatCompletion completion(const Reply& reply) {
    io::ChatCompletion out;
    io::ProviderError error;
    EXPECT_EQ(decoder_.decode_completion(reply.body, out, error), io::DecodeStatus::kOk) << reply.body;
    return out;
  }

  // Decodes an SSE body as the inference thread does; returns the folded completion.
  io::DecodeStatus decode_stream(std::string_view sse, io::ChatCompletion& into, io::ProviderError& error,
                                 bool& saw_done) {
    io::SseParser parser;
    io::SseEvent event;
    into.clear();
    saw_done = false;
    while (!sse.empty()) {
      const io::SseResult r = parser.feed(sse, event);
      sse.remove_prefix(r.consumed);
      if (r.status == io::SseStatus::kEventTooLarge) return io::DecodeStatus::kMalformed;
      if (r.status != io::SseStatus::kEvent) continue;
      if (event.done) {
        saw_done = true;
        break;
      }
      io::ChatChunk chunk;
      const io::DecodeStatus s = decoder_.decode_chunk(event.data, chunk, error);
      if (s != io::DecodeStatus::kOk) return s;
      io::append_chunk(chunk, into);
    }
    return io::DecodeStatus::kOk;
  }

  io::EventLoop loop_;
  std::unique_ptr<InferenceSim> sim_;
  std::unique_ptr<io::TlsContext> tls_;
  std::unique_ptr<io::HttpPool> pool_;
  io::ChatCompletionDecoder decoder_;
};

std::set<std::string> pairs_in_lines(std::string_view content) {
  std::set<std::string> out;
  while (!content.empty()) {
    const std::size_t eol = content.find('\n');
    const std::string_view l = content.substr(0, eol);
    content = eol == std::string_view::npos ? std::string_view{} : content.substr(eol + 1);
    if (!l.empty()) out.insert(std::string(l.substr(0, l.find(':'))));
  }
  return out;
}

TEST(GoDuration, FormatsAsGoAndParsesBackWithTheEnginesParser) {
  using std::chrono::milliseconds;
  using std::chrono::nanoseconds;
  EXPECT_EQ(format_go_duration(nanoseconds(0)), "0s");
  EXPECT_EQ(format_go_duration(milliseconds(12)), "12ms");
  EXPECT_EQ(format_go_duration(milliseconds(1000)), "1s");
  EXPECT_EQ(format_go_duration(milliseconds(26'604)), "26.604s");
  EXPECT_EQ(format_go_duration(milliseconds(360'000)), "6m0s");
  EXPECT_EQ(format_go_duration(milliseconds(3'723'500)), "1h2m3.5s");
  EXPECT_EQ(format_go_duration(nanoseconds(1'500)), "1.5\xC2\xB5s");
  EXPECT_EQ(format_go_duration(nanoseconds(7)), "7ns");
  for (const std::int64_t ms :
       {0LL, 1LL, 12LL, 999LL, 1000LL, 1001LL, 59'999LL, 60'000LL, 61'234LL, 3'600'000LL}) {
    const auto parsed = engine::parse_go_duration_ns(format_go_duration(milliseconds(ms)));
    ASSERT_TRUE(parsed.has_value()) << ms;
    EXPECT_EQ(*parsed, ms * kMs) << format_go_duration(milliseconds(ms));
  }
}

TEST(SimReply, SnapshotLinesGiveOneDeterministicSignalPerInstrument) {
  const std::string prompt = line("BTCUSDT", 0.6, 4) + "not a snapshot line\n" + line("ETHUSDT", -0.7, -5) +
                             line("SOLUSDT", 0.01, 0) + line("XRPUSDT", 0.9, 9, false);
  const auto instruments = parse_snapshot_lines(prompt);
  ASSERT_EQ(instruments.size(), 4u);
  EXPECT_EQ(instruments[0].pair, "BTCUSDT@binance-usdm");
  EXPECT_DOUBLE_EQ(instruments[0].imbalance[0], 0.6);
  EXPECT_DOUBLE_EQ(instruments[1].return_10s_bps, -5);
  EXPECT_TRUE(instruments[3].book_invalid);
  EXPECT_EQ(decide(instruments[0], 1).action, SimAction::kBuy);
  EXPECT_EQ(decide(instruments[1], 1).action, SimAction::kSell);
  EXPECT_EQ(decide(instruments[2], 1).action, SimAction::kHold);
  EXPECT_EQ(decide(instruments[3], 1).action, SimAction::kHold) << "an invalid book is never traded";
  EXPECT_EQ(decide(instruments[0], 7).confidence, decide(instruments[0], 7).confidence);
}

TEST_F(InferenceSimTest, LineReplyNamesExactlyThePromptsInstruments) {
  start(fast());
  const std::vector<std::string> lines = {line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2),
                                          line("DOGEUSDT", 0, 0)};
  Reply reply;
  post(chat_body(lines, false, false), reply);
  ASSERT_EQ(reply.kind, io::HttpErrorKind::kNone) << reply.message;
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const io::ChatCompletion c = completion(reply);
  EXPECT_EQ(c.finish_reason, io::FinishReason::kStop);
  EXPECT_EQ(pairs_in_lines(c.content),
            (std::set<std::string>{"BTCUSDT@binance-usdm", "ETHUSDT@binance-usdm", "DOGEUSDT@binance-usdm"}));
  EXPECT_NE(c.content.find("BTCUSDT@binance-usdm: BUY | "), std::string::npos) << c.content;
  EXPECT_NE(c.content.find("ETHUSDT@binance-usdm: SELL | "), std::string::npos) << c.content;
  ASSERT_TRUE(c.has_usage);
  EXPECT_GT(c.usage.completion_tokens, 0u);
  EXPECT_EQ(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
  EXPECT_TRUE(reply.header("x-request-id").has_value());
}

TEST_F(InferenceSimTest, StructuredReplyFollowsTheSchemaOverTls) {
  InferenceSimConfig config = fast();
  config.tls = true;
  start(config);
  const std::vector<std::string> lines = {line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2)};
  Reply reply;
  post(chat_body(lines, true, false), reply);
  ASSERT_EQ(reply.status, 200u) << reply.message << reply.body;
  const io::ChatCompletion c = completion(reply);
  const auto json = nlohmann::json::parse(c.content);
  ASSERT_TRUE(json.contains("signals"));
  std::set<std::string> pairs;
  for (const auto& s : json["signals"]) {
    pairs.insert(s["pair"].get<std::string>());
    const auto signal = s["signal"].get<std::string>();
    EXPECT_TRUE(signal == "BUY" || signal == "SELL" || signal == "HOLD") << signal;
    EXPECT_GE(s["confidence"].get<double>(), 0.0);
    EXPECT_LE(s["confidence"].get<double>(), 1.0);
    EXPECT_TRUE(s["summary"].is_string());
    EXPECT_EQ(s.size(), 4u) << "additionalProperties: false";
  }
  EXPECT_EQ(pairs, (std::set<std::string>{"BTCUSDT@binance-usdm", "ETHUSDT@binance-usdm"}));
}

TEST_F(InferenceSimTest, PromptTokensAreCountedExactlyWithTheEnginesTokenizer) {
  start(fast());
  ASSERT_TRUE(sim_->stats().exact_tokens) << "data/tokenizers/o200k_base.tiktoken is part of the repository";
  std::string error;
  const auto tokenizer =
      strategies::Tokenizer::load(strategies::Encoding::kO200kBase, tokenizer_dir(), error);
  ASSERT_NE(tokenizer, nullptr) << error;
  strategies::TokenizerScratch scratch;
  const std::vector<std::string> lines = {line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2)};
  std::string user = lines[0] + lines[1];
  const strategies::ChatMessage messages[] = {{"system", strategies::system_message(), {}},
                                              {"user", user, {}}};
  const std::size_t expected = strategies::count_chat_tokens(*tokenizer, scratch, messages).tokens;
  Reply reply;
  post(chat_body(lines, false, false), reply);
  const io::ChatCompletion c = completion(reply);
  EXPECT_EQ(c.usage.prompt_tokens, expected);
  EXPECT_EQ(c.usage.completion_tokens, tokenizer->count(c.content, scratch).tokens);
  EXPECT_EQ(sim_->stats().prompt_tokens, expected);
}

TEST_F(InferenceSimTest, RequestLimitAnswers429WithHeadersTheEngineParses) {
  InferenceSimConfig config = fast();
  config.rpm = 2;
  config.tpm = 100'000;
  start(config);
  const std::string body = chat_body({line("BTCUSDT", 0.5, 3)}, false, false);
  for (int i = 0; i < 2; ++i) {
    Reply ok;
    post(body, ok);
    ASSERT_EQ(ok.status, 200u) << ok.body;
    ASSERT_TRUE(ok.header("x-ratelimit-remaining-requests").has_value());
    EXPECT_EQ(*ok.header("x-ratelimit-remaining-requests"), std::to_string(1 - i));
    EXPECT_EQ(*ok.header("x-ratelimit-limit-requests"), "2");
    EXPECT_EQ(*ok.header("x-ratelimit-limit-tokens"), "100000");
    const auto reset = engine::parse_ratelimit_reset_ns(*ok.header("x-ratelimit-reset-requests"));
    ASSERT_TRUE(reset.has_value()) << *ok.header("x-ratelimit-reset-requests");
    EXPECT_GT(*reset, 0);
    EXPECT_LE(*reset, 60'000 * kMs);
    ASSERT_TRUE(engine::parse_ratelimit_reset_ns(*ok.header("x-ratelimit-reset-tokens")).has_value());
  }
  Reply limited;
  post(body, limited);
  ASSERT_EQ(limited.status, 429u) << limited.body;
  ASSERT_TRUE(limited.header("retry-after").has_value());
  ASSERT_TRUE(limited.header("retry-after-ms").has_value());
  const engine::ServerDelay delay =
      engine::retry_delay(limited.header("retry-after-ms"), limited.header("retry-after"), 0);
  ASSERT_EQ(delay.kind, engine::ServerDelayKind::delay);
  EXPECT_GT(delay.delay_ns, 0);
  EXPECT_LE(delay.delay_ns, 30'000 * kMs) << "one request refills in 60 s / 2";
  EXPECT_EQ(*limited.header("x-ratelimit-remaining-requests"), "0");
  io::ProviderError error;
  ASSERT_EQ(decoder_.decode_error(429, limited.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(error.code, "rate_limit_exceeded");
  EXPECT_EQ(error.type, "requests");
  EXPECT_EQ(engine::classify_failure({429, error.type, error.code, error.message, false}),
            engine::RetryAction::retry);
  const InferenceSimStats stats = sim_->stats();
  EXPECT_EQ(stats.rate_limited, 1u);
  EXPECT_EQ(stats.status_429, 1u);
  EXPECT_EQ(stats.completions, 2u);
}

TEST_F(InferenceSimTest, TokenLimitAndRequestTooLarge) {
  InferenceSimConfig config = fast();
  config.tpm = 3000;
  start(config);
  // Prompt (a few hundred tokens of system message and line) + 1500 completion fits once in 3000 TPM, not
  // twice.
  const std::string body = chat_body({line("BTCUSDT", 0.5, 3)}, false, false, 1500);
  Reply first, second, huge;
  post(body, first);
  ASSERT_EQ(first.status, 200u) << first.body;
  post(body, second);
  ASSERT_EQ(second.status, 429u) << second.body;
  EXPECT_TRUE(second.header("retry-after-ms").has_value());
  io::ProviderError error;
  ASSERT_EQ(decoder_.decode_error(429, second.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(error.type, "tokens");
  EXPECT_NE(error.message.find("tokens per min (TPM): Limit 3000"), std::string::npos) << error.message;

  post(chat_body({line("BTCUSDT", 0.5, 3)}, false, false, 5000), huge);
  ASSERT_EQ(huge.status, 429u);
  EXPECT_FALSE(huge.header("retry-after").has_value())
      << "a request that can never fit has nothing to wait for";
  ASSERT_EQ(decoder_.decode_error(429, huge.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(engine::classify_failure({429, error.type, error.code, error.message, false}),
            engine::RetryAction::split_chunk);
}

TEST_F(InferenceSimTest, StreamingGivesSseThatTheEnginesDecodersFold) {
  start(fast());
  const std::vector<std::string> lines = {line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2)};
  Reply plain;
  post(chat_body(lines, true, false), plain);
  const io::ChatCompletion expected = completion(plain);

  Reply streamed;
  post(chat_body(lines, true, true), streamed, true);
  ASSERT_EQ(streamed.kind, io::HttpErrorKind::kNone) << streamed.message;
  ASSERT_EQ(streamed.status, 200u);
  EXPECT_EQ(streamed.headers["content-type"].rfind("text/event-stream", 0), 0u);
  io::ChatCompletion folded;
  io::ProviderError error;
  bool done = false;
  ASSERT_EQ(decode_stream(streamed.body, folded, error, done), io::DecodeStatus::kOk) << error.message;
  EXPECT_TRUE(done) << "the stream ends with [DONE]";
  EXPECT_EQ(folded.content, expected.content);
  EXPECT_EQ(folded.finish_reason, io::FinishReason::kStop);
  ASSERT_TRUE(folded.has_usage) << "include_usage adds the usage chunk";
  EXPECT_EQ(folded.usage.prompt_tokens, expected.usage.prompt_tokens);
  EXPECT_EQ(sim_->stats().streams, 1u);
}

TEST_F(InferenceSimTest, MidStreamErrorArrivesAsAnErrorEvent) {
  start(fast());
  sim_->inject(SimFault::kMidStreamError);
  Reply streamed;
  post(chat_body({line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2)}, false, true), streamed, true);
  ASSERT_EQ(streamed.status, 200u);
  io::ChatCompletion folded;
  io::ProviderError error;
  bool done = false;
  EXPECT_EQ(decode_stream(streamed.body, folded, error, done), io::DecodeStatus::kProviderError);
  EXPECT_EQ(error.type, "server_error");
  EXPECT_FALSE(done);
  EXPECT_FALSE(folded.content.empty()) << "some content came before the error";
}

TEST_F(InferenceSimTest, InjectedFaultsLookLikeTheRealOnes) {
  start(fast());
  const std::string body = chat_body({line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2)}, true, false);
  io::ProviderError error;

  sim_->inject(SimFault::kServerError);
  Reply e500;
  post(body, e500);
  EXPECT_EQ(e500.status, 500u);
  ASSERT_EQ(decoder_.decode_error(500, e500.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(engine::classify_failure({500, error.type, error.code, error.message, false}),
            engine::RetryAction::retry);

  sim_->inject(SimFault::kOverloaded);
  Reply e503;
  post(body, e503);
  EXPECT_EQ(e503.status, 503u);

  sim_->inject(SimFault::kMalformedBody);
  Reply malformed;
  post(body, malformed);
  EXPECT_EQ(malformed.status, 200u);
  io::ChatCompletion c;
  EXPECT_EQ(decoder_.decode_completion(malformed.body, c, error), io::DecodeStatus::kMalformed);

  sim_->inject(SimFault::kErrorIn200);
  Reply error200;
  post(body, error200);
  EXPECT_EQ(error200.status, 200u);
  EXPECT_EQ(decoder_.decode_completion(error200.body, c, error), io::DecodeStatus::kProviderError);

  sim_->inject(SimFault::kFinishLength);
  Reply length;
  post(body, length);
  ASSERT_EQ(decoder_.decode_completion(length.body, c, error), io::DecodeStatus::kOk);
  EXPECT_EQ(c.finish_reason, io::FinishReason::kLength);
  EXPECT_FALSE(nlohmann::json::accept(c.content)) << "truncated JSON: " << c.content;

  sim_->inject(SimFault::kCloseMidResponse);
  Reply cut;
  post(body, cut);
  EXPECT_EQ(cut.kind, io::HttpErrorKind::kPeerClosed) << cut.message;

  sim_->set_insufficient_quota(true);
  Reply quota;
  post(body, quota);
  EXPECT_EQ(quota.status, 429u);
  EXPECT_FALSE(quota.header("retry-after").has_value());
  ASSERT_EQ(decoder_.decode_error(429, quota.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(error.code, "insufficient_quota");
  EXPECT_EQ(engine::classify_failure({429, error.type, error.code, error.message, false}),
            engine::RetryAction::open_breaker);
  sim_->set_insufficient_quota(false);

  Reply fine;
  post(body, fine);
  EXPECT_EQ(fine.status, 200u) << "faults were consumed one each";
  const InferenceSimStats stats = sim_->stats();
  EXPECT_EQ(stats.injected_faults, 6u);
  EXPECT_EQ(stats.quota_rejected, 1u);
}

TEST_F(InferenceSimTest, ContextLengthAndNaturalTruncation) {
  InferenceSimConfig config = fast();
  config.context_tokens = 1000;
  start(config);
  Reply too_long;
  post(chat_body({line("BTCUSDT", 0.5, 3)}, false, false, 900), too_long);
  ASSERT_EQ(too_long.status, 400u);
  io::ProviderError error;
  ASSERT_EQ(decoder_.decode_error(400, too_long.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(error.code, "context_length_exceeded");
  EXPECT_EQ(error.param, "messages");
  EXPECT_EQ(engine::classify_failure({400, error.type, error.code, error.message, false}),
            engine::RetryAction::split_chunk);

  Reply short_budget;
  post(chat_body({line("BTCUSDT", 0.5, 3), line("ETHUSDT", -0.6, -2)}, false, false, 10), short_budget);
  const io::ChatCompletion c = completion(short_budget);
  EXPECT_EQ(c.finish_reason, io::FinishReason::kLength);
  EXPECT_EQ(c.usage.completion_tokens, 10u);
}

TEST_F(InferenceSimTest, HangingRequestTimesOutOnTheClient) {
  start(fast());
  sim_->inject(SimFault::kHang);
  Reply hung;
  post(chat_body({line("BTCUSDT", 0.5, 3)}, false, false), hung, false, "/v1/chat/completions", 200 * kMs);
  EXPECT_EQ(hung.kind, io::HttpErrorKind::kFirstByteTimeout);
  ASSERT_TRUE(loop_.run_until([&] { return sim_->stats().hung == 1; }, kBound));
}

TEST_F(InferenceSimTest, ServesConcurrentConnectionsWithLatency) {
  InferenceSimConfig config = fast();
  config.latency_median_ms = 40;
  config.latency_sigma = 0.2;
  start(config);
  const std::string body = chat_body({line("BTCUSDT", 0.5, 3)}, false, false);
  Reply replies[4];
  static const io::HttpHeader headers[] = {{"Content-Type", "application/json"}};
  io::HttpRequest request;
  request.method = "POST";
  request.target = "/chat/completions";
  request.headers = headers;
  request.body = body;
  for (Reply& r : replies) ASSERT_TRUE(pool_->send(request, r));
  ASSERT_TRUE(loop_.run_until(
      [&] {
        for (const Reply& r : replies)
          if (!r.done) return false;
        return true;
      },
      kBound));
  for (const Reply& r : replies) EXPECT_EQ(r.status, 200u) << r.message;
  const InferenceSimStats stats = sim_->stats();
  EXPECT_EQ(stats.connections_accepted, 4u) << "one connection per outstanding request";
  EXPECT_EQ(stats.completions, 4u);
  EXPECT_EQ(stats.by_status[2], 4u);
}

TEST_F(InferenceSimTest, ApiKeyIsChecked) {
  InferenceSimConfig config = fast();
  config.api_key = "sk-other";
  start(config);
  Reply denied;
  post(chat_body({line("BTCUSDT", 0.5, 3)}, false, false), denied);
  EXPECT_EQ(denied.status, 401u);
  EXPECT_EQ(denied.body.find("sk-sim-test"), std::string::npos) << "the key presented is not echoed";
  io::ProviderError error;
  ASSERT_EQ(decoder_.decode_error(401, denied.body, error), io::DecodeStatus::kProviderError);
  EXPECT_EQ(engine::classify_failure({401, error.type, error.code, error.message, false}),
            engine::RetryAction::open_breaker);
}

}  // namespace
}  // namespace sigflow::tools
