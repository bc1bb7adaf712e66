#pragma once
// Bybit v5 public WebSocket protocol for the spot and linear (USDT/USDC perpetual) categories: endpoints,
// topics per symbol, how they are split over connections, the subscribe and ping requests (feeds.md §1.2;
// bybit-exchange/docs v5/ws/connect and v5/rate-limit).
//
// Endpoint mapping. The production URL is wss://stream.bybit.com/v5/public/{spot,linear}. A configured
// VenueEndpoints::url replaces it: a URL whose path already ends in /v5/public/<category> is used as it is;
// any other URL is a base to which /v5/public/<category> is appended (a trailing '/' is dropped first). So
// "wss://127.0.0.1:PORT/bybit-linear" and "wss://127.0.0.1:PORT/bybit-linear/v5/public/linear" both reach the
// simulator's bybit-linear venue at /v5/public/linear, and "wss://stream.bybit.kz" a regional host.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/venues/venue_decoder.hpp"
#include "io/venues/venue_protocol.hpp"

namespace sigflow::io::bybit {

enum class Category : std::uint8_t { kSpot, kLinear };

inline constexpr std::string_view kProductionBase = "wss://stream.bybit.com";

// "/v5/public/spot", "/v5/public/linear".
std::string_view category_path(Category category) noexcept;

// The WebSocket URL of `category` under `configured` (empty: production); see the mapping above.
std::string stream_url(std::string_view configured, Category category);

// {"req_id":"<id>","op":"<op>","args":["t1","t2"]}; op is "subscribe" or "unsubscribe". Bybit's req_id is a
// string; it is echoed in linear acks.
std::string request(std::string_view op, std::span<const std::string> topics, std::uint64_t request_id);

// Topics of one symbol, in subscribe order: orderbook.50 (book), publicTrade, tickers, and on linear
// allLiquidation.
std::vector<Topic> symbol_topics(std::string_view symbol, Category category);

class Protocol final : public VenueProtocol {
 public:
  // Bybit's documented limits: args of all subscriptions on one connection ≤ 21,000 characters; spot ≤ 10
  // args per request; 500 connection attempts per 5 minutes per domain.
  static constexpr std::size_t kMaxArgsCharsPerConnection = 21'000;

  explicit Protocol(Category category) : category_(category) {}

  std::string_view id() const noexcept override;
  std::string normalized_instrument(std::string_view symbol) const override;
  std::vector<ConnectionPlan> plan(const VenueEndpoints& endpoints,
                                   std::span<const std::string> symbols) const override;
  VenueLimits limits() const override;
  Heartbeat heartbeat() const override;
  BookResync book_resync() const noexcept override { return BookResync::kResubscribe; }
  std::vector<std::string> resubscribe(const Topic& topic, std::uint64_t request_id) const override;

 private:
  Category category_;
};

}  // namespace sigflow::io::bybit

namespace sigflow::io {

// The registry's factories (io/venues/registry.cpp).
const VenueProtocol& bybit_spot_protocol();
const VenueProtocol& bybit_linear_protocol();
std::unique_ptr<VenueDecoder> make_bybit_spot_decoder();
std::unique_ptr<VenueDecoder> make_bybit_linear_decoder();

}  // namespace sigflow::io
