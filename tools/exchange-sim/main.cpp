// exchange-sim: the exchange simulator as a process, for running the engine (or anything else) against a
// local venue. Prints `port=N` and `ca=PATH` on stdout, a status line a second on stderr, and runs until
// SIGINT/SIGTERM or --duration.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tools/exchange-sim/exchange_sim.hpp"

namespace {

std::string default_ca_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/exchange-sim-" + std::to_string(::getpid()) + "-ca.pem";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Exchange simulator over TLS WebSockets and REST on 127.0.0.1, venues routed by path: "
      "wss://127.0.0.1:PORT/<venue-id>/<venue path>"};
  sigflow::tools::ExchangeSimConfig config;
  std::string ca_out;
  double duration_s = 0;
  unsigned ping_ms = static_cast<unsigned>(config.ping_interval.count());
  app.add_option("--port", config.port, "TCP port on 127.0.0.1 (0: ephemeral)")->capture_default_str();
  std::vector<std::string> venue_ids;
  app.add_option("--venues", venue_ids, "venue ids to serve, or 'all' (default: binance-usdm)")
      ->delimiter(',');
  app.add_option("--instruments", config.instruments, "generated instruments SIM0USDT...")
      ->capture_default_str();
  app.add_option("--symbols", config.symbols, "instrument symbols instead, e.g. BTCUSDT,ETHUSDT")
      ->delimiter(',');
  app.add_option("--rate", config.rate, "frames per second over all connections")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", config.seed, "random-walk seed")->capture_default_str();
  app.add_flag("--stamp-send-ns", config.stamp_send_ns,
               "add \"sim_ns\" (CLOCK_MONOTONIC time the schedule emitted the frame) to events");
  app.add_option("--ping-interval-ms", ping_ms, "server ping interval")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--replay", config.replay_file, "replay a cryptofeed raw capture instead of the random walk")
      ->check(CLI::ExistingFile);
  app.add_option("--speed", config.replay_speed, "replay pace factor (0: as fast as clients read)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--loop", config.replay_loop, "restart the replay at its end");
  app.add_option("--ca-out", ca_out, "write the CA certificate (PEM) here (default: a file in $TMPDIR)");
  app.add_option("--duration", duration_s, "seconds to run (0: until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  config.ping_interval = std::chrono::milliseconds(ping_ms);
  for (const auto& id : venue_ids) {
    if (id == "all") {
      for (auto& v : sigflow::tools::every_sim_venue()) config.venues.push_back(std::move(v));
    } else {
      config.venues.push_back({id, {}});
    }
  }

  // Signals are taken synchronously by this thread: block them before any thread starts so that every
  // simulator thread inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sigflow::tools::ExchangeSim sim(config);
  if (const auto started = sim.start(); !started.ok()) {
    std::cerr << "exchange-sim: " << started.error << "\n";
    return 1;
  }
  const bool temporary_ca = ca_out.empty();
  if (temporary_ca) ca_out = default_ca_path();
  {
    std::ofstream ca(ca_out, std::ios::trunc);
    ca << sim.ca_pem();
    if (!ca) {
      std::cerr << "exchange-sim: cannot write " << ca_out << "\n";
      return 1;
    }
  }
  std::cout << "port=" << sim.port() << "\nca=" << ca_out << "\n";
  for (const auto& venue : sim.venues()) {
    std::cout << "venue=" << venue << " symbols=";
    const auto symbols = sim.symbols(venue);
    for (std::size_t i = 0; i < symbols.size(); ++i) std::cout << (i ? "," : "") << symbols[i];
    std::cout << "\n";
  }
  std::cout << std::flush;

  const auto start = std::chrono::steady_clock::now();
  std::uint64_t last_frames = 0;
  for (;;) {
    timespec second{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &second);
    if (sig == SIGINT || sig == SIGTERM) break;
    const auto s = sim.stats();
    std::cerr << "exchange-sim: conns=" << s.connections_open << " frames/s=" << (s.frames_sent - last_frames)
              << " frames=" << s.frames_sent << " subs=" << s.client_messages << " pongs=" << s.pongs_received
              << " rest=" << s.rest_requests << " slow_drops=" << s.slow_consumer_disconnects
              << " lag_resets=" << s.generator_lag_resets << "\n";
    last_frames = s.frames_sent;
    if (duration_s > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(duration_s))
      break;
  }
  sim.stop();
  if (temporary_ca) std::remove(ca_out.c_str());
  return 0;
}
