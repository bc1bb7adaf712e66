#pragma once
// StrategyCore: the strategy thread's work, without the thread.
//
// The pipeline's strategy thread drains the FrameRings into on_frame() and calls on_cycle() every 50 ms;
// everything between — decoding, routing events to instruments, features, the local model, one signal
// per instrument per cycle — lives here, so tests and the replay tool drive exactly the code that runs
// live. All state is sized at construction; the per-frame and per-cycle paths do not allocate, lock or
// make syscalls. A bad frame is counted, logged (at most once per `error_log_interval_ns`, naming the
// connection and showing a bounded snippet of the frame) and skipped: the engine keeps running.
//
// Each market id gets one decoder (io::make_decoder). Frames of a connection whose route is "rest" are REST
// depth snapshot bodies for the connection's `stream` (the symbol): that is how the feed thread delivers
// the snapshots the books ask for. Book integrity is each instrument's BookSync; when a book needs a
// snapshot, or a watched topic falls silent, the core pushes a FeedRequest to the feed thread (or, with no
// queue, as in replay, only counts it).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "engine/histogram.hpp"
#include "io/venues/venue_decoder.hpp"
#include "strategies/book_sync.hpp"
#include "strategies/features.hpp"
#include "strategies/feed_request.hpp"
#include "strategies/instrument_state.hpp"
#include "strategies/local_model.hpp"
#include "strategies/signal.hpp"

namespace sigflow::strategies {

// One feed connection, as the io layer numbered it.
struct ConnectionSpec {
  std::uint32_t conn_id = 0;
  std::string venue;   // market id of the frames on it: "binance-usdm"
  std::string route;   // for logs: "/public", "/market"; "rest": REST depth snapshot bodies for `stream`
  std::string stream;  // a raw single-stream connection's stream ("btcusdt@depth20@100ms"); empty if
                       // combined; the symbol on a "rest" connection
  // Indexes (into the instruments) of the books whose updates this connection carries: resynced when the
  // ring reports frames of this connection lost (engine::FrameView::after_loss).
  std::vector<std::uint32_t> books{};
};

inline constexpr std::string_view kRestRoute = "rest";

struct StrategyConfig {
  std::size_t book_capacity = OrderBook::kDefaultCapacity;
  LocalModelConfig model{};
  std::int64_t error_log_interval_ns = 1'000'000'000;
  std::size_t error_snippet_bytes = 160;
  std::FILE* error_log = stderr;  // where the rate-limited error lines go (nullptr: counted only)
  BookSyncLimits book_sync{};
  LivenessBounds liveness{};
  // Where book resyncs and silent topics are asked for (the feed thread drains it); nullptr: counted only.
  FeedRequestQueue* feed_requests = nullptr;
  // Largest REST body on_rest_depth_snapshot copies into its padded buffer (a 5000-level spot snapshot is
  // about 400 KB).
  std::size_t max_rest_body_bytes = 4u << 20;
  // Latency harness only (bench/e2e_bench.cpp): frames from the exchange simulator carry `"sim_ns":<ns>`,
  // the CLOCK_MONOTONIC time its schedule emitted them; timed frames then also record stamp → applied.
  bool send_stamp_probe = false;
};

// Counters of the strategy stage; written by the strategy thread only, readable from any thread.
struct StrategyCounters {
  engine::Counter frames;               // frames handed to on_frame
  engine::Counter decoded_frames;       // of which the decoder accepted (the rest: decode_errors, unknown)
  engine::Counter decoded_events;       // market events applied to an instrument
  engine::Counter decode_errors;        // frames the decoder rejected
  engine::Counter unknown_connections;  // frames from a conn_id not in the table
  engine::Counter unknown_symbols;      // events for a symbol not in the universe
  engine::Counter acks;                 // subscribe / command acknowledgements
  engine::Counter venue_errors;         // error replies from a venue
  engine::Counter ignored_messages;     // well-formed messages of unused types (klines)
  engine::Counter book_gaps;           // book invalidations: chain breaks, crossed books, checksum mismatches
  engine::Counter stale_deltas;        // diffs older than the book, dropped
  engine::Counter buffered_deltas;     // Binance diffs buffered until their REST snapshot
  engine::Counter rejected_snapshots;  // REST snapshots older than the buffered diffs
  engine::Counter resync_requests;     // FeedRequest kBookResync issued (pushed or, without a queue, counted)
  engine::Counter silent_topics;       // FeedRequest kTopicSilent issued
  engine::Counter request_drops;       // requests the full queue refused (retried after their timeout)
  engine::Counter frame_losses;        // frames flagged after_loss: the ring dropped frames before them
  engine::Counter loss_resyncs;        // books invalidated (and resynced) because their frames were lost
  engine::Counter signals;             // signals emitted
  // A gauge, set every cycle: books not live (waiting for their first or a repairing snapshot).
  alignas(engine::kCacheLine) std::atomic<std::uint64_t> books_not_live{0};
};

// Latencies of one venue's frames on the strategy thread, in ns (engine/histogram.hpp). Timed only when
// the caller passes when it took the frame from the ring (the pipeline does; replay does not).
//  - queue: the feed thread's receive stamp → taken from the ring (ring dwell and thread hand-off);
//  - process: decoding the frame and applying its events (the decode alone is process − book_apply);
//  - receive_to_applied: receive stamp → every event of the frame applied, i.e. queue + process;
//  - book_apply: one book snapshot or delta applied and sequence-checked, sampled: one event in
//    kBookApplySampleEvery pays the two extra clock reads, so timing costs the hot path one clock read
//    per frame, not three per event.
struct VenueLatencies {
  engine::LatencyHistogram queue;
  engine::LatencyHistogram process;
  engine::LatencyHistogram receive_to_applied;
  engine::LatencyHistogram book_apply;
};

class StrategyCore {
 public:
  static constexpr std::uint32_t kBookApplySampleEvery = 16;

