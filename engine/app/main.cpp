// sigflow: the command line. Each subcommand is a thin shell over a function in engine/app, so that tests
// drive the same code the binary runs.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "engine/app/check_host.hpp"
#include "engine/app/commands.hpp"
#include "engine/app/record_command.hpp"
#include "engine/app/replay_command.hpp"
#include "engine/app/tail_command.hpp"
#include "strategies/tokenizer/tokens_command.hpp"

int main(int argc, char** argv) {
  using namespace sigflow;
  CLI::App cli{"sigflow: a low-latency trading-signal engine"};
  cli.require_subcommand(1);
  std::string data_dir = app::default_data_dir();
  cli.add_option("--data-dir", data_dir,
                 "Directory holding tokenizer rank files (default: $SIGFLOW_DATA_DIR or the build's data/)");

  app::DemoOptions demo;
  CLI::App* demo_cmd = cli.add_subcommand(
      "demo", "Run the whole pipeline against the built-in exchange simulator on loopback");
  demo_cmd->add_option("--duration", demo.duration_s, "Seconds to run (0 = until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  demo_cmd->add_option("--symbols", demo.symbols, "Instruments the simulator lists")->delimiter(',');
  demo_cmd->add_option("--rate", demo.rate, "Simulator messages per second")->check(CLI::PositiveNumber);
  demo_cmd->add_option("--seed", demo.seed, "Simulator random seed");
  demo_cmd->add_option("--signals", demo.signals_path, "Signal output file ('-' = stdout)");
  demo_cmd->add_flag(
      "--faults", demo.faults,
      "Inject a scripted fault storm: disconnects, silences, gaps, bad frames, LLM 5xx/429/hangs");
  demo_cmd->add_option("--fault-period-ms", demo.fault_period_ms, "Mean time between two faults")
      ->check(CLI::PositiveNumber);
  demo_cmd->add_flag(
      "--quiet", demo.quiet,
      "Make the last instrument of every venue illiquid: rare updates, 25 s quiet in every 40 s");

  app::RunOptions run;
  CLI::App* run_cmd = cli.add_subcommand("run", "Run the engine against the endpoints the config names");
  run_cmd->add_option("--config", run.config_path, "TOML configuration file")->required();
  run_cmd->add_option("--duration", run.duration_s, "Seconds to run (0 = until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);

  strategies::TokensCommand tokens;
  CLI::App* tokens_cmd = cli.add_subcommand("tokens", "Count tokens exactly as tiktoken does");
  tokens_cmd->add_option("--encoding", tokens.encoding, "cl100k_base or o200k_base");
  tokens_cmd->add_flag("--ids", tokens.ids, "Print the token ids instead of the count");
  tokens_cmd->add_option("input", tokens.input, "File to read ('-' = stdin)");

  app::DecodeOptions decode;
  CLI::App* decode_cmd =
      cli.add_subcommand("decode", "Decode raw frames (one per line) into normalized events (JSON lines)");
  decode_cmd->add_option("--venue", decode.venue, "Venue id, e.g. binance-usdm")->required();
  decode_cmd->add_option("--stream", decode.stream, "Stream name for raw (not combined) frames");
  decode_cmd->add_option("input", decode.input, "File to read ('-' = stdin)");

  std::string check_host_config;
  CLI::App* check_host_cmd =
      cli.add_subcommand("check-host", "Report what on this machine affects latency, and what to change");
  check_host_cmd->add_option("--config", check_host_config, "Config whose [threads] CPUs to check");

  app::ReplayOptions replay;
  CLI::App* replay_cmd =
      cli.add_subcommand("replay", "Feed a recorded session through the decode and book code of the engine");
  replay_cmd->add_option("--capture", replay.capture, "cryptofeed raw capture or sigflow capture (JSONL)")
      ->required();
  replay_cmd->add_flag("--summary", replay.summary, "Print one JSON line per instrument instead of signals");

  app::RecordOptions record;
  CLI::App* record_cmd =
      cli.add_subcommand("record", "Record live frames with receive timestamps into a sigflow capture");
  record_cmd->add_option("--config", record.config_path, "TOML configuration file")->required();
  record_cmd->add_option("--out", record.out_path, "Capture file to write (JSONL)")->required();
  record_cmd->add_option("--duration", record.duration_s, "Seconds to record (0 = until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);

  app::TailOptions tail;
  CLI::App* tail_cmd =
      cli.add_subcommand("tail", "Print signals from NATS JetStream as JSON lines (a durable pull consumer)");
  tail_cmd->add_option("--nats", tail.nats_url,
                       "NATS URL(s), comma-separated (default nats://127.0.0.1:4222)");
  tail_cmd->add_option("--subject", tail.subject, "Subject filter (default sigflow.signals.>)");
  tail_cmd->add_option("--stream", tail.stream, "JetStream stream (default SIGFLOW)");
  tail_cmd->add_option("--durable", tail.durable, "Durable consumer name (default sigflow-tail)");
  tail_cmd->add_option("--creds", tail.credentials_file, "NATS credentials file");
  tail_cmd->add_option("--count", tail.count, "Exit after this many lines");
  tail_cmd->add_option("--idle-exit", tail.idle_exit_s, "Exit once nothing came for this many seconds")
      ->check(CLI::NonNegativeNumber);

  CLI11_PARSE(cli, argc, argv);

  if (*demo_cmd) return app::run_demo(demo);
  if (*run_cmd) return app::run_engine(run);
  if (*check_host_cmd) return app::run_check_host(check_host_config, std::cout, std::cerr);
  if (*replay_cmd) return app::run_replay(replay, std::cout, std::cerr);
  if (*record_cmd) return app::run_record(record);
  if (*tail_cmd) return app::run_tail(tail, std::cout, std::cerr);
  if (*decode_cmd) return app::run_decode(decode, std::cin, std::cout, std::cerr);
  tokens.data_dir = data_dir + "/tokenizers";
  return strategies::run_tokens_command(tokens, std::cin, std::cout, std::cerr);
}
