#pragma once
// MarketEvent: what every venue decoder produces, whatever the venue's wire format.
//
// One event object is owned by the caller (the strategy thread) and rewritten by every decode, so the
// per-message path allocates nothing. Variable-length payloads (book levels) are spans into storage owned
// by the decoder, and text fields (symbol, error messages) are views into the decoder's parser buffers:
// both stay valid until that decoder's next decode call, which is exactly as long as the strategy thread
// needs them to apply the event to its state.
//
// Every event keeps two clocks (feeds.md §0): the venue's timestamp, preferring matching-engine time (`T`
// on Binance, `cts` on Bybit) over push time, and the local receive time of the frame (monotonic ns).
// The kinds cover what the later venues bring: L2 diffs with their sequence ids for gap state machines,
// mark/index/funding, liquidations, and the control replies of each protocol.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "io/venues/decimal.hpp"

namespace sigflow::io {

enum class EventKind : std::uint8_t {
  kNone,          // nothing decoded (after an error)
  kTrade,         // one trade (or one aggregated taker order)
  kBestBidAsk,    // top of book pushed by its own channel
  kBookSnapshot,  // full replacement of the book's visible levels (REST snapshot, top-N partial frame)
  kBookDelta,     // changed levels; size 0 deletes the level
  kMarkFunding,   // mark / index price and funding
  kLiquidation,   // a forced order
  kSubscribeAck,  // the venue acknowledged a subscribe (or another command) request
  kVenueError,    // the venue replied with an error code and message
  kIgnored,       // a well-formed message of a type the engine does not use (e.g. klines)
};

enum class Side : std::uint8_t { kUnknown, kBuy, kSell };

constexpr std::string_view to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::kNone:
      return "none";
    case EventKind::kTrade:
      return "trade";
    case EventKind::kBestBidAsk:
      return "best_bid_ask";
    case EventKind::kBookSnapshot:
      return "book_snapshot";
    case EventKind::kBookDelta:
      return "book_delta";
    case EventKind::kMarkFunding:
      return "mark_funding";
    case EventKind::kLiquidation:
      return "liquidation";
    case EventKind::kSubscribeAck:
      return "subscribe_ack";
    case EventKind::kVenueError:
      return "venue_error";
    case EventKind::kIgnored:
      return "ignored";
  }
  return "invalid";
}

constexpr std::string_view to_string(Side side) noexcept {
  switch (side) {
    case Side::kBuy:
      return "BUY";
    case Side::kSell:
      return "SELL";
    case Side::kUnknown:
      break;
  }
  return "UNKNOWN";
}

struct PriceLevel {
  Decimal price;
  Decimal size;
};

// Sentinel for sequence ids a venue does not send (e.g. Binance spot diffs have no `pu`).
//
// Sequence ids of a book diff, per venue (feeds.md §1.5), so that one chain rule serves all of them —
// `prev_final_update_id` must equal the id the book is at; where it is kNoUpdateId, `first_update_id` must
// be that id + 1:
//   Binance spot:  first = U, final = u, prev = kNoUpdateId
//   Binance USD-M: first = U, final = u, prev = pu
//   Bybit:         first = final = u, prev = u - 1 (u advances by exactly 1 per message and topic)
//   OKX:           first = final = seqId, prev = prevSeqId (identity chain, non-unit steps)
//   Deribit:       first = final = change_id, prev = prev_change_id
inline constexpr std::uint64_t kNoUpdateId = UINT64_MAX;

struct Trade {
  Decimal price;
  Decimal size;
  Side aggressor = Side::kUnknown;  // the taker's side (Binance: m=true means the buyer was the maker: SELL)
  std::uint64_t trade_id = 0;       // numeric id (Binance aggregate id `a` or trade id `t`)
  std::uint64_t first_trade_id = kNoUpdateId;  // aggregated trades: the range of fills they cover
  std::uint64_t last_trade_id = kNoUpdateId;
};

struct BestBidAsk {
  Decimal bid_price;
  Decimal bid_size;
  Decimal ask_price;
  Decimal ask_size;
  std::uint64_t update_id = kNoUpdateId;  // Binance shares this id space with depth `u`
};

struct BookSnapshot {
  std::span<const PriceLevel> bids;  // best first, as the venue sends them
  std::span<const PriceLevel> asks;
  std::uint64_t last_update_id = kNoUpdateId;  // the book reflects every update up to and including this id
  std::uint16_t depth = 0;                     // N of a top-N partial stream; 0 for a full (REST) snapshot
  std::optional<std::int32_t> checksum;  // OKX CRC32 of the top 25 levels, when the venue sends one (≠ 0)
};

struct BookDelta {
  std::span<const PriceLevel> bids;
  std::span<const PriceLevel> asks;
  std::uint64_t first_update_id = kNoUpdateId;       // Binance `U`
  std::uint64_t final_update_id = kNoUpdateId;       // Binance `u`
  std::uint64_t prev_final_update_id = kNoUpdateId;  // Binance USD-M `pu`: must equal the previous `u`
  std::optional<std::int32_t> checksum;              // OKX CRC32 of the top 25 levels after applying (≠ 0)
};

// Venues that push only the fields that changed (Bybit linear ticker deltas) leave the others empty: the
// instrument state merges what is present onto what it has.
struct MarkFunding {
  std::optional<Decimal> mark_price;
  std::optional<Decimal> index_price;
  std::optional<Decimal> estimated_settle_price;
  std::optional<Decimal> funding_rate;  // absent for delivery contracts (Binance sends "")
  std::int64_t next_funding_ts_ns = 0;  // 0 when the venue sends none
};

struct Liquidation {
  Side side = Side::kUnknown;  // side of the forced order: SELL means a long position was liquidated
  Decimal price;               // order price (Binance `p`)
  std::optional<Decimal> average_price;
  Decimal quantity;  // original quantity
  std::optional<Decimal> filled_quantity;
  std::string_view status;  // venue's order status text ("FILLED")
};

struct SubscribeAck {
  std::int64_t request_id = -1;  // id of the request the venue answered; -1 when it carried none
};

struct VenueError {
  std::int64_t code = 0;
  std::string_view message;
};

struct MarketEvent {
  EventKind kind = EventKind::kNone;
  std::string_view symbol;          // venue's own symbol ("BTCUSDT"); empty for control replies
  std::string_view stream;          // stream/topic the frame belongs to, when known
  std::string_view type_name;       // venue's type tag, e.g. "aggTrade", "kline" (useful for kIgnored)
  std::int64_t exchange_ts_ns = 0;  // matching-engine time when given, else event time; 0 when absent
  std::int64_t event_ts_ns = 0;     // venue push time (Binance `E`); 0 when absent
  std::int64_t recv_ns = 0;         // local monotonic receive time of the frame

  // Exactly one of these is meaningful, selected by `kind`. A tagged struct rather than std::variant: the
  // members are trivially copyable and the decoder rewrites them in place without re-constructing.
  Trade trade;
  BestBidAsk best_bid_ask;
  BookSnapshot snapshot;
  BookDelta delta;
  MarkFunding mark_funding;
  Liquidation liquidation;
  SubscribeAck ack;
  VenueError error;
};

}  // namespace sigflow::io
