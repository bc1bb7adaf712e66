#pragma once
// `sigflow check-host`: what on this machine decides tick-to-signal latency, and what to change.
//
// Every finding comes from a file the kernel exports (/proc, /sys) or from asking the kernel directly
// (io_uring setup, RLIMIT_MEMLOCK), so the report is about this host as it is, not as it was configured
// to be. The file-system root is a parameter: tests build a fake /proc and /sys tree and check the advice.
#include <iosfwd>
#include <string>
#include <vector>

namespace sigflow::app {

enum class CheckStatus { kOk, kWarn, kInfo };

struct HostFinding {
  CheckStatus status = CheckStatus::kInfo;
  std::string name;    // "isolcpus", "governor", ...
  std::string value;   // what the host has
  std::string advice;  // what to change (empty when nothing)
};

struct HostCheckInput {
  std::string root = "/";        // prefix of /proc and /sys
  std::vector<int> pinned_cpus;  // CPUs the configuration pins threads to (from --config)
  bool probe_io_uring = true;    // try io_uring_queue_init (off in tests with a fake root)
};

std::vector<HostFinding> check_host(const HostCheckInput& input);

// Prints the findings, one line each plus an indented advice line; returns 0, or 2 when the config given
// with --config does not load.
int run_check_host(const std::string& config_path, std::ostream& out, std::ostream& err);

}  // namespace sigflow::app
