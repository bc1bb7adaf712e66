// [engine], [shard] and [nats]: defaults, values and the errors that name file, line and key; the stable
// shard hash.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/config.hpp"
#include "engine/shard.hpp"

namespace {

using sigflow::engine::ConfigError;
using sigflow::engine::load_config_text;

constexpr const char* kVenue = R"(
[venues.binance-usdm]
symbols = ["BTCUSDT", "ETHUSDT"]
)";

std::string error_of(const std::string& toml) {
  try {
    load_config_text(toml + kVenue, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ScaleOutConfig, Defaults) {
  const auto config = load_config_text(kVenue, "test.toml");
  EXPECT_EQ(config.engine.id, sigflow::engine::default_engine_id());
  EXPECT_FALSE(config.engine.id.empty());
  EXPECT_EQ(config.shard.index, 0);
  EXPECT_EQ(config.shard.count, 1);
  EXPECT_FALSE(config.nats.enabled);
  ASSERT_EQ(config.nats.urls.size(), 1u);
  EXPECT_EQ(config.nats.urls[0], "nats://127.0.0.1:4222");
  EXPECT_EQ(config.nats.stream, "SIGFLOW");
  EXPECT_EQ(config.nats.subject_prefix, "sigflow");
  EXPECT_EQ(config.nats.max_in_flight, 1024);
  EXPECT_EQ(config.nats.ack_timeout_ms, 5000);
}

TEST(ScaleOutConfig, ReadsEveryKey) {
  const auto config = load_config_text(R"(
[engine]
id = "host-a_1"

[shard]
index = 2
count = 3

[nats]
enabled = true
urls = ["nats://10.0.0.1:4222", "tls://10.0.0.2:4222"]
stream = "SIGNALS"
subject_prefix = "desk.sigflow"
max_in_flight = 64
spill_dir = "/var/lib/sigflow/spill"
ack_timeout_ms = 2000
duplicate_window_ms = 60000
fsync_interval_ms = 0
credentials_file = "/etc/sigflow/nats.creds"
allow_insecure = true
)" + std::string(kVenue),
                                       "test.toml");
  EXPECT_EQ(config.engine.id, "host-a_1");
  EXPECT_EQ(config.shard.index, 2);
  EXPECT_EQ(config.shard.count, 3);
  EXPECT_TRUE(config.nats.enabled);
  EXPECT_EQ(config.nats.urls.size(), 2u);
  EXPECT_EQ(config.nats.stream, "SIGNALS");
  EXPECT_EQ(config.nats.subject_prefix, "desk.sigflow");
  EXPECT_EQ(config.nats.max_in_flight, 64);
  EXPECT_EQ(config.nats.spill_dir, "/var/lib/sigflow/spill");
  EXPECT_EQ(config.nats.ack_timeout_ms, 2000);
  EXPECT_EQ(config.nats.duplicate_window_ms, 60000);
  EXPECT_EQ(config.nats.fsync_interval_ms, 0);
  EXPECT_EQ(config.nats.credentials_file, "/etc/sigflow/nats.creds");
  EXPECT_TRUE(config.nats.allow_insecure);
}

TEST(ScaleOutConfig, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("[engine]\nid = \"a b\"\n"),
            "test.toml:2: key 'engine.id': expected 1..64 characters of A-Z a-z 0-9 _ -");
  EXPECT_EQ(error_of("[engine]\nname = \"x\"\n"), "test.toml:2: key 'engine.name': unknown key");
  EXPECT_EQ(error_of("[shard]\nindex = 2\ncount = 2\n"),
            "test.toml:2: key 'shard.index': must be in 0..count-1 (count = 2)");
  EXPECT_EQ(error_of("[shard]\nindex = -1\n"),
            "test.toml:2: key 'shard.index': must be in 0..count-1 (count = 1)");
  EXPECT_EQ(error_of("[shard]\ncount = 0\n"), "test.toml:2: key 'shard.count': must be in 1..65536");
  EXPECT_EQ(error_of("[nats]\nurls = [\"http://x:4222\"]\n"),
            "test.toml:2: key 'nats.urls': expected nats:// or tls:// URLs, got 'http://x:4222'");
  EXPECT_EQ(error_of("[nats]\nurls = []\n"),
            "test.toml:2: key 'nats.urls': expected at least one nats:// URL");
  EXPECT_EQ(error_of("[nats]\nstream = \"a.b\"\n"),
            "test.toml:2: key 'nats.stream': expected a stream name without '.', '*', '>', '/' or spaces");
  EXPECT_EQ(
      error_of("[nats]\nsubject_prefix = \"a.*\"\n"),
      "test.toml:2: key 'nats.subject_prefix': expected subject tokens like \"sigflow\" (no wildcards)");
  EXPECT_EQ(error_of("[nats]\nmax_in_flight = 0\n"),
            "test.toml:2: key 'nats.max_in_flight': must be in 1..65536");
  EXPECT_EQ(error_of("[nats]\nack_timeout_ms = \"5s\"\n"),
            "test.toml:2: key 'nats.ack_timeout_ms': expected an integer");
  EXPECT_EQ(error_of("[nats]\nfsync_interval_ms = -1\n"),
            "test.toml:2: key 'nats.fsync_interval_ms': must be in 0..3600000");
  EXPECT_EQ(error_of("[nats]\nenabled = true\nurl = \"nats://x\"\n"),
            "test.toml:3: key 'nats.url': unknown key");
}

