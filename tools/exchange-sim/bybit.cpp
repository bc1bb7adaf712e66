#include "tools/exchange-sim/bybit.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "strategies/signal.hpp"

namespace sigflow::tools {
namespace bybit_detail {

// What fresh subscribers wait for. `snapshots` is written by the feed and read by sessions in append_frame,
// both on the feed thread; `waiting` is updated by sessions on their connection threads and read by the
// feed, hence the mutex (simulator control plane, not a hot path).
struct SnapshotBoard {
  std::unordered_map<std::string, std::string> snapshots;  // topic → snapshot frame text

  void add_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    ++waiting[topic];
    total.fetch_add(1, std::memory_order_relaxed);
  }
  void remove_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    const auto it = waiting.find(topic);
    if (it == waiting.end()) return;
    if (--it->second == 0) waiting.erase(it);
    total.fetch_sub(1, std::memory_order_relaxed);
  }
  bool is_waiting(const std::string& topic) {
    if (total.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard lock(mutex);
    return waiting.count(topic) != 0;
  }

  std::mutex mutex;
  std::map<std::string, int> waiting;
  std::atomic<int> total{0};
};

}  // namespace bybit_detail

namespace {

using bybit_detail::SnapshotBoard;
using Category = Bybit::Category;

// Depths and push intervals of the book topics (bybit-exchange/docs v5/websocket/public/orderbook.mdx).
constexpr std::array<int, 4> kBookDepths = {1, 50, 200, 1000};
constexpr std::array<std::int64_t, 4> kLinearBookMs = {10, 20, 100, 200};
constexpr std::array<std::int64_t, 4> kSpotBookMs = {10, 20, 200, 200};
// orderbook.1 is re-pushed unchanged (same u) after this long without a change.
constexpr std::int64_t kBookOneRepushMs = 3000;
constexpr std::int64_t kLinearTickerMs = 100;
constexpr std::int64_t kSpotTickerMs = 50;
constexpr std::int64_t kLiquidationMs = 500;
constexpr std::int64_t kFundingPeriodMs = 8 * 3600 * 1000;

enum class Channel { none, book, trade, ticker, liquidation, kline };

struct TopicParts {
  Channel channel = Channel::none;
  int depth = 0;
};

bool is_symbol(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// The topic grammar of the public streams this simulator serves; allLiquidation exists on linear only.
TopicParts parse_topic(std::string_view topic, Category category) {
  const auto take = [&](std::string_view prefix) {
    if (!topic.starts_with(prefix)) return false;
    topic.remove_prefix(prefix.size());
    return true;
  };
  if (take("orderbook.")) {
    const auto dot = topic.find('.');
    int depth = 0;
    if (dot == std::string_view::npos) return {};
    const auto [end, ec] = std::from_chars(topic.data(), topic.data() + dot, depth);
    if (ec != std::errc() || end != topic.data() + dot ||
        std::find(kBookDepths.begin(), kBookDepths.end(), depth) == kBookDepths.end() ||
        !is_symbol(topic.substr(dot + 1)))
      return {};
    return {Channel::book, depth};
  }
  if (take("publicTrade.")) return is_symbol(topic) ? TopicParts{Channel::trade, 0} : TopicParts{};
  if (take("tickers.")) return is_symbol(topic) ? TopicParts{Channel::ticker, 0} : TopicParts{};
  if (category == Category::linear && take("allLiquidation."))
    return is_symbol(topic) ? TopicParts{Channel::liquidation, 0} : TopicParts{};
  if (take("kline.")) {
    static constexpr std::string_view kIntervals[] = {"1",   "3",   "5",   "15", "30", "60", "120",
                                                      "240", "360", "720", "D",  "W",  "M"};
    const auto dot = topic.find('.');
    if (dot == std::string_view::npos ||
        std::find(std::begin(kIntervals), std::end(kIntervals), topic.substr(0, dot)) ==
            std::end(kIntervals) ||
        !is_symbol(topic.substr(dot + 1)))
      return {};
    return {Channel::kline, 0};
  }
  return {};
}

// Topics whose first frame for a connection must be a snapshot: books above depth 1 (orderbook.1 frames are
// all snapshots) and linear tickers (spot tickers are all snapshots).
bool starts_with_snapshot(const TopicParts& parts, Category category) {
  return (parts.channel == Channel::book && parts.depth > 1) ||
         (parts.channel == Channel::ticker && category == Category::linear);
}

class BybitSession final : public VenueSession {
 public:
  BybitSession(Category category, std::shared_ptr<SnapshotBoard> board, std::string conn_id)
      : category_(category), board_(std::move(board)), conn_id_(std::move(conn_id)) {}

  ~BybitSession() override {
    for (const auto& topic : waiting_) board_->remove_waiting(topic);
  }

  std::vector<std::string> served_topics() const override {
    std::lock_guard lock(mutex_);
    return topics_;
  }

  std::string on_client_text(std::string_view text) override {
    simdjson::dom::object request;
    if (parser_.parse(text.data(), text.size()).get(request))
      return reply(false, "error:request not json format", "", std::nullopt);
    std::optional<std::string> req_id;
    std::string_view id_text;
    if (!request["req_id"].get(id_text)) req_id = std::string(id_text);
    std::string_view op;
    if (request["op"].get(op)) return reply(false, "error:missing op", "", req_id);

    if (op == "ping") return reply(true, "pong", op, req_id);
    if (op != "subscribe" && op != "unsubscribe")
      return reply(false, "error:invalid op: " + std::string(op), op, req_id);

    simdjson::dom::array args;
    if (request["args"].get(args) || args.size() == 0) return reply(false, "error:args is empty", op, req_id);
    if (category_ == Category::spot && args.size() > Bybit::kSpotMaxArgsPerRequest)
      return reply(false, "error:args size exceeds 10", op, req_id);
    std::vector<std::string> names;
    for (const simdjson::dom::element arg : args) {
      std::string_view name;
      if (arg.get(name)) return reply(false, "error:args must be strings", op, req_id);
      if (parse_topic(name, category_).channel == Channel::none)
        return reply(false, "Invalid topic: " + std::string(name), op, req_id);
      names.emplace_back(name);
    }

    std::lock_guard lock(mutex_);
    if (op == "subscribe") {
      for (const auto& name : names) {
        if (std::find(topics_.begin(), topics_.end(), name) != topics_.end())
          return reply(false, "error:already subscribed,topic:" + name, op, req_id);
      }
      for (auto& name : names) {
        if (starts_with_snapshot(parse_topic(name, category_), category_) && waiting_.insert(name).second)
          board_->add_waiting(name);
        topics_.push_back(std::move(name));
      }
    } else {
      for (const auto& name : names) {
        std::erase(topics_, name);
        if (waiting_.erase(name)) board_->remove_waiting(name);
      }
    }
    // Linear acks carry an empty ret_msg, spot acks the op (fixtures linear_/spot_subscribe_ack).
    return reply(true, category_ == Category::spot ? op : "", op, req_id);
  }

  std::size_t append_frame(std::string& out, std::string_view topic,
                           std::string_view payload) const override {
    {
      std::lock_guard lock(mutex_);
      const auto waiting = waiting_.find(std::string(topic));
      if (waiting != waiting_.end()) {
        const auto snapshot = board_->snapshots.find(*waiting);
        if (snapshot != board_->snapshots.end()) {
          board_->remove_waiting(*waiting);
          waiting_.erase(waiting);
          out.append(snapshot->second);
          // The send stamp is patched at (returned offset + the payload's slot offset). Every frame this feed
          // renders ends with the slot and '}', so this offset (modulo 2^64) lands the stamp in the
          // snapshot's own slot.
          return snapshot->second.size() - payload.size();
        }
      }
    }
    out.append(payload);
    return 0;
  }

  void append_recorded_frame(std::string& out, const RecordedFrame& frame) const override {
    out.append(frame.text);  // Bybit frames are self-contained: sent byte for byte
  }

 private:
  // {"success":..,"ret_msg":..,"conn_id":..,"req_id":..,"op":..}. Linear always echoes req_id ("" when the
  // request had none); spot only when the request carried one.
  std::string reply(bool success, std::string_view ret_msg, std::string_view op,
                    const std::optional<std::string>& req_id) const {
    std::string out = success ? "{\"success\":true,\"ret_msg\":" : "{\"success\":false,\"ret_msg\":";
    strategies::append_json_string(ret_msg, out);
    out += ",\"conn_id\":";
    strategies::append_json_string(conn_id_, out);
    if (req_id || category_ == Category::linear) {
      out += ",\"req_id\":";
      strategies::append_json_string(req_id ? *req_id : std::string(), out);
    }
    out += ",\"op\":";
    strategies::append_json_string(op, out);
    out += '}';
    return out;
  }

  Category category_;
  std::shared_ptr<SnapshotBoard> board_;
  std::string conn_id_;
  mutable std::mutex mutex_;  // topics_ and waiting_: the connection thread writes, the feed thread reads
  std::vector<std::string> topics_;
  mutable std::set<std::string> waiting_;  // subscribed topics whose snapshot this connection has not had
  simdjson::dom::parser parser_;           // control requests only: a handful per connection
};

// ---- feed -----------------------------------------------------------------------------------------------

using Bids = std::map<std::int64_t, std::int64_t, std::greater<>>;
using Asks = std::map<std::int64_t, std::int64_t>;

struct BookTopic {
  int depth = 0;
  std::int64_t interval_ms = 0;
  std::int64_t next_ms = 0;
  std::int64_t last_push_ms = 0;
  std::string topic;
  std::uint64_t u = 0;  // per topic, +1 per pushed frame
  bool published = false;
  Bids bids;  // the levels as the last frame left them
  Asks asks;
};

// Ticker fields in the order the venue writes them (fixture linear_tickers_snapshot_BTCUSDT).
enum TickerField : std::size_t {
  kLastPrice,
  kMarkPrice,
  kIndexPrice,
  kNextFundingTime,
  kFundingRate,
  kBid1Price,
  kBid1Size,
  kAsk1Price,
  kAsk1Size,
  kTickerFieldCount
};
constexpr std::array<std::string_view, kTickerFieldCount> kTickerNames = {
    "lastPrice", "markPrice", "indexPrice", "nextFundingTime", "fundingRate",
    "bid1Price", "bid1Size",  "ask1Price",  "ask1Size"};

struct InstrumentTopics {
  std::string symbol;
  std::vector<BookTopic> books;
  std::string trade, ticker, liquidation;
  std::int64_t last_trade_price = 0;
  std::int64_t previous_trade_price = 0;
  bool ticker_published = false;
  std::array<std::string, kTickerFieldCount> ticker_values;
};

class BybitFeed final : public VenueFeed {
 public:
  BybitFeed(Category category, const SyntheticMarket& market, bool stamp,
            std::shared_ptr<SnapshotBoard> board)
      : category_(category), stamp_(stamp), board_(std::move(board)) {
    board_->snapshots.clear();
    const auto& intervals = category == Category::linear ? kLinearBookMs : kSpotBookMs;
    for (std::size_t i = 0; i < market.size(); ++i) {
      InstrumentTopics t;
      t.symbol = market.spec(i).symbol;
      for (std::size_t d = 0; d < kBookDepths.size(); ++d) {
        BookTopic b;
        b.depth = kBookDepths[d];
        b.interval_ms = intervals[d];
        b.topic = "orderbook." + std::to_string(b.depth) + "." + t.symbol;
        // Bybit's u values are large and differ per topic; start each somewhere recognisable.
        b.u = 1'000'000 * (d + 1) + 1000 * i;
        t.books.push_back(std::move(b));
      }
      t.trade = "publicTrade." + t.symbol;
      t.ticker = "tickers." + t.symbol;
      t.liquidation = "allLiquidation." + t.symbol;
      if (!market.book(i).bids().empty()) t.last_trade_price = market.book(i).bids().begin()->first;
      t.previous_trade_price = t.last_trade_price;
      instruments_.push_back(std::move(t));
    }
  }

  void on_event(const SyntheticMarket& market, const MarketEvent& event, std::int64_t wall_ms,
                FrameSink& sink) override {
    if (event.kind != MarketEvent::Kind::trade) return;
    InstrumentTopics& t = instruments_[event.instrument];
    t.previous_trade_price = t.last_trade_price;
    t.last_trade_price = event.trade_price;
    if (!sink.wanted(t.trade)) return;
    const InstrumentSpec& spec = market.spec(event.instrument);
    ++sequence_;
    begin(t.trade, "snapshot", wall_ms);
    buf_ += ",\"data\":[{";
    const char* side = event.taker == Side::bid ? "Buy" : "Sell";
    if (category_ == Category::linear) {
      // Linear: T,s,S,v,p,L,i (a UUID),BT,RPI,seq (fixture linear_publicTrade_BTCUSDT).
      buf_ +=
          "\"T\":" + std::to_string(wall_ms) + ",\"s\":\"" + t.symbol + "\",\"S\":\"" + side + "\",\"v\":\"";
      append_decimal(buf_, event.trade_size, spec.size_decimals);
      buf_ += "\",\"p\":\"";
      append_decimal(buf_, event.trade_price, spec.price_decimals);
      buf_ += "\",\"L\":\"";
      buf_ += tick_direction(t);
      buf_ += "\",\"i\":\"";
      append_uuid(event.aggregate_trade_id);
      buf_ += "\",\"BT\":false,\"RPI\":false,\"seq\":" + std::to_string(sequence_) + "}]";
    } else {
      // Spot: i (decimal string),T,p,v,S,seq,s,BT,RPI (the spot capture's order).
      buf_ += "\"i\":\"" + std::to_string(event.aggregate_trade_id) + "\",\"T\":" + std::to_string(wall_ms) +
              ",\"p\":\"";
      append_decimal(buf_, event.trade_price, spec.price_decimals);
      buf_ += "\",\"v\":\"";
      append_decimal(buf_, event.trade_size, spec.size_decimals);
      buf_ += "\",\"S\":\"";
      buf_ += side;
      buf_ += "\",\"seq\":" + std::to_string(sequence_) + ",\"s\":\"" + t.symbol +
              "\",\"BT\":false,\"RPI\":false}]";
    }
    finish();
    sink.emit(t.trade, buf_, slot_, false);
  }

  void on_clock(SyntheticMarket& market, std::int64_t mono_ns, std::int64_t wall_ms,
                FrameSink& sink) override {
    const std::int64_t now_ms = mono_ns / 1'000'000;
    for (std::size_t i = 0; i < instruments_.size(); ++i) {
      for (BookTopic& b : instruments_[i].books) {
        if (now_ms < b.next_ms) continue;
        b.next_ms = advance(b.next_ms, now_ms, b.interval_ms);
        emit_book(market, i, b, now_ms, wall_ms, sink);
      }
    }
    const std::int64_t ticker_ms = category_ == Category::linear ? kLinearTickerMs : kSpotTickerMs;
    if (now_ms >= next_ticker_ms_) {
      next_ticker_ms_ = advance(next_ticker_ms_, now_ms, ticker_ms);
      for (std::size_t i = 0; i < instruments_.size(); ++i) emit_ticker(market, i, wall_ms, sink);
    }
    if (category_ == Category::linear && now_ms >= next_liquidation_ms_) {
      next_liquidation_ms_ = advance(next_liquidation_ms_, now_ms, kLiquidationMs);
      for (std::size_t i = 0; i < instruments_.size(); ++i) {
        // About one liquidation per symbol every four seconds; no draw when nobody listens.
        if (!sink.wanted(instruments_[i].liquidation) ||
            (wall_ms / kLiquidationMs + static_cast<std::int64_t>(i) * 3) % 8 != 0)
          continue;
        emit_liquidation(market, i, wall_ms, sink);
      }
    }
  }

 private:
  static std::int64_t advance(std::int64_t due, std::int64_t now, std::int64_t period) {
    due += period;
    if (due <= now) due = now + period;
    return due;
  }

  // Key order per category: linear writes topic,type,ts; spot topic,ts,type (captures in tests/fixtures).
  void begin(std::string_view topic, std::string_view type, std::int64_t wall_ms) {
    buf_.assign("{\"topic\":\"");
    buf_.append(topic);
    if (category_ == Category::linear) {
      buf_ += "\",\"type\":\"";
      buf_.append(type);
      buf_ += "\",\"ts\":" + std::to_string(wall_ms);
    } else {
      buf_ += "\",\"ts\":" + std::to_string(wall_ms) + ",\"type\":\"";
      buf_.append(type);
      buf_ += '"';
    }
  }

  // Every frame ends with the send-stamp slot (when stamping) and '}': BybitSession::append_frame relies on
  // it.
  void finish() {
    slot_ = stamp_ ? append_send_stamp_slot(buf_) : kNoSendStamp;
    buf_ += '}';
  }

  static const char* tick_direction(const InstrumentTopics& t) {
    if (t.last_trade_price > t.previous_trade_price) return "PlusTick";
    if (t.last_trade_price < t.previous_trade_price) return "MinusTick";
    return "ZeroPlusTick";
  }

  // Linear trade ids are UUIDs; derive a stable one from the trade id.
  void append_uuid(std::uint64_t id) {
    std::uint64_t a = id * 0x9E3779B97F4A7C15ull, b = (id ^ 0xD1B54A32D192ED03ull) * 0xBF58476D1CE4E5B9ull;
    char hex[33];
    for (int k = 0; k < 16; ++k) {
      hex[k] = "0123456789abcdef"[(a >> (60 - 4 * k)) & 0xF];
      hex[16 + k] = "0123456789abcdef"[(b >> (60 - 4 * k)) & 0xF];
    }
    const std::string_view h(hex, 32);
    buf_.append(h.substr(0, 8)).append("-").append(h.substr(8, 4)).append("-").append(h.substr(12, 4));
    buf_.append("-").append(h.substr(16, 4)).append("-").append(h.substr(20, 12));
  }

  template <class Levels>
  void append_levels(std::string_view key, const Levels& levels, const InstrumentSpec& spec) {
    buf_.append(key);
    buf_ += '[';
    bool first = true;
    for (const auto& [price, size] : levels) {
      if (!first) buf_ += ',';
      first = false;
      buf_ += "[\"";
      append_decimal(buf_, price, spec.price_decimals);
      buf_ += "\",\"";
      append_decimal(buf_, size, spec.size_decimals);
      buf_ += "\"]";
    }
    buf_ += ']';
  }

  void render_book(const BookTopic& b, std::string_view type, const Bids& bids, const Asks& asks,
                   const InstrumentTopics& t, const InstrumentSpec& spec, std::int64_t wall_ms) {
    begin(b.topic, type, wall_ms);
    buf_ += ",\"data\":{\"s\":\"" + t.symbol + "\"";
    append_levels(",\"b\":", bids, spec);
    append_levels(",\"a\":", asks, spec);
    buf_ += ",\"u\":" + std::to_string(b.u) + ",\"seq\":" + std::to_string(sequence_) + "}";
    // Matching-engine time precedes the push by a millisecond or two on the venue.
    buf_ += ",\"cts\":" + std::to_string(wall_ms - static_cast<std::int64_t>(b.u % 3));
    finish();
  }

  void emit_book(const SyntheticMarket& market, std::size_t i, BookTopic& b, std::int64_t now_ms,
                 std::int64_t wall_ms, FrameSink& sink) {
    if (!sink.wanted(b.topic)) {
      // Nobody holds this book: the next subscriber starts from a snapshot.
      b.published = false;
      b.bids.clear();
      b.asks.clear();
      return;
    }
    const InstrumentTopics& t = instruments_[i];
    const InstrumentSpec& spec = market.spec(i);
    const OrderBook& book = market.book(i);
    Bids bids;
    Asks asks;
    for (auto it = book.bids().begin();
         it != book.bids().end() && bids.size() < static_cast<std::size_t>(b.depth); ++it)
      bids.insert(*it);
    for (auto it = book.asks().begin();
         it != book.asks().end() && asks.size() < static_cast<std::size_t>(b.depth); ++it)
      asks.insert(*it);

    Bids bid_changes;
    Asks ask_changes;
    diff(b.bids, bids, bid_changes);
    diff(b.asks, asks, ask_changes);
    const bool changed = !bid_changes.empty() || !ask_changes.empty() || !b.published;
    ++sequence_;

    if (b.depth == 1) {
      // Snapshot-only; unchanged books are pushed again with the same u every 3 s.
      if (!changed && now_ms - b.last_push_ms < kBookOneRepushMs) return;
      if (changed) ++b.u;
      render_book(b, "snapshot", bids, asks, t, spec, wall_ms);
      sink.emit(b.topic, buf_, slot_, false);
    } else if (changed) {
      ++b.u;
      // The board holds a snapshot only for the frame being sent, so a session never substitutes a stale one.
      if (board_->is_waiting(b.topic)) {
        render_book(b, "snapshot", bids, asks, t, spec, wall_ms);
        board_->snapshots[b.topic] = buf_;
      } else {
        board_->snapshots.erase(b.topic);
      }
      render_book(b, "delta", bid_changes, ask_changes, t, spec, wall_ms);
      sink.emit(b.topic, buf_, slot_, true);
    } else if (board_->is_waiting(b.topic)) {
      // A subscriber waits and the book did not move: it gets the snapshot now, and every holder of the book
      // a harmless reset to the state it already has.
      render_book(b, "snapshot", bids, asks, t, spec, wall_ms);
      board_->snapshots[b.topic] = buf_;
      sink.emit(b.topic, buf_, slot_, false);
    } else {
      return;
    }
    b.last_push_ms = now_ms;
    b.published = true;
    b.bids = std::move(bids);
    b.asks = std::move(asks);
  }

  // Levels of `now` that differ from `before`, and levels gone from it with size 0.
  template <class Levels>
  static void diff(const Levels& before, const Levels& now, Levels& changes) {
    for (const auto& [price, size] : now) {
      const auto it = before.find(price);
      if (it == before.end() || it->second != size) changes[price] = size;
    }
    for (const auto& [price, size] : before)
      if (!now.count(price)) changes[price] = 0;
  }

  void emit_ticker(SyntheticMarket& market, std::size_t i, std::int64_t wall_ms, FrameSink& sink) {
    InstrumentTopics& t = instruments_[i];
    if (!sink.wanted(t.ticker)) {
      t.ticker_published = false;
      return;
    }
    const InstrumentSpec& spec = market.spec(i);
    const OrderBook& book = market.book(i);
    std::array<std::string, kTickerFieldCount> values;
    append_decimal(values[kLastPrice], t.last_trade_price, spec.price_decimals);
    if (!book.bids().empty()) {
      append_decimal(values[kBid1Price], book.bids().begin()->first, spec.price_decimals);
      append_decimal(values[kBid1Size], book.bids().begin()->second, spec.size_decimals);
    }
    if (!book.asks().empty()) {
      append_decimal(values[kAsk1Price], book.asks().begin()->first, spec.price_decimals);
      append_decimal(values[kAsk1Size], book.asks().begin()->second, spec.size_decimals);
    }
    if (category_ == Category::linear) {
      const MarkSample m = market.sample_mark(i);
      // Mark and index are quoted at the contract's price precision.
      std::int64_t scale = 1;
      for (int d = spec.price_decimals; d < MarkSample::kDecimals; ++d) scale *= 10;
      append_decimal(values[kMarkPrice], m.mark_price / scale, spec.price_decimals);
      append_decimal(values[kIndexPrice], m.index_price / scale, spec.price_decimals);
      append_decimal(values[kFundingRate], m.funding_rate, MarkSample::kDecimals);
      values[kNextFundingTime] = std::to_string((wall_ms / kFundingPeriodMs + 1) * kFundingPeriodMs);
    }

    if (category_ == Category::spot) {
      // Spot tickers are snapshots, pushed when something changed; they carry no quote and no funding.
      if (t.ticker_published && values[kLastPrice] == t.ticker_values[kLastPrice]) return;
      begin(t.ticker, "snapshot", wall_ms);
      buf_ += ",\"cs\":" + std::to_string(sequence_) + ",\"data\":{\"symbol\":\"" + t.symbol +
              "\",\"lastPrice\":\"" + values[kLastPrice] + "\",\"usdIndexPrice\":\"" + values[kLastPrice] +
              "\"}";
      finish();
      sink.emit(t.ticker, buf_, slot_, false);
    } else {
      const bool waiting = board_->is_waiting(t.ticker);
      if (!t.ticker_published || waiting) {
        render_ticker(t, "snapshot", values, nullptr, wall_ms);
        board_->snapshots[t.ticker] = buf_;
      } else {
        board_->snapshots.erase(t.ticker);
      }
      if (!t.ticker_published) {
        sink.emit(t.ticker, buf_, slot_, false);
      } else {
        std::array<bool, kTickerFieldCount> changed{};
        bool any = false;
        for (std::size_t k = 0; k < kTickerFieldCount; ++k) {
          changed[k] = values[k] != t.ticker_values[k];
          any = any || changed[k];
        }
        if (any) {
          render_ticker(t, "delta", values, &changed, wall_ms);
          sink.emit(t.ticker, buf_, slot_, false);
        } else if (waiting) {
          sink.emit(t.ticker, buf_, slot_, false);  // buf_ still holds the snapshot
        } else {
          return;
        }
      }
    }
    t.ticker_published = true;
    t.ticker_values = std::move(values);
  }

  // Linear: {"topic","type","data":{..},"cs","ts"}; a delta lists only `changed` fields.
  void render_ticker(const InstrumentTopics& t, std::string_view type,
                     const std::array<std::string, kTickerFieldCount>& values,
                     const std::array<bool, kTickerFieldCount>* changed, std::int64_t wall_ms) {
    buf_.assign("{\"topic\":\"");
    buf_ += t.ticker + "\",\"type\":\"";
    buf_.append(type);
    buf_ += "\",\"data\":{\"symbol\":\"" + t.symbol + "\"";
    for (std::size_t k = 0; k < kTickerFieldCount; ++k) {
      if (changed && !(*changed)[k]) continue;
      buf_ += ",\"";
      buf_.append(kTickerNames[k]);
      buf_ += "\":\"" + values[k] + "\"";
    }
    buf_ += "},\"cs\":" + std::to_string(sequence_) + ",\"ts\":" + std::to_string(wall_ms);
    finish();
  }

  // allLiquidation: S is the liquidated position's side, so a long being sold off (the forced order on the
  // ask) is S=Buy (bybit-exchange/docs all-liquidation.mdx); p is the bankruptcy price.
  void emit_liquidation(SyntheticMarket& market, std::size_t i, std::int64_t wall_ms, FrameSink& sink) {
    const InstrumentTopics& t = instruments_[i];
    const InstrumentSpec& spec = market.spec(i);
    const Liquidation l = market.sample_liquidation(i);
    begin(t.liquidation, "snapshot", wall_ms);
    buf_ += ",\"data\":[{\"T\":" + std::to_string(wall_ms) + ",\"s\":\"" + t.symbol + "\",\"S\":\"" +
            (l.side == Side::ask ? "Buy" : "Sell") + "\",\"v\":\"";
    append_decimal(buf_, l.size, spec.size_decimals);
    buf_ += "\",\"p\":\"";
    append_decimal(buf_, l.price, spec.price_decimals);
    buf_ += "\"}]";
    finish();
    sink.emit(t.liquidation, buf_, slot_, false);
  }

  Category category_;
  bool stamp_;
  std::shared_ptr<SnapshotBoard> board_;
  std::vector<InstrumentTopics> instruments_;
  std::string buf_;  // reused for every frame: the feed thread renders one frame at a time
  std::size_t slot_ = kNoSendStamp;
  std::uint64_t sequence_ = 100'000'000;  // Bybit's cross sequence (`seq`, `cs`): monotonic, not contiguous
  std::int64_t next_ticker_ms_ = 0;
  std::int64_t next_liquidation_ms_ = 0;
};

}  // namespace

Bybit::Bybit(Category category)
    : category_(category), board_(std::make_shared<bybit_detail::SnapshotBoard>()) {}

Bybit::~Bybit() = default;

std::string_view Bybit::id() const {
  return category_ == Category::spot ? "bybit-spot" : "bybit-linear";
}

std::unique_ptr<VenueSession> Bybit::open_session(std::string_view target, unsigned& reject_status) const {
  static std::atomic<std::uint64_t> next_connection{1};
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != (category_ == Category::spot ? "/v5/public/spot" : "/v5/public/linear")) {
    reject_status = 404;
    return nullptr;
  }
  return std::make_unique<BybitSession>(
      category_, board_, "sim-" + std::to_string(next_connection.fetch_add(1)) + "-" + std::string(id()));
}

