// The [inference] section and the API key: validated at start, errors name the key and the line, and a
// key's text never appears in a message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/app/inference_thread.hpp"
#include "engine/config.hpp"

namespace {

using sigflow::engine::ConfigError;
using sigflow::engine::load_config_text;

constexpr const char* kVenue = "[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\n";

std::string with_inference(const std::string& body) {
  return std::string(kVenue) + "[inference]\n" + body;
}

std::string error_of(const std::string& toml) {
  try {
    load_config_text(toml, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(InferenceConfig, DisabledByDefault) {
  const auto config = load_config_text(kVenue, "test.toml");
  EXPECT_FALSE(config.inference.enabled);
}

TEST(InferenceConfig, ReadsEveryKey) {
  const auto config = load_config_text(with_inference(R"(enabled = true
base_url = "https://api.example.com/v1"
model = "gpt-4o-mini"
api_key_env = "MY_KEY"
encoding = "cl100k_base"
rpm = 600
tpm = 200000
max_in_flight = 6
prompt_token_budget = 3000
max_completion_tokens = 1200
max_completion_tokens_field = true
request_timeout_ms = 15000
ttl_ms = 1500
stale_move_bps = 7.5
structured_outputs = false
stream = true
ca_file = "/tmp/ca.pem"
)"),
                                       "test.toml");
  const auto& c = config.inference;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.base_url, "https://api.example.com/v1");
  EXPECT_EQ(c.model, "gpt-4o-mini");
  EXPECT_EQ(c.api_key_env, "MY_KEY");
  EXPECT_EQ(c.encoding, "cl100k_base");
  EXPECT_EQ(c.rpm, 600);
  EXPECT_EQ(c.tpm, 200000);
  EXPECT_EQ(c.max_in_flight, 6);
  EXPECT_EQ(c.prompt_token_budget, 3000);
  EXPECT_EQ(c.max_completion_tokens, 1200);
  EXPECT_TRUE(c.max_completion_tokens_field);
  EXPECT_EQ(c.request_timeout_ms, 15000);
  EXPECT_EQ(c.ttl_ms, 1500);
  EXPECT_DOUBLE_EQ(c.stale_move_bps, 7.5);
  EXPECT_FALSE(c.structured_outputs);
  EXPECT_TRUE(c.stream);
  EXPECT_EQ(c.ca_file, "/tmp/ca.pem");
}

TEST(InferenceConfig, ErrorsNameTheKeyAndTheLine) {
  // Lines: 1-2 venue, 3 [inference], 4 onwards the body.
  std::string e = error_of(with_inference("enabled = true\nmodel = \"m\"\nbase_url = \"ftp://x\"\n"));
  EXPECT_NE(e.find("test.toml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("inference.base_url"), std::string::npos) << e;

  e = error_of(with_inference("encoding = \"p50k_base\"\n"));
  EXPECT_NE(e.find("test.toml:4"), std::string::npos) << e;
  EXPECT_NE(e.find("inference.encoding"), std::string::npos) << e;

  e = error_of(with_inference("rpm = 0\n"));
  EXPECT_NE(e.find("inference.rpm"), std::string::npos) << e;

  e = error_of(with_inference("stale_move_bps = -1\n"));
  EXPECT_NE(e.find("inference.stale_move_bps"), std::string::npos) << e;

  e = error_of(with_inference("\n\nmodle = \"x\"\n"));
  EXPECT_NE(e.find("test.toml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("inference.modle"), std::string::npos) << e;

  e = error_of(with_inference("enabled = true\nbase_url = \"https://x/v1\"\n"));
  EXPECT_NE(e.find("inference.model"), std::string::npos) << e;

  e = error_of(with_inference("tpm = 1000\nprompt_token_budget = 900\nmax_completion_tokens = 200\n"));
  EXPECT_NE(e.find("inference.prompt_token_budget"), std::string::npos) << e;

  e = error_of(with_inference("api_key_env = \"A B\"\n"));
  EXPECT_NE(e.find("inference.api_key_env"), std::string::npos) << e;

  e = error_of(with_inference("stream = \"yes\"\n"));
  EXPECT_NE(e.find("inference.stream"), std::string::npos) << e;
}

TEST(InferenceConfig, InferenceThreadIsAKnownThread) {
  const auto config = load_config_text(std::string("[threads]\ninference = 0\n") + kVenue, "test.toml");
  EXPECT_TRUE(config.thread("inference").cpu.has_value());
}

TEST(ApiKey, CheckedAndNeverQuoted) {
  sigflow::engine::InferenceConfig c;
  c.api_key_env = "SIGFLOW_TEST_KEY_VAR";
  sigflow::engine::SecretBytes key;
  std::string problem;
  ::unsetenv("SIGFLOW_TEST_KEY_VAR");
  EXPECT_FALSE(sigflow::app::read_api_key(c, key, problem));
  EXPECT_NE(problem.find("SIGFLOW_TEST_KEY_VAR is not set"), std::string::npos);

  ::setenv("SIGFLOW_TEST_KEY_VAR", "", 1);
  EXPECT_FALSE(sigflow::app::read_api_key(c, key, problem));
  EXPECT_NE(problem.find("empty"), std::string::npos);

  ::setenv("SIGFLOW_TEST_KEY_VAR", "sk-secret value", 1);
  EXPECT_FALSE(sigflow::app::read_api_key(c, key, problem));
  EXPECT_EQ(problem.find("sk-secret"), std::string::npos) << problem;
  EXPECT_TRUE(key.empty());

  ::setenv("SIGFLOW_TEST_KEY_VAR", "sk-secret\r\nX-Injected: 1", 1);
  EXPECT_FALSE(sigflow::app::read_api_key(c, key, problem));

  ::setenv("SIGFLOW_TEST_KEY_VAR", "sk-test-0123456789", 1);
  EXPECT_TRUE(sigflow::app::read_api_key(c, key, problem));
  EXPECT_EQ(key.view(), "sk-test-0123456789");
  ::unsetenv("SIGFLOW_TEST_KEY_VAR");
}

TEST(PromptBudget, CompletionReserveStaysWithinMaxCompletionTokens) {
  sigflow::engine::InferenceConfig c;
  c.prompt_token_budget = 3000;
  c.max_completion_tokens = 1000;
  const auto b = sigflow::app::prompt_budget(c);
  EXPECT_EQ(b.prompt_token_budget, 3000u);
  EXPECT_LE(b.completion_tokens_base + b.completion_tokens_per_instrument * b.max_instruments_per_chunk,
            1000u);
  EXPECT_GE(b.max_instruments_per_chunk, 1u);
  c.max_completion_tokens = 10;
  EXPECT_EQ(sigflow::app::prompt_budget(c).max_instruments_per_chunk, 1u);
}

}  // namespace
