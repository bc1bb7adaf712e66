#include "engine/app/record_command.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "engine/app/capture_file.hpp"
#include "engine/app/feed_thread.hpp"
#include "engine/app/rest_snapshots.hpp"
#include "engine/app/stop_signals.hpp"
#include "engine/app/venue_wiring.hpp"
#include "engine/clock.hpp"
#include "engine/frame_ring.hpp"
#include "strategies/strategy_core.hpp"

namespace sigflow::app {
namespace {

constexpr std::size_t kFeedRequestCapacity = 4096;
// Lines are gathered and written in blocks: one write per ~256 KiB, not one per frame.
constexpr std::size_t kWriteBlock = 256 * 1024;
// The request side's clock: the cadence at which overdue snapshots and silent topics are looked at.
constexpr std::int64_t kCycleNs = 50'000'000;

std::string websocket_address(const WebSocketUrl& url) {
  return std::string(url.tls ? "wss://" : "ws://") + url.host + ":" + std::to_string(url.port) + url.target;
}

class DiscardSignals final : public strategies::SignalSink {
 public:
  void on_signal(const strategies::Signal&) override {}
};

}  // namespace

struct Recorder::State {
  engine::Config config;
  VenueWiring wiring;
  std::unique_ptr<engine::FrameRing> ring;
  std::unique_ptr<strategies::FeedRequestQueue> requests;
  std::unique_ptr<strategies::StrategyCore> core;
  std::unique_ptr<FeedThread> feed;
  std::vector<std::string> venue_of_conn;  // index = conn_id
  std::FILE* out = nullptr;
  std::string block;
  std::uint64_t bytes = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t cycle = 0;
  std::int64_t next_cycle_ns = 0;
  DiscardSignals discard;

  void flush() {
    if (block.empty()) return;
    if (std::fwrite(block.data(), 1, block.size(), out) != block.size()) ++write_errors;
    bytes += block.size();
    block.clear();
  }
};

Recorder::Recorder(engine::Config config, const std::string& out_path, std::string extra_ca_pem)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.config = std::move(config);
  s.wiring = wire_venues(s.config);
  s.ring = std::make_unique<engine::FrameRing>(s.config.ring.arena_bytes, s.config.ring.max_frames);
  s.requests = std::make_unique<strategies::FeedRequestQueue>(kFeedRequestCapacity);
  strategies::StrategyConfig strategy_config;
  strategy_config.feed_requests = s.requests.get();
  s.core = std::make_unique<strategies::StrategyCore>(s.wiring.instruments, s.wiring.strategy_connections,
                                                      strategy_config);
  io::TlsOptions tls;
  tls.ca_file = s.wiring.ca_file;
  tls.ca_pem = std::move(extra_ca_pem);
  s.feed = std::make_unique<FeedThread>("feed", s.config.thread("feed"), s.wiring, std::move(tls), *s.ring,
                                        s.requests.get(), make_rest_snapshot_source_factory());

  s.out = std::fopen(out_path.c_str(), "wb");
  if (!s.out) throw std::runtime_error("cannot create '" + out_path + "'");
  s.block.reserve(kWriteBlock + (1u << 20));
  append_capture_header(s.block, engine::wall_ns());
  for (const strategies::ConnectionSpec& c : s.wiring.strategy_connections) {
    std::string addr;
    for (const FeedConnectionConfig& f : s.wiring.connections)
      if (f.connection_id == c.conn_id) addr = websocket_address(f.url);
    append_capture_connect(s.block, c.conn_id, c.venue, c.route, c.stream, addr);
    if (s.venue_of_conn.size() <= c.conn_id) s.venue_of_conn.resize(c.conn_id + 1);
    s.venue_of_conn[c.conn_id] = c.venue;
  }
  s.flush();
}

Recorder::~Recorder() {
  stop();
  if (state_->out) std::fclose(state_->out);
}

void Recorder::start() {
  state_->feed->start();
  writer_ = std::thread([this] { write_loop(); });
}

std::size_t Recorder::drain() {
  State& s = *state_;
  const std::size_t n = s.ring->consume([&](const engine::FrameView& frame) {
    const std::string_view venue = frame.conn_id < s.venue_of_conn.size()
                                       ? std::string_view(s.venue_of_conn[frame.conn_id])
                                       : std::string_view();
    append_capture_recv(s.block, frame.conn_id, venue, frame.recv_ns, frame.bytes);
    s.core->on_frame(frame);  // only for the requests it makes
    if (s.block.size() >= kWriteBlock) s.flush();
  });
  written_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

void Recorder::write_loop() {
  State& s = *state_;
  s.next_cycle_ns = engine::monotonic_ns() + kCycleNs;
  while (!stop_.load(std::memory_order_acquire)) {
    const std::size_t n = drain();
    const std::int64_t now = engine::monotonic_ns();
    if (now >= s.next_cycle_ns) {
      s.core->on_cycle(s.cycle++, now, now, s.discard);
      s.next_cycle_ns = now + kCycleNs;
    }
    if (n == 0) {
      s.flush();  // idle: make what arrived visible in the file
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void Recorder::stop() {
  if (!writer_.joinable()) return;
  State& s = *state_;
  s.feed->stop();
  stop_.store(true, std::memory_order_release);
  writer_.join();
  while (drain() != 0) {
  }
  s.flush();
  std::fflush(s.out);
}

const strategies::StrategyCore& Recorder::core() const noexcept {
  return *state_->core;
}

RecordTotals Recorder::totals() const noexcept {
  const State& s = *state_;
  RecordTotals t;
  t.frames = written_.load(std::memory_order_relaxed);
  t.ring_drops = s.feed->totals().ring_drops;
  t.bytes = s.bytes;
  t.write_errors = s.write_errors;
  return t;
}

int run_record(const RecordOptions& options) {
  try {
    const StopSignals signals;
    Recorder recorder(engine::load_config_file(options.config_path), options.out_path);
    recorder.start();
    const std::int64_t end =
        options.duration_s > 0 ? engine::monotonic_ns() + static_cast<std::int64_t>(options.duration_s * 1e9)
                               : INT64_MAX;
    std::uint64_t last_report = 0;
    std::int64_t next_report = engine::monotonic_ns() + 1'000'000'000;
    while (!signals.stop_requested() && engine::monotonic_ns() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (engine::monotonic_ns() >= next_report) {
        const std::uint64_t frames = recorder.frames_written();
        std::fprintf(stderr, "sigflow record: %llu frames (+%llu/s)\n",
                     static_cast<unsigned long long>(frames),
                     static_cast<unsigned long long>(frames - last_report));
        last_report = frames;
        next_report += 1'000'000'000;
      }
    }
    recorder.stop();
    const RecordTotals t = recorder.totals();
    std::fprintf(stderr,
                 "sigflow record: wrote %llu frames, %llu bytes to %s (ring drops %llu, write errors %llu)\n",
                 static_cast<unsigned long long>(t.frames), static_cast<unsigned long long>(t.bytes),
                 options.out_path.c_str(), static_cast<unsigned long long>(t.ring_drops),
                 static_cast<unsigned long long>(t.write_errors));
    return t.write_errors == 0 ? 0 : 1;
  } catch (const engine::ConfigError& e) {
    std::fprintf(stderr, "sigflow record: configuration error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sigflow record: %s\n", e.what());
    return 2;
  }
}

}  // namespace sigflow::app
