#pragma once
// The feed protocols of Binance spot (`binance`) and USD-M futures (`binance-usdm`): where to connect, which
// streams each symbol needs, how they are split over connections, and how a book is re-synced (a REST depth
// snapshot, feeds.md §1.1).
//
// Both subscribe over the combined endpoint (`.../stream`, frames wrapped as {"stream":..,"data":..}) with
// SUBSCRIBE requests sent after the upgrade, rather than listing streams in the URL: frames then name their
// stream (which tells a depth diff from a partial), the URL stays short whatever the symbol count, and a
// resubscribe is the same request.
#include "io/venues/binance/instrument_name.hpp"
#include "io/venues/venue_protocol.hpp"

namespace sigflow::io::binance {

// Production endpoints, used where the configuration leaves one empty.
inline constexpr std::string_view kSpotStreamUrl = "wss://stream.binance.com:9443";
inline constexpr std::string_view kSpotRestUrl = "https://api.binance.com";
inline constexpr std::string_view kUsdmPublicUrl = "wss://fstream.binance.com/public";
inline constexpr std::string_view kUsdmMarketUrl = "wss://fstream.binance.com/market";
inline constexpr std::string_view kUsdmRestUrl = "https://fapi.binance.com";

// REST depth limits the snapshots ask for, and what they cost (engine/rate_limiter.hpp weight tables).
//   USD-M: 1000, the venue's maximum, weight 20 of 2400/min.
//   Spot: 1000 (weight 50) rather than 5000 (weight 250) of 6000/min. The strategy reads the top of the
//   book; levels beyond 1000 ticks from the touch never reach its features, and the diff stream fills in any
//   deeper level the moment it changes. The 5x cheaper request is what matters when a reconnect re-syncs
//   every symbol at once: inside the fetcher's budget (half the venue's, see snapshot_fetcher.hpp) limit
//   5000 allows 12 snapshots a minute, so 100 symbols would take over 8 minutes to come back; limit 1000
//   allows 60, under 2 minutes.
inline constexpr int kUsdmSnapshotLimit = 1000;
inline constexpr int kSpotSnapshotLimit = 1000;

class BinanceProtocol final : public VenueProtocol {
 public:
  explicit BinanceProtocol(Market market) noexcept : market_(market) {}

  std::string_view id() const noexcept override;
  std::string normalized_instrument(std::string_view symbol) const override;
  std::vector<ConnectionPlan> plan(const VenueEndpoints& endpoints,
                                   std::span<const std::string> symbols) const override;
  VenueLimits limits() const override;
  Heartbeat heartbeat() const override { return {}; }  // the venue pings; the WebSocket layer pongs
  BookResync book_resync() const noexcept override { return BookResync::kRestSnapshot; }
  std::vector<std::string> resubscribe(const Topic& topic, std::uint64_t request_id) const override;
  RestSnapshotRequest rest_snapshot(const VenueEndpoints& endpoints, std::string_view symbol) const override;

  Market market() const noexcept { return market_; }

 private:
  Market market_;
};

const VenueProtocol& spot_protocol();
const VenueProtocol& usdm_protocol();

}  // namespace sigflow::io::binance
