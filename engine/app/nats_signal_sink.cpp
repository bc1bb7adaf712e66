#include "engine/app/nats_signal_sink.hpp"

#include <charconv>

#include "engine/clock.hpp"

namespace sigflow::app {
namespace {

std::string subject_token(const std::string& text) {
  std::string token = text;
  for (char& c : token)
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';
  return token;
}

}  // namespace

std::string NatsSignalSink::subject_for(const std::string& prefix, const std::string& venue,
                                        const std::string& symbol) {
  return prefix + ".signals." + subject_token(venue) + "." + subject_token(symbol);
}

NatsSignalSink::NatsSignalSink(const engine::Config& config,
                               const std::vector<strategies::InstrumentSpec>& instruments) {
  const engine::NatsConfig& nats = config.nats;
  const std::string run = std::to_string(engine::wall_ns());
  for (const strategies::InstrumentSpec& spec : instruments)
    routes_.push_back({subject_for(nats.subject_prefix, spec.venue, spec.symbol),
                       config.engine.id + ":" + run + ":" + spec.venue + ":" + spec.symbol + ":"});
  io::nats::PublisherOptions options;
  options.urls = nats.urls;
  options.name = "sigflow-" + config.engine.id;
  options.stream = nats.stream;
  options.stream_subjects = {nats.subject_prefix + ".signals.>"};
  options.max_in_flight = static_cast<std::size_t>(nats.max_in_flight);
  options.spill_path = nats.spill_dir + "/" + config.engine.id + ".spill";
  options.ack_timeout_ms = nats.ack_timeout_ms;
  options.duplicate_window_ms = nats.duplicate_window_ms;
  options.fsync_interval_ms = nats.fsync_interval_ms;
  options.credentials_file = nats.credentials_file;
  publisher_ = std::make_unique<io::nats::JetStreamPublisher>(std::move(options));
}

void NatsSignalSink::on_line(const engine::FrameView& line) {
  constexpr std::string_view kCycle = "\"cycle\":";
  const std::string_view bytes = line.bytes;
  const std::size_t at = bytes.substr(0, 64).find(kCycle);
  std::uint64_t cycle = 0;
  if (line.conn_id >= routes_.size() || at == std::string_view::npos ||
      std::from_chars(bytes.data() + at + kCycle.size(), bytes.data() + bytes.size(), cycle).ec !=
          std::errc()) {
    bad_lines_.add();
    return;
  }
  const Route& route = routes_[line.conn_id];
  id_.assign(route.id_prefix);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, cycle).ptr;
  id_.append(digits, end);
  publisher_->publish(route.subject, id_, bytes);
}

}  // namespace sigflow::app
