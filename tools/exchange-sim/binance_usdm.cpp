#include "tools/exchange-sim/binance_usdm.hpp"

#include "tools/exchange-sim/binance_common.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <map>
#include <tuple>

#include <simdjson.h>

#include "engine/rate_limiter.hpp"
#include "strategies/signal.hpp"

namespace sigflow::tools {
namespace {

enum class Route { public_data, market, retired_root };

// Stream grammar of the USD-M market streams (developers.binance.com "Websocket Market Streams"), split by
// the route that serves each channel after the 2026 base-URL split.
bool is_kline_interval(std::string_view s) {
  static constexpr std::string_view kIntervals[] = {"1m", "3m", "5m",  "15m", "30m", "1h", "2h", "4h",
                                                    "6h", "8h", "12h", "1d",  "3d",  "1w", "1M"};
  return std::find(std::begin(kIntervals), std::end(kIntervals), s) != std::end(kIntervals);
}

std::optional<Route> channel_route(std::string_view channel) {
  static constexpr std::string_view kPublic[] = {
      "bookTicker",   "depth",         "depth@100ms",  "depth@500ms",   "depth5",
      "depth10",      "depth20",       "depth5@100ms", "depth10@100ms", "depth20@100ms",
      "depth5@500ms", "depth10@500ms", "depth20@500ms"};
  static constexpr std::string_view kMarket[] = {"aggTrade", "markPrice", "markPrice@1s", "forceOrder"};
  if (std::find(std::begin(kPublic), std::end(kPublic), channel) != std::end(kPublic))
    return Route::public_data;
  if (std::find(std::begin(kMarket), std::end(kMarket), channel) != std::end(kMarket)) return Route::market;
  if (channel.starts_with("kline_") && is_kline_interval(channel.substr(6))) return Route::market;
  return std::nullopt;
}

// The route that serves `topic`, or nullopt when the name is not a stream at all.
std::optional<Route> topic_route(std::string_view topic) {
  const auto at = topic.find('@');
  if (at == 0 || at == std::string_view::npos) return std::nullopt;
  const auto symbol = topic.substr(0, at);
  if (!std::all_of(symbol.begin(), symbol.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
    return std::nullopt;
  return channel_route(topic.substr(at + 1));
}

// The simulator's session works on route ids; USD-M's are its Route values.
std::optional<int> route_id(std::string_view topic) {
  const auto route = topic_route(topic);
  if (!route) return std::nullopt;
  return static_cast<int>(*route);
}

// ---- feed -----------------------------------------------------------------------------------------------

// Interval streams: partial depth and diff depth at 100 ms, 250 ms (no suffix) and 500 ms; mark price at
// 1 s and 3 s (no suffix); liquidations at most one per symbol per second (forceOrder snapshot semantics).
constexpr std::array<std::int64_t, 3> kDepthIntervalsMs = {100, 250, 500};
constexpr std::array<std::string_view, 3> kDepthSuffix = {"@100ms", "", "@500ms"};
constexpr std::array<int, 3> kPartialLevels = {5, 10, 20};
constexpr std::int64_t kFundingPeriodMs = 8 * 3600 * 1000;

struct DepthStream {
  // Levels changed since the last diff frame; the last size wins, 0 deletes.
  std::map<std::int64_t, std::int64_t, std::greater<>> bids;
  std::map<std::int64_t, std::int64_t> asks;
  std::uint64_t first_id = 0;         // U of the next diff frame (0: nothing accumulated)
  std::uint64_t last_diff_id = 0;     // u of the previous diff frame: the next frame's pu
  std::uint64_t last_partial_id = 0;  // u of the previous partial frame
  std::uint64_t partial_first_id = 0;
  std::string diff_topic;
  std::array<std::string, 3> partial_topics;
};

struct InstrumentTopics {
  std::string symbol;  // upper case, as in payloads
  std::string book_ticker, agg_trade, force_order, mark_price_1s, mark_price_3s;
  std::array<DepthStream, 3> depth;  // per interval
};

class BinanceFeed final : public VenueFeed {
 public:
  BinanceFeed(const SyntheticMarket& market, bool stamp) : stamp_(stamp) {
    for (std::size_t i = 0; i < market.size(); ++i) {
      InstrumentTopics t;
      t.symbol = market.spec(i).symbol;
      std::string lower = t.symbol;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      t.book_ticker = lower + "@bookTicker";
      t.agg_trade = lower + "@aggTrade";
      t.force_order = lower + "@forceOrder";
      t.mark_price_1s = lower + "@markPrice@1s";
      t.mark_price_3s = lower + "@markPrice";
      for (std::size_t k = 0; k < kDepthIntervalsMs.size(); ++k) {
        t.depth[k].diff_topic = lower + "@depth" + std::string(kDepthSuffix[k]);
        for (std::size_t l = 0; l < kPartialLevels.size(); ++l)
          t.depth[k].partial_topics[l] =
              lower + "@depth" + std::to_string(kPartialLevels[l]) + std::string(kDepthSuffix[k]);
        t.depth[k].last_diff_id = t.depth[k].last_partial_id = market.book(i).last_update_id();
      }
      instruments_.push_back(std::move(t));
    }
  }

  void on_event(const SyntheticMarket& market, const MarketEvent& event, std::int64_t wall_ms,
                FrameSink& sink) override {
    InstrumentTopics& t = instruments_[event.instrument];
    const InstrumentSpec& spec = market.spec(event.instrument);
    for (auto& stream : t.depth) {
      if (stream.partial_first_id == 0) stream.partial_first_id = event.first_update_id;
      if (!sink.wanted(stream.diff_topic)) continue;
      if (stream.first_id == 0) stream.first_id = event.first_update_id;
      for (const auto& c : event.changes) {
        if (c.side == Side::bid) {
          stream.bids[c.price] = c.size;
        } else {
          stream.asks[c.price] = c.size;
        }
      }
    }
    // Matching-engine time precedes the push time by a few ms on the venue; keep T <= E.
    const std::int64_t trade_ms = wall_ms - static_cast<std::int64_t>(event.last_update_id % 5);
    if (event.kind == MarketEvent::Kind::trade && sink.wanted(t.agg_trade)) {
      begin("aggTrade", wall_ms);
      buf_ += ",\"a\":" + std::to_string(event.aggregate_trade_id) + ",\"s\":\"" + t.symbol + "\",\"p\":\"";
      append_decimal(buf_, event.trade_price, spec.price_decimals);
      buf_ += "\",\"q\":\"";
      append_decimal(buf_, event.trade_size, spec.size_decimals);
      buf_ += "\",\"f\":" + std::to_string(event.first_trade_id) +
              ",\"l\":" + std::to_string(event.last_trade_id) + ",\"T\":" + std::to_string(trade_ms);
      // m: the buyer is the maker, i.e. the aggressor sold.
      buf_ += event.taker == Side::ask ? ",\"m\":true" : ",\"m\":false";
      finish(sink, t.agg_trade, false);
    }
    if (event.top_changed && sink.wanted(t.book_ticker)) {
      const OrderBook& book = market.book(event.instrument);
      buf_.assign("{\"e\":\"bookTicker\",\"u\":");
      buf_ += std::to_string(event.last_update_id) + ",\"s\":\"" + t.symbol + "\"";
      append_level(",\"b\":\"", ",\"B\":\"", *book.bids().begin(), spec);
      append_level(",\"a\":\"", ",\"A\":\"", *book.asks().begin(), spec);
      buf_ += ",\"T\":" + std::to_string(trade_ms) + ",\"E\":" + std::to_string(wall_ms);
      finish(sink, t.book_ticker, false);
    }
  }

  // GET /fapi/v1/depth?symbol=X&limit=N: the book as it is after the last diff handed to the sink, so its
  // lastUpdateId falls inside [U, u] of the next diff frame (or equals the u of the last one), which is the
  // venue's sync rule. Weight is charged per request as on the venue: 2, 5, 10, 20 by limit.
  std::optional<HttpReply> on_http_get(const SyntheticMarket& market, std::string_view target,
                                       std::int64_t wall_ms) override {
    const auto q = target.find('?');
    if (target.substr(0, q) != "/fapi/v1/depth") return std::nullopt;
    const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    std::int64_t limit = 500;
    const auto limit_text = binance_sim::query_param(query, "limit");
    if (limit_text) {
      const auto [end, ec] =
          std::from_chars(limit_text->data(), limit_text->data() + limit_text->size(), limit);
      if (ec != std::errc() || end != limit_text->data() + limit_text->size()) limit = -1;
    }
    if (auto rejected =
            rest_weight_.charge(engine::binance_usdm_depth_weight(std::max<std::int64_t>(limit, 0)), wall_ms))
      return rejected;
    HttpReply reply;
    reply.headers.push_back(rest_weight_.used_header());
    static constexpr std::int64_t kLimits[] = {5, 10, 20, 50, 100, 500, 1000};
    const auto symbol = binance_sim::query_param(query, "symbol");
    std::optional<std::size_t> index;
    if (symbol) index = binance_sim::find_symbol(market, *symbol);
    if (!symbol || symbol->empty()) {
      reply.status = 400;
      reply.body = binance_sim::error_body(
          -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    } else if (!index) {
      reply.status = 400;
      reply.body = binance_sim::error_body(-1121, "Invalid symbol.");
    } else if (std::find(std::begin(kLimits), std::end(kLimits), limit) == std::end(kLimits)) {
      reply.status = 400;
      reply.body = binance_sim::error_body(-1100,
                                           "Illegal characters found in parameter 'limit'; legal range is "
                                           "'5, 10, 20, 50, 100, 500, 1000'.");
    } else {
      const std::string times = "\"E\":" + std::to_string(wall_ms) + ",\"T\":" + std::to_string(wall_ms);
      reply.body = binance_sim::depth_snapshot_body(market.book(*index), market.spec(*index),
                                                    market.book(*index).last_update_id(),
                                                    static_cast<std::size_t>(limit), times);
    }
    return reply;
  }

  void on_clock(SyntheticMarket& market, std::int64_t mono_ns, std::int64_t wall_ms,
                FrameSink& sink) override {
    const std::int64_t now_ms = mono_ns / 1'000'000;
    if (next_depth_ms_[0] == 0) {
      for (std::size_t k = 0; k < kDepthIntervalsMs.size(); ++k)
        next_depth_ms_[k] = now_ms + kDepthIntervalsMs[k];
      next_mark_1s_ms_ = now_ms + 1000;
      next_mark_3s_ms_ = now_ms + 3000;
      next_liquidation_ms_ = now_ms + 1000;
    }
    for (std::size_t k = 0; k < kDepthIntervalsMs.size(); ++k) {
      if (now_ms < next_depth_ms_[k]) continue;
      next_depth_ms_[k] = advance(next_depth_ms_[k], now_ms, kDepthIntervalsMs[k]);
      for (std::size_t i = 0; i < instruments_.size(); ++i) emit_depth(market, i, k, wall_ms, sink);
    }
    if (now_ms >= next_mark_1s_ms_) {
      next_mark_1s_ms_ = advance(next_mark_1s_ms_, now_ms, 1000);
      for (std::size_t i = 0; i < instruments_.size(); ++i)
        emit_mark(market, i, instruments_[i].mark_price_1s, wall_ms, sink);
    }
    if (now_ms >= next_mark_3s_ms_) {
      next_mark_3s_ms_ = advance(next_mark_3s_ms_, now_ms, 3000);
      for (std::size_t i = 0; i < instruments_.size(); ++i)
        emit_mark(market, i, instruments_[i].mark_price_3s, wall_ms, sink);
    }
    if (now_ms >= next_liquidation_ms_) {
      next_liquidation_ms_ = advance(next_liquidation_ms_, now_ms, 1000);
      for (std::size_t i = 0; i < instruments_.size(); ++i) {
        // Roughly one liquidation per symbol every four seconds; the draw is skipped when nobody listens.
        if (!sink.wanted(instruments_[i].force_order) ||
            (wall_ms / 1000 + static_cast<std::int64_t>(i) * 7) % 4 != 0)
          continue;
        emit_liquidation(market, i, wall_ms, sink);
      }
    }
  }

 private:
  // The next due time on a fixed grid; a feed that fell behind skips missed slots instead of bursting.
  static std::int64_t advance(std::int64_t due, std::int64_t now, std::int64_t period) {
    due += period;
    if (due <= now) due = now + period;
    return due;
  }

  void begin(std::string_view event, std::int64_t wall_ms) {
    buf_.assign("{\"e\":\"");
    buf_.append(event);
    buf_ += "\",\"E\":" + std::to_string(wall_ms);
  }

  void finish(FrameSink& sink, std::string_view topic, bool book_delta) {
    std::size_t slot = kNoSendStamp;
    if (stamp_) slot = append_send_stamp_slot(buf_);
    buf_ += '}';
    sink.emit(topic, buf_, slot, book_delta);
  }

  void append_level(std::string_view price_key, std::string_view size_key,
                    std::pair<std::int64_t, std::int64_t> level, const InstrumentSpec& spec) {
    buf_.append(price_key);
    append_decimal(buf_, level.first, spec.price_decimals);
    buf_ += '"';
    buf_.append(size_key);
    append_decimal(buf_, level.second, spec.size_decimals);
    buf_ += '"';
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

  // USD-M partial and diff frames share one shape: e, E, T, s, U, u, pu, b, a (fixture
  // futures_depthUpdate_100ms_pu_chain); only the stream name tells them apart.
  void begin_depth(const InstrumentTopics& t, std::int64_t wall_ms, std::uint64_t first, std::uint64_t last,
                   std::uint64_t previous) {
    begin("depthUpdate", wall_ms);
    buf_ += ",\"T\":" + std::to_string(wall_ms - static_cast<std::int64_t>(last % 7)) + ",\"s\":\"" +
            t.symbol + "\",\"U\":" + std::to_string(first) + ",\"u\":" + std::to_string(last) +
            ",\"pu\":" + std::to_string(previous);
  }

  void emit_depth(const SyntheticMarket& market, std::size_t i, std::size_t k, std::int64_t wall_ms,
                  FrameSink& sink) {
    InstrumentTopics& t = instruments_[i];
    DepthStream& stream = t.depth[k];
    const InstrumentSpec& spec = market.spec(i);
    const OrderBook& book = market.book(i);
    if (!sink.wanted(stream.diff_topic)) {
      // Nobody listens, but the venue's stream goes on: the first frame a new subscriber gets must carry
      // the pu of the frame before it on the venue, not of the last frame this simulator rendered.
      stream.last_diff_id = book.last_update_id();
      stream.first_id = 0;
      stream.bids.clear();
      stream.asks.clear();
    } else if (stream.first_id != 0) {
      begin_depth(t, wall_ms, stream.first_id, book.last_update_id(), stream.last_diff_id);
      append_levels(",\"b\":", stream.bids, stream.bids.size(), spec);
      append_levels(",\"a\":", stream.asks, stream.asks.size(), spec);
      finish(sink, stream.diff_topic, true);
      stream.last_diff_id = book.last_update_id();
      stream.first_id = 0;
      stream.bids.clear();
      stream.asks.clear();
    }
    // Partial frames are pushed every interval, changed or not: they are the snapshot a client can rebuild
    // its top levels from.
    const std::uint64_t first = stream.partial_first_id ? stream.partial_first_id : book.last_update_id();
    for (std::size_t l = 0; l < kPartialLevels.size(); ++l) {
      if (!sink.wanted(stream.partial_topics[l])) continue;
      const auto levels = static_cast<std::size_t>(kPartialLevels[l]);
      begin_depth(t, wall_ms, first, book.last_update_id(), stream.last_partial_id);
      append_levels(",\"b\":", book.bids(), levels, spec);
      append_levels(",\"a\":", book.asks(), levels, spec);
      finish(sink, stream.partial_topics[l], false);
    }
    stream.last_partial_id = book.last_update_id();
    stream.partial_first_id = 0;
  }

  void emit_mark(SyntheticMarket& market, std::size_t i, const std::string& topic, std::int64_t wall_ms,
                 FrameSink& sink) {
    if (!sink.wanted(topic)) return;
    const MarkSample m = market.sample_mark(i);
    begin("markPriceUpdate", wall_ms);
    buf_ += ",\"s\":\"" + instruments_[i].symbol + "\",\"p\":\"";
    append_decimal(buf_, m.mark_price, MarkSample::kDecimals);
    buf_ += "\",\"i\":\"";
    append_decimal(buf_, m.index_price, MarkSample::kDecimals);
    buf_ += "\",\"P\":\"";
    append_decimal(buf_, m.settle_price, MarkSample::kDecimals);
    buf_ += "\",\"r\":\"";
    append_decimal(buf_, m.funding_rate, MarkSample::kDecimals);
    // Funding settles at 00:00, 08:00 and 16:00 UTC: T is the next of those.
    buf_ += "\",\"T\":" + std::to_string((wall_ms / kFundingPeriodMs + 1) * kFundingPeriodMs) + ",\"st\":1";
    finish(sink, topic, false);
  }

  void emit_liquidation(SyntheticMarket& market, std::size_t i, std::int64_t wall_ms, FrameSink& sink) {
    const InstrumentTopics& t = instruments_[i];
    const InstrumentSpec& spec = market.spec(i);
    const Liquidation l = market.sample_liquidation(i);
    const std::int64_t scale = [&] {
      std::int64_t s = 1;
      for (int d = spec.price_decimals; d < MarkSample::kDecimals; ++d) s *= 10;
      return s;
    }();
    begin("forceOrder", wall_ms);
    buf_ += ",\"o\":{\"s\":\"" + t.symbol + "\",\"S\":\"" + (l.side == Side::ask ? "SELL" : "BUY") +
            "\",\"o\":\"LIMIT\",\"f\":\"IOC\",\"q\":\"";
    append_decimal(buf_, l.size, spec.size_decimals);
    buf_ += "\",\"p\":\"";
    append_decimal(buf_, l.price * scale, MarkSample::kDecimals);
    buf_ += "\",\"ap\":\"";
    append_decimal(buf_, l.average_price, MarkSample::kDecimals);
    buf_ += "\",\"X\":\"FILLED\",\"l\":\"";
    append_decimal(buf_, l.size, spec.size_decimals);
    buf_ += "\",\"z\":\"";
    append_decimal(buf_, l.size, spec.size_decimals);
    buf_ += "\",\"T\":" + std::to_string(wall_ms) + "}";
    finish(sink, t.force_order, false);
  }

  bool stamp_;
  // REQUEST_WEIGHT 2400 per minute (feeds.md §2).
  binance_sim::RestWeightLedger rest_weight_{2400};
  std::vector<InstrumentTopics> instruments_;
  std::string buf_;  // reused for every frame: the feed thread renders one frame at a time
  std::array<std::int64_t, 3> next_depth_ms_{};
  std::int64_t next_mark_1s_ms_ = 0;
  std::int64_t next_mark_3s_ms_ = 0;
  std::int64_t next_liquidation_ms_ = 0;
};

}  // namespace

std::unique_ptr<VenueSession> BinanceUsdm::open_session(std::string_view target,
                                                        unsigned& reject_status) const {
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  Route route = Route::retired_root;
  if (path.starts_with("/public/")) {
    route = Route::public_data;
    path.remove_prefix(7);
  } else if (path.starts_with("/market/")) {
    route = Route::market;
    path.remove_prefix(7);
  }
  return binance_sim::open_session(path, query, &route_id, static_cast<int>(route), kMaxStreamsPerConnection,
                                   reject_status);
}

std::unique_ptr<VenueFeed> BinanceUsdm::make_feed(const SyntheticMarket& market, bool stamp_send_ns) const {
  return std::make_unique<BinanceFeed>(market, stamp_send_ns);
}

std::optional<RecordedFrame> BinanceUsdm::read_recorded_frame(std::string text, double recv_s) const {
  return binance_sim::read_recorded_frame(std::move(text), recv_s);
}

}  // namespace sigflow::tools
