#include "io/venues/binance/venue_decoder.hpp"

namespace sigflow::io::binance {

VenueDecoderAdapter::VenueDecoderAdapter(Market market, DecoderLimits limits)
    : market_(market), decoder_(limits) {}

bool VenueDecoderAdapter::decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
                                 EventSink& sink) noexcept {
  if (decoder_.decode_padded(padded, recv_ns, stream_hint, event_) != DecodeError::kNone) return false;
  sink.on_event(event_);
  return true;
}

bool VenueDecoderAdapter::decode_rest_snapshot(std::string_view padded, std::string_view symbol,
                                               std::int64_t recv_ns, EventSink& sink) noexcept {
  if (decoder_.decode_rest_depth_padded(padded, symbol, recv_ns, event_) != DecodeError::kNone) return false;
  sink.on_event(event_);
  return true;
}

DecoderLimits decoder_limits(Market market) noexcept {
  DecoderLimits limits;
  if (market == Market::kUsdm) {
    // GET /fapi/v1/depth returns at most 1000 levels per side; a 1000-level body is about 50 KB.
    limits.max_levels_per_side = 1000;
    limits.max_rest_body_bytes = 1u << 20;
  }
  return limits;
}

std::unique_ptr<VenueDecoder> make_spot_decoder() {
  return std::make_unique<VenueDecoderAdapter>(Market::kSpot, decoder_limits(Market::kSpot));
}

std::unique_ptr<VenueDecoder> make_usdm_decoder() {
  return std::make_unique<VenueDecoderAdapter>(Market::kUsdm, decoder_limits(Market::kUsdm));
}

}  // namespace sigflow::io::binance
