#include "io/venues/binance/protocol.hpp"

#include <algorithm>

#include "engine/rate_limiter.hpp"
#include "io/venues/binance/streams.hpp"

namespace sigflow::io::binance {
namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;

// One stream a symbol subscribes to. Silence bounds (VenueProtocol's data liveness): the diff depth stream
// of a listed symbol changes within seconds, and bookTicker with it; 30 s / 60 s without either means the
// stream is dead, not quiet, and a false alarm costs one resubscribe and one snapshot. markPrice@1s is pushed
// every second whatever the market does, so 10 s is already a long silence. Trades and liquidations can
// legitimately stop for minutes on a quiet symbol: not watched.
struct Channel {
  std::string_view name;
  TopicKind kind;
  std::int64_t max_silence_ns;
  bool pushed_on_clock = false;  // markPrice@1s: pushed every second whatever the market does
};

constexpr Channel kBookTicker{"bookTicker", TopicKind::kBestBidAsk, 60 * kSecondNs};
constexpr Channel kDiffDepth{"depth@100ms", TopicKind::kBook, 30 * kSecondNs};
constexpr Channel kAggTrade{"aggTrade", TopicKind::kTrades, 0};
constexpr Channel kMarkPrice{"markPrice@1s", TopicKind::kTicker, 10 * kSecondNs, true};
constexpr Channel kForceOrder{"forceOrder", TopicKind::kLiquidation, 0};

// USD-M serves book streams on /public and everything else on /market (feeds.md §0: the legacy root
// completes the handshake and sends nothing, so a stream on the wrong route is silently dead).
constexpr Channel kUsdmPublic[] = {kBookTicker, kDiffDepth};
constexpr Channel kUsdmMarket[] = {kAggTrade, kMarkPrice, kForceOrder};
constexpr Channel kSpot[] = {kBookTicker, kDiffDepth, kAggTrade};

// Streams per connection (both markets' documented limit) and per SUBSCRIBE request (a request with a
// thousand params is accepted, but a rejected one then loses all of them; 200 is what nautilus uses).
constexpr std::size_t kMaxStreamsPerConnection = 1024;
constexpr std::size_t kMaxStreamsPerRequest = 200;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string with_path(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string url(base);
  url += path;
  return url;
}

// Connections of one route: symbols in order, every stream of a symbol on the same connection (a symbol's
// book and its best bid/ask then share one transport and one ordering), at most kMaxStreamsPerConnection
// streams each.
void plan_route(std::string_view route, std::string_view base_url, std::span<const Channel> channels,
                std::span<const std::string> symbols, std::vector<ConnectionPlan>& out) {
  const std::size_t symbols_per_connection = kMaxStreamsPerConnection / channels.size();
  for (std::size_t first = 0; first < symbols.size(); first += symbols_per_connection) {
    ConnectionPlan plan;
    plan.route = std::string(route);
    plan.url = with_path(base_url, "/stream");
    const std::size_t last = std::min(symbols.size(), first + symbols_per_connection);
    for (std::size_t i = first; i < last; ++i) {
      for (const Channel& channel : channels)
        plan.topics.push_back(Topic{stream_name(symbols[i], channel.name), upper(symbols[i]), channel.kind,
                                    channel.max_silence_ns, channel.pushed_on_clock});
    }
    std::vector<std::string> names;
    std::uint64_t request_id = 1;
    for (std::size_t i = 0; i < plan.topics.size(); i += kMaxStreamsPerRequest) {
      names.clear();
      for (std::size_t k = i; k < std::min(plan.topics.size(), i + kMaxStreamsPerRequest); ++k)
        names.push_back(plan.topics[k].name);
      plan.subscribe_messages.push_back(subscribe_request(names, request_id++));
    }
    out.push_back(std::move(plan));
  }
}

std::string_view or_default(const std::string& configured, std::string_view production) {
  return configured.empty() ? production : std::string_view(configured);
}

}  // namespace

std::string_view BinanceProtocol::id() const noexcept {
  return market_ == Market::kSpot ? "binance" : "binance-usdm";
}

std::string BinanceProtocol::normalized_instrument(std::string_view symbol) const {
  return binance::normalized_instrument(upper(symbol), market_);
}

std::vector<ConnectionPlan> BinanceProtocol::plan(const VenueEndpoints& endpoints,
                                                  std::span<const std::string> symbols) const {
  std::vector<ConnectionPlan> out;
  if (symbols.empty()) return out;
  if (market_ == Market::kSpot) {
    plan_route("", or_default(endpoints.url, kSpotStreamUrl), kSpot, symbols, out);
  } else {
    plan_route("/public", or_default(endpoints.public_url, kUsdmPublicUrl), kUsdmPublic, symbols, out);
    plan_route("/market", or_default(endpoints.market_url, kUsdmMarketUrl), kUsdmMarket, symbols, out);
  }
  return out;
}

VenueLimits BinanceProtocol::limits() const {
  VenueLimits limits;
  // The venue counts every client frame against this limit, pongs included (spot: 5/s, USD-M: 10/s, feeds.md
  // §1.1) and disconnects on excess. One below leaves room for the pong that may answer a server ping in the
  // same second as a burst of SUBSCRIBEs.
  limits.max_outgoing_per_s = market_ == Market::kSpot ? 4 : 9;
  limits.max_topics_per_connection = kMaxStreamsPerConnection;
  limits.max_topics_per_message = kMaxStreamsPerRequest;
  // 300 connection attempts per 5 minutes per IP; a third of it leaves room for other processes on the host
  // and for the other Binance market, which shares the IP.
  limits.connect_attempts_per_window = 100;
  limits.connect_window_ns = 300 * kSecondNs;
  return limits;
}

std::vector<std::string> BinanceProtocol::resubscribe(const Topic& topic, std::uint64_t request_id) const {
  const std::string names[] = {topic.name};
  // Two requests with consecutive ids, so that each acknowledgement can be matched to its request.
  return {unsubscribe_request(names, request_id), subscribe_request(names, request_id + 1)};
}

RestSnapshotRequest BinanceProtocol::rest_snapshot(const VenueEndpoints& endpoints,
                                                   std::string_view symbol) const {
  const bool spot = market_ == Market::kSpot;
  RestSnapshotRequest request;
  request.url = with_path(or_default(endpoints.rest_url, spot ? kSpotRestUrl : kUsdmRestUrl),
                          spot ? "/api/v3/depth?symbol=" : "/fapi/v1/depth?symbol=");
  // Binance symbols are [A-Z0-9]: nothing to escape in the query.
  request.url += upper(symbol);
  request.url += "&limit=";
  const int limit = spot ? kSpotSnapshotLimit : kUsdmSnapshotLimit;
  request.url += std::to_string(limit);
  request.weight = static_cast<std::uint32_t>(spot ? engine::binance_spot_depth_weight(limit)
                                                   : engine::binance_usdm_depth_weight(limit));
  return request;
}

const VenueProtocol& spot_protocol() {
  static const BinanceProtocol kProtocol(Market::kSpot);
  return kProtocol;
}

const VenueProtocol& usdm_protocol() {
  static const BinanceProtocol kProtocol(Market::kUsdm);
  return kProtocol;
}

}  // namespace sigflow::io::binance
