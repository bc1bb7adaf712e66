#include "tools/exchange-sim/okx.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "io/venues/okx/checksum.hpp"
#include "strategies/signal.hpp"

namespace sigflow::tools {

// What fresh book subscribers wait for, shared by the venue's sessions (connection threads, and
// append_frame on the feed thread) and its feed (feed thread). `snapshots` holds, per book topic, the
// snapshot equivalent to the update frame being emitted right now; a waiting session sends it instead.
struct OkxBoard {
  std::mutex mutex;
  std::unordered_map<std::string, std::string> snapshots;  // topic → snapshot frame text
  std::map<std::string, int, std::less<>> waiting;         // topic → sessions waiting for a snapshot
  std::set<std::string, std::less<>> instruments;          // instIds the feed renders (empty: no feed yet)

  bool is_waiting(std::string_view topic) {
    std::lock_guard lock(mutex);
    const auto it = waiting.find(topic);
    return it != waiting.end() && it->second > 0;
  }
  void add_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    ++waiting[topic];
  }
  void remove_waiting(const std::string& topic) {
    std::lock_guard lock(mutex);
    const auto it = waiting.find(topic);
    if (it != waiting.end() && --it->second <= 0) waiting.erase(it);
  }
};

namespace {

constexpr std::string_view kPublicPath = "/ws/v5/public";
constexpr std::int64_t kBookIntervalMs = 100;
constexpr std::int64_t kMarkIntervalMs = 500;
// OKX pushes funding-rate every 30-90 s; the simulator pushes more often so that short runs see it.
constexpr std::int64_t kFundingIntervalMs = 5'000;
constexpr std::int64_t kFundingPeriodMs = 8 * 3600 * 1000;
constexpr std::size_t kBookLevels = 400;

enum class Channel { books, trades, tickers, funding_rate, mark_price };

std::optional<Channel> channel_of(std::string_view name) {
  if (name == "books") return Channel::books;
  if (name == "trades") return Channel::trades;
  if (name == "tickers") return Channel::tickers;
  if (name == "funding-rate") return Channel::funding_rate;
  if (name == "mark-price") return Channel::mark_price;
  return std::nullopt;
}

bool is_swap(std::string_view inst_id) {
  return inst_id.ends_with("-SWAP");
}

std::string inst_type(std::string_view inst_id) {
  if (is_swap(inst_id)) return "SWAP";
  return std::count(inst_id.begin(), inst_id.end(), '-') >= 2 ? "FUTURES" : "SPOT";
}

std::string topic_name(std::string_view channel, std::string_view inst_id) {
  std::string t(channel);
  t += ':';
  t.append(inst_id);
  return t;
}

void append_arg(std::string& out, std::string_view channel, std::string_view inst_id) {
  out += "{\"channel\":\"";
  out.append(channel);
  out += "\",\"instId\":\"";
  out.append(inst_id);
  out += "\"}";
}

// {"event":"error","code":"60012","msg":"Invalid request: …","connId":"…"} (OKX WebSocket error shape).
std::string error_reply(std::string_view id, int code, std::string_view message, std::string_view conn_id) {
  std::string out = "{";
  if (!id.empty()) {
    out += "\"id\":";
    strategies::append_json_string(id, out);
    out += ',';
  }
  out += "\"event\":\"error\",\"code\":\"" + std::to_string(code) + "\",\"msg\":";
  strategies::append_json_string(message, out);
  out += ",\"connId\":\"";
  out.append(conn_id);
  out += "\"}";
  return out;
}

std::string next_conn_id() {
  static std::atomic<std::uint32_t> counter{0x5a3c0000};
  // A multiplicative hash spreads consecutive ids like the venue's random-looking 8 hex digits.
  const std::uint32_t value = counter.fetch_add(1) * 2654435761u;
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value);
  return text;
}

class OkxSession final : public VenueSession {
 public:
  explicit OkxSession(std::shared_ptr<OkxBoard> board) : board_(std::move(board)), conn_id_(next_conn_id()) {}

  ~OkxSession() override {
    std::lock_guard lock(mutex_);
    for (const auto& t : waiting_) board_->remove_waiting(t);
  }

  std::vector<std::string> served_topics() const override {
    std::lock_guard lock(mutex_);
    return {topics_.begin(), topics_.end()};
  }

