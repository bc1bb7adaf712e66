#include "tools/exchange-sim/binance_usdm.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <map>
#include <tuple>

#include <simdjson.h>

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

std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int value = 0;
      const auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16);
      if (ec == std::errc() && p == in.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  while (!s.empty()) {
    const auto cut = s.find(sep);
    parts.emplace_back(s.substr(0, cut));
    if (cut == std::string_view::npos) break;
    s.remove_prefix(cut + 1);
  }
  return parts;
}

std::string error_reply(int code, std::string_view message) {
  // The shape of the venue's error table (binance-spot-api-docs "Error Messages"; fixture ws_error_replies).
  std::string out = "{\"code\":" + std::to_string(code) + ",\"msg\":";
  strategies::append_json_string(message, out);
  out += '}';
  return out;
}

class BinanceSession final : public VenueSession {
 public:
  BinanceSession(Route route, bool combined, std::vector<std::string> topics)
      : route_(route), combined_(combined), topics_(std::move(topics)) {}

  std::vector<std::string> served_topics() const override {
    std::vector<std::string> served;
    for (const auto& t : topics_)
      if (topic_route(t) == route_) served.push_back(t);
    return served;
  }

  std::string on_client_text(std::string_view text) override {
    simdjson::dom::element request;
    if (const auto error = parser_.parse(text.data(), text.size()).get(request))
      return error_reply(3, std::string("Invalid JSON: ") + simdjson::error_message(error));
    simdjson::dom::object members;
    if (request.get(members)) return error_reply(2, "Invalid request: request must be an object");
    for (const auto [name, value] : members) {
      if (name != "method" && name != "params" && name != "id")
        return error_reply(2, "Invalid request: unknown property '" + std::string(name) + "'");
    }
    simdjson::dom::element id;
    if (members["id"].get(id)) return error_reply(2, "Invalid request: missing field `id`");
    // Ids are echoed back: an unsigned integer, a string or null, as the venue accepts.
    std::string id_text;
    std::uint64_t id_number = 0;
    std::string_view id_string;
    if (id.is_null()) {
      id_text = "null";
    } else if (!id.get(id_number)) {
      id_text = std::to_string(id_number);
    } else if (!id.get(id_string) && id_string.size() <= 36) {
      strategies::append_json_string(id_string, id_text);
    } else {
      return error_reply(2, "Invalid request: request ID must be an unsigned integer");
    }
    std::string_view method;
    if (members["method"].get(method)) return error_reply(2, "Invalid request: missing field `method`");
    simdjson::dom::array params;
    const bool has_params = !members["params"].error();
    if (has_params && members["params"].get(params))
      return error_reply(2, "Invalid request: params must be an array");

    if (method == "SUBSCRIBE" || method == "UNSUBSCRIBE") {
      if (!has_params || params.size() == 0) return error_reply(2, "Invalid request: missing field `params`");
      std::vector<std::string> names;
      for (const simdjson::dom::element p : params) {
        std::string_view name;
        if (p.get(name)) return error_reply(2, "Invalid request: stream names must be strings");
        if (!topic_route(name))
          return error_reply(2, "Invalid request: invalid stream name '" + std::string(name) + "'");
        names.emplace_back(name);
      }
      if (method == "SUBSCRIBE") {
        for (auto& n : names)
          if (std::find(topics_.begin(), topics_.end(), n) == topics_.end()) topics_.push_back(std::move(n));
        if (topics_.size() > BinanceUsdm::kMaxStreamsPerConnection) {
          topics_.resize(BinanceUsdm::kMaxStreamsPerConnection);
          return error_reply(2, "Invalid request: too many parameters");
        }
      } else {
        std::erase_if(topics_, [&](const std::string& t) {
          return std::find(names.begin(), names.end(), t) != names.end();
        });
      }
      return "{\"result\":null,\"id\":" + id_text + "}";
    }
    if (method == "LIST_SUBSCRIPTIONS") {
      std::string out = "{\"result\":[";
      for (std::size_t i = 0; i < topics_.size(); ++i) {
        if (i) out += ',';
        strategies::append_json_string(topics_[i], out);
      }
      return out + "],\"id\":" + id_text + "}";
    }
    if (method == "SET_PROPERTY" || method == "GET_PROPERTY") {
      const bool set = method == "SET_PROPERTY";
      const std::size_t want = set ? 2 : 1;
      const std::size_t given = has_params ? params.size() : 0;
      if (given != want)
        return error_reply(
            2, given > want ? "Invalid request: too many parameters" : "Invalid request: missing parameters");
      std::string_view property;
      if (params.at(0).get(property))
        return error_reply(2, "Invalid request: property name must be a string");
      if (property != "combined") return error_reply(0, "Unknown property");
      if (!set)
        return std::string("{\"result\":") + (combined_.load() ? "true" : "false") + ",\"id\":" + id_text +
               "}";
      bool value = false;
      if (params.at(1).get(value)) return error_reply(1, "Invalid value type: expected Boolean");
      combined_.store(value);
      return "{\"result\":null,\"id\":" + id_text + "}";
    }
    return error_reply(2, "Invalid request: unknown method '" + std::string(method) + "'");
  }