std::unique_ptr<VenueFeed> Bybit::make_feed(const SyntheticMarket& market, bool stamp_send_ns) const {
  return std::make_unique<BybitFeed>(category_, market, stamp_send_ns, board_);
}

std::optional<RecordedFrame> Bybit::read_recorded_frame(std::string text, double recv_s) const {
  // Called once per capture line at start-up: a parser per call is fine.
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return std::nullopt;
  std::string_view topic, type;
  if (doc["topic"].get(topic)) return std::nullopt;  // acks and pongs belong to no topic
  if (doc["type"].get(type)) type = {};
  // A capture records frames of both categories and the topic names are the same on both ("orderbook.200.
  // BTCUSDT"); only the key order tells them apart: spot writes `ts` right after `topic` (or `type` first,
  // on klines), linear `type` or `data` right after `topic` (BYBIT.jsonl, every frame of both connections).
  std::string_view first, second;
  std::size_t n = 0;
  for (const auto field : doc) {
    (n == 0 ? first : second) = field.key;
    if (++n == 2) break;
  }
  const bool spot = first == "type" || second == "ts";
  if (spot != (category_ == Category::spot)) return std::nullopt;
  RecordedFrame frame;
  frame.topic = std::string(topic);
  frame.book_delta = topic.starts_with("orderbook.") && type == "delta";
  frame.payload_pos = 0;
  frame.payload_len = text.size();
  frame.recv_s = recv_s;
  frame.text = std::move(text);
  return frame;
}

}  // namespace sigflow::tools
