#include "tools/exchange-sim/binance_spot.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include "engine/rate_limiter.hpp"
#include "tools/exchange-sim/binance_common.hpp"

namespace sigflow::tools {
namespace {

// Spot stream grammar (binance-spot-api-docs web-socket-streams.md); all on the one route.
std::optional<int> spot_route(std::string_view topic) {
  static constexpr std::string_view kChannels[] = {
      "trade",         "aggTrade",       "bookTicker",     "depth",        "depth@100ms",   "depth@1000ms",
      "depth5",        "depth10",        "depth20",        "depth5@100ms", "depth10@100ms", "depth20@100ms",
      "depth5@1000ms", "depth10@1000ms", "depth20@1000ms", "miniTicker",   "ticker",        "avgPrice"};
  static constexpr std::string_view kIntervals[] = {"1s", "1m", "3m", "5m",  "15m", "30m", "1h", "2h",
                                                    "4h", "6h", "8h", "12h", "1d",  "3d",  "1w", "1M"};
  const auto at = topic.find('@');
  if (at == 0 || at == std::string_view::npos) return std::nullopt;
  const auto symbol = topic.substr(0, at);
  if (!std::all_of(symbol.begin(), symbol.end(),
                   [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }))
    return std::nullopt;
  const auto channel = topic.substr(at + 1);
  if (std::find(std::begin(kChannels), std::end(kChannels), channel) != std::end(kChannels)) return 0;
  if (channel.starts_with("kline_") &&
      std::find(std::begin(kIntervals), std::end(kIntervals), channel.substr(6)) != std::end(kIntervals))
    return 0;
  return std::nullopt;
}

// Diff and partial depth at 1000 ms (no suffix, or @1000ms) and 100 ms.
constexpr std::array<std::int64_t, 2> kDepthIntervalsMs = {1000, 100};
constexpr std::array<int, 3> kPartialLevels = {5, 10, 20};

struct SpotDepthStream {
  std::map<std::int64_t, std::int64_t, std::greater<>> bids;  // changed since the last frame; 0 deletes
  std::map<std::int64_t, std::int64_t> asks;
  std::uint64_t first_id = 0;              // U of the next frame; 0: nothing accumulated
  std::array<std::string, 2> diff_topics;  // "<s>@depth" and "<s>@depth@1000ms" (same stream), or @100ms
  std::array<std::string, 3> partial_topics;
  std::array<std::string, 3> partial_topics_alias;  // "<s>@depth5@1000ms" beside "<s>@depth5"
};

struct SpotInstrument {
  std::string symbol;
  std::string book_ticker, agg_trade, trade;
  // Spot update ids are per symbol and consecutive: one per book-changing event here.
  std::uint64_t update_id = 0;
  std::array<SpotDepthStream, 2> depth;
};

class SpotFeed final : public VenueFeed {
 public:
  SpotFeed(const SyntheticMarket& market, bool stamp) : stamp_(stamp) {
    for (std::size_t i = 0; i < market.size(); ++i) {
      SpotInstrument t;
      t.symbol = market.spec(i).symbol;
      const std::string s = binance_sim::lower(t.symbol);
      t.book_ticker = s + "@bookTicker";
      t.agg_trade = s + "@aggTrade";
      t.trade = s + "@trade";
      // Start each symbol at its own id, as the venue's ids are unrelated across symbols.
      t.update_id = 1'000'000 + 7919 * i;
      for (std::size_t k = 0; k < kDepthIntervalsMs.size(); ++k) {
        SpotDepthStream& d = t.depth[k];
        const std::string suffix = k == 0 ? "" : "@100ms";
        d.diff_topics = {s + "@depth" + suffix, k == 0 ? s + "@depth@1000ms" : std::string()};
        for (std::size_t l = 0; l < kPartialLevels.size(); ++l) {
          d.partial_topics[l] = s + "@depth" + std::to_string(kPartialLevels[l]) + suffix;
          d.partial_topics_alias[l] =
              k == 0 ? s + "@depth" + std::to_string(kPartialLevels[l]) + "@1000ms" : std::string();
        }
      }
      instruments_.push_back(std::move(t));
    }
  }