  std::size_t append_frame(std::string& out, std::string_view topic,
                           std::string_view payload) const override {
    if (!combined_.load(std::memory_order_relaxed)) {
      out.append(payload);
      return 0;
    }
    const std::size_t start = out.size();
    out += "{\"stream\":\"";
    out.append(topic);
    out += "\",\"data\":";
    const std::size_t at = out.size() - start;
    out.append(payload);
    out += '}';
    return at;
  }

  void append_recorded_frame(std::string& out, const RecordedFrame& frame) const override {
    // A capture from a combined connection already carries the wrapper: sent as recorded, byte for byte.
    const bool wrapped = frame.payload_pos != 0;
    if (combined_.load(std::memory_order_relaxed) && wrapped) {
      out.append(frame.text);
    } else {
      append_frame(out, frame.topic,
                   std::string_view(frame.text).substr(frame.payload_pos, frame.payload_len));
    }
  }

 private:
  Route route_;
  // SET_PROPERTY may flip this while the feed thread wraps frames; a relaxed atomic suffices because the
  // switch has no ordering relation with any other data.
  std::atomic<bool> combined_;
  std::vector<std::string> topics_;
  simdjson::dom::parser parser_;  // control requests only: a few hundred bytes, a handful per connection
};

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
    if (stream.first_id != 0) {
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
  reject_status = 404;
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
  std::vector<std::string> topics;
  bool combined = false;
  if (path == "/stream") {
    combined = true;
    for (std::string_view rest = query; !rest.empty();) {
      const auto amp = rest.find('&');
      const auto param = rest.substr(0, amp);
      if (param.starts_with("streams=")) {
        for (auto& s : split(percent_decode(param.substr(8)), '/'))
          if (!s.empty()) topics.push_back(std::move(s));
      }
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  } else if (path == "/ws" || path == "/ws/") {
  } else if (path.starts_with("/ws/")) {
    for (auto& s : split(percent_decode(path.substr(4)), '/'))
      if (!s.empty()) topics.push_back(std::move(s));
  } else {
    return nullptr;
  }
  for (const auto& t : topics) {
    if (!topic_route(t)) {
      reject_status = 400;
      return nullptr;
    }
  }
  if (topics.size() > kMaxStreamsPerConnection) {
    reject_status = 400;
    return nullptr;
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  return std::make_unique<BinanceSession>(route, combined, std::move(topics));
}

std::unique_ptr<VenueFeed> BinanceUsdm::make_feed(const SyntheticMarket& market, bool stamp_send_ns) const {
  return std::make_unique<BinanceFeed>(market, stamp_send_ns);
}

std::optional<RecordedFrame> BinanceUsdm::read_recorded_frame(std::string text, double recv_s) const {
  // Called once per capture line at start-up: a parser per call is fine.
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  std::string_view stream;
  if (parser.parse(text.data(), text.size()).get(doc) || doc["stream"].get(stream) || doc["data"].error())
    return std::nullopt;
  const std::string topic(stream);
  // Combined frames are `{"stream":"…","data":{…}}` exactly as the venue writes them; the event is the text
  // between `"data":` and the closing brace, which keeps a raw connection's copy byte-exact too.
  static constexpr std::string_view kData = ",\"data\":";
  const auto at = text.find(kData);
  if (at == std::string::npos || text.back() != '}') return std::nullopt;
  RecordedFrame frame;
  frame.topic = topic;
  frame.payload_pos = at + kData.size();
  frame.payload_len = text.size() - 1 - frame.payload_pos;
  // Diff depth streams are `<s>@depth` and `<s>@depth@<n>ms`; partials carry a level count.
  const auto channel = std::string_view(frame.topic).substr(frame.topic.find('@') + 1);
  frame.book_delta = channel == "depth" || channel.starts_with("depth@");
  frame.recv_s = recv_s;
  frame.text = std::move(text);
  return frame;
}

}  // namespace sigflow::tools
