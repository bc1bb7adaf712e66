#pragma once
// Deribit JSON-RPC 2.0 market-data decoder (public channels: book, trades, ticker, quote).
//
// Every frame is one JSON-RPC object: a notification `{"method":"subscription","params":{"channel":..,
// "data":..}}`, a heartbeat `{"method":"heartbeat","params":{"type":"heartbeat"|"test_request"}}`, or a
// response `{"id":N,"result":..}` / `{"id":N,"error":{"code":..,"message":..}}`. The channel name decides
// what `data` is (feeds.md §1.4):
//   book.{inst}.{interval}      → kBookSnapshot (type "snapshot", last_update_id = change_id) or kBookDelta
//                                 (type "change", first = final = change_id, prev = prev_change_id); levels
//                                 are [action, price, amount] with action "new" | "change" | "delete" (size
//                                 0)
//   book.{inst}.{group}.{depth}.{interval}
//                               → kBookSnapshot with depth (grouped books are whole top-N frames, no chain)
//   trades.{inst}.{interval}    → one kTrade per array element; a fill with a `liquidation` field ("M" maker,
//                                 "T" taker, "MT" both) also gives one kLiquidation per liquidated side
//   ticker.{inst}.{interval}    → kMarkFunding, then kBestBidAsk
//   quote.{inst}                → kBestBidAsk
//   any other channel           → kIgnored (type_name = the channel's first segment)
// Responses become kSubscribeAck (any `result`, with the request id) or kVenueError; heartbeats and client
// requests recorded in captures are kIgnored.
//
// Prices and sizes are JSON numbers here: their token text is turned into a Decimal exactly
// (json_number.hpp), never through double. Deribit sends one timestamp (ms) per event: it is the matching
// time for trades and the book/ticker time otherwise, and goes to exchange_ts_ns; event_ts_ns stays 0.
//
// Trade ids: Deribit's `trade_id` is a string, "403691824" or, for some instruments, a currency-prefixed
// "ETH-123456". Trade::trade_id keeps its number (the digits after the last '-'; within one instrument the
// prefix is constant, so the number stays unique); when the string has no such number, the per-instrument
// `trade_seq` is used instead.
//
// One frame may produce several events (trades arrays, ticker → two events); each goes to the sink as soon
// as it is complete. Views in an event (symbol, channel, levels, messages) point into the frame or into this
// decoder and stay valid until its next decode call.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "io/venues/market_event.hpp"
#include "io/venues/venue_decoder.hpp"

namespace sigflow::io::deribit {

enum class DecodeError : std::uint8_t {
  kNone,
  kEmptyFrame,      // zero bytes
  kInvalidJson,     // simdjson rejected the text (malformed, truncated, bad UTF-8)
  kNotAnObject,     // the top-level value (or a channel's data element) is not an object
  kWrongType,       // a field the event needs has the wrong JSON type
  kBadDecimal,      // a price/size number cannot be represented exactly as a Decimal
  kMissingField,    // a field the event type requires is absent
  kTooManyLevels,   // more book levels than DecoderLimits allows
  kUnknownMessage,  // a well-formed object that is no JSON-RPC message this decoder knows
  kNotSupported,    // an operation Deribit has no use for (REST book snapshots)
};

std::string_view to_string(DecodeError error) noexcept;

struct DecoderLimits {
  // Book levels per side and frame. A 100ms book snapshot of a liquid perpetual carries the whole visible
  // book, a few thousand levels at most.
  std::size_t max_levels_per_side = 10'000;
};

class Decoder final : public VenueDecoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  ~Decoder() override;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  bool decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
              EventSink& sink) noexcept override;

  // Deribit books are (re)synced by resubscribing (the first notification is a snapshot): always false.
  bool decode_rest_snapshot(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                            EventSink& sink) noexcept override;

  // Why the last decode failed, e.g. `trades[1] field "price": not an exact decimal`.
  std::string_view error_message() const noexcept override;
  DecodeError last_error() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The registry's factory for the "deribit" market.
std::unique_ptr<VenueDecoder> make_deribit_decoder();

}  // namespace sigflow::io::deribit
