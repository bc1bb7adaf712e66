// inference-sim: the OpenAI-compatible simulator as a process, for pointing the engine (or curl) at a local
// /v1/chat/completions. Prints `port=N`, `base_url=…` and (with TLS) `ca=PATH` on stdout, a status line a
// second on stderr, and runs until SIGINT/SIGTERM or --duration.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>

#include "tools/inference-sim/inference_sim.hpp"

namespace {

std::string default_ca_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/inference-sim-" + std::to_string(::getpid()) + "-ca.pem";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"OpenAI-compatible chat-completions simulator on 127.0.0.1 (POST /v1/chat/completions)"};
  sigflow::tools::InferenceSimConfig config;
  bool plaintext = false;
  std::string ca_out;
  double duration_s = 0;
  double error_rate = 0;
  bool quota = false;
  app.add_option("--port", config.port, "TCP port on 127.0.0.1 (0: ephemeral)")->capture_default_str();
  app.add_flag("--plaintext", plaintext, "plain HTTP instead of TLS");
  app.add_option("--model", config.model, "model name echoed in replies")->capture_default_str();
  app.add_option("--seed", config.seed, "seed of the signal jitter and latency draws")->capture_default_str();
  app.add_option("--latency-ms", config.latency_median_ms, "median service time (lognormal; 0: instant)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--latency-sigma", config.latency_sigma, "sigma of the log of the service time")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--latency-max-ms", config.latency_max_ms, "service time cap")->capture_default_str();
  app.add_option("--rpm", config.rpm, "requests per minute (0: unlimited)")->capture_default_str();
  app.add_option("--tpm", config.tpm, "tokens per minute (0: unlimited)")->capture_default_str();
  app.add_option("--context-tokens", config.context_tokens, "context window: prompt + max completion tokens")
      ->capture_default_str();
  app.add_option("--data-dir", config.tokenizer_dir,
                 "directory with <encoding>.tiktoken for exact prompt token counts (e.g. data/tokenizers)");
  app.add_option("--encoding", config.encoding, "cl100k_base or o200k_base")->capture_default_str();
  app.add_option("--api-key", config.api_key, "require 'Authorization: Bearer KEY'");
  app.add_option("--error-rate", error_rate, "fraction of completions answered 500")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--insufficient-quota", quota, "answer every completion 429 insufficient_quota");
  app.add_option("--ca-out", ca_out, "write the CA certificate (PEM) here (default: a file in $TMPDIR)");
  app.add_option("--duration", duration_s, "seconds to run (0: until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  config.tls = !plaintext;

  // Signals are taken synchronously by this thread: block them before any thread starts so that every
  // simulator thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sigflow::tools::InferenceSim sim(config);
  if (const auto started = sim.start(); !started.ok()) {
    std::cerr << "inference-sim: " << started.error << "\n";
    return 1;
  }
  sim.set_error_rate(error_rate);
  sim.set_insufficient_quota(quota);
  const bool temporary_ca = config.tls && ca_out.empty();
  if (temporary_ca) ca_out = default_ca_path();
  if (config.tls) {
    std::ofstream ca(ca_out, std::ios::trunc);
    ca << sim.ca_pem();
    if (!ca) {
      std::cerr << "inference-sim: cannot write " << ca_out << "\n";
      return 1;
    }
  }
  std::cout << "port=" << sim.port() << "\nbase_url=" << sim.base_url() << "\n";
  if (config.tls) std::cout << "ca=" << ca_out << "\n";
  std::cout << "tokens=" << (sim.stats().exact_tokens ? "exact" : "estimated (bytes/4)") << "\n"
            << std::flush;

  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    timespec second{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &second);
    if (sig == SIGINT || sig == SIGTERM) break;
    const auto s = sim.stats();
    std::cerr << "inference-sim: conns=" << s.connections_open << " requests=" << s.requests
              << " completions=" << s.completions << " streams=" << s.streams << " 429=" << s.status_429
              << " 5xx=" << s.by_status[5] << " faults=" << s.injected_faults
              << " prompt_tokens=" << s.prompt_tokens << " completion_tokens=" << s.completion_tokens << "\n";
    if (duration_s > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(duration_s))
      break;
  }
  sim.stop();
  if (temporary_ca) std::remove(ca_out.c_str());
  return 0;
}
