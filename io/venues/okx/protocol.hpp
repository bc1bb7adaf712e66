#pragma once
// OKX v5 public WebSocket protocol (market `okx`): spot, swaps and futures share one endpoint,
// wss://ws.okx.com:8443/ws/v5/public (feeds.md §1.3).
//
// Topics are named "channel:instId" ("books:BTC-USDT", "funding-rate:BTC-USDT-SWAP"), the same text the
// decoder puts in MarketEvent::stream, so data liveness can be tracked per topic. Per symbol the plan
// subscribes books (400-level snapshot, then 100 ms updates; watched), trades, tickers (watched) and, for
// perpetual swaps, funding-rate and mark-price.
//
// Venue rules the plan keeps to: 3 connection requests per second per IP; 480 subscribe + unsubscribe +
// login requests per connection per hour; the args of one request at most 64 KB; the server closes a
// connection that receives nothing for 30 s, hence a text `ping` after 20 s of silence (answered by the
// text `pong`). Books re-sync by unsubscribing and subscribing again, which makes the venue send a fresh
// snapshot.
#include <string>
#include <string_view>

#include "io/venues/venue_protocol.hpp"

namespace sigflow::io::okx {

inline constexpr std::string_view kPublicUrl = "wss://ws.okx.com:8443/ws/v5/public";

// The venue's bound on the args of one request.
inline constexpr std::size_t kMaxArgsBytesPerRequest = 64 * 1024;

// Topics per connection. A (re)connect costs ceil(topics / kTopicsPerRequest) = 4 subscribe requests and
// each book resync 2 (unsubscribe + subscribe), so one connection can reconnect every few minutes and
// still resync many books within the 480 requests per hour.
inline constexpr std::size_t kTopicsPerConnection = 200;
inline constexpr std::size_t kTopicsPerRequest = 50;

// Instrument names (DESIGN.md): spot "BTC-USDT" stays "BTC-USDT"; perpetual swaps "BTC-USDT-SWAP" →
// "BTC-USDT-PERP", "UNI-USD-SWAP" → "UNI-USD-PERP"; delivery futures keep their expiry,
// "BTC-USD-250328" → "BTC-USD-250328"; options keep the whole instId ("BTC-USD-250328-90000-C"). Empty for
// text that is not an OKX instId (wrong shape, lower case, empty parts).
std::string normalized_instrument(std::string_view inst_id);

// {"id":"7","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]} for topics named
// "channel:instId"; op is "subscribe" or "unsubscribe".
std::string request(std::string_view op, std::span<const Topic> topics, std::uint64_t request_id);

class Protocol final : public VenueProtocol {
 public:
  std::string_view id() const noexcept override { return "okx"; }
  std::string normalized_instrument(std::string_view symbol) const override;
  std::vector<ConnectionPlan> plan(const VenueEndpoints& endpoints,
                                   std::span<const std::string> symbols) const override;
  VenueLimits limits() const override;
  Heartbeat heartbeat() const override;
  BookResync book_resync() const noexcept override { return BookResync::kResubscribe; }
  std::vector<std::string> resubscribe(const Topic& topic, std::uint64_t request_id) const override;
};

const VenueProtocol& okx_protocol();

}  // namespace sigflow::io::okx
