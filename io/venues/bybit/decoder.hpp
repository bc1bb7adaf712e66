#pragma once
// Bybit v5 public WebSocket decoder (spot and linear: the two categories share one wire format).
//
// Every push frame is {"topic":..,"type":"snapshot"|"delta","ts":<push ms>,"data":..,["cts":<matching ms>]}
// and the venue varies the key order by category and channel (spot writes `ts` before `type`, linear book
// frames put `cts` after `data`), so nothing here assumes an order. `data` is read in the same pass as the
// other keys when `topic` came first (always, on the wire); should it come before `topic`, the document is
// rewound once and `data` read in a second pass, since what `data` holds depends on the topic.
//
// What each topic becomes (feeds.md §1.2):
//   orderbook.{N}.{sym}  snapshot → kBookSnapshot (last_update_id = u, depth = N);
//                        delta → kBookDelta (first = final = u, prev = u - 1: Bybit's u advances by exactly
//                        one per frame and topic). A snapshot with u = 1 (after a venue restart) is an
//                        ordinary snapshot: it replaces the book.
//   publicTrade.{sym}    one kTrade per element of the `data` array, aggressor = `S` (the taker's side).
//   tickers.{sym}        kMarkFunding with only the fields present (linear deltas carry only what changed),
//                        then kBestBidAsk when bid1Price, bid1Size, ask1Price and ask1Size are all present;
//                        a frame with none of them (spot tickers, a linear delta of open interest) is
//                        kIgnored.
//   allLiquidation.{sym} one kLiquidation per element; see Liquidation side mapping in decoder.cpp.
//   kline.*, others      kIgnored.
// Control replies: {"success":true,"op":"subscribe"|"unsubscribe"} → kSubscribeAck (request_id = req_id
// when it is a number, else -1); pongs (`op:"ping"` with success, or `op:"pong"`) → kIgnored;
// {"success":false,"ret_msg":..} → kVenueError with code 0 (Bybit's public stream sends no error code) and
// ret_msg as the message.
//
// Timestamps: exchange_ts_ns is `cts` for books when present (else `ts`), each trade's or liquidation's own
// `T`, and `ts` for tickers; event_ts_ns is always `ts`.
//
// Views in the events (symbol, topic, levels, messages) point into the frame or this decoder and stay valid
// until the next decode call.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "io/venues/venue_decoder.hpp"

namespace sigflow::io::bybit {

enum class DecodeError : std::uint8_t {
  kNone,
  kEmptyFrame,
  kInvalidJson,     // simdjson rejected the text (malformed, truncated, bad UTF-8)
  kNotAnObject,     // the top-level value (or a `data` element) is not an object
  kWrongType,       // a field has the wrong JSON type
  kBadDecimal,      // a price/size string is not an exact decimal
  kMissingField,    // a field the message requires is absent
  kTooManyLevels,   // more book levels per side than DecoderLimits allows
  kTooManyItems,    // more trades/liquidations in one frame than DecoderLimits allows
  kUnknownTopic,    // a topic this decoder does not know
  kUnknownMessage,  // an object that is neither a push frame nor a known reply
  kBadValue,        // a well-typed field with an impossible value (delta u = 0, side "Hold", ...)
  kNoRestSnapshot,  // decode_rest_snapshot: Bybit books sync from WebSocket snapshots
};

std::string_view to_string(DecodeError error) noexcept;

struct DecoderLimits {
  // orderbook.1000 is the deepest topic Bybit offers (linear/inverse; spot goes to 1000 as well).
  std::size_t max_levels_per_side = 1000;
  // publicTrade frames batch the trades of one push interval; a busy second on BTCUSDT stays far below this.
  std::size_t max_items_per_frame = 4096;
};

class Decoder final : public VenueDecoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  ~Decoder() override;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  bool decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
              EventSink& sink) noexcept override;
  bool decode_rest_snapshot(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                            EventSink& sink) noexcept override;
  std::string_view error_message() const noexcept override;

  // The kind of the last error (kNone after a successful decode).
  DecodeError last_error() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sigflow::io::bybit