  std::string on_client_text(std::string_view text) override {
    // The heartbeat: text, not JSON, both ways.
    if (text == "ping") return "pong";
    const std::string invalid = "Invalid request: " + std::string(text);
    simdjson::dom::element request;
    if (parser_.parse(text.data(), text.size()).get(request)) return error(60012, invalid);
    simdjson::dom::object members;
    if (request.get(members)) return error(60012, invalid);
    std::string_view id;
    if (!members["id"].error()) {
      // OKX ids: up to 32 alphanumerics, echoed in the reply.
      if (members["id"].get(id) || id.size() > 32 || !std::all_of(id.begin(), id.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c));
          }))
        return error(60012, invalid);
    }
    std::string_view op;
    if (members["op"].get(op)) return error(60012, invalid, id);
    if (op == "login") return error(60012, "Invalid request: login is for private channels", id);
    if (op != "subscribe" && op != "unsubscribe") return error(60012, invalid, id);
    simdjson::dom::array args;
    if (members["args"].get(args) || args.size() == 0) return error(60012, invalid, id);
    if (simdjson::minify(members["args"]).size() > Okx::kMaxArgsBytes) return error(60012, invalid, id);
    if (!take_request_slot()) return error(60014, "Requests too frequent.", id);

    std::vector<std::pair<std::string, std::string>> parsed;  // channel, instId
    for (const simdjson::dom::element arg : args) {
      std::string_view channel, inst_id;
      if (arg["channel"].get(channel)) return error(60012, invalid, id);
      if (arg["instId"].get(inst_id)) {
        return error(
            60018,
            "Wrong URL or channel:" + std::string(channel) +
                ",instId:  doesn't exist. Please use the correct URL, channel and parameters referring "
                "to API document.",
            id);
      }
      const auto c = channel_of(channel);
      const bool swap_only = c == Channel::funding_rate || c == Channel::mark_price;
      if (!c || (swap_only && !is_swap(inst_id)) || !known_instrument(inst_id)) {
        return error(
            60018,
            "Wrong URL or channel:" + std::string(channel) + ",instId:" + std::string(inst_id) +
                " doesn't exist. Please use the correct URL, channel and parameters referring to API "
                "document.",
            id);
      }
      parsed.emplace_back(channel, inst_id);
    }
    const bool subscribe = op == "subscribe";
    {
      std::lock_guard lock(mutex_);
      for (const auto& [channel, inst_id] : parsed) {
        std::string topic = topic_name(channel, inst_id);
        if (subscribe) {
          // A repeated books subscribe is how a client asks for a fresh snapshot.
          if (channel == "books" && waiting_.insert(topic).second) board_->add_waiting(topic);
          topics_.insert(std::move(topic));
        } else {
          if (waiting_.erase(topic) != 0) board_->remove_waiting(topic);
          topics_.erase(topic);
        }
      }
    }
    // {"id":"1","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"…"}: the ack of
    // the first arg (see okx.hpp: one reply frame per client message).
    std::string out = "{";
    if (!id.empty()) out += "\"id\":\"" + std::string(id) + "\",";
    out += "\"event\":\"";
    out.append(op);
    out += "\",\"arg\":";
    append_arg(out, parsed.front().first, parsed.front().second);
    out += ",\"connId\":\"" + conn_id_ + "\"}";
    return out;
  }

  std::size_t append_frame(std::string& out, std::string_view topic,
                           std::string_view payload) const override {
    {
      std::lock_guard lock(mutex_);
      const auto waiting = waiting_.find(topic);
      if (waiting != waiting_.end()) {
        std::lock_guard board_lock(board_->mutex);
        const auto snapshot = board_->snapshots.find(std::string(topic));
        if (snapshot != board_->snapshots.end()) {
          out.append(snapshot->second);
          const std::string name = *waiting;
          waiting_.erase(waiting);
          if (const auto it = board_->waiting.find(name); it != board_->waiting.end() && --it->second <= 0)
            board_->waiting.erase(it);
          // The send-stamp slot sits at the same distance from the end of both frames.
          return snapshot->second.size() - payload.size();
        }
        // The snapshot for this book is not rendered yet (the subscribe raced with this frame): the update
        // goes out as it is, and a client ignores updates until its snapshot, as on the venue.
      }
    }
    out.append(payload);
    return 0;
  }

  void append_recorded_frame(std::string& out, const RecordedFrame& frame) const override {
    out.append(frame.text);
  }

 private:
  std::string error(int code, std::string_view message, std::string_view id = {}) const {
    return error_reply(id, code, message, conn_id_);
  }

  bool known_instrument(std::string_view inst_id) const {
    std::lock_guard lock(board_->mutex);
    return board_->instruments.empty() || board_->instruments.count(inst_id) != 0;
  }

  // 480 subscribe/unsubscribe requests per connection per rolling hour.
  bool take_request_slot() {
    const auto now = std::chrono::steady_clock::now();
    while (!requests_.empty() && now - requests_.front() >= std::chrono::hours(1)) requests_.pop_front();
    if (requests_.size() >= Okx::kMaxRequestsPerHour) return false;
    requests_.push_back(now);
    return true;
  }

  std::shared_ptr<OkxBoard> board_;
  std::string conn_id_;
  simdjson::dom::parser parser_;  // control requests only: a handful per connection
  std::deque<std::chrono::steady_clock::time_point> requests_;
  mutable std::mutex mutex_;  // topics_ and waiting_: read by the feed thread in append_frame
  std::set<std::string, std::less<>> topics_;
  mutable std::set<std::string, std::less<>> waiting_;  // book topics whose snapshot this connection lacks
};

