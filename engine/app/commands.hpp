#pragma once
// The subcommands behind `sigflow`'s command line.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace sigflow::app {

struct DemoOptions {
  double duration_s = 10;  // 0: until SIGINT/SIGTERM
  std::vector<std::string> symbols{"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"};
  double rate = 2'000;  // simulator messages per second
  std::uint64_t seed = 1;
  std::string signals_path = "-";
  // A scripted fault storm in the simulators (engine/app/fault_storm.hpp): disconnects, silences, gaps,
  // malformed frames and inference 5xx/429/timeouts, one every `fault_period_ms` on average.
  bool faults = false;
  double fault_period_ms = 1500;
  // The last instrument of every venue trades like an illiquid pair: rarely, and not at all for 25 s in
  // every 40 s (tools/exchange-sim ActivityProfile).
  bool quiet = false;
};

struct RunOptions {
  std::string config_path;
  double duration_s = 0;
};

struct DecodeOptions {
  std::string venue;
  std::string stream;  // for raw single-stream frames
  std::string input = "-";
};

// $SIGFLOW_DATA_DIR, else the source tree's data/ this binary was built from.
std::string default_data_dir();

int run_demo(const DemoOptions& options);
int run_engine(const RunOptions& options);
// Exit status 0 when every frame decoded, 1 when some did not (each named on `err`), 2 on bad usage.
int run_decode(const DecodeOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace sigflow::app
