#include "engine/app/pipeline_metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace sigflow::app {
namespace {

using engine::MetricLabels;
using engine::MetricsRegistry;

// Registers unlabelled counters: most stages export theirs without labels.
struct Unlabelled {
  MetricsRegistry& registry;
  void operator()(const char* name, const char* help, const engine::Counter& source) const {
    registry.add_counter(name, help, {}, source);
  }
};

MetricLabels venue_label(const std::string& venue) {
  return {{"venue", venue}};
}

// One counter per venue, summed over the venue's connections at scrape time.
void add_feed_counter(MetricsRegistry& r, const FeedThread& feed, const std::string& venue, const char* name,
                      const char* help, std::uint64_t FeedTotals::*field) {
  r.add_counter(name, help, venue_label(venue),
                [&feed, venue, field] { return feed.connection_totals(venue).*field; });
}

void register_feed(MetricsRegistry& r, const PipelineStages& s) {
  std::vector<std::string> venues;
  for (const FeedConnectionConfig& c : s.feed.connection_configs())
    if (std::find(venues.begin(), venues.end(), c.venue) == venues.end()) venues.push_back(c.venue);
  for (const std::string& v : venues) {
    add_feed_counter(r, s.feed, v, "sigflow_feed_messages_total", "WebSocket messages received",
                     &FeedTotals::messages);
    add_feed_counter(r, s.feed, v, "sigflow_feed_bytes_total", "WebSocket payload bytes received",
                     &FeedTotals::bytes);
    add_feed_counter(r, s.feed, v, "sigflow_feed_ring_drops_total",
                     "Messages dropped because the frame ring was full", &FeedTotals::ring_drops);
    add_feed_counter(r, s.feed, v, "sigflow_feed_disconnects_total", "Connections lost, any reason",
                     &FeedTotals::disconnects);
    add_feed_counter(r, s.feed, v, "sigflow_feed_opens_total", "WebSocket upgrades completed",
                     &FeedTotals::opens);
    add_feed_counter(r, s.feed, v, "sigflow_feed_resubscribes_total",
                     "Topics renewed after a gap or a silent stream", &FeedTotals::resubscribes);
    add_feed_counter(r, s.feed, v, "sigflow_feed_recycles_total",
                     "Connections closed on purpose to start afresh", &FeedTotals::recycles);
    r.add_gauge("sigflow_feed_connections_open", "Connections open now", venue_label(v),
                [&feed = s.feed, v] { return static_cast<double>(feed.connections_open(v)); });
    r.add_gauge("sigflow_feed_connections", "Connections configured", venue_label(v),
                [&feed = s.feed, v] { return static_cast<double>(feed.connection_count(v)); });
  }
  r.add_counter("sigflow_feed_requests_total", "Strategy requests (resyncs, silent topics) taken", {},
                [&feed = s.feed] { return feed.totals().requests; });
  r.add_counter("sigflow_feed_rest_requests_total", "REST book snapshots requested", {},
                [&feed = s.feed] { return feed.totals().rest_requests; });
  r.add_gauge("sigflow_ring_depth_high_water", "Most frames a ring has held at once", {{"ring", "frames"}},
              [&ring = s.frames] { return static_cast<double>(ring.depth_high_water()); });
}

void register_strategy(MetricsRegistry& r, const PipelineStages& s) {
  const strategies::StrategyCore& core = s.strategy.core();
  const strategies::StrategyCounters& c = core.counters();
  const Unlabelled counter{r};
  counter("sigflow_strategy_frames_total", "Frames taken from the rings", c.frames);
  counter("sigflow_strategy_events_total", "Market events applied to an instrument", c.decoded_events);
  counter("sigflow_strategy_decode_errors_total", "Frames the decoder rejected", c.decode_errors);
  counter("sigflow_strategy_unknown_symbols_total", "Events for a symbol outside the universe",
          c.unknown_symbols);
  counter("sigflow_strategy_venue_errors_total", "Error replies from a venue", c.venue_errors);
  counter("sigflow_strategy_ignored_messages_total", "Well-formed messages of unused types",
          c.ignored_messages);
  counter("sigflow_book_gaps_total", "Books invalidated: chain breaks, crossed books, checksum mismatches",
          c.book_gaps);
  counter("sigflow_book_stale_deltas_total", "Diffs older than the book, dropped", c.stale_deltas);
  counter("sigflow_book_resync_requests_total", "Book resyncs asked of the feed thread", c.resync_requests);
  counter("sigflow_strategy_silent_topics_total", "Topics reported silent", c.silent_topics);
  counter("sigflow_strategy_request_drops_total", "Feed requests the full queue refused", c.request_drops);
  counter("sigflow_signals_total", "Signals emitted, one per instrument per cycle", c.signals);

  const StrategyThreadCounters& t = s.strategy.counters();
  counter("sigflow_cycles_total", "Strategy cycles run", t.cycles);
  counter("sigflow_cycles_late_total", "Cycles started more than a tenth of a period late", t.late_cycles);
  counter("sigflow_cycles_missed_total", "Cycle slots skipped after a stall", t.missed_cycles);
  counter("sigflow_signal_drops_total", "Signals lost to a full sink ring", t.signal_drops);

  for (std::size_t v = 0; v < core.venues().size(); ++v) {
    const strategies::VenueLatencies& l = core.venue_latencies(v);
    const MetricLabels labels = venue_label(core.venues()[v]);
    r.add_histogram("sigflow_frame_queue_seconds", "Frame received → taken from the ring by the strategy",
                    labels, l.queue);
    r.add_histogram("sigflow_frame_process_seconds", "Decoding a frame and applying its events", labels,
                    l.process);
    r.add_histogram("sigflow_receive_to_applied_seconds", "Frame received → all its events applied", labels,
                    l.receive_to_applied);
    r.add_histogram("sigflow_book_apply_seconds",
                    "One book snapshot or delta applied and checked (sampled 1 in 16)", labels, l.book_apply);
  }
  const StrategyThreadLatencies& tl = s.strategy.latencies();
  r.add_histogram("sigflow_cycle_duration_seconds", "A strategy cycle: features, model, signals, prompts", {},
                  tl.cycle_duration);
  r.add_histogram("sigflow_cycle_lateness_seconds", "Cycle due time → start", {}, tl.cycle_lateness);
  r.add_histogram("sigflow_tick_to_signal_seconds",
                  "Market event received → the first signal reflecting it handed to the sink", {},
                  tl.tick_to_signal);
}

void register_sink(MetricsRegistry& r, const PipelineStages& s) {
  r.add_counter("sigflow_sink_lines_written_total", "Signal lines written and flushed", {},
                [&sink = s.sink] { return sink.lines_written(); });
  r.add_counter("sigflow_sink_write_errors_total", "Signal lines that failed to write", {},
                [&sink = s.sink] { return sink.write_errors(); });
  r.add_histogram("sigflow_sink_write_seconds", "Signal handed to the sink → written and flushed", {},
                  s.sink.write_latency());
  r.add_gauge("sigflow_ring_depth_high_water", "Most frames a ring has held at once", {{"ring", "signals"}},
              [&sink = s.sink] { return static_cast<double>(sink.ring().depth_high_water()); });
}

void register_inference(MetricsRegistry& r, const InferenceThread& inference,
                        const StrategyThread& strategy) {
  const io::InferenceClient& client = inference.client();
  const io::InferenceCounters& c = client.counters();
  const Unlabelled counter{r};
  counter("sigflow_inference_jobs_total", "Prompt chunks submitted to the client", c.jobs_submitted);
  counter("sigflow_inference_jobs_refused_total", "Prompt chunks refused by a full client queue",
          c.jobs_refused);
  counter("sigflow_inference_jobs_expired_total", "Prompt chunks that outlived their maximum age",
          c.jobs_expired);
  counter("sigflow_inference_requests_total", "Requests sent, retries and split halves included", c.requests);
  counter("sigflow_inference_responses_ok_total", "2xx completions", c.responses_ok);
  r.add_counter("sigflow_inference_http_errors_total", "Error responses by class", {{"class", "429"}},
                c.http_429);
  r.add_counter("sigflow_inference_http_errors_total", "Error responses by class", {{"class", "4xx"}},
                c.http_4xx);
  r.add_counter("sigflow_inference_http_errors_total", "Error responses by class", {{"class", "5xx"}},
                c.http_5xx);
  counter("sigflow_inference_timeouts_total", "Requests that timed out", c.timeouts);
  counter("sigflow_inference_transport_failures_total", "Connections lost or refused", c.transport_failures);
  counter("sigflow_inference_retries_total", "Requests retried", c.retries);
  counter("sigflow_inference_splits_total", "Chunks split in halves after a too-large reply", c.splits);
  counter("sigflow_inference_limiter_waits_total", "Ready requests held back by RPM/TPM/in-flight limits",
          c.limiter_waits);
  counter("sigflow_inference_breaker_refusals_total", "Requests held back by an open breaker (each once)",
          c.breaker_refusals);
  // 2xx replies that gave no usable signal, by why; a truncated reply is split and retried by the client.
  const InferenceThreadCounters& t = inference.counters();
  for (std::size_t reason = 0; reason < kUnusableReplyReasons; ++reason)
    r.add_counter("sigflow_inference_replies_unusable_total",
                  "2xx replies that gave no usable signal, by reason",
                  {{"reason", std::string(to_string(static_cast<UnusableReply>(reason)))}},
                  t.unusable_by_reason[reason]);
  r.add_counter("sigflow_inference_replies_unusable_total",
                "2xx replies that gave no usable signal, by reason", {{"reason", "truncated"}}, c.truncated);
  r.add_counter("sigflow_inference_tokens_total", "Tokens used, as the provider's usage reports them",
                {{"kind", "prompt"}}, c.prompt_tokens);
  r.add_counter("sigflow_inference_tokens_total", "Tokens used, as the provider's usage reports them",
                {{"kind", "completion"}}, c.completion_tokens);
  r.add_gauge("sigflow_inference_breaker_open", "Circuit breaker: 0 closed, 0.5 half-open (probing), 1 open",
              {}, [&client] {
                switch (client.breaker().state()) {
                  case engine::BreakerState::closed:
                    return 0.0;
                  case engine::BreakerState::half_open:
                    return 0.5;
                  case engine::BreakerState::open:
                    break;
                }
                return 1.0;
              });
  r.add_histogram("sigflow_inference_round_trip_seconds", "Request sent → response complete, any status", {},
                  c.round_trip);
  const StrategyThreadLatencies& tl = strategy.latencies();
  r.add_histogram("sigflow_prompt_build_seconds", "Planning and writing one cycle's prompt chunks", {},
                  tl.prompt_build);
  if (const strategies::SignalMerger* merger = strategy.merger()) {
    r.add_counter("sigflow_llm_signals_total", "Signals whose source is the language model", {},
                  merger->counters().llm_signals);
    r.add_histogram("sigflow_inference_prompt_to_signal_seconds",
                    "Prompt planned → the model's view accepted into a signal", {},
                    merger->prompt_to_signal());
  }
}

void register_nats(MetricsRegistry& r, const NatsSignalSink& nats) {
  const io::nats::PublisherCounters& c = nats.counters();
  const Unlabelled counter{r};
  counter("sigflow_nats_published_total", "Signals handed to the JetStream publisher", c.published);
  counter("sigflow_nats_sent_total", "Messages sent, replays included", c.sent);
  counter("sigflow_nats_acked_total", "Messages JetStream acknowledged", c.acked);
  counter("sigflow_nats_duplicates_total", "Acks that JetStream marked duplicate (already stored)",
          c.duplicates);
  counter("sigflow_nats_spilled_total", "Messages written to the local spill file", c.spilled);
  counter("sigflow_nats_replayed_total", "Messages replayed from the spill file", c.replayed);
  counter("sigflow_nats_errors_total", "Negative acks and publish errors", c.errors);
  counter("sigflow_nats_timeouts_total", "Acks that did not come in time", c.timeouts);
  counter("sigflow_nats_reconnects_total", "Connections to NATS replaced", c.reconnects);
  r.add_counter("sigflow_nats_bad_lines_total", "Signal lines not mapped to an instrument and cycle", {},
                [&nats] { return nats.bad_lines(); });
  r.add_gauge("sigflow_nats_backlog", "Messages not yet acknowledged (in flight or spilled)", {},
              [&nats] { return static_cast<double>(nats.backlog()); });
}

// The second field of /proc/self/statm is resident pages.
double resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

double open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return 0;
  double n = 0;
  while (const dirent* e = readdir(dir))
    if (e->d_name[0] != '.') ++n;
  closedir(dir);
  return n - 1;  // the directory's own descriptor
}