// ---- feed -----------------------------------------------------------------------------------------------

using Bids = OrderBook::Bids;
using Asks = OrderBook::Asks;

struct BookTopic {
  std::string topic;
  Bids bids;  // what subscribers hold: the levels of the last frame
  Asks asks;
  std::int64_t seq_id = 0;
  bool published = false;
};

struct InstrumentTopics {
  std::string inst_id;
  std::string inst_type;
  std::string trades, tickers, funding_rate, mark_price;
  BookTopic book;
  std::int64_t last_price = 0, last_size = 0;
  std::int64_t open_price = 0, high = 0, low = 0, volume = 0;
};

class OkxFeed final : public VenueFeed {
 public:
  OkxFeed(const SyntheticMarket& market, bool stamp, bool checksums, std::shared_ptr<OkxBoard> board)
      : stamp_(stamp), checksums_(checksums), board_(std::move(board)) {
    std::lock_guard lock(board_->mutex);
    for (std::size_t i = 0; i < market.size(); ++i) {
      InstrumentTopics t;
      t.inst_id = market.spec(i).symbol;
      t.inst_type = inst_type(t.inst_id);
      t.trades = topic_name("trades", t.inst_id);
      t.tickers = topic_name("tickers", t.inst_id);
      t.funding_rate = topic_name("funding-rate", t.inst_id);
      t.mark_price = topic_name("mark-price", t.inst_id);
      t.book.topic = topic_name("books", t.inst_id);
      // OKX sequence ids are large and per book; start each book somewhere different.
      t.book.seq_id = 10'000'000'000 + static_cast<std::int64_t>(i) * 1'000'003;
      const OrderBook& book = market.book(i);
      const std::int64_t mid = book.bids().empty() ? market.spec(i).start_price : book.bids().begin()->first;
      t.last_price = t.open_price = t.high = t.low = mid;
      t.last_size = market.spec(i).typical_size;
      board_->instruments.insert(t.inst_id);
      instruments_.push_back(std::move(t));
    }
  }

  void on_event(const SyntheticMarket& market, const MarketEvent& event, std::int64_t wall_ms,
                FrameSink& sink) override {
    InstrumentTopics& t = instruments_[event.instrument];
    const InstrumentSpec& spec = market.spec(event.instrument);
    if (event.kind == MarketEvent::Kind::trade) {
      t.last_price = event.trade_price;
      t.last_size = event.trade_size;
      t.high = std::max(t.high, event.trade_price);
      t.low = std::min(t.low, event.trade_price);
      t.volume += event.trade_size;
      if (sink.wanted(t.trades)) {
        begin("trades", t.inst_id);
        buf_ += "{\"instId\":\"" + t.inst_id + "\",\"tradeId\":\"" +
                std::to_string(event.aggregate_trade_id) + "\",\"px\":\"";
        append_decimal(buf_, event.trade_price, spec.price_decimals);
        buf_ += "\",\"sz\":\"";
        append_decimal(buf_, event.trade_size, spec.size_decimals);
        buf_ += std::string("\",\"side\":\"") + (event.taker == Side::bid ? "buy" : "sell") + "\",\"ts\":\"" +
                std::to_string(wall_ms) + "\",\"count\":\"" +
                std::to_string(event.last_trade_id - event.first_trade_id + 1) +
                "\",\"source\":\"0\",\"seqId\":" + std::to_string(event.last_trade_id) + "}]";
        finish(sink, t.trades, false);
      }
    }
    if ((event.top_changed || event.kind == MarketEvent::Kind::trade) && sink.wanted(t.tickers))
      emit_ticker(market, event.instrument, wall_ms, sink);
  }

