#pragma once
// What Binance spot and USD-M share in the simulator: the WebSocket control plane (SUBSCRIBE, UNSUBSCRIBE,
// LIST_SUBSCRIPTIONS, SET_PROPERTY/GET_PROPERTY `combined`, with the venue's error replies), the raw
// (`/ws/...`) and combined (`/stream?streams=...`) connection forms, and the REST side: depth snapshots
// rendered from the synthetic book and the REQUEST_WEIGHT accounting that answers 429 and then 418 as the
// venue does (binance-spot-api-docs rest-api.md "LIMITS").
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tools/exchange-sim/synthetic_market.hpp"
#include "tools/exchange-sim/venue.hpp"

namespace sigflow::tools::binance_sim {

// The route id a market serves `topic` on (USD-M: /public or /market; spot: one), or nullopt when the name
// is no stream of that market.
using RouteOf = std::optional<int> (*)(std::string_view topic);

// A session for `target`'s path and query after the market's route prefix: "/ws", "/ws/<a>/<b>",
// "/stream?streams=<a>/<b>". nullptr with reject_status 404 (no such path) or 400 (a name that is no
// stream, or more than max_streams).
std::unique_ptr<VenueSession> open_session(std::string_view path, std::string_view query, RouteOf route_of,
                                           int route, std::size_t max_streams, unsigned& reject_status);

// "BTCUSDT" → "btcusdt".
std::string lower(std::string_view s);

// The value of `name` in a query string ("symbol=BTCUSDT&limit=5"), nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

// {"code":..,"msg":..}: the venue's error body, for WebSocket replies and REST errors alike.
std::string error_body(int code, std::string_view message);

// REQUEST_WEIGHT per fixed wall-clock minute for one IP (the simulator has one client IP: loopback).
// Every request is charged, rejected ones included, as on the venue. Over the limit: 429 with Retry-After
// (seconds to the next minute). A client that keeps sending after its 429s is banned: 418 with Retry-After
// and "IP banned until <ms>", two minutes for the first ban and doubling for each repeat (the venue scales
// bans "from 2 minutes to 3 days").
class RestWeightLedger {
 public:
  // 429s tolerated inside one minute before the ban.
  static constexpr int kRateLimitedBeforeBan = 3;
  static constexpr std::int64_t kFirstBanMs = 120'000;

  explicit RestWeightLedger(std::int64_t weight_per_minute) : limit_(weight_per_minute) {}

  // Charges `weight` at wall_ms. nullopt: go ahead (then add used_header() to the reply); else the 429/418
  // reply to send instead.
  std::optional<HttpReply> charge(std::int64_t weight, std::int64_t wall_ms);
  // X-MBX-USED-WEIGHT-1M of the current minute.
  std::pair<std::string, std::string> used_header() const;
  std::int64_t used() const { return used_; }

 private:
  std::int64_t limit_;
  std::int64_t minute_ = -1;
  std::int64_t used_ = 0;
  int rate_limited_this_minute_ = 0;
  std::int64_t banned_until_ms_ = 0;
  std::int64_t next_ban_ms_ = kFirstBanMs;
};

// {"lastUpdateId":N,[extra,]"bids":[["p","q"],..],"asks":[..]} with at most `limit` levels a side.
std::string depth_snapshot_body(const OrderBook& book, const InstrumentSpec& spec,
                                std::uint64_t last_update_id, std::size_t limit,
                                std::string_view extra_fields = {});

// A combined-stream frame of a capture ({"stream":..,"data":..}) located for replay; diff depth streams
// (`<s>@depth`, `<s>@depth@<n>ms`) are marked as book deltas. nullopt for anything else.
std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s);

// The symbol index of `symbol` in `market`, or nullopt.
std::optional<std::size_t> find_symbol(const SyntheticMarket& market, std::string_view symbol);

}  // namespace sigflow::tools::binance_sim