  void on_event(const SyntheticMarket& market, const MarketEvent& event, std::int64_t wall_ms,
                FrameSink& sink) override {
    SpotInstrument& t = instruments_[event.instrument];
    const InstrumentSpec& spec = market.spec(event.instrument);
    if (!event.changes.empty()) {
      ++t.update_id;
      for (SpotDepthStream& d : t.depth) {
        if (!wanted_any(sink, d.diff_topics)) continue;
        if (d.first_id == 0) d.first_id = t.update_id;
        for (const auto& c : event.changes) {
          if (c.side == Side::bid) {
            d.bids[c.price] = c.size;
          } else {
            d.asks[c.price] = c.size;
          }
        }
      }
    }
    const std::int64_t trade_ms = wall_ms - static_cast<std::int64_t>(event.last_update_id % 5);
    if (event.kind == MarketEvent::Kind::trade) {
      if (sink.wanted(t.agg_trade)) {
        begin("aggTrade", wall_ms, t.symbol);
        buf_ += ",\"a\":" + std::to_string(event.aggregate_trade_id) + ",\"p\":\"";
        append_decimal(buf_, event.trade_price, spec.price_decimals);
        buf_ += "\",\"q\":\"";
        append_decimal(buf_, event.trade_size, spec.size_decimals);
        buf_ += "\",\"f\":" + std::to_string(event.first_trade_id) +
                ",\"l\":" + std::to_string(event.last_trade_id) + ",\"T\":" + std::to_string(trade_ms);
        buf_ += event.taker == Side::ask ? ",\"m\":true,\"M\":true" : ",\"m\":false,\"M\":true";
        finish(sink, t.agg_trade);
      }
      if (sink.wanted(t.trade)) emit_fills(event, spec, t, wall_ms, trade_ms, sink);
    }
    if (event.top_changed && sink.wanted(t.book_ticker)) {
      const OrderBook& book = market.book(event.instrument);
      buf_.assign("{\"u\":" + std::to_string(t.update_id) + ",\"s\":\"" + t.symbol + "\",\"b\":\"");
      append_decimal(buf_, book.bids().begin()->first, spec.price_decimals);
      buf_ += "\",\"B\":\"";
      append_decimal(buf_, book.bids().begin()->second, spec.size_decimals);
      buf_ += "\",\"a\":\"";
      append_decimal(buf_, book.asks().begin()->first, spec.price_decimals);
      buf_ += "\",\"A\":\"";
      append_decimal(buf_, book.asks().begin()->second, spec.size_decimals);
      buf_ += '"';
      finish(sink, t.book_ticker);
    }
  }

  void on_clock(SyntheticMarket& market, std::int64_t mono_ns, std::int64_t wall_ms,
                FrameSink& sink) override {
    const std::int64_t now_ms = mono_ns / 1'000'000;
    for (std::size_t k = 0; k < kDepthIntervalsMs.size(); ++k) {
      if (next_depth_ms_[k] == 0) next_depth_ms_[k] = now_ms + kDepthIntervalsMs[k];
      if (now_ms < next_depth_ms_[k]) continue;
      next_depth_ms_[k] += kDepthIntervalsMs[k];
      if (next_depth_ms_[k] <= now_ms) next_depth_ms_[k] = now_ms + kDepthIntervalsMs[k];
      for (std::size_t i = 0; i < instruments_.size(); ++i) emit_depth(market, i, k, wall_ms, sink);
    }
  }

