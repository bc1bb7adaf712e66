#include "io/venues/binance/streams.hpp"

namespace sigflow::io::binance {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string base_url(const Endpoint& endpoint, UsdmRoute route) {
  std::string url = endpoint.tls ? "wss://" : "ws://";
  url += endpoint.host;
  if (endpoint.port != (endpoint.tls ? 443 : 80)) {
    url += ':';
    url += std::to_string(endpoint.port);
  }
  url += endpoint.path_prefix;
  url += to_string(route);
  return url;
}

std::string command(std::string_view method, std::span<const std::string> streams, std::uint64_t id) {
  std::string out = "{\"method\":\"";
  out += method;
  out += "\",\"params\":[";
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i) out += ',';
    // Stream names are [a-z0-9@_!] by construction; nothing needs escaping.
    out += '"';
    out += streams[i];
    out += '"';
  }
  out += "],\"id\":";
  out += std::to_string(id);
  out += '}';
  return out;
}

}  // namespace

std::string_view to_string(UsdmRoute route) noexcept {
  return route == UsdmRoute::kPublic ? "/public" : "/market";
}

std::string stream_name(std::string_view symbol, std::string_view channel) {
  std::string out = lower(symbol);
  out += '@';
  out += channel;
  return out;
}

std::vector<std::string> usdm_streams(std::string_view symbol, UsdmRoute route,
                                      const UsdmChannels& channels) {
  const std::string s = lower(symbol);
  std::vector<std::string> out;
  if (route == UsdmRoute::kPublic) {
    if (channels.book_ticker) out.push_back(s + "@bookTicker");
    if (channels.depth20) out.push_back(s + "@depth20@100ms");
  } else {
    if (channels.agg_trade) out.push_back(s + "@aggTrade");
    if (channels.mark_price) out.push_back(s + "@markPrice@1s");
    if (channels.force_order) out.push_back(s + "@forceOrder");
  }
  return out;
}

UsdmRoute usdm_route_of(std::string_view stream) noexcept {
  const std::size_t at = stream.find('@');
  const std::string_view channel = at == std::string_view::npos ? stream : stream.substr(at + 1);
  if (channel.starts_with("bookTicker") || channel.starts_with("depth")) return UsdmRoute::kPublic;
  return UsdmRoute::kMarket;
}

std::string combined_stream_url(const Endpoint& endpoint, UsdmRoute route,
                                std::span<const std::string> streams) {
  std::string url = base_url(endpoint, route);
  url += "/stream?streams=";
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i) url += '/';
    url += streams[i];
  }
  return url;
}

std::string raw_stream_url(const Endpoint& endpoint, UsdmRoute route, std::string_view stream) {
  std::string url = base_url(endpoint, route);
  url += "/ws/";
  url += stream;
  return url;
}

std::string subscribe_request(std::span<const std::string> streams, std::uint64_t id) {
  return command("SUBSCRIBE", streams, id);
}

std::string unsubscribe_request(std::span<const std::string> streams, std::uint64_t id) {
  return command("UNSUBSCRIBE", streams, id);
}

}  // namespace sigflow::io::binance
