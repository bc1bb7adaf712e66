#include "strategies/book_sync.hpp"

#include <algorithm>
#include <boost/crc.hpp>

namespace sigflow::strategies {

std::optional<SyncFamily> sync_family(std::string_view venue_id) noexcept {
  if (venue_id == "binance") return SyncFamily::kBinanceSpot;
  if (venue_id == "binance-usdm") return SyncFamily::kBinanceUsdm;
  if (venue_id == "bybit-spot" || venue_id == "bybit-linear") return SyncFamily::kBybit;
  if (venue_id == "okx") return SyncFamily::kOkx;
  if (venue_id == "deribit") return SyncFamily::kDeribit;
  return std::nullopt;
}

std::string_view to_string(BookState state) noexcept {
  switch (state) {
    case BookState::kEmpty:
      return "empty";
    case BookState::kSyncing:
      return "syncing";
    case BookState::kLive:
      return "live";
    case BookState::kResync:
      return "resync";
  }
  return "invalid";
}

BookSync::BookSync(SyncFamily family, const BookSyncLimits& limits)
    : family_(family), limits_(limits), timeout_ns_(limits.resync_timeout_ns) {
  if (syncs_over_rest(family_)) {
    buffer_.resize(std::max<std::size_t>(limits_.buffered_updates, 1));
    arena_.resize(std::max<std::size_t>(limits_.buffered_levels, 1));
  }
}

BookSync::Diff BookSync::diff_of(const io::BookDelta& d) noexcept {
  return Diff{d.first_update_id, d.final_update_id, d.prev_final_update_id, d.bids, d.asks, d.checksum};
}

SyncResult BookSync::on_delta(const io::MarketEvent& event, OrderBook& book) noexcept {
  const Diff diff = diff_of(event.delta);
  if (state_ == BookState::kEmpty || state_ == BookState::kResync) {
    if (syncs_over_rest(family_)) {
      buffer(diff);
      need_snapshot_ = true;
      return SyncResult::kBuffered;
    }
    // A WS venue sends its snapshot first on subscribe: a diff without one means the snapshot was lost
    // (or the session started mid-stream), and only a resubscribe brings a new one.
    ++counters_.stale;
    need_snapshot_ = true;
    return SyncResult::kStale;
  }
  return apply_diff(diff, book);
}

SyncResult BookSync::apply_diff(const Diff& d, OrderBook& book) noexcept {
  bool chained = false;
  switch (family_) {
    case SyncFamily::kBinanceSpot:
      if (d.final <= last_id_) {
        ++counters_.stale;
        return SyncResult::kStale;
      }
      // The same test serves the first diff after the snapshot and every later one (U > id + 1 is a gap).
      chained = d.first <= last_id_ + 1;
      break;
    case SyncFamily::kBinanceUsdm:
      if (state_ == BookState::kSyncing) {
        if (d.final < last_id_) {
          ++counters_.stale;
          return SyncResult::kStale;
        }
        // `pu == lastUpdateId`: the straddling diff was itself dropped before the snapshot was applied.
        chained = (d.first <= last_id_ && d.final >= last_id_) || d.prev == last_id_;
      } else {
        chained = d.prev == last_id_;
        if (!chained && d.final <= last_id_) {  // a replayed duplicate, not a hole
          ++counters_.stale;
          return SyncResult::kStale;
        }
      }
      break;
    case SyncFamily::kOkx:
      // Keep-alive frames (seqId == prevSeqId == last, no levels) chain by identity like any other.
      chained = d.prev == last_id_ || (d.prev != io::kNoUpdateId && d.final < d.prev);
      if (!chained && d.final <= last_id_) {
        ++counters_.stale;
        return SyncResult::kStale;
      }
      break;
    case SyncFamily::kBybit:
    case SyncFamily::kDeribit:
      chained = d.prev != io::kNoUpdateId ? d.prev == last_id_ : d.first == last_id_ + 1;
      if (!chained && d.final <= last_id_) {
        ++counters_.stale;
        return SyncResult::kStale;
      }
      break;
  }
  if (!chained) return invalidate(book, &d);
  for (const io::PriceLevel& level : d.bids) book.apply_level(BookSide::kBid, level.price, level.size);
  for (const io::PriceLevel& level : d.asks) book.apply_level(BookSide::kAsk, level.price, level.size);
  last_id_ = d.final;
  state_ = BookState::kLive;
  ++counters_.updates;
  if (!update_consistent(book, d.checksum)) return invalidate(book, &d);
  return SyncResult::kApplied;
}

SyncResult BookSync::on_snapshot(const io::MarketEvent& event, OrderBook& book) noexcept {
  // Top-N partial frames (depth != 0) replace the visible book outright on every venue; only a full
  // REST snapshot of a diff-synced book goes through the buffer procedure.
  if (syncs_over_rest(family_) && event.snapshot.depth == 0) return apply_rest_snapshot(event, book);
  book.apply_snapshot(event.snapshot.bids, event.snapshot.asks);
  last_id_ = event.snapshot.last_update_id;
  state_ = BookState::kLive;
  ++counters_.snapshots;
  snapshot_arrived();
  if (!update_consistent(book, event.snapshot.checksum)) return invalidate(book);
  return SyncResult::kApplied;
}

SyncResult BookSync::apply_rest_snapshot(const io::MarketEvent& event, OrderBook& book) noexcept {
  const std::uint64_t id = event.snapshot.last_update_id;
  const bool spot = family_ == SyncFamily::kBinanceSpot;
  // Step 3 of both procedures: a snapshot older than the first buffered diff misses the updates between
  // the two. Spot ids are contiguous, so U == id + 1 still continues it; USD-M ids are venue-wide and
  // only `pu == id` proves continuity.
  if (buffer_count_ != 0) {
    const BufferedDiff& first = buffer_[0];
    const bool too_old = spot ? first.first > id + 1 : first.first > id && first.prev != id;
    if (too_old) {
      ++counters_.snapshots_too_old;
      need_snapshot_ = true;
      if (++too_old_in_a_row_ <= limits_.immediate_snapshot_retries) pending_since_ns_ = kNever;
      return SyncResult::kSnapshotTooOld;
    }
  }
  book.apply_snapshot(event.snapshot.bids, event.snapshot.asks);
  last_id_ = id;
  state_ = BookState::kSyncing;
  ++counters_.snapshots;
  too_old_in_a_row_ = 0;
  snapshot_arrived();
  if (!update_consistent(book, std::nullopt)) return invalidate(book);

  // Replay the buffer through the live rules: stale diffs drop, the first kept one must straddle.
  const std::size_t count = buffer_count_;
  buffer_count_ = 0;
  arena_used_ = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const BufferedDiff& b = buffer_[i];
    const io::PriceLevel* levels = arena_.data() + b.offset;
    const Diff diff{b.first, b.final, b.prev, {levels, b.bids}, {levels + b.bids, b.asks}, std::nullopt};
    if (apply_diff(diff, book) == SyncResult::kGap) {
      // invalidate() has started a new buffer with diff i; the rest of this one continues it.
      for (std::size_t j = i + 1; j < count; ++j) {
        const BufferedDiff& r = buffer_[j];
        const io::PriceLevel* rl = arena_.data() + r.offset;
        buffer(Diff{r.first, r.final, r.prev, {rl, r.bids}, {rl + r.bids, r.asks}, std::nullopt});
      }
      return SyncResult::kGap;
    }
  }
  return SyncResult::kApplied;
}

