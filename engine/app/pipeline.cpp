#include "engine/app/pipeline.hpp"

#include "engine/app/commands.hpp"

#include <algorithm>

#include "engine/app/pipeline_metrics.hpp"
#include "engine/app/rest_snapshots.hpp"
#include "engine/app/venue_wiring.hpp"

namespace sigflow::app {
namespace {

// Requests the strategy thread can have outstanding towards the feed thread. A reconnect of a connection that
// carries every book of a large universe invalidates them all at once; a full queue drops the rest, which
// the strategy side retries after its timeout.
constexpr std::size_t kFeedRequestCapacity = 4096;

}  // namespace

Pipeline::Pipeline(engine::Config config, std::string extra_ca_pem,
                   strategies::StrategyConfig strategy_config)
    : config_(std::move(config)) {
  VenueWiring w = wire_venues(config_);
  frames_ = std::make_unique<engine::FrameRing>(config_.ring.arena_bytes, config_.ring.max_frames,
                                                config_.ring.pages);
  // A cycle emits one line per instrument; room for many cycles absorbs a slow stdout.
  signal_lines_ =
      std::make_unique<engine::FrameRing>(std::max<std::size_t>(4u << 20, w.instruments.size() * 64 * 512),
                                          std::max<std::size_t>(8192, w.instruments.size() * 64));
  writer_ = std::make_unique<SignalWriter>(config_.signals_path, *signal_lines_);
  if (config_.nats.enabled) {
    nats_ = std::make_unique<NatsSignalSink>(config_, w.instruments);
    writer_->attach_nats(nats_.get());
  }
  feed_requests_ = std::make_unique<strategies::FeedRequestQueue>(kFeedRequestCapacity);
  strategy_config.feed_requests = feed_requests_.get();
  auto core =
      std::make_unique<strategies::StrategyCore>(w.instruments, w.strategy_connections, strategy_config);
  strategy_ =
      std::make_unique<StrategyThread>(std::move(core), std::vector<engine::FrameRing*>{frames_.get()},
                                       *signal_lines_, config_.strategy.cycle_ms * 1'000'000);
  strategy_->set_engine_id(config_.engine.id);
  inference_ = make_inference(config_, *strategy_, default_data_dir() + "/tokenizers", extra_ca_pem, stderr);
  io::TlsOptions tls;
  tls.ca_file = w.ca_file;
  tls.ca_pem = std::move(extra_ca_pem);
  feed_ = std::make_unique<FeedThread>("feed", config_.thread("feed"), w, std::move(tls), *frames_,
                                       feed_requests_.get(), make_rest_snapshot_source_factory());

  const auto& sc = strategy_->core().counters();
  const auto& tc = strategy_->counters();
  status_.add_text("conn", [this] {
    return std::to_string(feed_->connections_open()) + "/" + std::to_string(feed_->connection_count());
  });
  // Plaintext endpoints, each allowed by its own allow_insecure flag, are named on every line.
  if (const std::vector<std::string> insecure = engine::insecure_endpoints(config_); !insecure.empty()) {
    std::string names;
    for (const std::string& name : insecure) names += (names.empty() ? "" : ",") + name;
    status_.add_text("insecure", [names] { return names; });
  }
  // Per venue when there are several: "binance-usdm 2/2 okx 1/1".
  if (w.venues.size() > 1) {
    for (const WiredVenue& venue : w.venues) {
      status_.add_text(venue.id, [this, id = venue.id] {
        return std::to_string(feed_->connections_open(id)) + "/" +
               std::to_string(feed_->connection_count(id));
      });
    }
  }
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
  status_.add_total("resubs", [this] { return feed_->totals().resubscribes; });
  status_.add_total("recycles", [this] { return feed_->totals().recycles; });
  status_.add_total("snapshots", [this] { return feed_->totals().rest_requests; });
  status_.add_total("req_drops", [this] { return feed_->totals().requests_dropped; });
  if (inference_) add_inference_status(status_, *inference_, *strategy_);
  if (const NatsSignalSink* nats = nats_.get()) {
    status_.add_rate("nats_acked", [nats] { return nats->counters().acked.load(); });
    status_.add_total("nats_backlog", [nats] { return nats->backlog(); });
    status_.add_total("nats_spilled", [nats] { return nats->counters().spilled.load(); });
  }
  const PipelineStages stages{*feed_, *frames_, *strategy_, *writer_, inference_.get(), nats_.get()};
  status_.add_text("p99", [stages] { return latency_p99s(stages); });
  register_pipeline_metrics(metrics_, stages);
  register_process_metrics(metrics_);
}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::start() {
  // Before any thread starts: MCL_FUTURE then covers every stack and buffer they allocate.
  if (config_.process.mlockall)
    if (std::string error = engine::lock_all_memory(); !error.empty())
      throw engine::ConfigError("process.mlockall: " + error);
  if (config_.metrics.enabled || config_.status_interval_ms > 0) {
    StatusThreadConfig status;
    status.metrics = config_.metrics;
    status.status_interval_ns = config_.status_interval_ms * 1'000'000;
    status_thread_ = std::make_unique<StatusThread>(
        status, metrics_, [this](std::int64_t now_ns) { return status_.render(now_ns); });
    status_thread_->start(config_.thread("status"));
  }
  writer_->start(config_.thread("sink"));
  if (inference_) inference_->start(config_.thread("inference"));
  strategy_->start(config_.thread("strategy"));
  try {
    feed_->start();
  } catch (...) {
    status_thread_.reset();
    strategy_->stop();
    if (inference_) inference_->stop();
    writer_->stop();
    throw;
  }
  running_ = true;
}

void Pipeline::stop() {
  if (!running_) return;
  running_ = false;
  // The status thread first: its readers walk the feed's connections, which the feed thread destroys as
  // it stops.
  if (status_thread_) status_thread_->stop();
  feed_->stop();
  strategy_->stop();
  if (inference_) inference_->stop();
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
  if (const strategies::SignalMerger* merger = strategy_->merger())
    t.llm_signals = merger->counters().llm_signals.load();
  t.signals_written = writer_->lines_written();
  const FeedTotals feed = feed_->totals();
  t.frames = feed.messages;
  t.ring_drops = feed.ring_drops;
  t.disconnects = feed.disconnects;
  t.book_gaps = sc.book_gaps.load();
  t.resync_requests = sc.resync_requests.load();
  t.silent_topics = sc.silent_topics.load();
  t.opens = feed.opens;
  t.resubscribes = feed.resubscribes;
  t.recycles = feed.recycles;
  t.rest_requests = feed.rest_requests;
  t.feed_requests_dropped = feed.requests_dropped;
  t.rest_bodies = feed.rest_bodies;
  t.ring_frames = frames_->frames_committed();
  t.ring_frame_drops = frames_->frames_dropped();
  t.strategy_frames = sc.frames.load();
  t.decoded_frames = sc.decoded_frames.load();
  t.unknown_frames = sc.unknown_connections.load();
  t.frame_losses = sc.frame_losses.load();
  t.loss_resyncs = sc.loss_resyncs.load();
  t.books_not_live = sc.books_not_live.load(std::memory_order_relaxed);
  return t;
}

}  // namespace sigflow::app
