#pragma once
// Pipeline: the whole engine built from a Config — a feed thread (io_uring, TLS WebSockets) per process for
// now, its FrameRing, the strategy thread, the signal ring and the sink thread — started and stopped in the
// order that loses nothing: consumers start first and stop last, so every frame a feed accepted is decoded
// and every signal made is written.
#include <memory>
#include <string>

#include "engine/app/feed_thread.hpp"
#include "engine/app/inference_thread.hpp"
#include "engine/app/nats_signal_sink.hpp"
#include "engine/app/signal_writer.hpp"
#include "engine/app/status_thread.hpp"
#include "engine/app/strategy_thread.hpp"
#include "engine/config.hpp"
#include "engine/metrics_registry.hpp"
#include "engine/status_line.hpp"
#include "io/tls_session.hpp"

namespace sigflow::app {

struct PipelineTotals {
  std::uint64_t frames = 0;  // WebSocket messages received
  std::uint64_t ring_drops = 0;
  std::uint64_t decoded_events = 0;
  std::uint64_t decode_errors = 0;
  std::uint64_t cycles = 0;
  std::uint64_t signals = 0;
  std::uint64_t signals_written = 0;
  std::uint64_t signal_drops = 0;
  std::uint64_t llm_signals = 0;  // signals whose source is the language model
  std::uint64_t disconnects = 0;
  // Book integrity and the strategy → feed requests.
  std::uint64_t book_gaps = 0;
  std::uint64_t resync_requests = 0;  // asked by the strategy
  std::uint64_t silent_topics = 0;    // reported by the strategy
  std::uint64_t opens = 0;            // WebSocket upgrades completed
  std::uint64_t resubscribes = 0;     // topics renewed by the feed thread
  std::uint64_t recycles = 0;
  std::uint64_t rest_requests = 0;  // snapshots queued for REST-synced books
  std::uint64_t feed_requests_dropped = 0;
  // The frame accounting, exact once stop() returned:
  //   frames + rest_bodies            == ring_frames + ring_frame_drops   (every frame offered to the ring)
  //   ring_frames                     == strategy_frames                  (the strategy drained everything)
  //   strategy_frames                 == decoded_frames + decode_errors + unknown_frames
  std::uint64_t rest_bodies = 0;       // REST snapshot bodies offered to the ring
  std::uint64_t ring_frames = 0;       // frames the feed ring published
  std::uint64_t ring_frame_drops = 0;  // frames the feed ring refused, WebSocket (ring_drops) and REST
  std::uint64_t strategy_frames = 0;   // frames the strategy took from the ring
  std::uint64_t decoded_frames = 0;    // of which decoded
  std::uint64_t unknown_frames = 0;    // of which from an unknown connection id
  std::uint64_t frame_losses = 0;      // frames that arrived flagged after a drop of their connection
  std::uint64_t loss_resyncs = 0;      // books invalidated and resynced because of such drops
  std::uint64_t books_not_live = 0;    // at the last cycle (a gauge)
};

class Pipeline {
 public:
  // Validates what the config alone cannot (URLs, symbols); throws engine::ConfigError naming the key.
  // `extra_ca_pem` is trusted in addition to the system store and the venues' ca_file (the demo's CA).
  // `strategy` tunes the strategy core (tests shorten liveness bounds); its feed_requests is the pipeline's.
  explicit Pipeline(engine::Config config, std::string extra_ca_pem = {},
                    strategies::StrategyConfig strategy = {});
  ~Pipeline();

  // Starts the status thread (it binds the metrics endpoint, the likeliest start failure, before anything
  // else runs), then sink, strategy and feed. Throws when a thread cannot start (port in use, bad CPU,
  // io_uring unavailable), with nothing left running.
  void start();
  // Stops the status thread, then feed (graceful WebSocket closes), strategy (drains its rings) and sink
  // (drains, flushes).
  void stop();

  // One status line (rates since the previous call). The status thread prints them when the config's
  // status_interval_ms is positive; call this only when it is 0.
  std::string status_line(std::int64_t now_ns);
  // The bound metrics port (the ephemeral one for port 0) once started; 0 when metrics are off.
  std::uint16_t metrics_port() const noexcept { return status_thread_ ? status_thread_->metrics_port() : 0; }
  PipelineTotals totals() const;
  const FeedThread& feed() const noexcept { return *feed_; }
  const strategies::StrategyCore& strategy_core() const noexcept { return strategy_->core(); }
  // Null when inference is off.
  const InferenceThread* inference() const noexcept { return inference_.get(); }
  const StrategyThread& strategy() const noexcept { return *strategy_; }
  // Null unless [nats] is enabled. Its counters (NatsSignalSink::counters(): published, sent, acked,
  // duplicates, spilled, replayed, errors, timeouts, reconnects; backlog(), bad_lines()) are atomics readable
  // from any thread, for Prometheus as sigflow_nats_<what>_total.
  const NatsSignalSink* nats() const noexcept { return nats_.get(); }
  StrategyThread& strategy() noexcept { return *strategy_; }

 private:
  engine::Config config_;
  std::unique_ptr<engine::FrameRing> frames_;
  std::unique_ptr<engine::FrameRing> signal_lines_;
  std::unique_ptr<NatsSignalSink> nats_;  // before writer_: the sink thread uses it until writer_ is gone
  std::unique_ptr<SignalWriter> writer_;
  std::unique_ptr<InferenceThread> inference_;                   // null: local model only
  std::unique_ptr<strategies::FeedRequestQueue> feed_requests_;  // strategy → feed
  std::unique_ptr<StrategyThread> strategy_;
  std::unique_ptr<FeedThread> feed_;
  engine::StatusLine status_;
  engine::MetricsRegistry metrics_;
  std::unique_ptr<StatusThread> status_thread_;  // null when neither metrics nor status lines are on
  bool running_ = false;
};

}  // namespace sigflow::app
