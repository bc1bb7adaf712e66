#pragma once
// VenueDecoder: one venue's wire format to normalized MarketEvents, on the strategy thread.
//
// A frame can carry several events (a Bybit publicTrade frame lists many trades, Deribit and OKX send
// arrays), so events go to an EventSink one by one, in frame order, each valid only during the call. The
// decoder parses in place: `padded` is followed by engine::kFramePadding readable bytes (the FrameRing
// guarantees it), and the per-frame path allocates nothing, locks nothing and throws nothing.
//
// Errors are values: decode() returns false and error_message() says why ("field \"p\": expected a
// decimal string"). Events delivered before an error in the same frame were complete and stand.
#include <cstdint>
#include <memory>
#include <string_view>

#include "io/venues/market_event.hpp"

namespace sigflow::io {

class EventSink {
 public:
  virtual void on_event(const MarketEvent& event) noexcept = 0;

 protected:
  ~EventSink() = default;
};

class VenueDecoder {
 public:
  virtual ~VenueDecoder() = default;

  // One WebSocket text frame. `stream_hint` is the stream of a raw single-stream connection (whose frames do
  // not name it); empty otherwise.
  virtual bool decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
                      EventSink& sink) noexcept = 0;

  // A REST depth snapshot body for `symbol` (only venues whose books sync over REST: Binance). The body is
  // padded like a frame (REST bodies reach the strategy thread through the same FrameRing).
  virtual bool decode_rest_snapshot(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                                    EventSink& sink) noexcept = 0;

  virtual std::string_view error_message() const noexcept = 0;
};

// The decoder of a market id ("binance", "binance-usdm", "bybit-spot", "bybit-linear", "okx", "deribit");
// nullptr for an unknown id.
std::unique_ptr<VenueDecoder> make_decoder(std::string_view venue_id);

}  // namespace sigflow::io
