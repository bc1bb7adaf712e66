#include "engine/app/pipeline.hpp"

#include <algorithm>

#include "io/venues/binance/instrument_name.hpp"
#include "io/venues/binance/streams.hpp"

namespace sigflow::app {
namespace {

// Binance allows 10 incoming messages per second on a USD-M connection and up to 1024 streams; one
// SUBSCRIBE carries at most this many streams so that a request stays small.
constexpr std::size_t kStreamsPerSubscribe = 200;

struct Wiring {
  std::vector<FeedConnectionConfig> connections;
  std::vector<strategies::InstrumentSpec> instruments;
  std::vector<strategies::ConnectionSpec> routes;
  std::string ca_file;
};

FeedConnectionConfig binance_usdm_connection(const engine::VenueConfig& venue, io::binance::UsdmRoute route,
                                             std::uint32_t conn_id, const std::string& url_text) {
  FeedConnectionConfig c;
  const std::string route_name(io::binance::to_string(route));
  c.label = venue.id + route_name;
  c.connection_id = conn_id;
  std::string error;
  if (!parse_websocket_url(url_text, c.url, error))
    throw engine::ConfigError("venues." + venue.id +
                              (route == io::binance::UsdmRoute::kPublic ? ".public_url" : ".market_url") +
                              ": " + error);
  // Combined-stream endpoint of the route, subscribed after the upgrade: frames then name their stream,
  // which is what tells a depth20 partial from a diff.
  if (c.url.target.empty() || c.url.target.back() != '/') c.url.target += '/';
  c.url.target += "stream";
  std::vector<std::string> streams;
  for (const std::string& symbol : venue.symbols)
    for (std::string& s : io::binance::usdm_streams(symbol, route)) streams.push_back(std::move(s));
  std::uint64_t request_id = 1;
  for (std::size_t i = 0; i < streams.size(); i += kStreamsPerSubscribe) {
    const std::size_t n = std::min(kStreamsPerSubscribe, streams.size() - i);
    c.subscribe_messages.push_back(
        io::binance::subscribe_request(std::span<const std::string>(streams.data() + i, n), request_id++));
  }
  c.connect_timeout_ns = venue.connect_timeout_ms * 1'000'000;
  c.silent_timeout_ns = venue.silent_timeout_ms * 1'000'000;
  c.max_message_bytes = venue.max_message_bytes;
  c.reconnect.base_ns = venue.reconnect.base_ms * 1'000'000;
  c.reconnect.cap_ns = venue.reconnect.cap_ms * 1'000'000;
  c.reconnect.stable_after_ns = venue.reconnect.stable_after_ms * 1'000'000;
  // Binance: 300 connection attempts per 5 minutes per IP; keep well inside it.
  c.reconnect.window_attempts = 100;
  c.reconnect.window_ns = 300'000'000'000;
  return c;
}

Wiring wire(const engine::Config& config) {
  Wiring w;
  std::uint32_t next_conn = 1;
  for (const engine::VenueConfig& venue : config.venues) {
    if (!venue.enabled) continue;
    if (!venue.ca_file.empty()) {
      if (!w.ca_file.empty() && w.ca_file != venue.ca_file)
        throw engine::ConfigError("venues." + venue.id +
                                  ".ca_file: all venues on one feed thread share a CA file");
      w.ca_file = venue.ca_file;
    }
    for (const std::string& symbol : venue.symbols) {
      std::string name = io::binance::normalized_instrument(symbol, io::binance::Market::kUsdm);
      if (name.empty())
        throw engine::ConfigError("venues." + venue.id + ".symbols: '" + symbol +
                                  "' has no known quote asset");
      w.instruments.push_back({venue.id, symbol, std::move(name)});
    }
    for (auto [route, url] : {std::pair{io::binance::UsdmRoute::kPublic, &venue.public_url},
                              std::pair{io::binance::UsdmRoute::kMarket, &venue.market_url}}) {
      w.connections.push_back(binance_usdm_connection(venue, route, next_conn, *url));
      w.routes.push_back({next_conn, venue.id, std::string(io::binance::to_string(route)), ""});
      ++next_conn;
    }
  }
  return w;
}

}  // namespace

Pipeline::Pipeline(engine::Config config, std::string extra_ca_pem) : config_(std::move(config)) {
  Wiring w = wire(config_);
  frames_ = std::make_unique<engine::FrameRing>(config_.ring.arena_bytes, config_.ring.max_frames);
  // A cycle emits one line per instrument; room for many cycles absorbs a slow stdout.
  signal_lines_ =
      std::make_unique<engine::FrameRing>(std::max<std::size_t>(4u << 20, w.instruments.size() * 64 * 512),
                                          std::max<std::size_t>(8192, w.instruments.size() * 64));
  writer_ = std::make_unique<SignalWriter>(config_.signals_path, *signal_lines_);
  auto core = std::make_unique<strategies::StrategyCore>(std::move(w.instruments), std::move(w.routes));
  strategy_ =
      std::make_unique<StrategyThread>(std::move(core), std::vector<engine::FrameRing*>{frames_.get()},
                                       *signal_lines_, config_.strategy.cycle_ms * 1'000'000);
  io::TlsOptions tls;
  tls.ca_file = w.ca_file;
  tls.ca_pem = std::move(extra_ca_pem);
  feed_ = std::make_unique<FeedThread>("feed", config_.thread("feed"), std::move(w.connections),
                                       std::move(tls), *frames_);

  const auto& sc = strategy_->core().counters();
  const auto& tc = strategy_->counters();
  status_.add_text("conn", [this] {
    return std::to_string(feed_->connections_open()) + "/" + std::to_string(feed_->connection_count());
  });
  status_.add_rate("frames", [this] { return feed_->totals().messages; });
  status_.add_rate("bytes", [this] { return feed_->totals().bytes; });
  status_.add_rate("events", [&sc] { return sc.decoded_events.load(); });
  status_.add_total("decode_err", [&sc] { return sc.decode_errors.load(); });
  status_.add_total("ring_drops", [this] { return feed_->totals().ring_drops; });
  status_.add_total("ring_hw", [this] { return frames_->depth_high_water(); });
  status_.add_rate("signals", [&sc] { return sc.signals.load(); });
  status_.add_total("sink_err", [this] { return writer_->write_errors(); });
  status_.add_total("late_cycles", [&tc] { return tc.late_cycles.load(); });
  status_.add_total("reconnects", [this] { return feed_->totals().disconnects; });
}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::start() {
  writer_->start(config_.thread("sink"));
  strategy_->start(config_.thread("strategy"));
  try {
    feed_->start();
  } catch (...) {
    strategy_->stop();
    writer_->stop();
    throw;
  }
  running_ = true;
}

void Pipeline::stop() {
  if (!running_) return;
  running_ = false;
  feed_->stop();
  strategy_->stop();
  writer_->stop();
}

std::string Pipeline::status_line(std::int64_t now_ns) {
  return status_.render(now_ns);
}

PipelineTotals Pipeline::totals() const {
  PipelineTotals t;
  const auto& sc = strategy_->core().counters();
  t.decoded_events = sc.decoded_events.load();
  t.decode_errors = sc.decode_errors.load();
  t.signals = sc.signals.load();
  t.cycles = strategy_->counters().cycles.load();
  t.signal_drops = strategy_->counters().signal_drops.load();
  t.signals_written = writer_->lines_written();
  const FeedTotals feed = feed_->totals();
  t.frames = feed.messages;
  t.ring_drops = feed.ring_drops;
  t.disconnects = feed.disconnects;
  return t;
}

}  // namespace sigflow::app
