// End-to-end latency harness: the exchange simulator sends at a fixed offered rate over loopback TLS
// WebSockets, all six markets at once, into the whole engine (feed thread, frame ring, strategy thread,
// books, cycles, signals to the sink). For each offered rate it prints the latency from the simulator's
// schedule to "frame applied to the book" and the engine's own stage latencies, as p50/p99/p99.9/max, and
// whether anything was lost.
//
// Method:
//  - The simulator stamps each frame with the CLOCK_MONOTONIC time its schedule emitted the frame
//    (tools/exchange-sim/venue.hpp), not the time the socket took it: when the engine falls behind, TCP
//    pushes back, and those frames carry the wait. That is the coordinated-omission correction: latency is
//    measured from when the frame should have gone out. The generator runs in 1 ms ticks, so the offered
//    load arrives in bursts of one tick's worth.
//  - Both ends run in this process on one machine: one clock, no skew.
//  - Warm-up is excluded: histograms are snapshotted after it and at the end, and the difference reported.
//  - The offered load is what the simulator actually sent (it shares the cores and may fall short of the
//    target, printed beside it). A point is sustained when the simulator kept its own schedule, the engine
//    received at least 99% of what was sent, dropped none (ring full), was never cut off as a slow consumer,
//    never reconnected, and every frame decoded.
//  - The simulator shares the machine's cores with the engine: its TLS encryption and framing cost CPU the
//    engine would have to itself in production. Figures here bound the engine's latency from above.
//
// Usage: bench_e2e [--rates 50000,200000,1000000] [--seconds 10] [--warmup 3] [--instruments 8]
//                  [--pin-feed CPU --pin-strategy CPU] [--busy-poll]
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "bench/allocation_counter.hpp"
#include "engine/app/pipeline.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "io/venues/venue_protocol.hpp"
#include "tools/exchange-sim/exchange_sim.hpp"