  void on_clock(SyntheticMarket& market, std::int64_t mono_ns, std::int64_t wall_ms,
                FrameSink& sink) override {
    const std::int64_t now_ms = mono_ns / 1'000'000;
    if (next_book_ms_ == 0) {
      next_book_ms_ = now_ms + kBookIntervalMs;
      next_mark_ms_ = now_ms + kMarkIntervalMs;
      next_funding_ms_ = now_ms + kFundingIntervalMs;
    }
    if (now_ms >= next_book_ms_) {
      next_book_ms_ = advance(next_book_ms_, now_ms, kBookIntervalMs);
      for (std::size_t i = 0; i < instruments_.size(); ++i) emit_book(market, i, wall_ms, sink);
    }
    if (now_ms >= next_mark_ms_) {
      next_mark_ms_ = advance(next_mark_ms_, now_ms, kMarkIntervalMs);
      for (std::size_t i = 0; i < instruments_.size(); ++i) {
        const InstrumentTopics& t = instruments_[i];
        if (!sink.wanted(t.mark_price)) continue;
        const MarkSample m = market.sample_mark(i);
        begin("mark-price", t.inst_id);
        buf_ += "{\"instType\":\"" + t.inst_type + "\",\"instId\":\"" + t.inst_id + "\",\"markPx\":\"";
        append_decimal(buf_, m.mark_price / scale_to_price(market.spec(i)), market.spec(i).price_decimals);
        buf_ += "\",\"ts\":\"" + std::to_string(wall_ms) + "\"}]";
        finish(sink, t.mark_price, false);
      }
    }
    if (now_ms >= next_funding_ms_) {
      next_funding_ms_ = advance(next_funding_ms_, now_ms, kFundingIntervalMs);
      for (std::size_t i = 0; i < instruments_.size(); ++i) {
        const InstrumentTopics& t = instruments_[i];
        if (!sink.wanted(t.funding_rate)) continue;
        const MarkSample m = market.sample_mark(i);
        const std::int64_t funding_time = (wall_ms / kFundingPeriodMs + 1) * kFundingPeriodMs;
        // Field order of the OKX push (fixture funding_rate_docs and the OKX docs' full field list).
        begin("funding-rate", t.inst_id);
        buf_ += "{\"formulaType\":\"withRate\",\"fundingRate\":\"";
        append_decimal(buf_, m.funding_rate, MarkSample::kDecimals);
        buf_ += "\",\"fundingTime\":\"" + std::to_string(funding_time) +
                "\",\"impactValue\":\"\",\"instId\":\"" + t.inst_id +
                "\",\"instType\":\"SWAP\",\"interestRate\":\"0.0001\",\"method\":\"current_period\"" +
                ",\"nextFundingRate\":\"\",\"nextFundingTime\":\"" +
                std::to_string(funding_time + kFundingPeriodMs) +
                "\",\"settState\":\"processing\",\"ts\":\"" + std::to_string(wall_ms) + "\"}]";
        finish(sink, t.funding_rate, false);
      }
    }
  }

 private:
  static std::int64_t advance(std::int64_t due, std::int64_t now, std::int64_t period) {
    due += period;
    if (due <= now) due = now + period;
    return due;
  }

  // MarkSample prices carry 8 decimals; OKX prints mark prices at the instrument's tick precision.
  static std::int64_t scale_to_price(const InstrumentSpec& spec) {
    std::int64_t s = 1;
    for (int d = spec.price_decimals; d < MarkSample::kDecimals; ++d) s *= 10;
    return s;
  }

  void begin(std::string_view channel, std::string_view inst_id) {
    buf_.assign("{\"arg\":");
    append_arg(buf_, channel, inst_id);
    buf_ += ",\"data\":[";
  }

  void finish(FrameSink& sink, std::string_view topic, bool book_delta) {
    std::size_t slot = kNoSendStamp;
    if (stamp_) slot = append_send_stamp_slot(buf_);
    buf_ += '}';
    sink.emit(topic, buf_, slot, book_delta);
  }

