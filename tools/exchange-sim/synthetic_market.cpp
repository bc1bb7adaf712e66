#include "tools/exchange-sim/synthetic_market.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <tuple>

namespace sigflow::tools {
namespace {

std::int64_t pow10(int n) {
  std::int64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

// Precision and price level of a few perpetuals as Binance USD-M lists them, so demo output looks familiar.
InstrumentSpec known_spec(const std::string& symbol) {
  struct Known {
    const char* symbol;
    int price_decimals;
    std::int64_t tick;
    int size_decimals;
    std::int64_t start_price;
    std::int64_t typical_size;
  };
  static constexpr Known kKnown[] = {
      {"BTCUSDT", 2, 10, 3, 6'701'210, 250}, {"ETHUSDT", 2, 1, 3, 350'012, 2'500},
      {"SOLUSDT", 4, 100, 0, 1'450'000, 40}, {"BNBUSDT", 3, 10, 2, 590'120, 300},
      {"XRPUSDT", 4, 1, 1, 5'123, 20'000},   {"DOGEUSDT", 5, 1, 0, 12'345, 5'000},
  };
  for (const auto& k : kKnown)
    if (symbol == k.symbol)
      return {symbol, k.price_decimals, k.tick, k.size_decimals, k.start_price, k.typical_size};
  return {symbol, 4, 1, 0, 1'000'000, 100};
}

}  // namespace

std::vector<InstrumentSpec> make_instrument_specs(const std::vector<std::string>& symbols,
                                                  std::size_t count) {
  std::vector<InstrumentSpec> specs;
  if (!symbols.empty()) {
    for (std::string s : symbols) {
      // Venue symbols are upper case in payloads; stream names lower-case them.
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
      specs.push_back(known_spec(s));
    }
    return specs;
  }
  for (std::size_t i = 0; i < count; ++i) {
    InstrumentSpec spec = known_spec("SIM" + std::to_string(i) + "USDT");
    // Spread the generated instruments over several price levels so that decoders see varied magnitudes.
    spec.start_price = static_cast<std::int64_t>(1'000 + 7'919 * i) * 100;
    specs.push_back(spec);
  }
  return specs;
}

void append_decimal(std::string& out, std::int64_t units, int decimals) {
  if (units < 0) {
    out += '-';
    units = -units;
  }
  const std::int64_t scale = pow10(decimals);
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, units / scale);
  std::ignore = ec;
  out.append(buf, end);
  if (decimals == 0) return;
  out += '.';
  auto [fend, fec] = std::to_chars(buf, buf + sizeof buf, units % scale);
  std::ignore = fec;
  out.append(static_cast<std::size_t>(decimals - (fend - buf)), '0');
  out.append(buf, fend);
}

SyntheticMarket::SyntheticMarket(std::vector<InstrumentSpec> specs, std::uint64_t seed, std::size_t depth)
    : depth_(std::max<std::size_t>(depth, 20)), rng_(seed), clock_rng_(seed ^ 0x9E3779B97F4A7C15ULL) {
  if (specs.empty()) throw std::invalid_argument("synthetic market: no instruments");
  // Start ids in the range real USD-M ids have (~6e11 in 2021 captures) so that 32-bit truncation bugs show.
  next_update_id_ = 600'000'000'000ULL + (rng_() % 1'000'000);
  for (auto& spec : specs) {
    if (spec.tick <= 0 || spec.start_price <= spec.tick * static_cast<std::int64_t>(depth_) * 4)
      throw std::invalid_argument("synthetic market: " + spec.symbol + " start price too low for its tick");
    spec.start_price -= spec.start_price % spec.tick;
    Instrument inst{spec, {}, 10'000};
    // Occupy most ticks near the touch; leave random holes as real books have.
    std::int64_t bid = spec.start_price;
    std::int64_t ask = spec.start_price + spec.tick;
    while (inst.book.bids_.size() < depth_) {
      if (inst.book.bids_.empty() || rng_() % 8 != 0) inst.book.bids_[bid] = random_size(spec);
      bid -= spec.tick;
    }
    while (inst.book.asks_.size() < depth_) {
      if (inst.book.asks_.empty() || rng_() % 8 != 0) inst.book.asks_[ask] = random_size(spec);
      ask += spec.tick;
    }
    instruments_.push_back(std::move(inst));
  }
  activity_.assign(instruments_.size(), 1.0);
  active_ = instruments_.size();
}

std::int64_t SyntheticMarket::random_size(const InstrumentSpec& spec) {
  // Heavy-tailed sizes: mostly around the typical size, occasionally a large resting order.
  std::exponential_distribution<double> dist(1.0);
  const double factor = 0.05 + dist(rng_) * (rng_() % 16 == 0 ? 8.0 : 1.0);
  return std::max<std::int64_t>(1,
                                static_cast<std::int64_t>(static_cast<double>(spec.typical_size) * factor));
}

void SyntheticMarket::set_level(Instrument& inst, Side side, std::int64_t price, std::int64_t size) {
  if (side == Side::bid) {
    if (size == 0) {
      inst.book.bids_.erase(price);
    } else {
      inst.book.bids_[price] = size;
    }
  } else {
    if (size == 0) {
      inst.book.asks_.erase(price);
    } else {
      inst.book.asks_[price] = size;
    }
  }
  event_.changes.push_back({side, price, size});
}

void SyntheticMarket::set_activity(std::size_t i, double activity) {
  activity = std::clamp(activity, 0.0, 1.0);
  if (i >= activity_.size() || activity_[i] == activity) return;
  activity_[i] = activity;
  active_ = static_cast<std::size_t>(
      std::count_if(activity_.begin(), activity_.end(), [](double a) { return a > 0; }));
  all_busy_ = std::all_of(activity_.begin(), activity_.end(), [](double a) { return a >= 1; });
}

const MarketEvent& SyntheticMarket::step() {
  event_.changes.clear();
  event_.instrument = static_cast<std::size_t>(rng_() % instruments_.size());
  if (!all_busy_) {
    // An instrument drawn is kept with probability equal to its activity: a 0.02 pair gets 2% of a busy
    // pair's events. Some active instrument is always found (the last resort is the first active one).
    for (int attempt = 0; attempt < 64; ++attempt) {
      const double a = activity_[event_.instrument];
      if (a >= 1 || (a > 0 && static_cast<double>(rng_() % 1'000'000) < a * 1e6)) break;
      event_.instrument = static_cast<std::size_t>(rng_() % instruments_.size());
    }
    if (activity_[event_.instrument] <= 0)
      event_.instrument = static_cast<std::size_t>(
          std::find_if(activity_.begin(), activity_.end(), [](double a) { return a > 0; }) -
          activity_.begin());
  }
  Instrument& inst = instruments_[event_.instrument];
  const auto top_before = std::tuple(inst.book.bids_.begin()->first, inst.book.bids_.begin()->second,
                                     inst.book.asks_.begin()->first, inst.book.asks_.begin()->second);
  event_.kind = MarketEvent::Kind::book;
  // The mix favours touch activity, as on a liquid perpetual: most updates and all trades are at the top.
  const auto roll = rng_() % 100;
  if (roll < 35) {
    change_touch_size(inst);
  } else if (roll < 60) {
    change_deep_level(inst);
  } else if (roll < 75) {
    move_mid(inst);
  } else {
    trade(inst);
  }
  keep_depth(inst);

  // Ids skip a little between events: other instruments' updates share the venue-wide sequence.
  event_.first_update_id = next_update_id_ + 1 + rng_() % 4;
  event_.last_update_id = event_.first_update_id + event_.changes.size() + rng_() % 3;
  next_update_id_ = event_.last_update_id;
  inst.book.last_update_id_ = event_.last_update_id;
  const auto top_after = std::tuple(inst.book.bids_.begin()->first, inst.book.bids_.begin()->second,
                                    inst.book.asks_.begin()->first, inst.book.asks_.begin()->second);
  event_.top_changed = top_before != top_after;
  return event_;
}

void SyntheticMarket::change_touch_size(Instrument& inst) {
  if (rng_() % 2 == 0) {
    set_level(inst, Side::bid, inst.book.bids_.begin()->first, random_size(inst.spec));
  } else {
    set_level(inst, Side::ask, inst.book.asks_.begin()->first, random_size(inst.spec));
  }
}

void SyntheticMarket::change_deep_level(Instrument& inst) {
  const Side side = rng_() % 2 == 0 ? Side::bid : Side::ask;
  const std::int64_t tick = inst.spec.tick;
  // A price 1..depth ticks behind the touch: set, add or remove a level there, never crossing the book.
  const auto offset = static_cast<std::int64_t>(1 + rng_() % depth_) * tick;
  const std::int64_t price =
      side == Side::bid ? inst.book.bids_.begin()->first - offset : inst.book.asks_.begin()->first + offset;
  const bool present = side == Side::bid ? inst.book.bids_.contains(price) : inst.book.asks_.contains(price);
  const bool remove = present && rng_() % 3 == 0;
  set_level(inst, side, price, remove ? 0 : random_size(inst.spec));
}

void SyntheticMarket::move_mid(Instrument& inst) {
  const std::int64_t tick = inst.spec.tick;
  if (rng_() % 2 == 0) {
    // Up: the best ask is lifted away and a new bid steps in one tick higher, still below the new best ask
    // (asks sit at least one tick above the old best ask, which was at least one tick above the best bid).
    const std::int64_t bid = inst.book.bids_.begin()->first + tick;
    set_level(inst, Side::ask, inst.book.asks_.begin()->first, 0);
    if (bid < inst.book.asks_.begin()->first) set_level(inst, Side::bid, bid, random_size(inst.spec));
  } else {
    const std::int64_t ask = inst.book.asks_.begin()->first - tick;
    set_level(inst, Side::bid, inst.book.bids_.begin()->first, 0);
    if (ask > inst.book.bids_.begin()->first) set_level(inst, Side::ask, ask, random_size(inst.spec));
  }
}

void SyntheticMarket::trade(Instrument& inst) {
  event_.kind = MarketEvent::Kind::trade;
  event_.taker = rng_() % 2 == 0 ? Side::bid : Side::ask;
  // A buyer lifts the best ask, a seller hits the best bid; the resting level shrinks or disappears.
  const bool buyer = event_.taker == Side::bid;
  const Side resting = buyer ? Side::ask : Side::bid;
  const std::int64_t price = buyer ? inst.book.asks_.begin()->first : inst.book.bids_.begin()->first;
  const std::int64_t available = buyer ? inst.book.asks_.begin()->second : inst.book.bids_.begin()->second;
  const std::int64_t size = std::min(available, random_size(inst.spec) / 2 + 1);
  set_level(inst, resting, price, available - size);
  event_.trade_price = price;
  event_.trade_size = size;
  event_.aggregate_trade_id = ++next_aggregate_id_;
  event_.first_trade_id = next_trade_id_ + 1;
  event_.last_trade_id = event_.first_trade_id + rng_() % 3;
  next_trade_id_ = event_.last_trade_id;
}

void SyntheticMarket::keep_depth(Instrument& inst) {
  const std::int64_t tick = inst.spec.tick;
  // A thin side is refilled at its far end; a side grown past 1.5x depth loses its farthest level. Keeps
  // every partial-depth frame full and the diff stream busy at the edges, as a real book is.
  while (inst.book.bids_.size() < depth_)
    set_level(inst, Side::bid, inst.book.bids_.rbegin()->first - tick * (1 + rng_() % 2),
              random_size(inst.spec));
  while (inst.book.asks_.size() < depth_)
    set_level(inst, Side::ask, inst.book.asks_.rbegin()->first + tick * (1 + rng_() % 2),
              random_size(inst.spec));
  while (inst.book.bids_.size() > depth_ + depth_ / 2)
    set_level(inst, Side::bid, inst.book.bids_.rbegin()->first, 0);
  while (inst.book.asks_.size() > depth_ + depth_ / 2)
    set_level(inst, Side::ask, inst.book.asks_.rbegin()->first, 0);
  // A spread wider than three ticks is closed by a new quote inside it, as market makers would.
  if (inst.book.asks_.begin()->first - inst.book.bids_.begin()->first > 3 * tick)
    set_level(inst, Side::bid, inst.book.bids_.begin()->first + tick, random_size(inst.spec));
}

MarkSample SyntheticMarket::sample_mark(std::size_t i) {
  Instrument& inst = instruments_[i];
  const std::int64_t scale = pow10(MarkSample::kDecimals - inst.spec.price_decimals);
  const std::int64_t mid2 = inst.book.bids_.begin()->first + inst.book.asks_.begin()->first;  // 2 x mid
  const std::int64_t mid = mid2 * scale / 2;
  std::normal_distribution<double> noise(0.0, static_cast<double>(inst.spec.tick * scale) * 0.3);
  // Funding drifts slowly around its baseline and is clamped to the usual +-0.75% cap.
  std::normal_distribution<double> drift(0.0, 150.0);
  inst.funding_rate = std::clamp<std::int64_t>(
      inst.funding_rate + static_cast<std::int64_t>(drift(clock_rng_)) - (inst.funding_rate - 10'000) / 50,
      -750'000, 750'000);
  MarkSample s;
  s.mark_price = mid + static_cast<std::int64_t>(noise(clock_rng_));
  s.index_price = mid + static_cast<std::int64_t>(noise(clock_rng_));
  s.settle_price = s.index_price + static_cast<std::int64_t>(noise(clock_rng_) / 4);
  s.funding_rate = inst.funding_rate;
  return s;
}

Liquidation SyntheticMarket::sample_liquidation(std::size_t i) {
  Instrument& inst = instruments_[i];
  Liquidation l;
  l.side = clock_rng_() % 2 == 0 ? Side::bid : Side::ask;
  // A forced sell is priced through the bid (an IOC that must fill), a forced buy through the ask.
  const auto slip = static_cast<std::int64_t>(1 + clock_rng_() % 10) * inst.spec.tick;
  l.price =
      l.side == Side::ask ? inst.book.bids_.begin()->first - slip : inst.book.asks_.begin()->first + slip;
  const std::int64_t scale = pow10(MarkSample::kDecimals - inst.spec.price_decimals);
  l.average_price =
      (l.side == Side::ask ? inst.book.bids_.begin()->first : inst.book.asks_.begin()->first) * scale;
  l.size = std::max<std::int64_t>(
      1,
      inst.spec.typical_size / 4 +
          static_cast<std::int64_t>(clock_rng_() % static_cast<std::uint64_t>(inst.spec.typical_size * 2)));
  return l;
}

}  // namespace sigflow::tools