namespace {

using sigflow::engine::HistogramSnapshot;
using sigflow::engine::LatencyHistogram;

struct Options {
  std::vector<double> rates{50'000, 200'000, 1'000'000};
  double seconds = 10;
  double warmup = 3;
  std::size_t instruments = 8;
  int pin_feed = -1;
  int pin_strategy = -1;
  bool busy_poll = false;
};

// What one point in time looks like, for the difference between the end of warm-up and the end.
struct Sample {
  std::int64_t at_ns = 0;
  std::unique_ptr<HistogramSnapshot> send_to_applied = std::make_unique<HistogramSnapshot>();
  std::unique_ptr<HistogramSnapshot> receive_to_applied = std::make_unique<HistogramSnapshot>();
  std::unique_ptr<HistogramSnapshot> process = std::make_unique<HistogramSnapshot>();
  std::unique_ptr<HistogramSnapshot> tick_to_signal = std::make_unique<HistogramSnapshot>();
  sigflow::tools::ExchangeSimStats sim;
  sigflow::app::PipelineTotals engine;
  std::vector<sigflow::bench::ThreadAllocations> allocations;
};

Sample take_sample(const sigflow::app::Pipeline& pipeline, const sigflow::tools::ExchangeSim& sim) {
  Sample s;
  s.at_ns = sigflow::engine::monotonic_ns();
  s.allocations = sigflow::bench::thread_allocations();
  s.sim = sim.stats();
  s.engine = pipeline.totals();
  const auto& core = pipeline.strategy_core();
  core.send_to_applied().snapshot_into(*s.send_to_applied);
  auto scratch = std::make_unique<HistogramSnapshot>();
  for (std::size_t v = 0; v < core.venues().size(); ++v) {
    core.venue_latencies(v).receive_to_applied.snapshot_into(*scratch);
    s.receive_to_applied->merge(*scratch);
    core.venue_latencies(v).process.snapshot_into(*scratch);
    s.process->merge(*scratch);
  }
  pipeline.strategy().latencies().tick_to_signal.snapshot_into(*s.tick_to_signal);
  return s;
}

// The values recorded between two snapshots of one histogram. The maximum is the top of the highest
// non-empty bucket (within 1/128), capped by the histogram's running maximum.
std::unique_ptr<HistogramSnapshot> between(const HistogramSnapshot& a, const HistogramSnapshot& b) {
  auto d = std::make_unique<HistogramSnapshot>();
  for (std::size_t i = 0; i < d->counts.size(); ++i) {
    d->counts[i] = b.counts[i] - a.counts[i];
    d->count += d->counts[i];
    if (d->counts[i]) d->max_ns = std::min(LatencyHistogram::bucket_highest(i), b.max_ns);
  }
  d->sum_ns = b.sum_ns - a.sum_ns;
  return d;
}

std::string us(double ns) {
  char text[32];
  std::snprintf(text, sizeof text, ns < 10'000'000 ? "%.1f" : "%.0f", ns / 1e3);
  return text;
}

std::string quantiles(const HistogramSnapshot& h) {
  if (h.count == 0) return "             -";
  return us(static_cast<double>(h.percentile(0.5))) + " / " + us(static_cast<double>(h.percentile(0.99))) +
         " / " + us(static_cast<double>(h.percentile(0.999))) + " / " + us(static_cast<double>(h.max_ns));
}

sigflow::engine::Config engine_config(const sigflow::tools::ExchangeSim& sim, const Options& o) {
  sigflow::engine::Config c;
  c.source = "bench_e2e";
  c.signals_path = "/dev/null";
  c.status_interval_ms = 0;
  c.ring.arena_bytes = 64u << 20;
  c.ring.max_frames = 1u << 18;
  for (const std::string& id : sim.venues()) {
    sigflow::engine::VenueConfig v = sigflow::app::loopback_venue(id, sim.port(), sim.symbols(id));
    v.max_message_bytes = 4u << 20;
    c.venues.push_back(v);
  }
  const auto wait = o.busy_poll ? sigflow::engine::WaitMode::kBusyPoll : sigflow::engine::WaitMode::kSleep;
  c.threads["feed"].wait = wait;
  c.threads["strategy"].wait = wait;
  if (o.pin_feed >= 0) c.threads["feed"].cpu = o.pin_feed;
  if (o.pin_strategy >= 0) c.threads["strategy"].cpu = o.pin_strategy;
  return c;
}

struct RateResult {
  double sent = 0;  // frames/s the simulator delivered: the load actually offered
  bool sustained = false;
};

RateResult run_rate(double rate, const Options& o) {
  sigflow::tools::ExchangeSimConfig sim_config;
  for (const auto& venue : sigflow::tools::every_sim_venue())
    if (sigflow::io::find_protocol(venue.id)) sim_config.venues.push_back({venue.id, {}});
  sim_config.instruments = o.instruments;
  sim_config.rate = rate;
  sim_config.stamp_send_ns = true;
  sim_config.ping_interval = std::chrono::milliseconds(60'000);
  sim_config.max_backlog_bytes = 512u << 20;
  sigflow::tools::ExchangeSim sim(sim_config);
  if (const auto started = sim.start(); !started.ok()) {
    std::fprintf(stderr, "bench_e2e: simulator: %s\n", started.error.c_str());
    std::exit(1);
  }
  sigflow::strategies::StrategyConfig strategy;
  strategy.send_stamp_probe = true;
  sigflow::app::Pipeline pipeline(engine_config(sim, o), sim.ca_pem(), strategy);
  pipeline.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (pipeline.feed().connections_open() < pipeline.feed().connection_count() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const Sample a = take_sample(pipeline, sim);
  sigflow::bench::g_trace_armed = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  const Sample b = take_sample(pipeline, sim);
  sigflow::bench::g_trace_armed = false;
  pipeline.stop();
  sim.stop();

  const double secs = static_cast<double>(b.at_ns - a.at_ns) / 1e9;
  const auto d = [](std::uint64_t x, std::uint64_t y) { return y - x; };
  const double sent = static_cast<double>(d(a.sim.frames_sent, b.sim.frames_sent)) / secs;
  const double received = static_cast<double>(d(a.engine.frames, b.engine.frames)) / secs;
  const std::uint64_t ring_drops = d(a.engine.ring_drops, b.engine.ring_drops);
  const std::uint64_t slow = d(a.sim.slow_consumer_disconnects, b.sim.slow_consumer_disconnects);
  const std::uint64_t lag = d(a.sim.generator_lag_resets, b.sim.generator_lag_resets);
  const std::uint64_t errors = d(a.engine.decode_errors, b.engine.decode_errors);
  const std::uint64_t reconnects = d(a.engine.disconnects, b.engine.disconnects);
  // What the simulator actually sent is the offered load (it shares the cores and may fall short of the
  // target); a schedule it could not keep (lag resets) makes the point invalid rather than sustained.
  const bool kept_up =
      received >= 0.99 * sent && ring_drops == 0 && slow == 0 && errors == 0 && reconnects == 0;
  const bool sustained = lag == 0 && kept_up;

  std::printf(
      "offered %9.0f/s  sim sent %9.0f/s  engine received %9.0f/s  ring_drops %llu  "
      "slow_consumer_disconnects %llu  generator_lag_resets %llu  decode_errors %llu  reconnects %llu  "
      "-> %s\n",
      rate, sent, received, static_cast<unsigned long long>(ring_drops),
      static_cast<unsigned long long>(slow), static_cast<unsigned long long>(lag),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(reconnects),
      sustained ? "sustained"
      : lag     ? "invalid (the simulator fell behind its own schedule)"
                : "NOT sustained (the engine fell behind)");
  std::printf("  %-44s %s  (%llu frames)\n", "sim schedule -> applied   (p50/p99/p99.9/max us)",
              quantiles(*between(*a.send_to_applied, *b.send_to_applied)).c_str(),
              static_cast<unsigned long long>(between(*a.send_to_applied, *b.send_to_applied)->count));
  std::printf("  %-44s %s\n", "engine receive -> applied (p50/p99/p99.9/max us)",
              quantiles(*between(*a.receive_to_applied, *b.receive_to_applied)).c_str());
  std::printf("  %-44s %s\n", "decode + apply per frame  (p50/p99/p99.9/max us)",
              quantiles(*between(*a.process, *b.process)).c_str());
  std::printf("  %-44s %s\n", "tick -> signal            (p50/p99/p99.9/max us)",
              quantiles(*between(*a.tick_to_signal, *b.tick_to_signal)).c_str());
  // The hot threads' heap allocations while the measured frames went through them (malloc interposed, so
  // OpenSSL's and wslay's count too).
  std::printf("  heap allocations in the measured window:");
  for (const char* thread : {"feed", "strategy", "sink"})
    std::printf(" %s %llu", thread,
                static_cast<unsigned long long>(sigflow::bench::allocations_of(b.allocations, thread) -
                                                sigflow::bench::allocations_of(a.allocations, thread)));
  std::printf("  (over %llu frames, %llu signals)\n",
              static_cast<unsigned long long>(d(a.engine.frames, b.engine.frames)),
              static_cast<unsigned long long>(d(a.engine.signals, b.engine.signals)));
  std::fflush(stdout);
  return {sent, sustained};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App cli{"End-to-end latency: exchange simulator -> loopback TLS -> sigflow, at fixed offered rates"};
  cli.add_option("--rates", o.rates, "Offered frames per second, summed over all connections")
      ->delimiter(',');
  cli.add_option("--seconds", o.seconds, "Measured seconds per rate");
  cli.add_option("--warmup", o.warmup, "Seconds per rate before measuring");
  cli.add_option("--instruments", o.instruments, "Instruments per venue");
  cli.add_option("--pin-feed", o.pin_feed, "CPU for the feed thread");
  cli.add_option("--pin-strategy", o.pin_strategy, "CPU for the strategy thread");
  cli.add_flag("--busy-poll", o.busy_poll, "Feed and strategy threads spin instead of sleeping");
  CLI11_PARSE(cli, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  std::printf("bench_e2e: six markets, %zu instruments each, %.0f s per rate after %.0f s warm-up, %u CPUs\n",
              o.instruments, o.seconds, o.warmup, std::thread::hardware_concurrency());
  double best = 0;
  for (double rate : o.rates) {
    const RateResult r = run_rate(rate, o);
    if (r.sustained && r.sent > best) best = r.sent;
  }
  if (best > 0)
    std::printf("highest offered load sustained with nothing lost: %.0f frames/s\n", best);
  else
    std::printf("no offered rate was sustained\n");
  return 0;
}
