// libFuzzer: any bytes as a Binance WebSocket frame (combined or raw, with and without a stream hint) and as
// a REST depth body, both copied (decode_rest_depth) and in place on a padded body as the FrameRing delivers
// it (decode_rest_depth_padded, VenueDecoder::decode_rest_snapshot of both markets). The decoder must return
// an error value or an event, never crash or read out of bounds; an event it hands out must be consistent.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/frame_ring.hpp"
#include "io/venues/binance/decoder.hpp"
#include "io/venues/binance/venue_decoder.hpp"

namespace {

// Touches every level of a delivered event, so that a span pointing outside the decoder's storage is caught
// by the sanitizers, and checks that a decoder never delivers an event of kind kNone.
struct CheckingSink final : sigflow::io::EventSink {
  void on_event(const sigflow::io::MarketEvent& e) noexcept override {
    if (e.kind == sigflow::io::EventKind::kNone) std::abort();
    for (const auto& level : e.snapshot.bids) sum += static_cast<std::uint64_t>(level.price.mantissa());
    for (const auto& level : e.snapshot.asks) sum += static_cast<std::uint64_t>(level.size.mantissa());
  }
  // Unsigned: fuzzed mantissas are as large as a Decimal allows, and a signed sum of them overflows (UB).
  std::uint64_t sum = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sigflow::io::binance::Decoder decoder;
  static sigflow::io::MarketEvent event;
  static auto spot = sigflow::io::binance::make_spot_decoder();
  static auto usdm = sigflow::io::binance::make_usdm_decoder();
  static CheckingSink sink;
  // The FrameRing's contract: kFramePadding readable bytes after the payload.
  std::string frame(reinterpret_cast<const char*>(data), size);
  frame.append(sigflow::engine::kFramePadding, '\0');
  const std::string_view payload(frame.data(), size);
  decoder.decode_padded(payload, 1, "", event);
  decoder.decode_padded(payload, 1, "btcusdt@depth20@100ms", event);
  decoder.decode_padded(payload, 1, "btcusdt@depth@100ms", event);
  decoder.decode_rest_depth(payload, "BTCUSDT", 1, event);
  if (decoder.decode_rest_depth_padded(payload, "BTCUSDT", 1, event) ==
          sigflow::io::binance::DecodeError::kNone &&
      event.kind != sigflow::io::EventKind::kBookSnapshot &&
      event.kind != sigflow::io::EventKind::kVenueError)
    std::abort();  // a REST body decodes to a snapshot or the venue's error, nothing else
  spot->decode(payload, 1, "bnbusdt@bookTicker", sink);
  spot->decode_rest_snapshot(payload, "RUNEEUR", 1, sink);
  usdm->decode_rest_snapshot(payload, "KEEPUSDT", 1, sink);
  return 0;
}