  // Throws std::invalid_argument at setup for a venue without a decoder (io::make_decoder) or book-sync
  // rules, a duplicate conn_id or a duplicate (venue, symbol): configuration errors that must stop the
  // start, not be skipped at run time.
  StrategyCore(std::vector<InstrumentSpec> instruments, std::vector<ConnectionSpec> connections,
               StrategyConfig config = {});
  ~StrategyCore();
  StrategyCore(const StrategyCore&) = delete;
  StrategyCore& operator=(const StrategyCore&) = delete;

  // Decodes one frame and applies its events to their instruments. `dequeued_ns` (monotonic) is when the
  // caller took the frame from its ring: non-zero times the frame into venue_latencies() and returns the
  // time it finished, which the caller passes as the next frame's `dequeued_ns` (one clock read per frame).
  // Zero: untimed, returns 0.
  std::int64_t on_frame(const engine::FrameView& frame, std::int64_t dequeued_ns = 0) noexcept;

  // Applies an unpadded REST depth snapshot body (copied into a padded buffer first; tests and tools use
  // it — the pipeline delivers bodies as frames of a "rest" connection). Returns false, counted and logged
  // like a bad frame, when the body does not decode or names no known instrument.
  bool on_rest_depth_snapshot(std::string_view venue, std::string_view symbol, std::string_view body,
                              std::int64_t recv_ns) noexcept;

  // One strategy cycle: features and the local model for every instrument, exactly one signal each, in
  // instruments() order; also re-requests overdue snapshots and reports silent topics.
  // `now_ns` is monotonic (windows, data age), `wall_ns` stamps the signals.
  void on_cycle(std::uint64_t cycle, std::int64_t now_ns, std::int64_t wall_ns, SignalSink& sink) noexcept;

