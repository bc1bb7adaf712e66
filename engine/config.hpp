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

struct VenueConfig {
  std::string id;  // market id: "binance-usdm"
  bool enabled = true;
  std::string public_url;  // e.g. wss://fstream.binance.com/public
  std::string market_url;  // e.g. wss://fstream.binance.com/market
  std::vector<std::string> symbols;
  std::string ca_file;  // extra CA to trust (loopback simulators); empty = system store only
  std::size_t max_message_bytes = 1 << 20;
  std::int64_t connect_timeout_ms = 5'000;
  std::int64_t silent_timeout_ms = 30'000;  // transport liveness: no bytes at all for this long → reconnect
  ReconnectConfig reconnect;
};

struct StrategyConfig {
  std::int64_t cycle_ms = 50;
  std::int64_t stale_after_ms = 5'000;  // older market data makes the local model abstain
};

struct RingConfig {
  std::size_t arena_bytes = 32u << 20;  // per feed thread
  std::size_t max_frames = 65'536;
  PageMode pages = PageMode::kDefault;  // huge pages for the arena (engine/page_memory.hpp)
};

struct ProcessConfig {
  bool mlockall = false;  // lock every page in memory at start (no swap-out, no lazy faults later)
};

struct Config {
  std::string source;  // file path, for messages
  std::map<std::string, ThreadConfig> threads;
  RingConfig ring;
  ProcessConfig process;
  StrategyConfig strategy;
  std::vector<VenueConfig> venues;
  std::string signals_path = "-";  // "-" = stdout
  std::int64_t status_interval_ms = 1'000;

  const ThreadConfig& thread(std::string_view name) const;
};

// Thread names the engine knows; a [threads] key outside this list is an error.
inline constexpr std::string_view kThreadNames[] = {"feed", "strategy", "sink", "status"};

Config load_config_file(const std::string& path);
Config load_config_text(std::string_view toml, const std::string& source_name);

}  // namespace sigflow::engine
