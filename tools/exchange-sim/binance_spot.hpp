#pragma once
// Binance spot market streams (wss://stream.binance.com:9443) and the REST depth snapshot: raw
// (`/ws[/<stream>...]`) and combined (`/stream?streams=a/b`) connections with the JSON control plane shared
// with USD-M (binance_common.hpp), and the spot frame shapes, which differ from USD-M's:
//   - depthUpdate has no `pu` and no `T`; update ids are per symbol and consecutive, so a diff's U is the
//     previous diff's u + 1;
//   - bookTicker has no `e`, `E` or `T`;
//   - partial depth frames are bare {"lastUpdateId","bids","asks"};
//   - `<s>@trade` (one frame per fill) exists beside `<s>@aggTrade`.
// GET /api/v3/depth?symbol=X&limit=N (weight 5/25/50/250 by limit, REQUEST_WEIGHT 6000 per minute) answers
// the book of the same instant with the same per-symbol lastUpdateId, so a client can run the documented
// sync procedure against it.
#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools {

class BinanceSpot final : public Venue {
 public:
  static constexpr std::size_t kMaxStreamsPerConnection = 1024;

  std::string_view id() const override { return "binance"; }
  std::unique_ptr<VenueSession> open_session(std::string_view target, unsigned& reject_status) const override;
  std::unique_ptr<VenueFeed> make_feed(const SyntheticMarket& market, bool stamp_send_ns) const override;
  std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) const override;
};

}  // namespace sigflow::tools
