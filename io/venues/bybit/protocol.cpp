#include "io/venues/bybit/protocol.hpp"

#include <algorithm>

#include "io/venues/binance/instrument_name.hpp"
#include "io/venues/bybit/decoder.hpp"

namespace sigflow::io::bybit {
namespace {

constexpr std::int64_t kNsPerS = 1'000'000'000;

// Data liveness. A book topic of a listed symbol changes many times a second and orderbook.50 pushes every
// 20 ms when it does; 10 s of silence means the subscription is dead, and renewing it costs one snapshot.
// Tickers push on change (linear 100 ms, spot 50 ms) and the linear mark price moves every second or so;
// 30 s leaves room for quiet spot symbols. Trades and liquidations can be absent for minutes: not watched.
constexpr std::int64_t kBookMaxSilenceNs = 10 * kNsPerS;
constexpr std::int64_t kTickerMaxSilenceNs = 30 * kNsPerS;

// Bybit documents no per-connection message rate for public streams; 10 per second keeps a (re)connect's
// subscribe burst of a few requests well clear of any server-side flood protection.
constexpr double kMaxOutgoingPerS = 10;
// Linear takes any number of args per request within the connection's character budget; 100 keeps each
// request a few kB.
constexpr std::size_t kLinearTopicsPerMessage = 100;
constexpr std::size_t kSpotTopicsPerMessage = 10;
// No topic count limit on spot/linear; the 21,000-character args budget binds first (~900 topics).
constexpr std::size_t kMaxTopicsPerConnection = 1000;

// What a topic costs against the 21,000-character budget, read strictly as the JSON text of the args arrays
// sent on the connection: the name, its two quotes, the comma after it, and one more for the brackets each
// request adds (a request holds at least one topic, so this over-counts slightly whatever way Bybit
// measures).
std::size_t args_chars(const Topic& topic) noexcept {
  return topic.name.size() + 4;
}

void append_json_string(std::string& out, std::string_view text) {
  // Topics and symbols are venue identifiers ([A-Z0-9.-]); anything needing an escape is escaped anyway.
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  out += '"';
}

}  // namespace

std::string_view category_path(Category category) noexcept {
  return category == Category::kSpot ? "/v5/public/spot" : "/v5/public/linear";
}

std::string stream_url(std::string_view configured, Category category) {
  const std::string_view path = category_path(category);
  std::string url(configured.empty() ? kProductionBase : configured);
  if (url.size() >= path.size() && std::string_view(url).substr(url.size() - path.size()) == path) return url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += path;
  return url;
}

std::string request(std::string_view op, std::span<const std::string> topics, std::uint64_t request_id) {
  std::string out = "{\"req_id\":\"";
  out += std::to_string(request_id);
  out += "\",\"op\":\"";
  out += op;
  out += "\",\"args\":[";
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, topics[i]);
  }
  out += "]}";
  return out;
}

std::vector<Topic> symbol_topics(std::string_view symbol, Category category) {
  const std::string s(symbol);
  std::vector<Topic> topics = {
      {"orderbook.50." + s, s, TopicKind::kBook, kBookMaxSilenceNs},
      {"publicTrade." + s, s, TopicKind::kTrades, 0},
      {"tickers." + s, s, TopicKind::kTicker, kTickerMaxSilenceNs},
  };
  if (category == Category::kLinear) topics.push_back({"allLiquidation." + s, s, TopicKind::kLiquidation, 0});
  return topics;
}

std::string_view Protocol::id() const noexcept {
  return category_ == Category::kSpot ? "bybit-spot" : "bybit-linear";
}