  void emit_ticker(const SyntheticMarket& market, std::size_t i, std::int64_t wall_ms, FrameSink& sink) {
    const InstrumentTopics& t = instruments_[i];
    const InstrumentSpec& spec = market.spec(i);
    const OrderBook& book = market.book(i);
    if (book.bids().empty() || book.asks().empty()) return;
    const auto price = [&](std::string_view key, std::int64_t units) {
      buf_ += ",\"";
      buf_.append(key);
      buf_ += "\":\"";
      append_decimal(buf_, units, spec.price_decimals);
      buf_ += '"';
    };
    const auto size = [&](std::string_view key, std::int64_t units) {
      buf_ += ",\"";
      buf_.append(key);
      buf_ += "\":\"";
      append_decimal(buf_, units, spec.size_decimals);
      buf_ += '"';
    };
    // Field order of the venue's push (fixture tickers_2022).
    begin("tickers", t.inst_id);
    buf_ += "{\"instType\":\"" + t.inst_type + "\",\"instId\":\"" + t.inst_id + "\"";
    price("last", t.last_price);
    size("lastSz", t.last_size);
    price("askPx", book.asks().begin()->first);
    size("askSz", book.asks().begin()->second);
    price("bidPx", book.bids().begin()->first);
    size("bidSz", book.bids().begin()->second);
    price("open24h", t.open_price);
    price("high24h", t.high);
    price("low24h", t.low);
    price("sodUtc0", t.open_price);
    price("sodUtc8", t.open_price);
    size("volCcy24h", t.volume);
    size("vol24h", t.volume);
    buf_ += ",\"ts\":\"" + std::to_string(wall_ms) + "\"}]";
    finish(sink, t.tickers, false);
  }

