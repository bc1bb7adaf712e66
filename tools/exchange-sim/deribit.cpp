#include "tools/exchange-sim/deribit.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include <simdjson.h>

#include "strategies/signal.hpp"

namespace sigflow::tools {
namespace deribit_detail {

// What fresh book subscribers wait for. `snapshots` is written by the feed and read by sessions in
// append_frame, both on the feed thread; `waiting` is updated by sessions on their connection threads and
// read by the feed, hence the mutex (simulator control plane, not a hot path).
struct SnapshotBoard {
  std::unordered_map<std::string, std::string> snapshots;  // topic → snapshot frame text

  void add_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    ++waiting[topic];
  }
  void remove_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    const auto it = waiting.find(topic);
    if (it != waiting.end() && --it->second == 0) waiting.erase(it);
  }
  bool is_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    return waiting.count(topic) != 0;
  }

 private:
  std::mutex mutex;
  std::unordered_map<std::string, int> waiting;
};

}  // namespace deribit_detail

namespace {

using deribit_detail::SnapshotBoard;

constexpr std::string_view kPath = "/ws/api/v2";
constexpr std::string_view kHeartbeatTopicPrefix = "heartbeat.";
constexpr std::int64_t kIntervalMs = 100;  // the public channels' interval

// JSON-RPC error codes the venue uses (docs.deribit.com "Errors"; -326xx are JSON-RPC 2.0's own).
constexpr int kParseError = -32700;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kRawNeedsAuth = 13778;  // raw_subscriptions_not_available_for_unauthorized

enum class ChannelKind { book, trades, ticker, quote };

struct ChannelName {
  ChannelKind kind;
  std::string_view instrument;
  std::string_view interval;  // empty for quote
};

bool is_instrument(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == 'd';
  });
}

