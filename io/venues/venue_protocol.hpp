#pragma once
// VenueProtocol: what the feed thread needs to know about one market's WebSocket protocol — where to
// connect, how to split subscriptions over connections within the venue's limits, what to send on open,
// how to keep the connection alive, what the venue demands an answer to, and how a book is re-synced.
//
// Protocols are stateless descriptions, built once at start (they may allocate); the feed connection
// applies them. The per-frame hook reply_to() runs on the feed thread for every received frame and must be
// cheap (a length check and a memmem, not a parse).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sigflow::io {

// What a subscribed topic carries: decides data-liveness bounds and which topic a book resync renews.
enum class TopicKind : std::uint8_t { kBook, kBestBidAsk, kTrades, kTicker, kLiquidation, kOther };

struct Topic {
  std::string name;    // exactly as subscribed: "btcusdt@depth@100ms", "orderbook.50.BTCUSDT",
                       // "books:BTC-USDT" (OKX channel:instId), "book.BTC-PERPETUAL.100ms"
  std::string symbol;  // the venue's symbol the topic belongs to
  TopicKind kind = TopicKind::kOther;
  // Data liveness: the longest silence a quiet market shows on this topic. Past it, while other frames
  // still arrive on the connection, the topic is resubscribed (at most once per limit, backing off); the
  // connection is recycled only when it is itself silent. 0: not watched (sparse topics: liquidations).
  std::int64_t max_silence_ns = 0;
  // The venue pushes this topic on a clock whatever the market does (mark price every second, a ticker
  // every interval): a silence that resubscribing does not end is a dead connection, which is recycled.
  bool pushed_on_clock = false;
};

// One WebSocket connection of a venue and what it subscribes to.
struct ConnectionPlan {
  std::string route;  // label suffix for logs and the status line: "/public", "/market", "" (one route)
  std::string url;    // ws:// or wss:// URL to open
  std::vector<Topic> topics;
  // Sent in order after the upgrade, on every (re)connect, paced by VenueLimits::max_outgoing_per_s.
  std::vector<std::string> subscribe_messages;
};

struct VenueLimits {
  double max_outgoing_per_s = 5;  // client messages per second per connection (Binance spot: 5)
  std::size_t max_topics_per_connection = 200;
  std::size_t max_topics_per_message = 10;  // args per subscribe request (Bybit spot: 10)
  std::uint32_t connect_attempts_per_window = 100;
  std::int64_t connect_window_ns = 300'000'000'000;
};

struct Heartbeat {
  // Client pings (Bybit {"op":"ping"} every 20 s, OKX text "ping"); 0 when the venue pings (Binance: the
  // WebSocket layer answers ping frames with their payload) or asks (Deribit test_request, see reply_to).
  std::int64_t client_ping_interval_ns = 0;
  std::string ping_text;
  bool only_when_idle = false;  // OKX: ping only when nothing arrived for the interval
};

enum class BookResync : std::uint8_t {
  kResubscribe,   // the venue sends a fresh snapshot on (re)subscribe: Bybit, OKX, Deribit
  kRestSnapshot,  // GET a depth snapshot and chain buffered diffs onto it: Binance
};

// Where the engine's configuration points a venue. Empty strings: the venue's production endpoints.
struct VenueEndpoints {
  std::string url;         // the WebSocket base (Bybit/OKX/Deribit; Binance spot)
  std::string public_url;  // Binance USD-M /public route
  std::string market_url;  // Binance USD-M /market route
  std::string rest_url;    // Binance REST base: https://fapi.binance.com, https://api.binance.com
};

struct RestSnapshotRequest {
  std::string url;           // full https URL of the depth snapshot
  std::uint32_t weight = 0;  // request weight the venue debits (Binance: by depth limit)
};

class VenueProtocol {
 public:
  virtual ~VenueProtocol() = default;

  virtual std::string_view id() const noexcept = 0;

  // "BTCUSDT" → "BTC-USDT-PERP" (DESIGN.md names); empty when the symbol is not understood.
  virtual std::string normalized_instrument(std::string_view symbol) const = 0;

  // Connections and subscriptions for `symbols`, split by the limits.
  virtual std::vector<ConnectionPlan> plan(const VenueEndpoints& endpoints,
                                           std::span<const std::string> symbols) const = 0;

  virtual VenueLimits limits() const = 0;
  virtual Heartbeat heartbeat() const = 0;

  // Sent after the upgrade, before the subscriptions (Deribit public/set_heartbeat).
  virtual std::vector<std::string> open_messages() const { return {}; }

  // Feed thread, every received frame: true and `reply` filled when the venue demands an answer to it
  // (Deribit heartbeat test_request → public/test). Must not allocate beyond reusing `reply`.
  virtual bool reply_to(std::string_view frame, std::string& reply) const {
    (void)frame;
    (void)reply;
    return false;
  }

  virtual BookResync book_resync() const noexcept = 0;

  // Messages that renew `topic` so the venue sends a fresh snapshot (unsubscribe, then subscribe).
  virtual std::vector<std::string> resubscribe(const Topic& topic, std::uint64_t request_id) const = 0;

  // kRestSnapshot venues: the depth snapshot request for `symbol`.
  virtual RestSnapshotRequest rest_snapshot(const VenueEndpoints& endpoints, std::string_view symbol) const {
    (void)endpoints;
    (void)symbol;
    return {};
  }
};

// The protocol of a market id, or nullptr. Protocols are static: the pointer stays valid.
const VenueProtocol* find_protocol(std::string_view venue_id);

// The market ids with a protocol and a decoder, in a stable order.
std::span<const std::string_view> venue_ids();

}  // namespace sigflow::io