  // GET /api/v3/depth?symbol=X&limit=N: limit defaults to 100 and is cut to 5000, as on the venue.
  std::optional<HttpReply> on_http_get(const SyntheticMarket& market, std::string_view target,
                                       std::int64_t wall_ms) override {
    const auto q = target.find('?');
    if (target.substr(0, q) != "/api/v3/depth") return std::nullopt;
    const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    std::int64_t limit = 100;
    bool limit_ok = true;
    if (const auto text = binance_sim::query_param(query, "limit")) {
      const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
      limit_ok = ec == std::errc() && end == text->data() + text->size() && limit > 0;
    }
    limit = std::min<std::int64_t>(limit, 5000);
    if (auto rejected = rest_weight_.charge(engine::binance_spot_depth_weight(limit_ok ? limit : 1), wall_ms))
      return rejected;
    HttpReply reply;
    reply.headers.push_back(rest_weight_.used_header());
    const auto symbol = binance_sim::query_param(query, "symbol");
    const auto index = symbol ? binance_sim::find_symbol(market, *symbol) : std::nullopt;
    if (!symbol || symbol->empty()) {
      reply.status = 400;
      reply.body = binance_sim::error_body(
          -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    } else if (!index) {
      reply.status = 400;
      reply.body = binance_sim::error_body(-1121, "Invalid symbol.");
    } else if (!limit_ok) {
      reply.status = 400;
      reply.body = binance_sim::error_body(-1100, "Illegal characters found in parameter 'limit'.");
    } else {
      reply.body =
          binance_sim::depth_snapshot_body(market.book(*index), market.spec(*index),
                                           instruments_[*index].update_id, static_cast<std::size_t>(limit));
    }
    return reply;
  }

 private:
  static bool wanted_any(const FrameSink& sink, const std::array<std::string, 2>& topics) {
    return sink.wanted(topics[0]) || (!topics[1].empty() && sink.wanted(topics[1]));
  }

  void begin(std::string_view event, std::int64_t wall_ms, const std::string& symbol) {
    buf_.assign("{\"e\":\"");
    buf_.append(event);
    buf_ += "\",\"E\":" + std::to_string(wall_ms) + ",\"s\":\"" + symbol + "\"";
  }

  void finish(FrameSink& sink, std::string_view topic, bool book_delta = false) {
    std::size_t slot = kNoSendStamp;
    if (stamp_) slot = append_send_stamp_slot(buf_);
    buf_ += '}';
    sink.emit(topic, buf_, slot, book_delta);
  }

  // One @trade frame per fill of the aggregated order, sizes summing to the order's.
  void emit_fills(const MarketEvent& event, const InstrumentSpec& spec, const SpotInstrument& t,
                  std::int64_t wall_ms, std::int64_t trade_ms, FrameSink& sink) {
    const std::uint64_t fills = event.last_trade_id - event.first_trade_id + 1;
    const auto n = static_cast<std::int64_t>(fills);
    const bool split = n > 1 && event.trade_size >= n;
    for (std::uint64_t id = split ? event.first_trade_id : event.last_trade_id; id <= event.last_trade_id;
         ++id) {
      const std::int64_t size = !split ? event.trade_size
                                : id == event.last_trade_id
                                    ? event.trade_size - (n - 1) * (event.trade_size / n)
                                    : event.trade_size / n;
      begin("trade", wall_ms, t.symbol);
      buf_ += ",\"t\":" + std::to_string(id) + ",\"p\":\"";
      append_decimal(buf_, event.trade_price, spec.price_decimals);
      buf_ += "\",\"q\":\"";
      append_decimal(buf_, size, spec.size_decimals);
      buf_ += "\",\"T\":" + std::to_string(trade_ms);
      buf_ += event.taker == Side::ask ? ",\"m\":true,\"M\":true" : ",\"m\":false,\"M\":true";
      finish(sink, t.trade);
    }
  }

  template <class Levels>
  void append_levels(std::string_view key, const Levels& levels, std::size_t max,
                     const InstrumentSpec& spec) {
    buf_.append(key);
    buf_ += '[';
    std::size_t n = 0;
    for (auto it = levels.begin(); it != levels.end() && n < max; ++it, ++n) {
      if (n) buf_ += ',';
      buf_ += "[\"";
      append_decimal(buf_, it->first, spec.price_decimals);
      buf_ += "\",\"";
      append_decimal(buf_, it->second, spec.size_decimals);
      buf_ += "\"]";
    }
    buf_ += ']';
  }

  void emit_depth(const SyntheticMarket& market, std::size_t i, std::size_t k, std::int64_t wall_ms,
                  FrameSink& sink) {
    SpotInstrument& t = instruments_[i];
    SpotDepthStream& d = t.depth[k];
    const InstrumentSpec& spec = market.spec(i);
    if (d.first_id != 0) {
      // {"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,"b":..,"a":..} (fixture
      // spot_depthUpdate_RUNEEUR_after_snapshot): no pu, no T.
      begin("depthUpdate", wall_ms, t.symbol);
      buf_ += ",\"U\":" + std::to_string(d.first_id) + ",\"u\":" + std::to_string(t.update_id);
      append_levels(",\"b\":", d.bids, d.bids.size(), spec);
      append_levels(",\"a\":", d.asks, d.asks.size(), spec);
      for (const std::string& topic : d.diff_topics) {
        if (topic.empty() || !sink.wanted(topic)) continue;
        std::string frame = buf_;
        buf_.swap(frame);
        finish(sink, topic, true);
        buf_.swap(frame);
      }
      d.first_id = 0;
      d.bids.clear();
      d.asks.clear();
    }
    const OrderBook& book = market.book(i);
    for (std::size_t l = 0; l < kPartialLevels.size(); ++l) {
      for (const std::string* topic : {&d.partial_topics[l], &d.partial_topics_alias[l]}) {
        if (topic->empty() || !sink.wanted(*topic)) continue;
        buf_.assign("{\"lastUpdateId\":" + std::to_string(t.update_id));
        const auto levels = static_cast<std::size_t>(kPartialLevels[l]);
        append_levels(",\"bids\":", book.bids(), levels, spec);
        append_levels(",\"asks\":", book.asks(), levels, spec);
        finish(sink, *topic);
      }
    }
  }

  bool stamp_;
  // REQUEST_WEIGHT 6000 per minute (feeds.md §2).
  binance_sim::RestWeightLedger rest_weight_{6000};
  std::vector<SpotInstrument> instruments_;
  std::string buf_;
  std::array<std::int64_t, 2> next_depth_ms_{};
};

}  // namespace

std::unique_ptr<VenueSession> BinanceSpot::open_session(std::string_view target,
                                                        unsigned& reject_status) const {
  const auto q = target.find('?');
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  return binance_sim::open_session(target.substr(0, q), query, &spot_route, 0, kMaxStreamsPerConnection,
                                   reject_status);
}

std::unique_ptr<VenueFeed> BinanceSpot::make_feed(const SyntheticMarket& market, bool stamp_send_ns) const {
  return std::make_unique<SpotFeed>(market, stamp_send_ns);
}

std::optional<RecordedFrame> BinanceSpot::read_recorded_frame(std::string text, double recv_s) const {
  return binance_sim::read_recorded_frame(std::move(text), recv_s);
}

}  // namespace sigflow::tools
