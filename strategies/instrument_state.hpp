#pragma once
// InstrumentState: everything the strategy thread knows about one instrument, updated event by event and
// summarised once per cycle as InstrumentFeatures.
//
// Window state is fixed-size: traded volume lives in a ring of 100 ms buckets covering 10 s, mid prices
// in a ring of per-cycle samples covering more than 10 s of 50 ms cycles. Nothing allocates after
// construction. Time windows use the local monotonic receive time of each frame (the clock the cycle
// runs on), never the venue's clock, so a venue's clock skew cannot stretch a window.
//
// The book follows the venue's sequence ids through a BookSync (strategies/book_sync.hpp), the venue
// family's state machine: it decides what a snapshot or a diff does to the book, and when the book needs a
// fresh snapshot. The state also watches data liveness per topic kind (book, best bid/ask, ticker): a kind
// that delivered data and then went silent for longer than its bound is reported once, and again at most
// every retry interval while it stays silent.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "io/venues/market_event.hpp"
#include "io/venues/venue_protocol.hpp"
#include "strategies/book_sync.hpp"
#include "strategies/features.hpp"
#include "strategies/order_book.hpp"

namespace sigflow::strategies {

// Data-liveness bounds per watched topic kind; 0 turns a kind's watch off. The engine takes them from the
// venue's rules (each topic's VenueProtocol max_silence_ns, overridable per venue in the config); these
// defaults serve instruments built without a venue's rules (replay, tests).
struct LivenessBounds {
  std::int64_t book_ns = 10'000'000'000;
  std::int64_t best_bid_ask_ns = 10'000'000'000;
  std::int64_t ticker_ns = 30'000'000'000;  // mark/funding pushes are 1-3 s apart
  // A topic still silent is reported again after this long; 0: after its own bound (the feed thread decides
  // what a report costs, and backs off itself).
  std::int64_t retry_ns = 0;
};

struct InstrumentSpec {
  std::string venue;       // market id: "binance-usdm"
  std::string symbol;      // venue's symbol: "BTCUSDT"
  std::string instrument;  // normalized: "BTC-USDT-PERP"
  // The venue's limits for this instrument's topics; unset: StrategyConfig::liveness.
  std::optional<LivenessBounds> liveness{};
};

enum class ApplyResult : std::uint8_t {
  kApplied,
  kBuffered,          // a Binance diff kept until its REST snapshot arrives
  kStale,             // a diff older than the book (or a WS diff before any snapshot): dropped
  kGap,               // the chain broke, the book crossed or failed its checksum: book invalidated
  kSnapshotRejected,  // a REST snapshot older than the buffered diffs: another one is wanted
  kNotMarket,         // a control event (ack, error, ignored type): nothing to apply
};

class InstrumentState {
 public:
  static constexpr std::int64_t kBucketNs = 100'000'000;  // 100 ms trade-volume buckets
  static constexpr std::size_t kBuckets = 100;            // × 100 ms = the 10 s volume window
  static constexpr std::size_t kMidSamples = 256;         // > 10 s of 50 ms cycles

  // Throws std::invalid_argument for a venue without a book-sync family.
  explicit InstrumentState(InstrumentSpec spec, std::size_t book_capacity = OrderBook::kDefaultCapacity,
                           const BookSyncLimits& sync_limits = {}, const LivenessBounds& liveness = {});

  const InstrumentSpec& spec() const noexcept { return spec_; }

  // Applies one decoded event of this instrument.
  ApplyResult apply(const io::MarketEvent& event) noexcept;

  // Once per strategy cycle: samples the mid for the return windows and accumulates the change score.
  void on_cycle(std::int64_t now_ns) noexcept;

  // A watched topic kind that has been silent past its bound, at most one per call (see the file comment).
  std::optional<io::TopicKind> take_silent_topic(std::int64_t now_ns) noexcept;
  // When a watched kind last delivered data (monotonic ns; INT64_MIN: never). The feed thread measures a
  // reported silence from it, or from the topic's latest (re)subscription when that came later.
  std::int64_t last_data_ns(io::TopicKind kind) const noexcept;

  // True when the book wants a snapshot request sent now (BookSync::take_snapshot_request).
  bool take_snapshot_request(std::int64_t now_ns) noexcept { return sync_.take_snapshot_request(now_ns); }
  // Frames that may have carried this book's updates were lost: BookSync::on_frames_lost.
  bool invalidate_book() noexcept { return sync_.on_frames_lost(book_); }

  // The instrument at `now_ns` (monotonic): every field filled, NaN where nothing is known.
  InstrumentFeatures features(std::int64_t now_ns) const noexcept;

