#pragma once
// BookSync: the sequence-integrity state machine of one instrument's L2 book, one rule set per venue
// family, exactly as ../shared/reference/feeds.md §1 documents them:
//
//   Binance spot   REST snapshot; buffered diffs with u <= lastUpdateId dropped; the first one applied
//                  must have U <= lastUpdateId + 1 (and u > lastUpdateId); then U == previous u + 1.
//   Binance USD-M  REST snapshot; buffered diffs with u < lastUpdateId dropped; the first one applied
//                  straddles it (U <= lastUpdateId <= u, or pu == lastUpdateId); then pu == previous u.
//   Bybit          every WS snapshot resets the book; a delta must be last u + 1 (the decoder sets
//                  prev = u - 1).
//   OKX            WS snapshot; prevSeqId == last seqId (identity chain, keep-alive frames included);
//                  seqId <= last is stale and dropped; seqId < prevSeqId is the documented reset and is
//                  accepted; the CRC32 of the top 25 levels is checked only when the frame carries a
//                  non-zero checksum (pinned to 0 since 2026-06-23, feeds.md §0).
//   Deribit        WS snapshot; prev_change_id == last change_id.
//
// States: kEmpty (no snapshot yet), kSyncing (Binance: snapshot applied, waiting for the diff that
// straddles it), kLive, kResync (a gap invalidated the book; waiting for a fresh snapshot). A gap, a book
// that crosses after any update, or a checksum mismatch clears the book and asks for ONE snapshot; while
// that request is pending no other goes out, until the snapshot arrives or the timeout passes, and each
// timeout doubles up to a cap — a broken feed produces a slow trickle of requests, never a loop
// (the InvalidNonce loops of feeds.md §4).
//
// Binance diffs that arrive while no snapshot is applicable are buffered in an arena sized at
// construction. When it overflows the buffer is dropped (counted) and buffering starts again from the
// newest diff: the snapshot then in flight will be older than the buffer, which asks for another one.
// Nothing here allocates after construction.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "io/venues/market_event.hpp"
#include "strategies/order_book.hpp"

namespace sigflow::strategies {

enum class SyncFamily : std::uint8_t { kBinanceSpot, kBinanceUsdm, kBybit, kOkx, kDeribit };

// The family of a market id ("binance", "binance-usdm", "bybit-spot", "bybit-linear", "okx", "deribit").
std::optional<SyncFamily> sync_family(std::string_view venue_id) noexcept;

// Binance books are (re)built from REST depth snapshots; the others from the snapshot a (re)subscribe
// brings.
constexpr bool syncs_over_rest(SyncFamily family) noexcept {
  return family == SyncFamily::kBinanceSpot || family == SyncFamily::kBinanceUsdm;
}

enum class BookState : std::uint8_t { kEmpty, kSyncing, kLive, kResync };

std::string_view to_string(BookState state) noexcept;

enum class SyncResult : std::uint8_t {
  kApplied,         // the event changed the book
  kBuffered,        // a Binance diff kept until its snapshot arrives
  kStale,           // older than the book (or a WS diff before any snapshot): dropped
  kGap,             // the chain broke (or the book crossed, or the checksum failed): book invalidated
  kSnapshotTooOld,  // a REST snapshot older than the first buffered diff: another one is requested
};

struct BookSyncLimits {
  // Binance only. nautilus buffers up to 10,000 updates (feeds.md §1.1); a diff carries a handful of
  // levels, so 4096 updates and 64 Ki levels (1 MiB per book) cover the seconds a snapshot takes.
  std::size_t buffered_updates = 4096;
  std::size_t buffered_levels = 64 * 1024;
  // A requested snapshot that has not arrived after this long is requested again, the wait doubling
  // each time up to the cap (nautilus: 250 ms → 3 s for REST; resubscribes are slower to come back).
  std::int64_t resync_timeout_ns = 5'000'000'000;
  std::int64_t max_resync_backoff_ns = 60'000'000'000;
  // Snapshots older than the buffer are re-requested at once this many times in a row (nautilus: 5),
  // then only on the timeout.
  std::uint32_t immediate_snapshot_retries = 5;
};

struct BookSyncCounters {
  std::uint64_t snapshots = 0;            // snapshots applied
  std::uint64_t updates = 0;              // diffs applied
  std::uint64_t stale = 0;                // diffs dropped as older than the book
  std::uint64_t gaps = 0;                 // invalidations: chain breaks + crossed + checksum mismatches
  std::uint64_t crossed = 0;              // of which: the book crossed after an update
  std::uint64_t checksum_mismatches = 0;  // of which: OKX CRC32 mismatches
  std::uint64_t buffered = 0;             // Binance diffs buffered
  std::uint64_t buffer_overflows = 0;     // times the buffer filled and was dropped
  std::uint64_t snapshots_too_old = 0;    // REST snapshots older than the buffered diffs
  std::uint64_t snapshot_requests = 0;    // every snapshot request (resync or first sync)
  std::uint64_t resyncs = 0;              // requests after the first sync attempt (the book broke)
};

class BookSync {
 public:
  BookSync(SyncFamily family, const BookSyncLimits& limits);