// book.{inst}.{interval}, trades.{inst}.{interval}, ticker.{inst}.{interval}, quote.{inst}.
std::optional<ChannelName> parse_channel(std::string_view name) {
  const auto first = name.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::string_view prefix = name.substr(0, first);
  const std::string_view rest = name.substr(first + 1);
  if (prefix == "quote") {
    if (!is_instrument(rest)) return std::nullopt;
    return ChannelName{ChannelKind::quote, rest, {}};
  }
  const auto second = rest.find('.');
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view instrument = rest.substr(0, second);
  const std::string_view interval = rest.substr(second + 1);
  if (!is_instrument(instrument) || (interval != "100ms" && interval != "agg2" && interval != "raw"))
    return std::nullopt;
  if (prefix == "book") return ChannelName{ChannelKind::book, instrument, interval};
  if (prefix == "trades") return ChannelName{ChannelKind::trades, instrument, interval};
  if (prefix == "ticker") return ChannelName{ChannelKind::ticker, instrument, interval};
  return std::nullopt;
}

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class DeribitSession final : public VenueSession {
 public:
  DeribitSession(std::shared_ptr<SnapshotBoard> board, int min_heartbeat_s)
      : board_(std::move(board)), min_heartbeat_s_(min_heartbeat_s) {}

  ~DeribitSession() override {
    for (const auto& topic : waiting_) board_->remove_waiting(topic);
  }

  std::vector<std::string> served_topics() const override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> served;
    for (const auto& channel : channels_) {
      // agg2 channels are accepted and never served here: the simulator renders the 100ms interval only.
      const auto parsed = parse_channel(channel);
      if (parsed && (parsed->kind == ChannelKind::quote || parsed->interval == "100ms"))
        served.push_back(channel);
    }
    if (heartbeat_s_ > 0) served.push_back(std::string(kHeartbeatTopicPrefix) + std::to_string(heartbeat_s_));
    return served;
  }

  std::string on_client_text(std::string_view text) override {
    const std::int64_t us_in = wall_us();
    simdjson::dom::element request;
    if (parser_.parse(text.data(), text.size()).get(request))
      return error_reply("null", kParseError, "Parse error", {}, {});
    simdjson::dom::object members;
    if (request.get(members))
      return error_reply("null", kInvalidParams, "Invalid params", "not an object", {});
    // Ids are echoed back as written: an integer, a string or null.
    std::string id = "null";
    simdjson::dom::element id_value;
    if (!members["id"].get(id_value)) {
      std::int64_t number = 0;
      std::string_view string;
      if (!id_value.get(number)) {
        id = std::to_string(number);
      } else if (!id_value.get(string)) {
        id.clear();
        strategies::append_json_string(string, id);
      }
    }
    std::string_view method;
    if (members["method"].get(method)) return error_reply(id, kInvalidParams, "Invalid params", "method", {});
    simdjson::dom::object params;
    const bool has_params = !members["params"].get(params);

    if (method == "public/subscribe" || method == "public/unsubscribe") {
      simdjson::dom::array list;
      if (!has_params || params["channels"].get(list) || list.size() == 0)
        return error_reply(id, kInvalidParams, "Invalid params", "must be a non-empty array", "channels");
      std::vector<std::string> names;
      for (const simdjson::dom::element item : list) {
        std::string_view name;
        if (item.get(name))
          return error_reply(id, kInvalidParams, "Invalid params", "must be strings", "channels");
        const auto parsed = parse_channel(name);
        if (!parsed) return error_reply(id, kInvalidParams, "Invalid params", "invalid channel", name);
        if (parsed->interval == "raw" && method == "public/subscribe")
          return error_reply(id, kRawNeedsAuth, "raw_subscriptions_not_available_for_unauthorized", {}, name);
        names.emplace_back(name);
      }
      std::vector<std::string> done;
      {
        std::lock_guard lock(mutex_);
        for (auto& name : names) {
          const bool present = channels_.count(name) != 0;
          if (method == "public/subscribe") {
            if (!present) {
              channels_.insert(name);
              if (parse_channel(name)->kind == ChannelKind::book && waiting_.insert(name).second)
                board_->add_waiting(name);
            }
            done.push_back(std::move(name));
          } else if (present) {
            channels_.erase(name);
            if (waiting_.erase(name)) board_->remove_waiting(name);
            done.push_back(std::move(name));
          }
        }
      }
      std::string result = "[";
      for (std::size_t i = 0; i < done.size(); ++i) {
        if (i) result += ',';
        strategies::append_json_string(done[i], result);
      }
      result += ']';
      return result_reply(id, result, us_in);
    }
    if (method == "public/unsubscribe_all") {
      std::lock_guard lock(mutex_);
      for (const auto& topic : waiting_) board_->remove_waiting(topic);
      waiting_.clear();
      channels_.clear();
      return result_reply(id, "\"ok\"", us_in);
    }
    if (method == "public/set_heartbeat") {
      double interval = 0;
      if (!has_params || params["interval"].get(interval))
        return error_reply(id, kInvalidParams, "Invalid params", "must be a number", "interval");
      if (interval < min_heartbeat_s_ || interval > Deribit::kMaxHeartbeatIntervalS)
        return error_reply(id, kInvalidParams, "Invalid params", "must be between 10 and 3600", "interval");
      std::lock_guard lock(mutex_);
      heartbeat_s_ = static_cast<int>(interval);
      test_outstanding_ = false;
      return result_reply(id, "\"ok\"", us_in);
    }
    if (method == "public/disable_heartbeat") {
      std::lock_guard lock(mutex_);
      heartbeat_s_ = 0;
      test_outstanding_ = false;
      return result_reply(id, "\"ok\"", us_in);
    }
    if (method == "public/test") {
      {
        std::lock_guard lock(mutex_);
        if (test_outstanding_) {
          test_outstanding_ = false;
          ++record_.answered;
        }
      }
      return result_reply(id, R"({"version":"1.2.26"})", us_in);
    }
    return error_reply(id, kMethodNotFound, "Method not found", {}, {});
  }

  std::size_t append_frame(std::string& out, std::string_view topic,
                           std::string_view payload) const override {
    std::lock_guard lock(mutex_);
    if (topic.starts_with(kHeartbeatTopicPrefix)) {
      // A test_request still outstanding when the next one is due: the venue closes the connection here.
      if (test_outstanding_) {
        ++record_.missed;
        close_requested_ = true;
      }
      test_outstanding_ = true;
      ++record_.requests_sent;
      out.append(payload);
      return 0;
    }
    const auto waiting = waiting_.find(std::string(topic));
    if (waiting != waiting_.end()) {
      const auto snapshot = board_->snapshots.find(*waiting);
      if (snapshot != board_->snapshots.end()) {
        board_->remove_waiting(*waiting);
        waiting_.erase(waiting);
        out.append(snapshot->second);
        // The stamp is patched at (returned offset + the payload's slot offset); every frame this feed
        // renders ends with the slot and "}}", so this offset (modulo 2^64) lands it in the snapshot's own
        // slot.
        return snapshot->second.size() - payload.size();
      }
    }
    out.append(payload);
    return 0;
  }

  void append_recorded_frame(std::string& out, const RecordedFrame& frame) const override {
    out.append(frame.text);  // notifications are self-contained: sent as recorded
  }

  HeartbeatRecord heartbeat_record() const {
    std::lock_guard lock(mutex_);
    return record_;
  }
  bool close_requested() const {
    std::lock_guard lock(mutex_);
    return close_requested_;
  }

 private:
  // {"jsonrpc":"2.0","id":..,"result":..,"usIn":..,"usOut":..,"usDiff":..,"testnet":false}, as the venue
  // answers (fixture subscribe_response_capture).
  static std::string result_reply(std::string_view id, std::string_view result, std::int64_t us_in) {
    const std::int64_t us_out = wall_us();
    std::string out = R"({"jsonrpc":"2.0","id":)";
    out.append(id);
    out += R"(,"result":)";
    out.append(result);
    out += R"(,"usIn":)" + std::to_string(us_in) + R"(,"usOut":)" + std::to_string(us_out) + R"(,"usDiff":)" +
           std::to_string(us_out - us_in) + R"(,"testnet":false})";
    return out;
  }

  // {"jsonrpc":"2.0","id":..,"error":{"code":..,"message":..,"data":{"reason":..,"param":..}}}.
  static std::string error_reply(std::string_view id, int code, std::string_view message,
                                 std::string_view reason, std::string_view param) {
    std::string out = R"({"jsonrpc":"2.0","id":)";
    out.append(id);
    out += R"(,"error":{"code":)" + std::to_string(code) + R"(,"message":)";
    strategies::append_json_string(message, out);
    if (!reason.empty() || !param.empty()) {
      out += R"(,"data":{"reason":)";
      strategies::append_json_string(reason, out);
      out += R"(,"param":)";
      strategies::append_json_string(param, out);
      out += '}';
    }
    out += "},\"testnet\":false}";
    return out;
  }

  std::shared_ptr<SnapshotBoard> board_;
  int min_heartbeat_s_;
  // channels_, waiting_, the heartbeat state: the connection thread writes, the feed thread reads and (in
  // append_frame) updates.
  mutable std::mutex mutex_;
  std::set<std::string> channels_;
  mutable std::set<std::string> waiting_;  // book channels whose snapshot this connection has not had
  int heartbeat_s_ = 0;
  mutable bool test_outstanding_ = false;
  mutable bool close_requested_ = false;
  mutable HeartbeatRecord record_;
  simdjson::dom::parser parser_;  // control requests only: a handful per connection
};

