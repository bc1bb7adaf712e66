#pragma once
// Binance stream names and the subscribe request (both markets), and the USD-M endpoints and routes.
//
// Since 2026-04-23 USD-M market data is split by route (feeds.md §1.1): book streams (`bookTicker`,
// `depth*`) are served under `/public`, trade/mark/liquidation streams under `/market`. The legacy root
// still completes the WebSocket handshake but sends nothing, so using the wrong route fails silently —
// which is why the route of each stream is decided here, in one place. Host, port and path prefix are
// configurable so that the same code talks to the exchange simulator on loopback.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::io::binance {

enum class UsdmRoute : std::uint8_t { kPublic, kMarket };

std::string_view to_string(UsdmRoute route) noexcept;  // "/public", "/market"

struct Endpoint {
  std::string host = "fstream.binance.com";
  std::uint16_t port = 443;
  bool tls = true;          // wss:// or ws://
  std::string path_prefix;  // prepended to the route, e.g. "/binance-usdm" behind a simulator
};

// Which channels to subscribe per symbol. The defaults are what the strategy reads.
struct UsdmChannels {
  bool book_ticker = true;   // <s>@bookTicker               (/public)
  bool depth20 = true;       // <s>@depth20@100ms top-20 partial (/public)
  bool agg_trade = true;     // <s>@aggTrade                  (/market)
  bool mark_price = true;    // <s>@markPrice@1s mark/index/funding (/market)
  bool force_order = false;  // <s>@forceOrder at most one per second per symbol (/market)
};

// "BTCUSDT", "depth@100ms" → "btcusdt@depth@100ms": Binance stream names take the symbol in lower case.
std::string stream_name(std::string_view symbol, std::string_view channel);

// Stream names for one symbol on one route, lower-cased as Binance requires ("BTCUSDT" → "btcusdt@...").
std::vector<std::string> usdm_streams(std::string_view symbol, UsdmRoute route,
                                      const UsdmChannels& channels = {});

// The route that serves a stream, from its name; kMarket for names it does not recognise as book streams.
UsdmRoute usdm_route_of(std::string_view stream) noexcept;

// Combined-stream URL: "wss://fstream.binance.com/public/stream?streams=a/b/c".
std::string combined_stream_url(const Endpoint& endpoint, UsdmRoute route,
                                std::span<const std::string> streams);

// Raw single-stream URL: "wss://fstream.binance.com/market/ws/btcusdt@aggTrade".
std::string raw_stream_url(const Endpoint& endpoint, UsdmRoute route, std::string_view stream);

// {"method":"SUBSCRIBE","params":["btcusdt@aggTrade",...],"id":N}; UNSUBSCRIBE likewise.
std::string subscribe_request(std::span<const std::string> streams, std::uint64_t id);
std::string unsubscribe_request(std::span<const std::string> streams, std::uint64_t id);

}  // namespace sigflow::io::binance
