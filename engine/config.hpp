#pragma once
// The engine's configuration: one TOML file, validated completely at start. Every error names the file, the
// line and the dotted key; unknown keys are errors (a misspelt key silently ignored is a wrong trading
// system). Loading happens once, before any thread starts, so it may allocate and throw.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/page_memory.hpp"

namespace sigflow::engine {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class WaitMode { kSleep, kBusyPoll };

struct ThreadConfig {
  std::optional<int> cpu;  // pin to this CPU; absent = let the scheduler place it
  WaitMode wait = WaitMode::kSleep;
  std::optional<int> priority;  // SCHED_FIFO priority 1..99; absent = the normal time-sharing scheduler
};

struct ReconnectConfig {
  std::int64_t base_ms = 250;
  std::int64_t cap_ms = 30'000;
  std::int64_t stable_after_ms = 10'000;  // backoff resets only after the connection stayed up this long
};

// One [venues.<id>] table. The reader checks shapes (types, URL schemes, ranges); which ids exist, which
// endpoint keys a venue takes and which symbols it understands are the venue registry's to say, and
// app::wire_venues checks them, naming the lines recorded here. Empty endpoints: the venue's production ones.
struct VenueConfig {
  std::string id;  // market id: "binance-usdm"
  bool enabled = true;
  std::string url;         // WebSocket base: bybit-*, okx, deribit, binance (spot)
  std::string public_url;  // binance-usdm /public route, e.g. wss://fstream.binance.com/public
  std::string market_url;  // binance-usdm /market route, e.g. wss://fstream.binance.com/market
  std::string rest_url;    // REST base for book snapshots: binance, binance-usdm
  std::vector<std::string> symbols;
  std::string ca_file;  // extra CA to trust (loopback simulators); empty = system store only
  // ws:// and http:// endpoints are refused unless this is set: plaintext is opt-in per endpoint, and the
  // status line then names the venue under `insecure=`. TLS certificates are always verified.
  bool allow_insecure = false;
  std::size_t max_message_bytes = 1 << 20;
  std::int64_t connect_timeout_ms = 5'000;
  std::int64_t silent_timeout_ms = 30'000;  // transport liveness: no bytes at all for this long → reconnect
  ReconnectConfig reconnect;
  // topic_silence_ms = { book = …, bbo = …, ticker = …, trades = … }: data-liveness limits per topic kind
  // replacing the venue's own (VenueProtocol's Topic::max_silence_ns); 0 turns a kind's watch off. Unset
  // (-1): the venue's rule.
  std::int64_t book_silence_ms = -1;
  std::int64_t bbo_silence_ms = -1;
  std::int64_t ticker_silence_ms = -1;
  std::int64_t trades_silence_ms = -1;
  // After a (re)connect or a resubscribe a topic gets its limit plus this long for its first frame.
  std::int64_t first_frame_grace_ms = 5'000;

