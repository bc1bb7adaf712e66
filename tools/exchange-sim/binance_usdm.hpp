#pragma once
// Binance USD-M futures market streams, as served since the 2026-04-23 split of wss://fstream.binance.com:
// `/public` carries bookTicker and depth, `/market` carries aggTrade, markPrice, forceOrder and klines. Both
// routes take raw (`/<route>/ws[/<stream>...]`) and combined (`/<route>/stream?streams=a/b`) connections and
// the JSON control plane (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY). A stream
// named on the wrong route, or any stream on the retired root (`/ws`, `/stream`), is accepted and never
// served, which is what the venue does.
#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

class BinanceUsdm final : public Venue {
 public:
  // The venue's limit per connection (developers.binance.com, "Websocket Market Streams").
  static constexpr std::size_t kMaxStreamsPerConnection = 1024;

  std::string_view id() const override { return "binance-usdm"; }
  std::unique_ptr<VenueSession> open_session(std::string_view target, unsigned& reject_status) const override;
  std::unique_ptr<VenueFeed> make_feed(const SyntheticMarket& market, bool stamp_send_ns) const override;
  std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) const override;
};

}  // namespace sigflow::tools