// ---- feed -----------------------------------------------------------------------------------------------

using Bids = std::map<std::int64_t, std::int64_t, std::greater<>>;
using Asks = std::map<std::int64_t, std::int64_t>;

struct InstrumentTopics {
  std::string symbol;
  std::string book, trades, ticker, quote;
  // The book as its subscribers hold it, and the change_id they are at.
  Bids bids;
  Asks asks;
  std::uint64_t change_id = 0;
  bool published = false;
  std::string pending_trades;  // trade objects of the current 100 ms, comma-separated
  std::int64_t last_ticker_ms = 0;
  bool top_changed = false;
  std::uint64_t trade_seq = 1;
};

class DeribitFeed final : public VenueFeed {
 public:
  DeribitFeed(const SyntheticMarket& market, bool stamp, std::shared_ptr<SnapshotBoard> board)
      : stamp_(stamp), board_(std::move(board)) {
    board_->snapshots.clear();
    for (std::size_t i = 0; i < market.size(); ++i) {
      InstrumentTopics t;
      t.symbol = market.spec(i).symbol;
      t.book = "book." + t.symbol + ".100ms";
      t.trades = "trades." + t.symbol + ".100ms";
      t.ticker = "ticker." + t.symbol + ".100ms";
      t.quote = "quote." + t.symbol;
      instruments_.push_back(std::move(t));
    }
  }