  // Where each key was set, for errors found after loading ("file:line: key 'venues.okx.symbols': ...").
  std::string source;
  std::map<std::string, int, std::less<>> lines;  // key → line; "" → the table's own line
  std::string where(std::string_view key) const;
  bool has(std::string_view key) const { return lines.find(key) != lines.end(); }
};

struct StrategyConfig {
  std::int64_t cycle_ms = 50;
  std::int64_t stale_after_ms = 5'000;  // older market data makes the local model abstain
};

// [inference]: the OpenAI-compatible endpoint the strategy asks for signals. Disabled by default: the
// engine then runs on its local model alone. The key itself is never in the file, only the name of the
// environment variable that holds it.
struct InferenceConfig {
  bool enabled = false;
  std::string base_url;  // https://api.openai.com/v1 (http:// only with allow_insecure)
  std::string model;
  std::string api_key_env = "OPENAI_API_KEY";
  std::string encoding = "o200k_base";  // cl100k_base | o200k_base
  std::int64_t rpm = 60;
  std::int64_t tpm = 100'000;
  std::int64_t max_in_flight = 4;
  std::int64_t prompt_token_budget = 4'000;
  std::int64_t max_completion_tokens = 1'500;
  std::int64_t request_timeout_ms = 20'000;
  std::int64_t ttl_ms = 2'000;  // how long an accepted LLM view stays the signal
  double stale_move_bps = 10;   // a reply is dropped once the mid moved further than this from the prompt's
  bool structured_outputs = true;  // response_format json_schema strict
  bool stream = false;
  bool max_completion_tokens_field = false;  // send max_completion_tokens (OpenAI) instead of max_tokens
  std::string ca_file;                       // extra CA to trust; empty = system store only
  // An http:// base_url is refused unless this is set (the key would cross the network in clear text);
  // the status line then says `insecure=inference`. TLS certificates are always verified.
  bool allow_insecure = false;
};

struct RingConfig {
  std::size_t arena_bytes = 32u << 20;  // per feed thread
  std::size_t max_frames = 65'536;
  PageMode pages = PageMode::kDefault;  // huge pages for the arena (engine/page_memory.hpp)
};

// The Prometheus endpoint. Loopback unless the configuration names another address on purpose. A config
// file turns it on by default; a Config built in code (tests, tools) has it off, so that two engines in
// one process or test run never race for the port.
struct MetricsConfig {
  bool enabled = false;
  std::string address = "127.0.0.1";
  std::uint16_t port = 9464;
};

// [engine]: who this process is. The id goes into every signal line ("engine":"<id>") and into every NATS
// message id, so two engines of one deployment must not share it.
struct EngineIdentity {
  // [A-Za-z0-9_-]{1,64}. A config file without it gets default_engine_id() (the host name); a Config built
  // in code (tests, the demo) keeps "sigflow".
  std::string id = "sigflow";
};

// [shard]: which part of the instrument universe this engine owns. An instrument (venue, symbol) is kept iff
// shard_of(venue, symbol, count) == index (engine/shard.hpp: FNV-1a 64 of "venue/SYMBOL", written out and
// stable across builds and machines), so N engines with indexes 0..N-1 over the same config cover every
// instrument exactly once. count = 1 (the default) keeps everything; explicit per-venue `symbols` lists are
// the other way to split, and both compose.
struct ShardConfig {
  std::int64_t index = 0;
  std::int64_t count = 1;
};

// [nats]: signals also published to NATS JetStream (io/nats/jetstream_publisher.hpp) from the sink thread.
// The credentials file's path may be logged, its content never is.
struct NatsConfig {
  bool enabled = false;
  std::vector<std::string> urls{"nats://127.0.0.1:4222"};  // nats:// or tls://; several = a cluster
  std::string stream = "SIGFLOW";                          // created if missing, subjects <prefix>.signals.>
  std::string subject_prefix = "sigflow";                  // subjects <prefix>.signals.<venue>.<symbol>
  std::int64_t max_in_flight = 1'024;                      // unacknowledged publishes; beyond: spill
  std::string spill_dir = "nats-spill";                    // <spill_dir>/<engine id>.spill
  std::int64_t ack_timeout_ms = 5'000;  // an ack older than this fails the publish (then replayed)
  std::int64_t duplicate_window_ms =
      120'000;                             // the stream's de-duplication window, when this engine creates it
  std::int64_t fsync_interval_ms = 1'000;  // spill file fdatasync at most this often (0: every batch)
  std::string credentials_file;            // .creds (JWT + NKey seed); empty = no authentication
  bool allow_insecure = false;             // nats:// to a host beyond loopback
};

struct ProcessConfig {
  bool mlockall = false;  // lock every page in memory at start (no swap-out, no lazy faults later)
};

struct Config {
  std::string source;  // file path, for messages
  std::map<std::string, ThreadConfig> threads;
  RingConfig ring;
  ProcessConfig process;
  MetricsConfig metrics;
  StrategyConfig strategy;
  InferenceConfig inference;
  EngineIdentity engine;
  ShardConfig shard;
  NatsConfig nats;
  std::vector<VenueConfig> venues;
  std::string signals_path = "-";  // "-" = stdout
  std::int64_t status_interval_ms = 1'000;

  const ThreadConfig& thread(std::string_view name) const;
};

// Thread names the engine knows; a [threads] key outside this list is an error.
inline constexpr std::string_view kThreadNames[] = {"feed", "strategy", "sink", "status", "inference"};

// The default engine id: the host name with characters outside [A-Za-z0-9_-] replaced by '-', or "sigflow".
std::string default_engine_id();

// The endpoints that run without TLS by their allow_insecure flag: "venues.<id>" for an enabled venue with
// a ws:// or http:// URL, "inference" for an enabled http:// base_url, "nats" for an enabled nats:// URL
// beyond loopback. Empty when every endpoint is TLS.
std::vector<std::string> insecure_endpoints(const Config& config);

// True for a URL that is not TLS (ws://, http://).
bool is_plaintext_url(std::string_view url) noexcept;

// True for a nats:// URL (plaintext) whose host is not loopback (127.0.0.0/8, localhost, [::1]): signals and
// the credentials' JWT would cross the network in the clear.
bool is_plaintext_remote_nats_url(std::string_view url) noexcept;

// True for an IPv4 address in 127.0.0.0/8. The metrics endpoint binds there unless `[metrics] listen` names
// another address; sigflow run says so on stderr when it does.
bool is_loopback_address(std::string_view address) noexcept;

// What an operator must know before the engine connects anywhere, one line each: every plaintext endpoint
// (allowed by its allow_insecure flag) and a metrics endpoint that listens beyond loopback. Empty when the
// configuration has neither.
std::vector<std::string> security_notices(const Config& config);

Config load_config_file(const std::string& path);
Config load_config_text(std::string_view toml, const std::string& source_name);

}  // namespace sigflow::engine
