#pragma once
// OKX v5 public WebSocket decoder (`okx` market: spot, swaps and futures share one endpoint).
//
// Data pushes are {"arg":{"channel":..,"instId":..},"action":..,"data":[{..},..]}: the channel in `arg`
// decides what each element of `data` means, so the top level is read in one pass and `data` is decoded in
// place when `arg` (and, for books, `action`) came before it, which is the venue's order; otherwise the
// document is rewound once and `data` decoded afterwards, so no key order is assumed. Each element gives one
// event (each `details` entry of liquidation-orders gives one), delivered to the sink in frame order.
//
// Control replies: `event:"subscribe"`/`"unsubscribe"` → kSubscribeAck (symbol and stream from `arg`,
// request id from the optional `id`), `event:"error"` → kVenueError with the string code parsed as an
// integer, `event:"notice"` (64008: the connection closes soon for a service upgrade) → kVenueError with its
// code, because the feed must act on it by reconnecting early, and the literal text `pong` (OKX's heartbeat
// answer is not JSON) → kIgnored. A body with `code` and no `event` (an OKX REST error such as
// {"msg":"Too Many Requests","code":"50011"}) is a kVenueError as well; code "0" is not an error.
//
// Event fields: `symbol` is the instId, `stream` is the topic "channel:instId" as VenueProtocol names it
// ("liquidation-orders:SWAP" for instType-wide channels), `type_name` the channel or event. OKX data has one
// clock, `ts` (ms), the time the venue generated the data: it goes to exchange_ts_ns and event_ts_ns stays
// 0. Book ids follow market_event.hpp: snapshot last_update_id = seqId, delta first = final = seqId and prev
// = prevSeqId; frames from before seqId existed (2022 captures) carry kNoUpdateId. `checksum` is passed on
// only when non-zero (OKX pins it to 0 since 2026-06-23).
//
// Views in the emitted events point into this decoder and the frame and are valid during the sink call.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "io/venues/venue_decoder.hpp"

namespace sigflow::io::okx {

enum class DecodeError : std::uint8_t {
  kNone,
  kEmptyFrame,      // zero bytes
  kInvalidJson,     // simdjson rejected the text (malformed, truncated, bad UTF-8)
  kNotAnObject,     // valid JSON whose top level is not an object
  kWrongType,       // a field has the wrong JSON type (e.g. a number where OKX sends a decimal string)
  kBadDecimal,      // a price/size string is not an exact decimal
  kBadInteger,      // a string that must hold an integer (ts, code, tradeId) does not
  kMissingField,    // a field the channel or event requires is absent
  kTooManyLevels,   // more book levels than DecoderLimits allows
  kUnknownChannel,  // a data push on a channel this decoder does not know
  kUnknownEvent,    // an `event` this decoder does not know
  kUnknownMessage,  // an object that is neither a data push, an event nor an error body
};

std::string_view to_string(DecodeError error) noexcept;

struct DecoderLimits {
  // Book levels per side and frame: `books` and `books-l2-tbt` snapshots carry 400.
  std::size_t max_levels_per_side = 400;
};

class Decoder final : public VenueDecoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  ~Decoder() override;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // `stream_hint` is unused: every OKX frame names its channel and instrument.
  bool decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
              EventSink& sink) noexcept override;

  // OKX books sync from WebSocket snapshots; there is no REST snapshot to decode.
  bool decode_rest_snapshot(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                            EventSink& sink) noexcept override;

  std::string_view error_message() const noexcept override;
  DecodeError last_error() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::unique_ptr<VenueDecoder> make_okx_decoder();

}  // namespace sigflow::io::okx
