#pragma once
// What the pipeline exposes on GET /metrics: every stage's counters (in, out, dropped, errors, by venue where
// the stage knows the venue), its latency histograms and the rings' high-water marks, registered once at
// start-up. Names follow Prometheus' conventions: sigflow_<stage>_<what>_total for counters,
// sigflow_<stage>_<what>_seconds for histograms, base units only.
#include <string>

#include "engine/app/feed_thread.hpp"
#include "engine/app/inference_thread.hpp"
#include "engine/app/nats_signal_sink.hpp"
#include "engine/app/signal_writer.hpp"
#include "engine/app/strategy_thread.hpp"
#include "engine/frame_ring.hpp"
#include "engine/metrics_registry.hpp"

namespace sigflow::app {

struct PipelineStages {
  const FeedThread& feed;
  const engine::FrameRing& frames;
  const StrategyThread& strategy;
  const SignalWriter& sink;
  const InferenceThread* inference = nullptr;  // null: local model only
  const NatsSignalSink* nats = nullptr;        // null: no [nats]
};

// The stages must outlive the registry's readers (the status thread is stopped before them).
void register_pipeline_metrics(engine::MetricsRegistry& registry, const PipelineStages& stages);

// process_resident_memory_bytes and process_open_fds, as Prometheus' own clients name them: the soak test
// and a dashboard watch them for leaks.
void register_process_metrics(engine::MetricsRegistry& registry);

// The status line's p99s since start: "recv>applied=1.2us cycle=85.0us tick>signal=48.1ms llm_rtt=210.3ms"
// (frame received → applied over every venue, cycle duration, tick → signal, and the inference round trip).
std::string latency_p99s(const PipelineStages& stages);

}  // namespace sigflow::app