  // How much the state moved since the last reset, in "bps-equivalents": the path length of the mid in
  // bps plus 10 × the path length of the top-5 imbalance, sampled each cycle. The prompt builder ranks
  // instruments by it and resets it when it puts the instrument into a prompt.
  double change_score() const noexcept { return change_score_; }
  void reset_change_score() noexcept { change_score_ = 0; }

  bool has_market_data() const noexcept { return last_update_ns_ != kNever; }
  const OrderBook& book() const noexcept { return book_; }
  const BookSync& book_sync() const noexcept { return sync_; }
  BookState book_state() const noexcept { return sync_.state(); }
  std::uint64_t book_last_update_id() const noexcept { return sync_.last_update_id(); }

  // Last values as received (the venue's exact decimals), for summaries and the decode tool.
  const io::Trade& last_trade() const noexcept { return last_trade_; }
  bool has_trade() const noexcept { return last_trade_ns_ != kNever; }
  const io::BestBidAsk& best_bid_ask() const noexcept { return bbo_; }
  bool has_best_bid_ask() const noexcept { return bbo_recv_ns_ != kNever; }
  double mark_price() const noexcept { return mark_price_; }
  double index_price() const noexcept { return index_price_; }
  std::int64_t next_funding_ts_ns() const noexcept { return next_funding_ts_ns_; }

  std::uint64_t trades() const noexcept { return trades_; }
  // Snapshots and diffs applied to the book.
  std::uint64_t book_updates() const noexcept {
    return sync_.counters().snapshots + sync_.counters().updates;
  }
  std::uint64_t gaps() const noexcept { return sync_.counters().gaps; }
  std::uint64_t resyncs() const noexcept { return sync_.counters().resyncs; }
  std::uint64_t snapshots() const noexcept { return sync_.counters().snapshots; }
  std::uint64_t stale_deltas() const noexcept { return sync_.counters().stale; }
  std::uint64_t crossed_books() const noexcept { return sync_.counters().crossed; }
  std::uint64_t silent_topic_reports() const noexcept { return silent_reports_; }
  std::uint64_t liquidations() const noexcept { return liquidations_; }

 private:
  static constexpr std::int64_t kNever = INT64_MIN;

  // Top of book from whichever source is fresher: the bookTicker channel or the book's best levels.
  struct TopOfBook {
    double bid = kAbsent, bid_size = kAbsent, ask = kAbsent, ask_size = kAbsent;
    bool valid() const noexcept { return bid_size + ask_size > 0 && ask > bid && bid > 0; }
  };

  struct VolumeBucket {
    std::int64_t index = kNever;  // recv_ns / kBucketNs of the bucket's interval
    double volume = 0;
    double taker_buy_volume = 0;
  };

  struct MidSample {
    std::int64_t ts_ns = kNever;
    double mid = kAbsent;
  };

  struct TopicWatch {
    io::TopicKind kind;
    std::int64_t bound_ns = 0;
    std::int64_t last_data_ns = kNever;
    std::int64_t reported_ns = kNever;  // last report of the current silence; kNever when data flows
  };

  ApplyResult apply_book(const io::MarketEvent& event) noexcept;
  void apply_trade(const io::MarketEvent& event) noexcept;
  void saw_data(std::size_t watch, std::int64_t recv_ns) noexcept;

  TopOfBook top_of_book() const noexcept;
  bool book_usable() const noexcept;
  double imbalance(std::size_t levels) const noexcept;
  double mid_return_bps(std::int64_t now_ns, std::int64_t horizon_ns, double mid) const noexcept;

  InstrumentSpec spec_;
  OrderBook book_;
  BookSync sync_;
  std::int64_t book_exchange_ts_ = kNever;
  std::int64_t book_recv_ns_ = kNever;

  io::BestBidAsk bbo_{};
  std::int64_t bbo_exchange_ts_ = kNever;
  std::int64_t bbo_recv_ns_ = kNever;

  io::Trade last_trade_{};
  std::int64_t last_trade_ns_ = kNever;
  std::array<VolumeBucket, kBuckets> volume_{};

  double mark_price_ = kAbsent;
  double index_price_ = kAbsent;
  double funding_rate_ = kAbsent;
  std::int64_t next_funding_ts_ns_ = 0;

  std::array<MidSample, kMidSamples> mids_{};
  std::size_t mid_head_ = 0;  // next slot to write

  double change_score_ = 0;
  double last_cycle_mid_ = kAbsent;
  double last_cycle_imbalance_ = kAbsent;

  static constexpr std::size_t kBookWatch = 0, kBestBidAskWatch = 1, kTickerWatch = 2;
  std::array<TopicWatch, 3> watches_;
  std::int64_t retry_silent_ns_;  // 0: each watch's own bound
  std::uint64_t silent_reports_ = 0;

  std::int64_t last_update_ns_ = kNever;
  std::uint64_t trades_ = 0, liquidations_ = 0;
};

}  // namespace sigflow::strategies
