#pragma once
// `sigflow tail`: signals from NATS JetStream as JSON lines on stdout, through a durable pull consumer, so
// that a tail restarted under the same --durable name continues after the last line it printed.
#include <cstdint>
#include <iosfwd>
#include <string>

namespace sigflow::app {

struct TailOptions {
  std::string nats_url = "nats://127.0.0.1:4222";  // several: comma-separated
  std::string subject = "sigflow.signals.>";
  std::string stream = "SIGFLOW";
  std::string durable = "sigflow-tail";
  std::string credentials_file;
  std::uint64_t count = 0;  // stop after this many lines (0: no limit)
  double idle_exit_s = 0;   // stop once nothing came for this long (0: wait forever)
};

// Exit status: 0 after --count lines, an idle exit or SIGINT/SIGTERM; 2 when NATS, the stream or the
// consumer cannot be reached (the reason on `err`); 1 when fetching failed after the start.
int run_tail(const TailOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sigflow::app
