#pragma once
// NatsSignalSink: the sink thread's side of [nats]. Each signal line the sink drains is published, as is, to
// JetStream subject <prefix>.signals.<venue>.<symbol> with message id
// "<engine id>:<run>:<venue>:<symbol>:<cycle>", through io::nats::JetStreamPublisher (async acks, bounded in
// flight, spill file replayed in order). NATS is in addition to the file/stdout sink, never instead: the
// local line stays the record of what the engine decided even while NATS is down (set [sink] signals to
// /dev/null to have NATS alone).
//
// Why <run>: cycle numbers restart at 0 with every start of the engine, and JetStream drops a message whose
// id it saw within the duplicate window; the run (the engine's start time, wall-clock ns) keeps a restarted
// engine's cycle 0 from being taken for the previous run's. Within a run, a replay reuses the id it was
// first sent with (the spill file stores it), which is what lets JetStream drop the copies it already has.
//
// Where venue, symbol and cycle come from: the strategy thread puts the instrument index in the frame's
// conn_id (free: the field is there), so venue and symbol, and the subject and id prefix made of them, are
// a table lookup built once here; the cycle is read from the line's fixed prefix {"ts_ns":N,"cycle":N,
// (strategies::append_json_line writes those two first, always) with std::from_chars. No JSON parse, no
// allocation per line, and nothing on the strategy thread beyond the index it already has.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "io/nats/jetstream_publisher.hpp"
#include "strategies/instrument_state.hpp"

namespace sigflow::app {

class NatsSignalSink {
 public:
  // `instruments` in the strategy's order (the index the strategy thread puts in conn_id).
  NatsSignalSink(const engine::Config& config, const std::vector<strategies::InstrumentSpec>& instruments);

  // Sink thread only.
  void on_line(const engine::FrameView& line);
  bool poll() { return publisher_->poll(); }
  bool flush(std::int64_t timeout_ms) { return publisher_->flush(timeout_ms); }

  // Counters for the status line and Prometheus (any thread): the publisher's (published, sent, acked,
  // duplicates, spilled, replayed, errors, timeouts, reconnects; io/nats/jetstream_publisher.hpp), its
  // backlog, and lines this sink could not map to an instrument and cycle (not published).
  const io::nats::PublisherCounters& counters() const noexcept { return publisher_->counters(); }
  std::uint64_t backlog() const noexcept { return publisher_->backlog(); }
  std::uint64_t bad_lines() const noexcept { return bad_lines_.load(); }

  // "<prefix>.signals.<venue>.<symbol>" with '.', '*', '>' and whitespace in venue or symbol made '_'.
  static std::string subject_for(const std::string& prefix, const std::string& venue,
                                 const std::string& symbol);

 private:
  struct Route {
    std::string subject;
    std::string id_prefix;  // "<engine>:<run>:<venue>:<symbol>:"
  };
  std::vector<Route> routes_;
  std::string id_;  // reused per line
  engine::Counter bad_lines_;
  std::unique_ptr<io::nats::JetStreamPublisher> publisher_;
};

}  // namespace sigflow::app
