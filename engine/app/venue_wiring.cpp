#include "engine/app/venue_wiring.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "engine/shard.hpp"

namespace sigflow::app {
namespace {

[[noreturn]] void fail(const engine::VenueConfig& venue, std::string_view key, const std::string& what) {
  throw engine::ConfigError(venue.where(key) + ": " + what);
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::string supported_ids() {
  std::string out;
  for (std::string_view id : io::venue_ids()) out += (out.empty() ? "" : ", ") + std::string(id);
  return out;
}

// Which WebSocket endpoint keys a venue honours, found by asking its own plan(): each key gets a marker URL
// and the keys whose marker shows up in the planned URLs are the venue's. No list of venues to keep in step.
}  // namespace

std::vector<std::string_view> websocket_endpoint_keys(const io::VenueProtocol& protocol,
                                                      const std::string& symbol) {
  io::VenueEndpoints probe;
  probe.url = "wss://url.probe.invalid";
  probe.public_url = "wss://public-url.probe.invalid";
  probe.market_url = "wss://market-url.probe.invalid";
  const std::vector<std::string> one{symbol};
  std::vector<std::string_view> keys;
  for (const io::ConnectionPlan& plan : protocol.plan(probe, one)) {
    for (auto [key, marker] : {std::pair<std::string_view, std::string_view>{"url", "//url.probe"},
                               {"public_url", "//public-url.probe"},
                               {"market_url", "//market-url.probe"}}) {
      if (plan.url.find(marker) != std::string::npos &&
          std::find(keys.begin(), keys.end(), key) == keys.end())
        keys.push_back(key);
    }
  }
  return keys;
}

namespace {

void check_endpoint_keys(const engine::VenueConfig& venue, const io::VenueProtocol& protocol) {
  const auto taken = websocket_endpoint_keys(protocol, venue.symbols.front());
  std::string list;
  for (std::string_view k : taken) list += (list.empty() ? "" : ", ") + std::string(k);
  for (std::string_view key : {"url", "public_url", "market_url"}) {
    if (venue.has(key) && std::find(taken.begin(), taken.end(), key) == taken.end())
      fail(venue, key,
           "venue '" + venue.id + "' does not take this key (its WebSocket endpoints: " + list + ")");
  }
  if (venue.has("rest_url") && protocol.book_resync() != io::BookResync::kRestSnapshot)
    fail(venue, "rest_url", "venue '" + venue.id + "' syncs books over its WebSocket and takes no rest_url");
  if (engine::is_plaintext_url(venue.rest_url) && !venue.allow_insecure)
    fail(venue, "rest_url",
         "'" + venue.rest_url + "' is plaintext; set allow_insecure = true on this endpoint to allow it");
}

// The configured limit for a kind of topic (topic_silence_ms), or -1 for the venue's own.
std::int64_t configured_silence_ms(const engine::VenueConfig& venue, io::TopicKind kind) {
  switch (kind) {
    case io::TopicKind::kBook:
      return venue.book_silence_ms;
    case io::TopicKind::kBestBidAsk:
      return venue.bbo_silence_ms;
    case io::TopicKind::kTicker:
      return venue.ticker_silence_ms;
    case io::TopicKind::kTrades:
      return venue.trades_silence_ms;
    default:
      return -1;
  }
}

FeedConnectionConfig connection_config(const engine::VenueConfig& venue, const io::VenueProtocol& protocol,
                                       const io::ConnectionPlan& plan, std::uint32_t conn_id) {
  FeedConnectionConfig c;
  c.label = venue.id + plan.route;
  c.venue = venue.id;
  c.connection_id = conn_id;
  std::string error;
  if (!parse_websocket_url(plan.url, c.url, error)) {
    const std::string_view key = plan.route == "/public"   ? "public_url"
                                 : plan.route == "/market" ? "market_url"
                                                           : "url";
    fail(venue, key, error);
  }
  // The reader refuses ws:// without the flag; this holds the same rule for configs built in code.
  if (!c.url.tls && !venue.allow_insecure) {
    std::string_view key = "url";
    for (auto [name, value] : {std::pair<std::string_view, const std::string*>{"url", &venue.url},
                               {"public_url", &venue.public_url},
                               {"market_url", &venue.market_url}})
      if (engine::is_plaintext_url(*value)) key = name;
    fail(venue, key,
         "'" + plan.url + "' is plaintext; set allow_insecure = true on this endpoint to allow it");
  }
  c.protocol = &protocol;
  c.topics = plan.topics;
  for (io::Topic& topic : c.topics) {
    const std::int64_t ms = configured_silence_ms(venue, topic.kind);
    if (ms >= 0) topic.max_silence_ns = ms * 1'000'000;
  }
  c.first_frame_grace_ns = venue.first_frame_grace_ms * 1'000'000;
  c.open_messages = protocol.open_messages();
  c.subscribe_messages = plan.subscribe_messages;
  const io::VenueLimits limits = protocol.limits();
  c.max_outgoing_per_s = limits.max_outgoing_per_s;
  c.heartbeat = protocol.heartbeat();
  c.connect_timeout_ns = venue.connect_timeout_ms * 1'000'000;
  c.silent_timeout_ns = venue.silent_timeout_ms * 1'000'000;
  c.max_message_bytes = venue.max_message_bytes;
  c.reconnect.base_ns = venue.reconnect.base_ms * 1'000'000;
  c.reconnect.cap_ns = venue.reconnect.cap_ms * 1'000'000;
  c.reconnect.stable_after_ns = venue.reconnect.stable_after_ms * 1'000'000;
  c.reconnect.window_attempts = limits.connect_attempts_per_window;
  c.reconnect.window_ns = limits.connect_window_ns;
  return c;
}

}  // namespace

namespace {

// The strategy's liveness bounds for one instrument: each watched kind's limit is that of the topic the feed
// thread would renew for it.
strategies::LivenessBounds liveness_of(const InstrumentFeedRoute& route,
                                       const std::vector<FeedConnectionConfig>& connections) {
  auto bound = [&](io::TopicKind kind) -> std::int64_t {
    const TopicRef ref = topic_carrying(route, kind);
    return ref.valid() ? connections[ref.connection].topics[ref.topic].max_silence_ns : 0;
  };
  strategies::LivenessBounds bounds;
  bounds.book_ns = bound(io::TopicKind::kBook);
  bounds.best_bid_ask_ns = bound(io::TopicKind::kBestBidAsk);
  bounds.ticker_ns = bound(io::TopicKind::kTicker);
  return bounds;
}

}  // namespace

TopicRef topic_carrying(const InstrumentFeedRoute& route, io::TopicKind kind) {
  auto at = [&](io::TopicKind k) { return route.topics[static_cast<std::size_t>(k)]; };
  if (at(kind).valid()) return at(kind);
  if (kind == io::TopicKind::kBestBidAsk && at(io::TopicKind::kTicker).valid())
    return at(io::TopicKind::kTicker);
  if (kind == io::TopicKind::kTicker && at(io::TopicKind::kBestBidAsk).valid())
    return at(io::TopicKind::kBestBidAsk);
  return at(io::TopicKind::kBook);
}

engine::VenueConfig loopback_venue(const std::string& id, std::uint16_t port,
                                   std::vector<std::string> symbols) {
  engine::VenueConfig venue;
  venue.id = id;
  venue.source = "loopback";
  venue.symbols = std::move(symbols);
  const std::string base = "127.0.0.1:" + std::to_string(port) + "/" + id;
  const io::VenueProtocol* protocol = io::find_protocol(id);
  if (protocol && !venue.symbols.empty()) {
    // The simulator serves each venue under /<id> + the path of the venue's production endpoint: plan once
    // with marker endpoints and once with the defaults; what the protocol appends to a configured endpoint
    // is the marker URL's tail, and the default URL minus that tail is the production endpoint.
    io::VenueEndpoints probe;
    probe.url = "wss://url.probe.invalid";
    probe.public_url = "wss://public-url.probe.invalid";
    probe.market_url = "wss://market-url.probe.invalid";
    const std::vector<std::string> one{venue.symbols.front()};
    const auto probed = protocol->plan(probe, one);
    const auto defaults = protocol->plan({}, one);
    for (std::size_t i = 0; i < probed.size() && i < defaults.size(); ++i) {
      for (auto [key, marker, field] :
           {std::tuple<std::string_view, std::string_view, std::string*>{"url", probe.url, &venue.url},
            {"public_url", probe.public_url, &venue.public_url},
            {"market_url", probe.market_url, &venue.market_url}}) {
        const std::string& planned = probed[i].url;
        if (!planned.starts_with(marker)) continue;
        const std::string_view tail = std::string_view(planned).substr(marker.size());
        std::string_view production = defaults[i].url;
        if (production.ends_with(tail)) production.remove_suffix(tail.size());
        const auto scheme = production.find("://");
        const auto path_at =
            scheme == std::string_view::npos ? std::string_view::npos : production.find('/', scheme + 3);
        const std::string_view path = path_at == std::string_view::npos ? "" : production.substr(path_at);
        *field = "wss://" + base + std::string(path);
        venue.lines[std::string(key)] = 0;
      }
    }
    if (protocol->book_resync() == io::BookResync::kRestSnapshot) {
      venue.rest_url = "https://" + base;
      venue.lines["rest_url"] = 0;
    }
  }
  venue.reconnect.base_ms = 100;
  venue.reconnect.cap_ms = 2'000;
  return venue;
}

VenueWiring wire_venues(const engine::Config& config) {
  VenueWiring w;
  std::uint32_t next_conn = 1;
  std::set<std::string> seen_venues;
  for (const engine::VenueConfig& venue : config.venues) {
    const io::VenueProtocol* protocol = io::find_protocol(venue.id);
    if (!protocol) fail(venue, "", "unknown venue (supported: " + supported_ids() + ")");
    if (!venue.enabled) continue;
    if (!venue.ca_file.empty()) {
      if (!w.ca_file.empty() && w.ca_file != venue.ca_file)
        fail(venue, "ca_file",
             "all venues on one feed thread share a CA file ('" + w.ca_file + "' elsewhere)");
      w.ca_file = venue.ca_file;
    }
    std::set<std::string> symbols;
    for (const std::string& symbol : venue.symbols) {
      if (protocol->normalized_instrument(symbol).empty())
        fail(venue, "symbols",
             "'" + symbol + "' is not a " + venue.id +
                 " symbol this engine understands (unknown quote asset or "
                 "instrument type)");
      if (!symbols.insert(upper(symbol)).second) fail(venue, "symbols", "'" + symbol + "' is listed twice");
    }
    check_endpoint_keys(venue, *protocol);

    // [shard]: only the instruments this engine owns (engine/shard.hpp); a venue left with none is not
    // connected at all by this engine.
    std::vector<std::string> owned;
    for (const std::string& symbol : venue.symbols) {
      if (engine::shard_of(venue.id, symbol, static_cast<std::uint64_t>(config.shard.count)) ==
          static_cast<std::uint64_t>(config.shard.index))
        owned.push_back(symbol);
    }
    if (owned.empty()) continue;

    const auto venue_index = static_cast<std::uint32_t>(w.venues.size());
    w.venues.push_back({venue.id, protocol, {venue.url, venue.public_url, venue.market_url, venue.rest_url}});
    const std::size_t first_instrument = w.instruments.size();
    for (const std::string& symbol : owned) {
      w.instruments.push_back({venue.id, symbol, protocol->normalized_instrument(symbol)});
      InstrumentFeedRoute route;
      route.venue = venue_index;
      route.symbol = symbol;
      w.feed_routes.push_back(std::move(route));
    }
    for (const io::ConnectionPlan& plan : protocol->plan(w.venues.back().endpoints, owned)) {
      const auto connection = static_cast<std::uint32_t>(w.connections.size());
      w.connections.push_back(connection_config(venue, *protocol, plan, next_conn));
      w.strategy_connections.push_back({next_conn, venue.id, plan.route, ""});
      ++next_conn;
      for (std::uint32_t t = 0; t < plan.topics.size(); ++t) {
        const std::string topic_symbol = upper(plan.topics[t].symbol);
        for (std::size_t i = first_instrument; i < w.instruments.size(); ++i) {
          TopicRef& ref = w.feed_routes[i].topics[static_cast<std::size_t>(plan.topics[t].kind)];
          if (upper(w.feed_routes[i].symbol) == topic_symbol && !ref.valid()) ref = {connection, t};
        }
      }
    }
  }
  if (w.instruments.empty())
    throw engine::ConfigError(
        config.source + ": key 'shard.index': shard " + std::to_string(config.shard.index) + " of " +
        std::to_string(config.shard.count) + " owns none of the configured instruments");
  // The strategy watches each instrument's data by the limits of the topics that carry it.
  for (std::size_t i = 0; i < w.instruments.size(); ++i)
    w.instruments[i].liveness = liveness_of(w.feed_routes[i], w.connections);
  // Each WebSocket connection knows the books it carries (strategy_connections and connections are
  // index-aligned so far): a ring drop on it resyncs exactly those.
  for (std::size_t i = 0; i < w.instruments.size(); ++i) {
    const TopicRef book = w.feed_routes[i].topics[static_cast<std::size_t>(io::TopicKind::kBook)];
    if (book.valid()) w.strategy_connections[book.connection].books.push_back(static_cast<std::uint32_t>(i));
  }
  // REST pseudo-connections after every WebSocket one, so WebSocket ids do not depend on REST venues.
  for (std::size_t i = 0; i < w.instruments.size(); ++i) {
    const WiredVenue& venue = w.venues[w.feed_routes[i].venue];
    if (venue.protocol->book_resync() != io::BookResync::kRestSnapshot) continue;
    w.feed_routes[i].rest_conn_id = next_conn;
    w.strategy_connections.push_back(
        {next_conn, venue.id, std::string(strategies::kRestRoute), w.feed_routes[i].symbol});
    ++next_conn;
  }
  return w;
}

}  // namespace sigflow::app
