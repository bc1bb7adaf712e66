#pragma once
// VenueWiring: the feed side of the engine planned from a Config and the venue registry — every enabled
// venue's connections (VenueProtocol::plan), the instrument universe, the strategy's connection table, and
// the table that turns a strategy FeedRequest (instrument index + topic kind) into an action on a
// connection or a REST snapshot.
//
// Connection ids: WebSocket connections are numbered from 1 in venue order; after them, every instrument of
// a venue whose books sync over REST (BookResync::kRestSnapshot) gets one pseudo-connection id whose frames
// are that instrument's snapshot bodies (strategy ConnectionSpec {id, venue, route "rest", stream symbol}).
//
// Validation happens here because the registry knows what the config reader cannot: which venue ids exist,
// which endpoint keys a venue takes, which symbols it understands. Errors are engine::ConfigError naming the
// file, the line and the key.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/app/feed_connection.hpp"
#include "engine/config.hpp"
#include "io/venues/venue_protocol.hpp"
#include "strategies/instrument_state.hpp"
#include "strategies/strategy_core.hpp"

namespace sigflow::app {

inline constexpr std::size_t kTopicKinds = static_cast<std::size_t>(io::TopicKind::kOther) + 1;

struct WiredVenue {
  std::string id;
  const io::VenueProtocol* protocol = nullptr;
  io::VenueEndpoints endpoints;
};

// A topic as the feed thread finds it: connection index into VenueWiring::connections and topic index into
// that connection's topics.
struct TopicRef {
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::uint32_t connection = kNone;
  std::uint32_t topic = 0;
  bool valid() const noexcept { return connection != kNone; }
};

// What a FeedRequest about one instrument acts on; index-aligned with VenueWiring::instruments.
struct InstrumentFeedRoute {
  std::uint32_t venue = 0;  // index into VenueWiring::venues
  std::string symbol;
  std::array<TopicRef, kTopicKinds> topics;  // by io::TopicKind
  std::uint32_t rest_conn_id = 0;            // 0: the venue resyncs books by resubscribing
};

// The topic to watch or renew for a kind of data. The strategy names the kind of events, which is not always
// a topic kind of the venue: OKX has no best-bid/ask channel (its tickers carry the BBO), so the nearest
// topic that carries that data stands in, and the book topic when nothing closer exists.
TopicRef topic_carrying(const InstrumentFeedRoute& route, io::TopicKind kind);

struct VenueWiring {
  std::vector<WiredVenue> venues;
  std::vector<FeedConnectionConfig> connections;
  std::vector<strategies::InstrumentSpec> instruments;
  std::vector<strategies::ConnectionSpec> strategy_connections;  // WebSocket and REST pseudo-connections
  std::vector<InstrumentFeedRoute> feed_routes;                  // index = instrument index
  std::string ca_file;  // the one extra CA the enabled venues name (a feed thread has one TLS context)
};

// Throws engine::ConfigError for an unknown venue id (listing the supported ones), an endpoint key the venue
// does not take, a symbol it does not understand or listed twice, a bad URL, or two different CA files.
VenueWiring wire_venues(const engine::Config& config);

// The WebSocket endpoint keys ("url", "public_url", "market_url") a venue's plan() uses, found by asking it.
std::vector<std::string_view> websocket_endpoint_keys(const io::VenueProtocol& protocol,
                                                      const std::string& symbol);

// A venue served by the exchange simulator on 127.0.0.1:`port` (tools/exchange-sim: the first path segment
// names the venue): `url` = wss://127.0.0.1:PORT/<id>, `public_url` / `market_url` = …/<id>/public and
// …/<id>/market, `rest_url` = https://127.0.0.1:PORT/<id> for REST-synced venues. Fast reconnects.
engine::VenueConfig loopback_venue(const std::string& id, std::uint16_t port,
                                   std::vector<std::string> symbols);

}  // namespace sigflow::app
