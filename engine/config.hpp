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
  std::size_t max_message_bytes = 1 << 20;
  std::int64_t connect_timeout_ms = 5'000;
  std::int64_t silent_timeout_ms = 30'000;  // transport liveness: no bytes at all for this long → reconnect
  ReconnectConfig reconnect;

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
  std::string base_url;  // https://api.openai.com/v1 (http:// only for loopback simulators)
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
};

struct RingConfig {
  std::size_t arena_bytes = 32u << 20;  // per feed thread
  std::size_t max_frames = 65'536;
  PageMode pages = PageMode::kDefault;  // huge pages for the arena (engine/page_memory.hpp)
};

// The Prometheus endpoint. Loopback unless the configuration names another address on purpose.
struct MetricsConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";
  std::uint16_t port = 9464;
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
  std::vector<VenueConfig> venues;
  std::string signals_path = "-";  // "-" = stdout
  std::int64_t status_interval_ms = 1'000;

  const ThreadConfig& thread(std::string_view name) const;
};

// Thread names the engine knows; a [threads] key outside this list is an error.
inline constexpr std::string_view kThreadNames[] = {"feed", "strategy", "sink", "status", "inference"};

Config load_config_file(const std::string& path);
Config load_config_text(std::string_view toml, const std::string& source_name);

}  // namespace sigflow::engine
