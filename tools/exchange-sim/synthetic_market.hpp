#pragma once
// A random-walk market that any simulated venue can render: per instrument, an L2 book whose mid walks in
// ticks, trades at the touch, a mark/index price and a funding rate. Prices and sizes are integers in units
// of the instrument's decimal precision, so every venue prints them exactly as an exchange does ("67012.10"),
// with no float rounding. Deterministic for a given seed and call sequence.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sigflow::tools {

struct InstrumentSpec {
  std::string symbol;             // the venue's own symbol, e.g. "BTCUSDT"
  int price_decimals = 2;         // digits after the point in price strings
  std::int64_t tick = 1;          // price step, in units of 10^-price_decimals
  int size_decimals = 3;          // digits after the point in size strings
  std::int64_t start_price = 0;   // initial best bid, in units of 10^-price_decimals (a multiple of tick)
  std::int64_t typical_size = 1;  // a typical level size, in units of 10^-size_decimals
};

// Specs for `symbols` (real-looking precision for well-known perpetuals, a neutral default otherwise), or,
// when `symbols` is empty, `count` generated instruments SIM0USDT, SIM1USDT, ...
std::vector<InstrumentSpec> make_instrument_specs(const std::vector<std::string>& symbols, std::size_t count);

// Appends `units` * 10^-decimals as a plain decimal string ("-0.0012", "67012.10").
void append_decimal(std::string& out, std::int64_t units, int decimals);

enum class Side : std::uint8_t { bid, ask };

struct LevelChange {
  Side side;
  std::int64_t price;
  std::int64_t size;  // 0: the level is gone
};

class OrderBook {
 public:
  using Bids = std::map<std::int64_t, std::int64_t, std::greater<>>;
  using Asks = std::map<std::int64_t, std::int64_t>;

  const Bids& bids() const { return bids_; }
  const Asks& asks() const { return asks_; }
  // The last update id that changed this book (0 before any change).
  std::uint64_t last_update_id() const { return last_update_id_; }

 private:
  friend class SyntheticMarket;
  Bids bids_;
  Asks asks_;
  std::uint64_t last_update_id_ = 0;
};

struct MarketEvent {
  enum class Kind : std::uint8_t { book, trade };

  Kind kind = Kind::book;
  std::size_t instrument = 0;
  // Update ids of this event's book changes, [first, last]. Ids are shared by all instruments and skip
  // values between events, like Binance USD-M's venue-wide ids: consumers may only rely on chaining.
  std::uint64_t first_update_id = 0;
  std::uint64_t last_update_id = 0;
  std::vector<LevelChange> changes;
  bool top_changed = false;  // best bid or ask price or size changed
  // Trades only: the aggressor's side (bid = buyer), price and size; ids as an aggregate trade carries them.
  Side taker = Side::bid;
  std::int64_t trade_price = 0;
  std::int64_t trade_size = 0;
  std::uint64_t aggregate_trade_id = 0;
  std::uint64_t first_trade_id = 0;
  std::uint64_t last_trade_id = 0;
};

// Mark, index and funding are quoted with 8 decimals (as Binance prints them), independent of the tick.
struct MarkSample {
  static constexpr int kDecimals = 8;
  std::int64_t mark_price = 0;
  std::int64_t index_price = 0;
  std::int64_t settle_price = 0;
  std::int64_t funding_rate = 0;  // units of 1e-8
};

struct Liquidation {
  Side side = Side::ask;           // the forced order's side: ask = a long position being sold
  std::int64_t price = 0;          // limit price, book units
  std::int64_t average_price = 0;  // MarkSample::kDecimals units
  std::int64_t size = 0;
};

class SyntheticMarket {
 public:
  // Each side keeps about `depth` levels (at least 20 for depth20 partials).
  SyntheticMarket(std::vector<InstrumentSpec> specs, std::uint64_t seed, std::size_t depth = 50);

  std::size_t size() const { return instruments_.size(); }
  const InstrumentSpec& spec(std::size_t i) const { return instruments_[i].spec; }
  const OrderBook& book(std::size_t i) const { return instruments_[i].book; }

  // One random event on a random instrument, instruments drawn by their activity. The reference stays valid
  // until the next call. Only while any_active().
  const MarketEvent& step();
  // How much instrument i moves relative to a busy one: 1 (the default) busy, 0.02 rarely, 0 not at all.
  void set_activity(std::size_t i, double activity);
  bool any_active() const noexcept { return active_ > 0; }
  // Advances the instrument's funding walk and samples mark/index around the current mid.
  MarkSample sample_mark(std::size_t i);
  // A forced order near the touch; the book is not changed (liquidations are reported, not matched here).
  Liquidation sample_liquidation(std::size_t i);

 private:
  struct Instrument {
    InstrumentSpec spec;
    OrderBook book;
    std::int64_t funding_rate = 10'000;  // 0.0001, the common 8-hour baseline
  };

  std::int64_t random_size(const InstrumentSpec& spec);
  void set_level(Instrument& inst, Side side, std::int64_t price, std::int64_t size);
  void change_touch_size(Instrument& inst);
  void change_deep_level(Instrument& inst);
  void move_mid(Instrument& inst);
  void trade(Instrument& inst);
  void keep_depth(Instrument& inst);

  std::vector<Instrument> instruments_;
  std::vector<double> activity_;  // per instrument, in [0, 1]
  std::size_t active_ = 0;        // instruments with activity > 0
  bool all_busy_ = true;          // every activity is 1: the draw is the plain one (same sequence as before)
  std::size_t depth_;
  std::mt19937_64 rng_;
  // Mark, funding and liquidation draws happen on the venue's clock, not per event; a separate generator
  // keeps the sequence of book events a function of the seed alone.
  std::mt19937_64 clock_rng_;
  std::uint64_t next_update_id_;
  std::uint64_t next_trade_id_ = 1'000'000;
  std::uint64_t next_aggregate_id_ = 500'000;
  MarketEvent event_;
};

}  // namespace sigflow::tools