TEST(ScaleOutConfig, PasswordsInNatsUrlsNeverInErrors) {
  const std::string scheme = error_of("[nats]\nurls = [\"http://u:hunter2@x:4222/p@q\"]\n");
  EXPECT_EQ(scheme,
            "test.toml:2: key 'nats.urls': expected nats:// or tls:// URLs, got 'http://***@x:4222/p@q'");
  const std::string plaintext = error_of("[nats]\nenabled = true\nurls = [\"nats://u:hunter2@10.0.0.1\"]\n");
  EXPECT_EQ(plaintext.find("hunter2"), std::string::npos) << plaintext;
  EXPECT_NE(plaintext.find("'nats://***@10.0.0.1' is plaintext"), std::string::npos) << plaintext;
}

TEST(ScaleOutConfig, CredentialsNeverInErrors) {
  // Only the path is configuration; an error elsewhere in [nats] does not echo it either.
  const std::string error =
      error_of("[nats]\ncredentials_file = \"/secret/path.creds\"\nmax_in_flight = 0\n");
  EXPECT_EQ(error.find("/secret/path.creds"), std::string::npos) << error;
}

TEST(Shard, FnvIsTheWrittenOutFunction) {
  // The published FNV-1a 64 test vectors: the hash must never change, or instruments move between engines.
  static_assert(sigflow::engine::fnv1a64("") == 0xcbf29ce484222325ull);
  static_assert(sigflow::engine::fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  static_assert(sigflow::engine::fnv1a64("foobar") == 0x85944171f73967e8ull);
  // "venue/SYMBOL", the symbol upper-cased.
  EXPECT_EQ(sigflow::engine::instrument_hash("okx", "btc-usdt"), sigflow::engine::fnv1a64("okx/BTC-USDT"));
}

TEST(Shard, ShardsPartitionTheUniverse) {
  const char* symbols[] = {"BTCUSDT", "ETHUSDT",  "SOLUSDT", "BNBUSDT",
                           "XRPUSDT", "DOGEUSDT", "ADAUSDT", "LTCUSDT"};
  for (std::uint64_t count : {1u, 2u, 3u, 5u}) {
    std::set<std::string> seen;
    for (std::uint64_t index = 0; index < count; ++index)
      for (const char* s : symbols)
        if (sigflow::engine::shard_of("binance-usdm", s, count) == index) {
          EXPECT_TRUE(seen.insert(s).second);
        }
    EXPECT_EQ(seen.size(), std::size(symbols));
  }
}

}  // namespace
