#include "strategies/instrument_state.hpp"

#include <cmath>
#include <stdexcept>
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

namespace {

SyncFamily family_or_throw(const std::string& venue) {
  const std::optional<SyncFamily> family = sync_family(venue);
  if (!family) throw std::invalid_argument("instrument: no book-sync rules for venue \"" + venue + "\"");
  return *family;
}

}  // namespace

InstrumentState::InstrumentState(InstrumentSpec spec, std::size_t book_capacity,
                                 const BookSyncLimits& sync_limits, const LivenessBounds& liveness)
    : spec_(std::move(spec)),
      book_(book_capacity),
      sync_(family_or_throw(spec_.venue), sync_limits),
      watches_{TopicWatch{io::TopicKind::kBook, liveness.book_ns},
               TopicWatch{io::TopicKind::kBestBidAsk, liveness.best_bid_ask_ns},
               TopicWatch{io::TopicKind::kTicker, liveness.ticker_ns}},
      retry_silent_ns_(liveness.retry_ns) {}

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
      saw_data(kBestBidAskWatch, event.recv_ns);
      break;
    case io::EventKind::kBookSnapshot:
    case io::EventKind::kBookDelta:
      result = apply_book(event);
      break;
    case io::EventKind::kMarkFunding: {
      saw_data(kTickerWatch, event.recv_ns);
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
  if (result == ApplyResult::kApplied) last_update_ns_ = event.recv_ns;
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

ApplyResult InstrumentState::apply_book(const io::MarketEvent& event) noexcept {
  saw_data(kBookWatch, event.recv_ns);  // data flows even while the book waits for its snapshot
  const SyncResult result = event.kind == io::EventKind::kBookSnapshot ? sync_.on_snapshot(event, book_)
                                                                       : sync_.on_delta(event, book_);
  switch (result) {
    case SyncResult::kApplied:
      book_exchange_ts_ = event.exchange_ts_ns;
      book_recv_ns_ = event.recv_ns;
      return ApplyResult::kApplied;
    case SyncResult::kBuffered:
      return ApplyResult::kBuffered;
    case SyncResult::kStale:
      return ApplyResult::kStale;
    case SyncResult::kGap:
      return ApplyResult::kGap;
    case SyncResult::kSnapshotTooOld:
      return ApplyResult::kSnapshotRejected;
  }
  return ApplyResult::kStale;
}

void InstrumentState::saw_data(std::size_t watch, std::int64_t recv_ns) noexcept {
  watches_[watch].last_data_ns = recv_ns;
  watches_[watch].reported_ns = kNever;
}

std::optional<io::TopicKind> InstrumentState::take_silent_topic(std::int64_t now_ns) noexcept {
  for (TopicWatch& w : watches_) {
    if (w.bound_ns <= 0 || w.last_data_ns == kNever || now_ns - w.last_data_ns <= w.bound_ns) continue;
    const std::int64_t retry_ns = retry_silent_ns_ > 0 ? retry_silent_ns_ : w.bound_ns;
    if (w.reported_ns != kNever && now_ns - w.reported_ns < retry_ns) continue;
    w.reported_ns = now_ns;
    ++silent_reports_;
    return w.kind;
  }
  return std::nullopt;
}

std::int64_t InstrumentState::last_data_ns(io::TopicKind kind) const noexcept {
  for (const TopicWatch& w : watches_)
    if (w.kind == kind) return w.last_data_ns;
  return kNever;
}

bool InstrumentState::book_usable() const noexcept {
  return sync_.book_valid() && book_.best_bid() && book_.best_ask() && !book_.crossed();
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