std::string Protocol::normalized_instrument(std::string_view symbol) const {
  if (category_ == Category::kSpot) return binance::normalized_instrument(symbol, binance::Market::kSpot);
  // Linear lists USDT perpetuals ("BTCUSDT"), USDC perpetuals named "<BASE>PERP" ("BTCPERP") and dated
  // futures ("BTCUSDT-26DEC25", "BTC-26DEC25"), which are no perpetual and get no -PERP name.
  if (symbol.find('-') != std::string_view::npos) return {};
  constexpr std::string_view kUsdcPerp = "PERP";
  if (symbol.size() > kUsdcPerp.size() && symbol.substr(symbol.size() - kUsdcPerp.size()) == kUsdcPerp)
    return std::string(symbol.substr(0, symbol.size() - kUsdcPerp.size())) + "-USDC-PERP";
  return binance::normalized_instrument(symbol, binance::Market::kUsdm);
}

std::vector<ConnectionPlan> Protocol::plan(const VenueEndpoints& endpoints,
                                           std::span<const std::string> symbols) const {
  const VenueLimits l = limits();
  const std::string url = stream_url(endpoints.url, category_);
  std::vector<ConnectionPlan> plans;
  ConnectionPlan current;
  std::size_t chars = 0;
  std::vector<std::string> seen;

  auto close_connection = [&] {
    if (current.topics.empty()) return;
    current.url = url;
    std::uint64_t request_id = 1;
    for (std::size_t at = 0; at < current.topics.size(); at += l.max_topics_per_message) {
      std::vector<std::string> names;
      for (std::size_t i = at; i < std::min(current.topics.size(), at + l.max_topics_per_message); ++i)
        names.push_back(current.topics[i].name);
      current.subscribe_messages.push_back(request("subscribe", names, request_id++));
    }
    plans.push_back(std::move(current));
    current = ConnectionPlan{};
    chars = 0;
  };

  for (const std::string& symbol : symbols) {
    if (symbol.empty() || std::find(seen.begin(), seen.end(), symbol) != seen.end()) continue;
    seen.push_back(symbol);
    // A symbol's topics stay on one connection, so its book, trades and ticker arrive in one ordered stream.
    std::vector<Topic> topics = symbol_topics(symbol, category_);
    std::size_t cost = 0;
    for (const Topic& t : topics) cost += args_chars(t);
    if (chars + cost > kMaxArgsCharsPerConnection ||
        current.topics.size() + topics.size() > l.max_topics_per_connection)
      close_connection();
    for (Topic& t : topics) current.topics.push_back(std::move(t));
    chars += cost;
  }
  close_connection();
  return plans;
}

VenueLimits Protocol::limits() const {
  VenueLimits l;
  l.max_outgoing_per_s = kMaxOutgoingPerS;
  l.max_topics_per_connection = kMaxTopicsPerConnection;
  l.max_topics_per_message = category_ == Category::kSpot ? kSpotTopicsPerMessage : kLinearTopicsPerMessage;
  l.connect_attempts_per_window = 500;
  l.connect_window_ns = 300 * kNsPerS;
  return l;
}

Heartbeat Protocol::heartbeat() const {
  // The venue cuts a public connection after about 10 minutes without a ping and recommends one every 20 s.
  return Heartbeat{20 * kNsPerS, R"({"req_id":"ping","op":"ping"})", false};
}

std::vector<std::string> Protocol::resubscribe(const Topic& topic, std::uint64_t request_id) const {
  // Bybit answers a subscribe with a fresh snapshot only for a topic the connection does not hold, so the
  // topic is dropped first. Both requests carry the same id: the acks need not be told apart.
  const std::string names[] = {topic.name};
  return {request("unsubscribe", names, request_id), request("subscribe", names, request_id)};
}

}  // namespace sigflow::io::bybit

namespace sigflow::io {

const VenueProtocol& bybit_spot_protocol() {
  static const bybit::Protocol protocol(bybit::Category::kSpot);
  return protocol;
}

const VenueProtocol& bybit_linear_protocol() {
  static const bybit::Protocol protocol(bybit::Category::kLinear);
  return protocol;
}

// Both categories share one wire format, hence one decoder type.
std::unique_ptr<VenueDecoder> make_bybit_spot_decoder() {
  return std::make_unique<bybit::Decoder>();
}
std::unique_ptr<VenueDecoder> make_bybit_linear_decoder() {
  return std::make_unique<bybit::Decoder>();
}

}  // namespace sigflow::io