  SyncFamily family() const noexcept { return family_; }
  BookState state() const noexcept { return state_; }
  // The book reflects the venue: a snapshot applied and nothing missed since.
  bool book_valid() const noexcept { return state_ == BookState::kLive || state_ == BookState::kSyncing; }
  std::uint64_t last_update_id() const noexcept { return last_id_; }
  const BookSyncCounters& counters() const noexcept { return counters_; }
  std::size_t buffered_updates() const noexcept { return buffer_count_; }

  SyncResult on_snapshot(const io::MarketEvent& event, OrderBook& book) noexcept;
  SyncResult on_delta(const io::MarketEvent& event, OrderBook& book) noexcept;

  // True when a snapshot request (FeedRequest kBookResync) must go out now; the request is then pending
  // until a snapshot arrives or its timeout passes. Call after every book event and once per cycle.
  bool take_snapshot_request(std::int64_t now_ns) noexcept;

  // Frames of the stream that carries this book were lost before they were applied (a full ring): a book
  // that reflects the venue (kSyncing, kLive) is invalidated like a gap and asks for one snapshot; one that
  // waits for a snapshot already (kEmpty, kResync) keeps waiting. Returns true when it invalidated the book.
  bool on_frames_lost(OrderBook& book) noexcept;
  bool snapshot_wanted() const noexcept { return need_snapshot_; }

 private:
  static constexpr std::int64_t kNever = INT64_MIN;

  struct Diff {
    std::uint64_t first = io::kNoUpdateId;
    std::uint64_t final = io::kNoUpdateId;
    std::uint64_t prev = io::kNoUpdateId;
    std::span<const io::PriceLevel> bids;
    std::span<const io::PriceLevel> asks;
    std::optional<std::int32_t> checksum;
  };
  struct BufferedDiff {
    std::uint64_t first, final, prev;
    std::uint32_t offset, bids, asks;  // levels in the arena: bids then asks
  };

  static Diff diff_of(const io::BookDelta& delta) noexcept;
  SyncResult apply_diff(const Diff& diff, OrderBook& book) noexcept;
  SyncResult apply_rest_snapshot(const io::MarketEvent& event, OrderBook& book) noexcept;
  void buffer(const Diff& diff) noexcept;
  SyncResult invalidate(OrderBook& book, const Diff* diff = nullptr) noexcept;
  bool update_consistent(const OrderBook& book, std::optional<std::int32_t> checksum) noexcept;
  void snapshot_arrived() noexcept;

  SyncFamily family_;
  BookSyncLimits limits_;
  BookState state_ = BookState::kEmpty;
  std::uint64_t last_id_ = io::kNoUpdateId;

  std::vector<BufferedDiff> buffer_;  // sized at construction, Binance only
  std::vector<io::PriceLevel> arena_;
  std::size_t buffer_count_ = 0;
  std::size_t arena_used_ = 0;

  bool need_snapshot_ = false;
  std::int64_t pending_since_ns_ = kNever;
  std::int64_t timeout_ns_;
  std::uint32_t too_old_in_a_row_ = 0;

  BookSyncCounters counters_;
};

// OKX's book checksum: CRC32 over the top 25 levels interleaved "bidPx:bidSz:askPx:askSz:…" using the
// venue's own decimal strings, as a signed int32 (feeds.md §1.3).
std::int32_t okx_book_checksum(const OrderBook& book) noexcept;

}  // namespace sigflow::strategies
