#pragma once
// Binance WebSocket and REST market-data decoder, for spot (`binance`) and USD-M futures (`binance-usdm`):
// one wire grammar covers both, the differences (spot diffs have no `pu`, spot bookTicker no `e`/`E`/`T`,
// spot partial depth frames are bare {lastUpdateId,bids,asks}) are absent fields, not other shapes.
//
// Frames arrive on the strategy thread straight from the FrameRing, padded for simdjson, and are parsed in
// place with one reused on-demand parser: no copy, no allocation, no exception. Both connection forms are
// accepted — combined streams wrap each event as {"stream":..,"data":{..}}, raw connections send the event
// alone — and the key order of neither is assumed: every field is collected in one pass and the event is
// built afterwards. The stream name matters because USD-M top-N partial depth frames and diff frames carry
// the same fields with the same `e:"depthUpdate"`; a raw connection's stream name is not in its frames, so
// the caller passes it (`stream_hint`).
//
// Views in the decoded event (symbol, levels, messages) point into this decoder and stay valid until its
// next decode call.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/frame_ring.hpp"
#include "io/venues/market_event.hpp"

namespace sigflow::io::binance {

enum class DecodeError : std::uint8_t {
  kNone,
  kEmptyFrame,        // zero bytes
  kInvalidJson,       // simdjson rejected the text (malformed, truncated, bad UTF-8)
  kNotAnObject,       // the top-level value is not an object
  kWrongType,         // a known field has the wrong JSON type (e.g. a number where a decimal string belongs)
  kBadDecimal,        // a price/size string is not an exact decimal
  kMissingField,      // a field the event type requires is absent
  kTooManyLevels,     // more book levels than DecoderLimits allows
  kUnknownEventType,  // a well-formed object of a type this decoder does not know
  kMissingStream,     // a depth frame whose stream is unknown: partial and diff cannot be told apart
  kFrameTooLarge,     // a REST body larger than DecoderLimits allows
};

std::string_view to_string(DecodeError error) noexcept;

struct DecoderLimits {
  // Book levels per side and frame. USD-M REST snapshots return up to 1000, spot up to 5000.
  std::size_t max_levels_per_side = 5000;
  // Largest REST body decode_rest_depth copies into its padded buffer (a 5000-level spot snapshot is
  // about 400 KB).
  std::size_t max_rest_body_bytes = 4u << 20;
};

class Decoder {
 public:
  explicit Decoder(DecoderLimits limits = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one WebSocket text frame. `frame.bytes` must be followed by engine::kFramePadding readable
  // bytes (the FrameRing guarantees it). On error, `out.kind` is kNone and error_message() says why.
  DecodeError decode(const engine::FrameView& frame, std::string_view stream_hint, MarketEvent& out) noexcept;

  // Same, for bytes followed by at least engine::kFramePadding readable bytes.
  DecodeError decode_padded(std::string_view bytes, std::int64_t recv_ns, std::string_view stream_hint,
                            MarketEvent& out) noexcept;

  // Decodes a REST depth body ({"lastUpdateId":..,"bids":[[p,q]..],"asks":..}) into a kBookSnapshot for
  // `symbol` (the body does not name it). REST bodies come from the HTTP client unpadded, so the body is
  // copied into a buffer this decoder owns; snapshots are rare (weight-limited), so the copy is cheap.
  DecodeError decode_rest_depth(std::string_view body, std::string_view symbol, std::int64_t recv_ns,
                                MarketEvent& out) noexcept;

  // Same, for a body already followed by engine::kFramePadding readable bytes (a REST body delivered
  // through the FrameRing): parsed in place, no copy.
  DecodeError decode_rest_depth_padded(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                                       MarketEvent& out) noexcept;

  // Human-readable reason for the last error, e.g. `field "p": expected a decimal string`.
  std::string_view error_message() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sigflow::io::binance