  void append_levels(std::string_view key, const auto& levels, const InstrumentSpec& spec) {
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
      // The deprecated liquidated-orders count is always "0"; the order count is 0 for a deleted level.
      buf_ += "\",\"0\",\"" + std::to_string(size == 0 ? 0 : 1 + size % 7) + "\"]";
    }
    buf_ += ']';
  }

  std::int32_t checksum(const Bids& bids, const Asks& asks, const InstrumentSpec& spec) const {
    if (!checksums_) return 0;
    std::vector<io::PriceLevel> b, a;
    for (auto it = bids.begin(); it != bids.end() && b.size() < io::okx::kChecksumDepth; ++it)
      b.push_back(
          {io::Decimal(it->first, -spec.price_decimals), io::Decimal(it->second, -spec.size_decimals)});
    for (auto it = asks.begin(); it != asks.end() && a.size() < io::okx::kChecksumDepth; ++it)
      a.push_back(
          {io::Decimal(it->first, -spec.price_decimals), io::Decimal(it->second, -spec.size_decimals)});
    return io::okx::book_checksum(b, a);
  }

  // {"arg":..,"action":"snapshot"|"update","data":[{"asks":..,"bids":..,"ts":..,"checksum":..,
  //  "prevSeqId":..,"seqId":..}]} (fixture books_update_seqId_docs).
  template <class B, class A>
  void render_book(const InstrumentTopics& t, std::string_view action, const B& bids, const A& asks,
                   std::int64_t prev_seq_id, std::int32_t crc, const InstrumentSpec& spec,
                   std::int64_t wall_ms) {
    buf_.assign("{\"arg\":");
    append_arg(buf_, "books", t.inst_id);
    buf_ += ",\"action\":\"";
    buf_.append(action);
    buf_ += "\",\"data\":[{";
    append_levels("\"asks\":", asks, spec);
    append_levels(",\"bids\":", bids, spec);
    buf_ += ",\"ts\":\"" + std::to_string(wall_ms) + "\",\"checksum\":" + std::to_string(crc) +
            ",\"prevSeqId\":" + std::to_string(prev_seq_id) + ",\"seqId\":" + std::to_string(t.book.seq_id) +
            "}]";
    if (stamp_) slot_ = append_send_stamp_slot(buf_);
    buf_ += '}';
  }

  void emit_book(const SyntheticMarket& market, std::size_t i, std::int64_t wall_ms, FrameSink& sink) {
    InstrumentTopics& t = instruments_[i];
    BookTopic& b = t.book;
    if (!sink.wanted(b.topic)) {
      // Nobody holds this book: the next subscriber starts from a snapshot.
      b.published = false;
      return;
    }
    const InstrumentSpec& spec = market.spec(i);
    const OrderBook& book = market.book(i);
    Bids bids;
    Asks asks;
    for (auto it = book.bids().begin(); it != book.bids().end() && bids.size() < kBookLevels; ++it)
      bids.insert(*it);
    for (auto it = book.asks().begin(); it != book.asks().end() && asks.size() < kBookLevels; ++it)
      asks.insert(*it);
    Bids bid_changes;
    Asks ask_changes;
    diff(b.bids, bids, bid_changes);
    diff(b.asks, asks, ask_changes);
    const bool changed = !bid_changes.empty() || !ask_changes.empty();
    const bool waiting = board_->is_waiting(b.topic);
    if (!changed && !waiting && b.published) return;

    const std::int64_t prev = b.seq_id;
    // seqId steps are irregular on OKX (observed 7…93): clients may only rely on the identity chain.
    if (changed) b.seq_id += 1 + static_cast<std::int64_t>(book.last_update_id() % 89);
    const std::int32_t crc = checksum(bids, asks, spec);
    slot_ = kNoSendStamp;
    if (!b.published) {
      // The first frame of a book nobody held is a snapshot for everyone.
      render_book(t, "snapshot", bids, asks, -1, crc, spec, wall_ms);
      {
        // Waiting sessions take this very frame as their snapshot (and stop waiting).
        std::lock_guard lock(board_->mutex);
        board_->snapshots[b.topic] = buf_;
      }
      sink.emit(b.topic, buf_, slot_, false);
    } else {
      std::lock_guard lock(board_->mutex);
      if (waiting) {
        render_book(t, "snapshot", bids, asks, -1, crc, spec, wall_ms);
        board_->snapshots[b.topic] = buf_;
      } else {
        board_->snapshots.erase(b.topic);
      }
    }
    if (b.published) {
      // An unchanged book with a waiting subscriber gets a keep-alive update (seqId == prevSeqId, no
      // levels), which the waiting connection receives as its snapshot.
      render_book(t, "update", bid_changes, ask_changes, prev, crc, spec, wall_ms);
      sink.emit(b.topic, buf_, slot_, true);
    }
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
      if (now.find(price) == now.end()) changes[price] = 0;
  }

  bool stamp_;
  bool checksums_;
  std::shared_ptr<OkxBoard> board_;
  std::vector<InstrumentTopics> instruments_;
  std::string buf_;  // reused for every frame: the feed thread renders one frame at a time
  std::size_t slot_ = kNoSendStamp;
  std::int64_t next_book_ms_ = 0;
  std::int64_t next_mark_ms_ = 0;
  std::int64_t next_funding_ms_ = 0;
};

}  // namespace

Okx::Okx() : Okx(Options{}) {}

Okx::Okx(Options options) : options_(options), board_(std::make_shared<OkxBoard>()) {}

Okx::~Okx() = default;

std::vector<std::string> Okx::default_symbols() const {
  return {"BTC-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP"};
}

std::unique_ptr<VenueSession> Okx::open_session(std::string_view target, unsigned& reject_status) const {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != kPublicPath) {
    // /ws/v5/business and /ws/v5/private exist on the venue but are not simulated.
    reject_status = 404;
    return nullptr;
  }
  return std::make_unique<OkxSession>(board_);
}

std::unique_ptr<VenueFeed> Okx::make_feed(const SyntheticMarket& market, bool stamp_send_ns) const {
  return std::make_unique<OkxFeed>(market, stamp_send_ns, options_.checksums, board_);
}

std::optional<RecordedFrame> Okx::read_recorded_frame(std::string text, double recv_s) const {
  // Called once per capture line at start-up: a parser per call is fine.
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  std::string_view channel, inst_id, action;
  if (parser.parse(text.data(), text.size()).get(doc) || doc["data"].error() ||
      doc["arg"]["channel"].get(channel) || doc["arg"]["instId"].get(inst_id))
    return std::nullopt;
  RecordedFrame frame;
  frame.topic = topic_name(channel, inst_id);
  frame.book_delta = channel == "books" && !doc["action"].get(action) && action == "update";
  frame.payload_pos = 0;
  frame.payload_len = text.size();
  frame.recv_s = recv_s;
  frame.text = std::move(text);
  return frame;
}

}  // namespace sigflow::tools