void BookSync::buffer(const Diff& d) noexcept {
  const std::size_t levels = d.bids.size() + d.asks.size();
  if (levels > arena_.size()) {  // cannot be kept at all: what follows it is unusable too
    buffer_count_ = 0;
    arena_used_ = 0;
    ++counters_.buffer_overflows;
    return;
  }
  if (buffer_count_ == buffer_.size() || arena_used_ + levels > arena_.size()) {
    buffer_count_ = 0;
    arena_used_ = 0;
    ++counters_.buffer_overflows;
  }
  // Replaying from inside the arena (apply_rest_snapshot after a gap) moves levels only to lower
  // offsets, so copy forward.
  io::PriceLevel* out = arena_.data() + arena_used_;
  std::copy(d.bids.begin(), d.bids.end(), out);
  std::copy(d.asks.begin(), d.asks.end(), out + d.bids.size());
  buffer_[buffer_count_++] = BufferedDiff{d.first,
                                          d.final,
                                          d.prev,
                                          static_cast<std::uint32_t>(arena_used_),
                                          static_cast<std::uint32_t>(d.bids.size()),
                                          static_cast<std::uint32_t>(d.asks.size())};
  arena_used_ += levels;
  ++counters_.buffered;
}

SyncResult BookSync::invalidate(OrderBook& book, const Diff* diff) noexcept {
  book.clear();
  // The diff that exposed the gap is newer than anything the book lost: a REST resync needs it.
  if (diff && syncs_over_rest(family_)) buffer(*diff);
  state_ = BookState::kResync;
  ++counters_.gaps;
  need_snapshot_ = true;
  pending_since_ns_ = kNever;
  return SyncResult::kGap;
}

bool BookSync::on_frames_lost(OrderBook& book) noexcept {
  if (state_ != BookState::kLive && state_ != BookState::kSyncing) return false;
  invalidate(book);
  return true;
}

bool BookSync::update_consistent(const OrderBook& book, std::optional<std::int32_t> checksum) noexcept {
  if (book.crossed()) {
    ++counters_.crossed;
    return false;
  }
  if (checksum && *checksum != 0 && okx_book_checksum(book) != *checksum) {
    ++counters_.checksum_mismatches;
    return false;
  }
  return true;
}

void BookSync::snapshot_arrived() noexcept {
  need_snapshot_ = false;
  pending_since_ns_ = kNever;
  timeout_ns_ = limits_.resync_timeout_ns;
}

bool BookSync::take_snapshot_request(std::int64_t now_ns) noexcept {
  if (!need_snapshot_) return false;
  if (pending_since_ns_ != kNever) {
    if (now_ns - pending_since_ns_ < timeout_ns_) return false;
    timeout_ns_ = std::min(timeout_ns_ * 2, limits_.max_resync_backoff_ns);  // it came to nothing
  }
  pending_since_ns_ = now_ns;
  // The first request of a REST book is its initial sync; every other one repairs a book.
  if (counters_.snapshot_requests != 0 || !syncs_over_rest(family_)) ++counters_.resyncs;
  ++counters_.snapshot_requests;
  return true;
}

std::int32_t okx_book_checksum(const OrderBook& book) noexcept {
  constexpr std::size_t kLevels = 25;
  boost::crc_32_type crc;
  char text[2 * io::Decimal::kMaxChars + 2];
  bool first = true;
  const auto add = [&](const io::PriceLevel* level) {
    char* p = text;
    if (!first) *p++ = ':';
    p = level->price.format(p, text + sizeof text);
    *p++ = ':';
    p = level->size.format(p, text + sizeof text);
    crc.process_bytes(text, static_cast<std::size_t>(p - text));
    first = false;
  };
  for (std::size_t i = 0; i < kLevels; ++i) {
    if (const io::PriceLevel* bid = book.level(BookSide::kBid, i)) add(bid);
    if (const io::PriceLevel* ask = book.level(BookSide::kAsk, i)) add(ask);
  }
  return static_cast<std::int32_t>(crc.checksum());
}

}  // namespace sigflow::strategies
