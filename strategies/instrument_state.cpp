#include "strategies/instrument_state.hpp"

#include <cmath>
#include <utility>

namespace sigflow::strategies {

namespace {

constexpr double kBps = 1e4;
constexpr std::int64_t kSecondNs = 1'000'000'000;

// A return needs a sample from about `horizon` ago: one older than twice the horizon (the feed was
// silent) would describe a different interval.
constexpr std::int64_t kMaxSampleAgeFactor = 2;

// Weight of the imbalance's movement in the change score, against the mid's movement in bps: a swing of
// the top-5 imbalance from balanced to one-sided (1.0) counts like a 10 bps move.
constexpr double kImbalanceChangeWeight = 10.0;

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

InstrumentState::InstrumentState(InstrumentSpec spec, std::size_t book_capacity)
    : spec_(std::move(spec)), book_(book_capacity) {}

ApplyResult InstrumentState::apply(const io::MarketEvent& event) noexcept {
  ApplyResult result = ApplyResult::kApplied;
  switch (event.kind) {
    case io::EventKind::kTrade:
      apply_trade(event);
      break;
    case io::EventKind::kBestBidAsk:
      bbo_ = event.best_bid_ask;
      bbo_exchange_ts_ = event.exchange_ts_ns;
      bbo_recv_ns_ = event.recv_ns;
      break;
    case io::EventKind::kBookSnapshot:
      result = apply_snapshot(event);
      break;
    case io::EventKind::kBookDelta:
      result = apply_delta(event);
      break;
    case io::EventKind::kMarkFunding: {
      // Merge: a field the venue did not send keeps its last value (Bybit ticker deltas).
      const io::MarkFunding& m = event.mark_funding;
      if (m.mark_price) mark_price_ = m.mark_price->to_double();
      if (m.index_price) index_price_ = m.index_price->to_double();
      if (m.funding_rate) funding_rate_ = m.funding_rate->to_double();
      if (m.next_funding_ts_ns) next_funding_ts_ns_ = m.next_funding_ts_ns;
      break;
    }
    case io::EventKind::kLiquidation:
      ++liquidations_;
      break;
    default:
      return ApplyResult::kNotMarket;
  }
  if (result != ApplyResult::kStale) last_update_ns_ = event.recv_ns;
  return result;
}

void InstrumentState::apply_trade(const io::MarketEvent& event) noexcept {
  last_trade_ = event.trade;
  last_trade_ns_ = event.recv_ns;
  ++trades_;
  const std::int64_t index = floor_div(event.recv_ns, kBucketNs);
  const auto buckets = static_cast<std::int64_t>(kBuckets);
  VolumeBucket& bucket = volume_[static_cast<std::size_t>((index % buckets + buckets) % buckets)];
  if (bucket.index != index) bucket = VolumeBucket{index, 0, 0};
  const double size = event.trade.size.to_double();
  bucket.volume += size;
  if (event.trade.aggressor == io::Side::kBuy) bucket.taker_buy_volume += size;
}

ApplyResult InstrumentState::apply_snapshot(const io::MarketEvent& event) noexcept {
  book_.apply_snapshot(event.snapshot.bids, event.snapshot.asks);
  sync_ = BookSync::kLive;
  book_update_id_ = event.snapshot.last_update_id;
  awaiting_first_delta_ = true;
  book_exchange_ts_ = event.exchange_ts_ns;
  book_recv_ns_ = event.recv_ns;
  ++snapshots_;
  ++book_updates_;
  check_crossed();
  return ApplyResult::kApplied;
}

ApplyResult InstrumentState::apply_delta(const io::MarketEvent& event) noexcept {
  const io::BookDelta& d = event.delta;
  if (sync_ != BookSync::kLive) {
    ++stale_deltas_;
    return ApplyResult::kStale;
  }
  if (awaiting_first_delta_) {
    // Binance: drop diffs that end before the snapshot; the first one applied must straddle it, or (USD-M)
    // continue it exactly: `pu` equal to the snapshot's id, as when the straddling diff arrived before the
    // snapshot and was dropped.
    if (d.final_update_id < book_update_id_) {
      ++stale_deltas_;
      return ApplyResult::kStale;
    }
    const bool continues =
        d.prev_final_update_id != io::kNoUpdateId && d.prev_final_update_id == book_update_id_;
    if (!continues && d.first_update_id > book_update_id_ + 1) {
      ++gaps_;
      sync_ = BookSync::kGap;
      book_.clear();
      return ApplyResult::kGap;
    }
  } else {
    const bool chained = d.prev_final_update_id != io::kNoUpdateId ? d.prev_final_update_id == book_update_id_
                                                                   : d.first_update_id == book_update_id_ + 1;
    if (!chained) {
      if (d.final_update_id <= book_update_id_) {  // a replayed duplicate, not a hole
        ++stale_deltas_;
        return ApplyResult::kStale;
      }
      ++gaps_;
      sync_ = BookSync::kGap;
      book_.clear();
      return ApplyResult::kGap;
    }
  }
  for (const io::PriceLevel& level : d.bids) book_.apply_level(BookSide::kBid, level.price, level.size);
  for (const io::PriceLevel& level : d.asks) book_.apply_level(BookSide::kAsk, level.price, level.size);
  awaiting_first_delta_ = false;
  book_update_id_ = d.final_update_id;
  book_exchange_ts_ = event.exchange_ts_ns;
  book_recv_ns_ = event.recv_ns;
  ++book_updates_;
  check_crossed();
  return ApplyResult::kApplied;
}

void InstrumentState::check_crossed() noexcept {
  if (book_.crossed()) ++crossed_books_;
}

bool InstrumentState::book_usable() const noexcept {
  return sync_ == BookSync::kLive && book_.best_bid() && book_.best_ask() && !book_.crossed();
}

InstrumentState::TopOfBook InstrumentState::top_of_book() const noexcept {
  const bool have_bbo = bbo_recv_ns_ != kNever;
  const bool have_book = book_usable();
  // Both channels report the same top of book at different cadences (bookTicker in real time, depth20
  // every 100 ms): use the one the venue produced later, and on a tie the one received later.
  bool use_book = have_book;
  if (have_bbo && have_book) {
    use_book = book_exchange_ts_ != bbo_exchange_ts_ ? book_exchange_ts_ > bbo_exchange_ts_
                                                     : book_recv_ns_ > bbo_recv_ns_;
  }
  TopOfBook top;
  if (use_book) {
    const PriceLevel* bid = book_.best_bid();
    const PriceLevel* ask = book_.best_ask();
    top = {bid->price.to_double(), bid->size.to_double(), ask->price.to_double(), ask->size.to_double()};
  } else if (have_bbo) {
    top = {bbo_.bid_price.to_double(), bbo_.bid_size.to_double(), bbo_.ask_price.to_double(),
           bbo_.ask_size.to_double()};
  }
  return top;
}

double InstrumentState::imbalance(std::size_t levels) const noexcept {
  if (!book_usable()) return kAbsent;
  const double bid = book_.size_sum(BookSide::kBid, levels);
  const double ask = book_.size_sum(BookSide::kAsk, levels);
  return bid + ask > 0 ? (bid - ask) / (bid + ask) : kAbsent;
}

void InstrumentState::on_cycle(std::int64_t now_ns) noexcept {
  const TopOfBook top = top_of_book();
  if (!top.valid()) return;
  const double mid = (top.bid + top.ask) / 2;
  mids_[mid_head_] = MidSample{now_ns, mid};
  mid_head_ = (mid_head_ + 1) % kMidSamples;

  double imb = imbalance(5);
  if (std::isnan(imb)) imb = (top.bid_size - top.ask_size) / (top.bid_size + top.ask_size);
  if (!std::isnan(last_cycle_mid_))
    change_score_ += std::fabs(mid - last_cycle_mid_) / last_cycle_mid_ * kBps;
  if (!std::isnan(last_cycle_imbalance_)) {
    change_score_ += kImbalanceChangeWeight * std::fabs(imb - last_cycle_imbalance_);
  }
  last_cycle_mid_ = mid;
  last_cycle_imbalance_ = imb;
}

double InstrumentState::mid_return_bps(std::int64_t now_ns, std::int64_t horizon_ns,
                                       double mid) const noexcept {
  if (std::isnan(mid)) return kAbsent;
  const std::int64_t target = now_ns - horizon_ns;
  // Newest sample at or before the target time.
  for (std::size_t i = 1; i <= kMidSamples; ++i) {
    const MidSample& s = mids_[(mid_head_ + kMidSamples - i) % kMidSamples];
    if (s.ts_ns == kNever) break;
    if (s.ts_ns <= target) {
      if (s.ts_ns < now_ns - kMaxSampleAgeFactor * horizon_ns) break;
      return (mid - s.mid) / s.mid * kBps;
    }
  }
  return kAbsent;
}

InstrumentFeatures InstrumentState::features(std::int64_t now_ns) const noexcept {
  InstrumentFeatures f;
  f.venue = spec_.venue;
  f.symbol = spec_.symbol;
  f.instrument = spec_.instrument;

  const TopOfBook top = top_of_book();
  if (top.valid()) {
    f.mid = (top.bid + top.ask) / 2;
    f.spread_bps = (top.ask - top.bid) / f.mid * kBps;
    const double microprice =
        (top.bid * top.ask_size + top.ask * top.bid_size) / (top.bid_size + top.ask_size);
    f.microprice_offset_bps = (microprice - f.mid) / f.mid * kBps;
    f.imbalance_l1 = (top.bid_size - top.ask_size) / (top.bid_size + top.ask_size);
  }
  f.imbalance_l5 = imbalance(5);
  f.imbalance_l20 = imbalance(20);
  f.return_1s_bps = mid_return_bps(now_ns, kSecondNs, f.mid);
  f.return_10s_bps = mid_return_bps(now_ns, 10 * kSecondNs, f.mid);

  const std::int64_t now_bucket = floor_div(now_ns, kBucketNs);
  double volume = 0, buy = 0;
  for (const VolumeBucket& b : volume_) {
    if (b.index != kNever && b.index > now_bucket - static_cast<std::int64_t>(kBuckets) &&
        b.index <= now_bucket) {
      volume += b.volume;
      buy += b.taker_buy_volume;
    }
  }
  f.volume_10s = volume;
  f.taker_buy_ratio_10s = volume > 0 ? buy / volume : kAbsent;

  f.funding_rate = funding_rate_;
  if (!std::isnan(mark_price_) && !std::isnan(f.mid))
    f.mark_offset_bps = (mark_price_ - f.mid) / f.mid * kBps;
  if (last_update_ns_ != kNever) f.data_age_ms = static_cast<double>(now_ns - last_update_ns_) / 1e6;
  f.change_score = change_score_;
  f.book_valid = book_usable();
  return f;
}

}  // namespace sigflow::strategies