  // Features of every instrument as of the last cycle, index-aligned with instruments(): the prompt
  // builder's input. Views stay valid for the core's lifetime; values change at the next on_cycle.
  std::span<const InstrumentFeatures> features() const noexcept { return features_; }
  std::span<const InstrumentState> instruments() const noexcept { return states_; }

  // Index of (venue, symbol) in instruments(), or -1.
  int find_instrument(std::string_view venue, std::string_view symbol) const noexcept;

  // The prompt builder calls this for each instrument it put into a prompt.
  void reset_change_score(std::size_t instrument) noexcept;

  const StrategyCounters& counters() const noexcept { return *counters_; }
  const LocalModel& model() const noexcept { return model_; }
  // Market ids of the connections, and their frame latencies (index-aligned).
  const std::vector<std::string>& venues() const noexcept { return venues_; }
  const VenueLatencies& venue_latencies(std::size_t venue) const noexcept { return *latencies_[venue]; }
  // Simulator send stamp → frame applied (send_stamp_probe only).
  const engine::LatencyHistogram& send_to_applied() const noexcept { return *send_to_applied_; }

 private:
  struct Connection {
    std::uint32_t conn_id;
    std::uint16_t venue;
    std::string venue_name;
    std::string route;
    std::string stream;
    bool rest;  // route == kRestRoute: frames are REST depth bodies for `stream`
    std::vector<std::uint32_t> books;
  };
  // Receives a frame's events from the decoder and applies each to its instrument.
  class EventApplier final : public io::EventSink {
   public:
    explicit EventApplier(StrategyCore& core) : core_(core) {}
    void on_event(const io::MarketEvent& event) noexcept override { core_.apply_event(venue, event); }
    std::uint16_t venue = 0;

   private:
    StrategyCore& core_;
  };
  struct SymbolKey {
    std::uint16_t venue;
    std::string symbol;
    std::size_t instrument;
  };

  const Connection* find_connection(std::uint32_t conn_id) const noexcept;
  InstrumentState* find_state(std::uint16_t venue, std::string_view symbol) noexcept;
  void apply_event(std::uint16_t venue, const io::MarketEvent& event) noexcept;
  void on_frames_lost(const Connection& connection, std::int64_t now_ns) noexcept;
  void request(FeedRequest::Kind kind, io::TopicKind topic, std::size_t instrument,
               std::int64_t last_data_ns = 0) noexcept;
  void record_send_stamp(std::string_view frame, std::int64_t done_ns) noexcept;
  std::uint16_t venue_index(const std::string& venue);
  static constexpr std::int64_t kNoConnection = -1;
  void log_error(std::string_view venue, std::int64_t conn_id, std::string_view route, std::string_view what,
                 std::string_view detail, std::string_view frame) noexcept;

  StrategyConfig config_;
  std::vector<std::string> venues_;      // index = venue id used in Connection / SymbolKey
  std::vector<Connection> connections_;  // sorted by conn_id
  std::vector<SymbolKey> symbols_;       // sorted by (venue, symbol)
  std::vector<InstrumentState> states_;
  std::vector<InstrumentFeatures> features_;
  LocalModel model_;
  std::vector<std::unique_ptr<io::VenueDecoder>> decoders_;  // index = venue id
  std::vector<std::unique_ptr<VenueLatencies>> latencies_;   // index = venue id; 124 KiB each
  bool timing_frame_ = false;                                // the frame in on_frame is timed
  std::unique_ptr<engine::LatencyHistogram> send_to_applied_ = std::make_unique<engine::LatencyHistogram>();
  std::vector<std::uint32_t> book_events_;  // index = venue id; book_apply sampling
  EventApplier applier_{*this};
  std::string rest_body_;  // padded copy of on_rest_depth_snapshot's body, reserved at construction
  std::unique_ptr<StrategyCounters> counters_;  // own cache lines, stable address for readers
  std::int64_t last_log_ns_ = 0;
  bool logged_once_ = false;
  std::uint64_t suppressed_logs_ = 0;
};

}  // namespace sigflow::strategies
