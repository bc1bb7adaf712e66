#include "engine/app/tail_command.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <stdexcept>

#include "engine/app/stop_signals.hpp"
#include "io/nats/jetstream_consumer.hpp"

namespace sigflow::app {

int run_tail(const TailOptions& options, std::ostream& out, std::ostream& err) {
  const StopSignals signals;  // before the consumer starts the NATS client's threads
  io::nats::ConsumerOptions consumer_options;
  consumer_options.urls.clear();
  for (std::size_t start = 0; start <= options.nats_url.size();) {
    const std::size_t comma = std::min(options.nats_url.find(',', start), options.nats_url.size());
    if (comma > start) consumer_options.urls.push_back(options.nats_url.substr(start, comma - start));
    start = comma + 1;
  }
  consumer_options.stream = options.stream;
  consumer_options.subject = options.subject;
  consumer_options.durable = options.durable;
  consumer_options.credentials_file = options.credentials_file;
  std::unique_ptr<io::nats::JetStreamConsumer> consumer;
  try {
    consumer = std::make_unique<io::nats::JetStreamConsumer>(consumer_options);
  } catch (const std::exception& e) {
    err << "sigflow tail: " << e.what() << '\n';
    return 2;
  }

  std::uint64_t printed = 0;
  auto last_message = std::chrono::steady_clock::now();
  const auto idle_limit = std::chrono::duration<double>(options.idle_exit_s);
  while (!signals.stop_requested()) {
    const int batch =
        options.count ? static_cast<int>(std::min<std::uint64_t>(256, options.count - printed)) : 256;
    const int n = consumer->fetch(batch, 500, [&](std::string_view, std::string_view data) {
      out << data;
      if (data.empty() || data.back() != '\n') out << '\n';
    });
    if (n < 0) {
      err << "sigflow tail: fetch failed\n";
      return 1;
    }
    if (n > 0) {
      out.flush();
      printed += static_cast<std::uint64_t>(n);
      last_message = std::chrono::steady_clock::now();
      if (options.count && printed >= options.count) break;
    } else if (options.idle_exit_s > 0 && std::chrono::steady_clock::now() - last_message > idle_limit) {
      break;
    }
  }
  return 0;
}

}  // namespace sigflow::app