  void on_event(const SyntheticMarket& market, const MarketEvent& event, std::int64_t wall_ms,
                FrameSink& sink) override {
    InstrumentTopics& t = instruments_[event.instrument];
    const InstrumentSpec& spec = market.spec(event.instrument);
    if (event.top_changed) t.top_changed = true;
    if (event.kind == MarketEvent::Kind::trade && sink.wanted(t.trades)) {
      // Fills of the 100 ms window go out together, as the venue's 100ms trades channel batches them.
      std::string& s = t.pending_trades;
      if (!s.empty()) s += ',';
      const std::uint64_t id = event.aggregate_trade_id;
      s += R"({"trade_seq":)" + std::to_string(t.trade_seq++) + R"(,"trade_id":")" + std::to_string(id) +
           R"(","timestamp":)" + std::to_string(wall_ms) + R"(,"tick_direction":)" + std::to_string(id % 4) +
           R"(,"price":)";
      append_decimal(s, event.trade_price, spec.price_decimals);
      s += R"(,"instrument_name":")" + t.symbol + R"(","direction":")" +
           (event.taker == Side::bid ? "buy" : "sell") + R"(","amount":)";
      append_decimal(s, event.trade_size, spec.size_decimals);
      // Liquidation fills: about one in twenty, taker, maker or both (the only public liquidation signal).
      if (id % 20 == 3) s += R"(,"liquidation":"T")";
      if (id % 20 == 11) s += R"(,"liquidation":"M")";
      if (id % 60 == 17) s += R"(,"liquidation":"MT")";
      s += '}';
    }
    if (event.top_changed && sink.wanted(t.quote)) {
      const OrderBook& book = market.book(event.instrument);
      begin(t.quote);
      buf_ += R"({"timestamp":)" + std::to_string(wall_ms) + R"(,"instrument_name":")" + t.symbol + '"';
      append_top(book, spec);
      buf_ += '}';
      finish(sink, t.quote, false);
    }
  }

  void on_clock(SyntheticMarket& market, std::int64_t mono_ns, std::int64_t wall_ms,
                FrameSink& sink) override {
    const std::int64_t now_ms = mono_ns / 1'000'000;
    if (next_interval_ms_ == 0) {
      next_interval_ms_ = now_ms + kIntervalMs;
      start_s_ = now_ms / 1000;
      last_heartbeat_s_ = start_s_;
    }
    if (now_ms >= next_interval_ms_) {
      next_interval_ms_ += kIntervalMs;
      if (next_interval_ms_ <= now_ms) next_interval_ms_ = now_ms + kIntervalMs;
      for (std::size_t i = 0; i < instruments_.size(); ++i) {
        emit_book(market, i, wall_ms, sink);
        emit_trades(i, sink);
        emit_ticker(market, i, now_ms, wall_ms, sink);
      }
    }
    emit_heartbeats(now_ms / 1000, sink);
  }

 private:
  void begin(std::string_view channel) {
    buf_.assign(R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":")");
    buf_.append(channel);
    buf_ += R"(","data":)";
  }

  // Every frame ends with the send-stamp slot (in params, after data) and "}}": the snapshot substitution in
  // DeribitSession::append_frame relies on it.
  void finish(FrameSink& sink, std::string_view topic, bool book_delta) {
    finish_text();
    sink.emit(topic, buf_, slot_, book_delta);
  }
  void finish_text() {
    slot_ = stamp_ ? append_send_stamp_slot(buf_) : kNoSendStamp;
    buf_ += "}}";
  }

  void append_top(const OrderBook& book, const InstrumentSpec& spec) {
    const auto side = [&](std::string_view price_key, std::string_view amount_key, const auto& levels) {
      buf_.append(price_key);
      if (levels.empty()) {
        buf_ += "null";
      } else {
        append_decimal(buf_, levels.begin()->first, spec.price_decimals);
      }
      buf_.append(amount_key);
      if (levels.empty()) {
        buf_ += "null";
      } else {
        append_decimal(buf_, levels.begin()->second, spec.size_decimals);
      }
    };
    side(R"(,"best_bid_price":)", R"(,"best_bid_amount":)", book.bids());
    side(R"(,"best_ask_price":)", R"(,"best_ask_amount":)", book.asks());
  }

  template <class Levels>
  void append_levels(std::string_view key, const Levels& levels, const InstrumentSpec& spec,
                     const Levels* before) {
    buf_.append(key);
    buf_ += '[';
    bool first = true;
    for (const auto& [price, size] : levels) {
      if (!first) buf_ += ',';
      first = false;
      std::string_view action = "new";
      if (size == 0) {
        action = "delete";
      } else if (before && before->count(price)) {
        action = "change";
      }
      buf_ += "[\"";
      buf_.append(action);
      buf_ += "\",";
      append_decimal(buf_, price, spec.price_decimals);
      buf_ += ',';
      append_decimal(buf_, size, spec.size_decimals);
      buf_ += ']';
    }
    buf_ += ']';
  }

  void render_book(const InstrumentTopics& t, const InstrumentSpec& spec, std::string_view type,
                   std::uint64_t change_id, std::uint64_t prev_change_id, const Bids& bids, const Asks& asks,
                   const Bids* bids_before, const Asks* asks_before, std::int64_t wall_ms) {
    begin(t.book);
    buf_ += R"({"type":")";
    buf_.append(type);
    buf_ += R"(","timestamp":)" + std::to_string(wall_ms);
    if (type == "change") buf_ += R"(,"prev_change_id":)" + std::to_string(prev_change_id);
    buf_ += R"(,"instrument_name":")" + t.symbol + R"(","change_id":)" + std::to_string(change_id);
    append_levels(R"(,"bids":)", bids, spec, bids_before);
    append_levels(R"(,"asks":)", asks, spec, asks_before);
    buf_ += '}';
    finish_text();
  }

  template <class Levels>
  static void diff(const Levels& before, const Levels& now, Levels& changes) {
    for (const auto& [price, size] : now) {
      const auto it = before.find(price);
      if (it == before.end() || it->second != size) changes[price] = size;
    }
    for (const auto& [price, size] : before)
      if (!now.count(price)) changes[price] = 0;
  }

  void emit_book(const SyntheticMarket& market, std::size_t i, std::int64_t wall_ms, FrameSink& sink) {
    InstrumentTopics& t = instruments_[i];
    if (!sink.wanted(t.book)) {
      // Nobody holds this book: the next subscriber starts from a snapshot.
      t.published = false;
      t.bids.clear();
      t.asks.clear();
      board_->snapshots.erase(t.book);
      return;
    }
    const InstrumentSpec& spec = market.spec(i);
    const OrderBook& book = market.book(i);
    const Bids& bids = book.bids();
    const Asks& asks = book.asks();
    Bids bid_changes;
    Asks ask_changes;
    diff(t.bids, bids, bid_changes);
    diff(t.asks, asks, ask_changes);
    const bool changed = !bid_changes.empty() || !ask_changes.empty() || !t.published;
    const bool waiting = board_->is_waiting(t.book);
    // change_id: the market's update id of this book, which only grows; a frame with no level change keeps
    // the id, so frames are only sent when something changed.
    std::uint64_t change_id = book.last_update_id();
    if (t.published && change_id <= t.change_id) change_id = t.change_id + 1;
    if (changed) {
      // The board holds a snapshot only for the frame being sent, so a session never substitutes a stale one.
      if (waiting) {
        render_book(t, spec, "snapshot", change_id, 0, bids, asks, nullptr, nullptr, wall_ms);
        board_->snapshots[t.book] = buf_;
      } else {
        board_->snapshots.erase(t.book);
      }
      if (t.published) {
        render_book(t, spec, "change", change_id, t.change_id, bid_changes, ask_changes, &t.bids, &t.asks,
                    wall_ms);
        sink.emit(t.book, buf_, slot_, true);
      } else {
        // First frame since anyone held the book: everyone is waiting, everyone gets the snapshot.
        render_book(t, spec, "snapshot", change_id, 0, bids, asks, nullptr, nullptr, wall_ms);
        sink.emit(t.book, buf_, slot_, false);
      }
    } else if (waiting) {
      // A subscriber waits and the book did not move: it gets the snapshot now, and every holder of the book
      // a reset to the state (and change_id) it already has.
      render_book(t, spec, "snapshot", change_id, 0, bids, asks, nullptr, nullptr, wall_ms);
      board_->snapshots[t.book] = buf_;
      sink.emit(t.book, buf_, slot_, false);
    } else {
      return;
    }
    t.change_id = change_id;
    t.published = true;
    t.bids = bids;
    t.asks = asks;
  }

  void emit_trades(std::size_t i, FrameSink& sink) {
    InstrumentTopics& t = instruments_[i];
    if (t.pending_trades.empty()) return;
    begin(t.trades);
    buf_ += '[';
    buf_ += t.pending_trades;
    buf_ += ']';
    t.pending_trades.clear();
    finish(sink, t.trades, false);
  }

  // Pushed when the top of book moved, and at least once a second (the mark price moves with the index).
  void emit_ticker(SyntheticMarket& market, std::size_t i, std::int64_t now_ms, std::int64_t wall_ms,
                   FrameSink& sink) {
    InstrumentTopics& t = instruments_[i];
    if (!sink.wanted(t.ticker)) return;
    if (!t.top_changed && now_ms - t.last_ticker_ms < 1000) return;
    t.top_changed = false;
    t.last_ticker_ms = now_ms;
    const MarkSample m = market.sample_mark(i);
    const InstrumentSpec& spec = market.spec(i);
    begin(t.ticker);
    buf_ += R"({"timestamp":)" + std::to_string(wall_ms) + R"(,"state":"open","instrument_name":")" +
            t.symbol + R"(","index_price":)";
    append_decimal(buf_, m.index_price, MarkSample::kDecimals);
    buf_ += R"(,"mark_price":)";
    append_decimal(buf_, m.mark_price, MarkSample::kDecimals);
    buf_ += R"(,"estimated_delivery_price":)";
    append_decimal(buf_, m.index_price, MarkSample::kDecimals);
    append_top(market.book(i), spec);
    buf_ += R"(,"current_funding":)";
    append_decimal(buf_, m.funding_rate / 8, MarkSample::kDecimals);
    buf_ += R"(,"funding_8h":)";
    append_decimal(buf_, m.funding_rate, MarkSample::kDecimals);
    buf_ += '}';
    finish(sink, t.ticker, false);
  }

  // test_requests on "heartbeat.N" every N seconds of the feed's clock, for every N some session asked for.
  void emit_heartbeats(std::int64_t now_s, FrameSink& sink) {
    if (now_s == last_heartbeat_s_) return;
    last_heartbeat_s_ = now_s;
    const std::int64_t elapsed = now_s - start_s_;
    for (int n = 1; n <= Deribit::kMaxHeartbeatIntervalS; ++n) {
      if (elapsed % n != 0) continue;
      const std::string topic = std::string(kHeartbeatTopicPrefix) + std::to_string(n);
      if (!sink.wanted(topic)) continue;
      sink.emit(topic, R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}})",
                kNoSendStamp, false);
    }
  }

  bool stamp_;
  std::shared_ptr<SnapshotBoard> board_;
  std::vector<InstrumentTopics> instruments_;
  std::string buf_;  // reused for every frame: the feed thread renders one frame at a time
  std::size_t slot_ = kNoSendStamp;
  std::int64_t next_interval_ms_ = 0;
  std::int64_t start_s_ = 0;
  std::int64_t last_heartbeat_s_ = 0;
};

}  // namespace

