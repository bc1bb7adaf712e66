#pragma once
// StrategyCore: the strategy thread's work, without the thread.
//
// The pipeline's strategy thread drains the FrameRings into on_frame() and calls on_cycle() every 50 ms;
// everything between — decoding, routing events to instruments, features, the local model, one signal
// per instrument per cycle — lives here, so tests and the replay tool drive exactly the code that runs
// live. All state is sized at construction; the per-frame and per-cycle paths do not allocate, lock or
// make syscalls. A bad frame is counted, logged (at most once per `error_log_interval_ns`, naming the
// connection and showing a bounded snippet of the frame) and skipped: the engine keeps running.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counter.hpp"
#include "engine/frame_ring.hpp"
#include "io/venues/binance/decoder.hpp"
#include "strategies/features.hpp"
#include "strategies/instrument_state.hpp"
#include "strategies/local_model.hpp"
#include "strategies/signal.hpp"

namespace sigflow::strategies {

// One feed connection, as the io layer numbered it.
struct ConnectionSpec {
  std::uint32_t conn_id = 0;
  std::string venue;   // market id of the frames on it: "binance-usdm"
  std::string route;   // for logs: "/public", "/market"
  std::string stream;  // a raw single-stream connection's stream ("btcusdt@depth20@100ms"); empty if combined
};

struct StrategyConfig {
  std::size_t book_capacity = OrderBook::kDefaultCapacity;
  io::binance::DecoderLimits decoder_limits{};
  LocalModelConfig model{};
  std::int64_t error_log_interval_ns = 1'000'000'000;
  std::size_t error_snippet_bytes = 160;
  std::FILE* error_log = stderr;  // where the rate-limited error lines go (nullptr: counted only)
};

// Counters of the strategy stage; written by the strategy thread only, readable from any thread.
struct StrategyCounters {
  engine::Counter frames;               // frames handed to on_frame
  engine::Counter decoded_events;       // market events applied to an instrument
  engine::Counter decode_errors;        // frames the decoder rejected
  engine::Counter unknown_connections;  // frames from a conn_id not in the table
  engine::Counter unknown_symbols;      // events for a symbol not in the universe
  engine::Counter acks;                 // subscribe / command acknowledgements
  engine::Counter venue_errors;         // error replies from a venue
  engine::Counter ignored_messages;     // well-formed messages of unused types (klines)
  engine::Counter book_gaps;            // diffs that broke a book's sequence chain
  engine::Counter stale_deltas;         // diffs older than the book, dropped
  engine::Counter signals;              // signals emitted
};

class StrategyCore {
 public:
  // Venues with a decoder today: "binance-usdm" (and "binance" spot, whose frames the same decoder reads).
  // Throws std::invalid_argument at setup for an unsupported venue, a duplicate conn_id or a duplicate
  // (venue, symbol): configuration errors that must stop the start, not be skipped at run time.
  StrategyCore(std::vector<InstrumentSpec> instruments, std::vector<ConnectionSpec> connections,
               StrategyConfig config = {});
  ~StrategyCore();
  StrategyCore(const StrategyCore&) = delete;
  StrategyCore& operator=(const StrategyCore&) = delete;

  // Decodes one frame and applies it to its instrument.
  void on_frame(const engine::FrameView& frame) noexcept;

  // Applies a REST depth snapshot body (the book-sync path of diff-depth books). Returns false, counted and
  // logged like a bad frame, when the body does not decode or names no known instrument.
  bool on_rest_depth_snapshot(std::string_view venue, std::string_view symbol, std::string_view body,
                              std::int64_t recv_ns) noexcept;

  // One strategy cycle: features and the local model for every instrument, exactly one signal each.
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

 private:
  struct Connection {
    std::uint32_t conn_id;
    std::uint16_t venue;
    std::string venue_name;
    std::string route;
    std::string stream;
  };
  struct SymbolKey {
    std::uint16_t venue;
    std::string symbol;
    std::size_t instrument;
  };

  const Connection* find_connection(std::uint32_t conn_id) const noexcept;
  InstrumentState* find_state(std::uint16_t venue, std::string_view symbol) noexcept;
  void apply_event(std::uint16_t venue) noexcept;
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
  io::binance::Decoder decoder_;
  io::MarketEvent event_;
  std::unique_ptr<StrategyCounters> counters_;  // own cache lines, stable address for readers
  std::int64_t last_log_ns_ = 0;
  bool logged_once_ = false;
  std::uint64_t suppressed_logs_ = 0;
};

}  // namespace sigflow::strategies