// "1.2us": the 99th percentile of a snapshot, "-" when it is empty.
std::string p99_text(const engine::HistogramSnapshot& h) {
  if (h.count == 0) return "-";
  const double ns = static_cast<double>(h.percentile(0.99));
  char text[32];
  if (ns < 1e3)
    std::snprintf(text, sizeof text, "%.0fns", ns);
  else if (ns < 1e6)
    std::snprintf(text, sizeof text, "%.1fus", ns / 1e3);
  else
    std::snprintf(text, sizeof text, "%.1fms", ns / 1e6);
  return text;
}

}  // namespace

void register_pipeline_metrics(MetricsRegistry& registry, const PipelineStages& stages) {
  register_feed(registry, stages);
  register_strategy(registry, stages);
  register_sink(registry, stages);
  if (stages.inference) register_inference(registry, *stages.inference, stages.strategy);
  if (stages.nats) register_nats(registry, *stages.nats);
}

void register_process_metrics(MetricsRegistry& registry) {
  registry.add_gauge("process_resident_memory_bytes", "Resident memory size in bytes", {}, resident_bytes);
  registry.add_gauge("process_open_fds", "Number of open file descriptors", {}, open_fds);
}

std::string latency_p99s(const PipelineStages& stages) {
  // 31 KiB each: on the heap, once per status line, on the status thread.
  auto scratch = std::make_unique<engine::HistogramSnapshot>();
  auto merged = std::make_unique<engine::HistogramSnapshot>();
  const strategies::StrategyCore& core = stages.strategy.core();
  for (std::size_t v = 0; v < core.venues().size(); ++v) {
    core.venue_latencies(v).receive_to_applied.snapshot_into(*scratch);
    merged->merge(*scratch);
  }
  const auto p99 = [&scratch](const engine::LatencyHistogram& h) {
    h.snapshot_into(*scratch);
    return p99_text(*scratch);
  };
  const StrategyThreadLatencies& tl = stages.strategy.latencies();
  std::string out = "recv>applied=" + p99_text(*merged);
  out += " cycle=" + p99(tl.cycle_duration);
  out += " tick>signal=" + p99(tl.tick_to_signal);
  if (stages.inference) out += " llm_rtt=" + p99(stages.inference->client().counters().round_trip);
  return out;
}

}  // namespace sigflow::app