Deribit::Deribit(int min_heartbeat_interval_s)
    : min_heartbeat_interval_s_(min_heartbeat_interval_s), board_(std::make_shared<SnapshotBoard>()) {}

Deribit::~Deribit() = default;

std::unique_ptr<VenueSession> Deribit::open_session(std::string_view target, unsigned& reject_status) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != kPath && path != "/ws/api/v2/") {
    reject_status = 404;
    return nullptr;
  }
  return std::make_unique<DeribitSession>(board_, min_heartbeat_interval_s_);
}

std::unique_ptr<VenueFeed> Deribit::make_feed(const SyntheticMarket& market, bool stamp_send_ns) const {
  return std::make_unique<DeribitFeed>(market, stamp_send_ns, board_);
}

std::optional<RecordedFrame> Deribit::read_recorded_frame(std::string text, double recv_s) const {
  // Called once per capture line at start-up: a parser per call is fine.
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  std::string_view method, channel, type;
  if (parser.parse(text.data(), text.size()).get(doc) || doc["method"].get(method) ||
      method != "subscription" || doc["params"]["channel"].get(channel))
    return std::nullopt;
  const auto parsed = parse_channel(channel);
  if (!parsed) return std::nullopt;
  const bool change =
      parsed->kind == ChannelKind::book && !doc["params"]["data"]["type"].get(type) && type == "change";
  RecordedFrame frame;
  frame.topic = std::string(channel);
  if (parsed->interval == "raw" || parsed->interval == "agg2") {
    // Served as the 100ms channel an unauthorized client subscribes to; the channel name in the text is
    // renamed with it so that frames name what the client subscribed to. Everything else stays as recorded.
    const std::string recorded = frame.topic;
    frame.topic = frame.topic.substr(0, frame.topic.size() - parsed->interval.size()) + "100ms";
    const std::string quoted = "\"" + recorded + "\"";
    const auto at = text.find(quoted);
    if (at == std::string::npos) return std::nullopt;
    text.replace(at, quoted.size(), "\"" + frame.topic + "\"");
  }
  frame.book_delta = change;
  frame.payload_pos = 0;
  frame.payload_len = text.size();
  frame.recv_s = recv_s;
  frame.text = std::move(text);
  return frame;
}

std::optional<HeartbeatRecord> Deribit::heartbeat_record(const VenueSession& session) {
  const auto* s = dynamic_cast<const DeribitSession*>(&session);
  if (!s) return std::nullopt;
  return s->heartbeat_record();
}

bool Deribit::close_requested(const VenueSession& session) {
  const auto* s = dynamic_cast<const DeribitSession*>(&session);
  return s && s->close_requested();
}

}  // namespace sigflow::tools
