#pragma once
// The engine's VenueDecoder for Binance spot (`binance`) and USD-M (`binance-usdm`): binance::Decoder behind
// the venue-neutral interface. Every Binance frame carries exactly one event, so a decode hands the sink one
// event or none.
#include <memory>

#include "io/venues/binance/decoder.hpp"
#include "io/venues/binance/instrument_name.hpp"
#include "io/venues/venue_decoder.hpp"

namespace sigflow::io::binance {

class VenueDecoderAdapter final : public VenueDecoder {
 public:
  VenueDecoderAdapter(Market market, DecoderLimits limits);

  bool decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
              EventSink& sink) noexcept override;
  // `padded` must be a depth body ({"lastUpdateId":..}); a REST error body ({"code":-1003,"msg":..}) is
  // delivered as a kVenueError event, anything else is an error.
  bool decode_rest_snapshot(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                            EventSink& sink) noexcept override;
  std::string_view error_message() const noexcept override { return decoder_.error_message(); }

  Market market() const noexcept { return market_; }

 private:
  Market market_;
  Decoder decoder_;
  MarketEvent event_;  // rewritten by every decode; handed to the sink by reference
};

// Decoder limits per market: the largest REST snapshot each venue can return (spot 5000 levels per side,
// USD-M 1000), so a USD-M decoder does not reserve spot-sized level arrays.
DecoderLimits decoder_limits(Market market) noexcept;

std::unique_ptr<VenueDecoder> make_spot_decoder();
std::unique_ptr<VenueDecoder> make_usdm_decoder();

}  // namespace sigflow::io::binance
