#include "io/venues/bybit/decoder.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <optional>

#include "engine/frame_ring.hpp"
#include "io/venues/frame_parser.hpp"
#include "io/venues/json_fields.hpp"

namespace sigflow::io::bybit {

namespace od = simdjson::ondemand;
using json_fields::is_type_error;
using json_fields::raw_text;

std::string_view to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::kTooManyItems:
      return "too_many_items";
    case DecodeError::kUnknownTopic:
      return "unknown_topic";
    case DecodeError::kUnknownMessage:
      return "unknown_message";
    case DecodeError::kBadValue:
      return "bad_value";
    case DecodeError::kNoRestSnapshot:
      return "no_rest_snapshot";
    default:
      return json_fields::common_error_name(error);
  }
}

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
// Millisecond timestamps above this do not fit in int64 nanoseconds; only a corrupted frame sends one, and
// multiplying it would be undefined behaviour.
constexpr std::int64_t kMaxTimestampMs = INT64_MAX / kNsPerMs;

enum class Channel : std::uint8_t { kUnknown, kBook, kTrade, kTicker, kLiquidation, kIgnored };

struct TopicInfo {
  Channel channel = Channel::kUnknown;
  std::string_view name;  // the channel part of the topic: "orderbook", "publicTrade", ...
  std::uint16_t depth = 0;
  std::string_view symbol;
};

// "orderbook.50.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT", "allLiquidation.BTCUSDT", "kline.1.X".
TopicInfo classify(std::string_view topic) noexcept {
  TopicInfo info;
  const std::size_t dot = topic.find('.');
  if (dot == std::string_view::npos || dot + 1 == topic.size()) return info;
  info.name = topic.substr(0, dot);
  const std::string_view rest = topic.substr(dot + 1);
  if (info.name == "orderbook") {
    unsigned depth = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), depth);
    if (ec != std::errc() || depth == 0 || depth > UINT16_MAX || end == rest.data() + rest.size() ||
        *end != '.' || end + 1 == rest.data() + rest.size())
      return info;
    info.depth = static_cast<std::uint16_t>(depth);
    info.symbol = std::string_view(end + 1, static_cast<std::size_t>(rest.data() + rest.size() - end - 1));
    info.channel = Channel::kBook;
    return info;
  }
  info.symbol = rest;
  if (info.name == "publicTrade") {
    info.channel = Channel::kTrade;
  } else if (info.name == "tickers") {
    info.channel = Channel::kTicker;
  } else if (info.name == "allLiquidation") {
    info.channel = Channel::kLiquidation;
  } else {
    // Valid public channels that feed nothing in the engine: counted as ignored, not as errors.
    static constexpr std::string_view kIgnored[] = {"kline",      "liquidation", "tickers_lt",
                                                    "kline_lt",   "lt",          "insurance",
                                                    "priceLimit", "adlAlert",    "orderbook_rpi"};
    if (std::find(std::begin(kIgnored), std::end(kIgnored), info.name) != std::end(kIgnored))
      info.channel = Channel::kIgnored;
  }
  return info;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Linear trade ids are UUIDs ("a9188a0a-82bc-50de-be60-03eedbe3cdd7"), spot ids decimal strings
// ("2280000001739247417"). A decimal id is kept as its number; any other id becomes its 64-bit FNV-1a hash,
// which keeps ids of one venue distinct (for de-duplication) without storing text per trade.
std::uint64_t trade_id_of(std::string_view text) noexcept {
  if (const auto number = parse_unsigned(text)) return *number;
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

// One element of a publicTrade or allLiquidation `data` array.
struct Item {
  Decimal price;
  Decimal size;
  Side side = Side::kUnknown;  // `S` as the venue means it; the liquidation mapping is applied when emitting
  std::int64_t time_ms = 0;
  std::uint64_t id = 0;
  std::string_view symbol;
};

// Everything one frame carries, gathered in one pass over its keys and turned into events afterwards.
struct Frame {
  std::string_view topic, type, op, ret_msg, req_id;
  TopicInfo info;
  bool has_topic = false, has_type = false, has_ts = false, has_cts = false;
  bool data_pending = false;  // `data` came before `topic`: read it in a second pass
  bool data_read = false;
  bool has_success = false, success = false, has_op = false;
  std::int64_t ts = 0, cts = 0;

  // orderbook
  std::string_view book_symbol;
  bool has_bids = false, has_asks = false, has_u = false;
  std::uint64_t u = 0;
  std::size_t bid_count = 0, ask_count = 0;

  // tickers
  std::string_view ticker_symbol;
  std::optional<Decimal> mark, index, funding, bid_price, bid_size, ask_price, ask_size;
  std::optional<std::int64_t> next_funding_ms;

  // publicTrade, allLiquidation
  std::size_t item_count = 0;
};

}  // namespace

struct Decoder::State {
  explicit State(DecoderLimits l)
      : limits(l),
        parser(make_frame_parser()),
        bids(new PriceLevel[std::max<std::size_t>(l.max_levels_per_side, 1)]),
        asks(new PriceLevel[std::max<std::size_t>(l.max_levels_per_side, 1)]),
        items(new Item[std::max<std::size_t>(l.max_items_per_frame, 1)]) {}

  DecoderLimits limits;
  od::parser parser;
  std::unique_ptr<PriceLevel[]> bids;
  std::unique_ptr<PriceLevel[]> asks;
  std::unique_ptr<Item[]> items;
  Frame f;
  MarketEvent event;
  DecodeError last = DecodeError::kNone;
  json_fields::ErrorText<224> error;

  // ---- errors ----

  DecodeError fail(DecodeError code, std::initializer_list<std::string_view> parts) noexcept {
    error.set(parts);
    last = code;
    return code;
  }

  // A simdjson error while reading `key`: a type mismatch says what was expected, anything else is broken
  // JSON (truncated, unbalanced, bad literal).
  DecodeError fail_json(simdjson::error_code e, std::string_view key, std::string_view expected) noexcept {
    if (is_type_error(e)) return fail(DecodeError::kWrongType, {"field \"", key, "\": expected ", expected});
    return fail(DecodeError::kInvalidJson, {"field \"", key, "\": ", simdjson::error_message(e)});
  }

  // ---- value readers ----

  DecodeError read_text(od::value& v, std::string_view key, std::string_view& out) noexcept {
    od::raw_json_string raw;
    if (auto e = v.get_raw_json_string().get(raw)) return fail_json(e, key, "a string");
    out = raw_text(raw.raw());
    return DecodeError::kNone;
  }

  DecodeError read_decimal(od::value& v, std::string_view key, Decimal& out) noexcept {
    std::string_view text;
    if (auto r = read_text(v, key, text); r != DecodeError::kNone) return r;
    const auto decimal = Decimal::parse(text);
    if (!decimal)
      return fail(DecodeError::kBadDecimal, {"field \"", key, "\": \"", text, "\" is not an exact decimal"});
    out = *decimal;
    return DecodeError::kNone;
  }

  // Ticker fields: "" means the venue has no value (preOpenPrice, fundingRate of a contract without one).
  DecodeError read_optional_decimal(od::value& v, std::string_view key,
                                    std::optional<Decimal>& out) noexcept {
    std::string_view text;
    if (auto r = read_text(v, key, text); r != DecodeError::kNone) return r;
    if (text.empty()) {
      out.reset();
      return DecodeError::kNone;
    }
    out = Decimal::parse(text);
    if (!out)
      return fail(DecodeError::kBadDecimal, {"field \"", key, "\": \"", text, "\" is not an exact decimal"});
    return DecodeError::kNone;
  }

  DecodeError read_ms(od::value& v, std::string_view key, std::int64_t& out) noexcept {
    if (auto e = v.get_int64().get(out)) return fail_json(e, key, "an integer (ms)");
    if (out < 0 || out > kMaxTimestampMs)
      return fail(DecodeError::kBadValue, {"field \"", key, "\": timestamp out of range"});
    return DecodeError::kNone;
  }

  // [["price","size"], ...], best first as the venue sends them; size "0" deletes the level in a delta.
  DecodeError read_levels(od::value& v, std::string_view key, PriceLevel* storage,
                          std::size_t& count) noexcept {
    od::array levels;
    if (auto e = v.get_array().get(levels)) return fail_json(e, key, "an array of [price, size]");
    count = 0;
    for (auto level_result : levels) {
      od::array level;
      if (auto e = level_result.get_array().get(level)) return fail_json(e, key, "an array of [price, size]");
      if (count == limits.max_levels_per_side)
        return fail(DecodeError::kTooManyLevels,
                    {"field \"", key, "\": more levels than max_levels_per_side"});
      PriceLevel& out = storage[count];
      std::size_t n = 0;
      for (auto part_result : level) {
        od::value part;
        if (auto e = std::move(part_result).get(part)) return fail_json(e, key, "an array of [price, size]");
        if (n < 2) {
          if (auto r = read_decimal(part, key, n == 0 ? out.price : out.size); r != DecodeError::kNone)
            return r;
        }
        ++n;
      }
      if (n < 2)
        return fail(DecodeError::kMissingField, {"field \"", key, "\": a level needs a price and a size"});
      ++count;
    }
    return DecodeError::kNone;
  }

  // ---- the frame's keys ----

  DecodeError scan(od::object& object, bool data_only) noexcept {
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "document", "an object");
      const std::string_view key = raw_text(field.key().raw());
      od::value& v = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "data") {
        if (data_only || f.has_topic) {
          r = read_data(v);
          f.data_read = true;
          f.data_pending = false;
        } else {
          f.data_pending = true;
        }
      } else if (data_only) {
        continue;
      } else if (key == "topic") {
        r = read_text(v, key, f.topic);
        f.has_topic = true;
        f.info = classify(f.topic);
      } else if (key == "type") {
        r = read_text(v, key, f.type);
        f.has_type = true;
      } else if (key == "ts") {
        r = read_ms(v, key, f.ts);
        f.has_ts = true;
      } else if (key == "cts") {
        r = read_ms(v, key, f.cts);
        f.has_cts = true;
      } else if (key == "success") {
        if (auto e = v.get_bool().get(f.success)) return fail_json(e, key, "a boolean");
        f.has_success = true;
      } else if (key == "op") {
        r = read_text(v, key, f.op);
        f.has_op = true;
      } else if (key == "ret_msg") {
        // Free text ("Invalid topic: …"): unescaped into the parser's string buffer.
        if (auto e = v.get_string().get(f.ret_msg)) return fail_json(e, key, "a string");
      } else if (key == "req_id") {
        r = read_text(v, key, f.req_id);
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  DecodeError read_data(od::value& v) noexcept {
    switch (f.info.channel) {
      case Channel::kBook:
        return read_book(v);
      case Channel::kTicker:
        return read_ticker(v);
      case Channel::kTrade:
      case Channel::kLiquidation:
        return read_items(v);
      case Channel::kUnknown:
      case Channel::kIgnored:
        break;
    }
    return DecodeError::kNone;
  }

  DecodeError read_book(od::value& v) noexcept {
    od::object data;
    if (auto e = v.get_object().get(data)) return fail_json(e, "data", "an object");
    for (auto field_result : data) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "data", "an object");
      const std::string_view key = raw_text(field.key().raw());
      od::value& value = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "b") {
        r = read_levels(value, "data.b", bids.get(), f.bid_count);
        f.has_bids = true;
      } else if (key == "a") {
        r = read_levels(value, "data.a", asks.get(), f.ask_count);
        f.has_asks = true;
      } else if (key == "u") {
        if (auto e = value.get_uint64().get(f.u)) return fail_json(e, "data.u", "an unsigned integer");
        f.has_u = true;
      } else if (key == "s") {
        r = read_text(value, "data.s", f.book_symbol);
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  DecodeError read_ticker(od::value& v) noexcept {
    od::object data;
    if (auto e = v.get_object().get(data)) return fail_json(e, "data", "an object");
    for (auto field_result : data) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "data", "an object");
      const std::string_view key = raw_text(field.key().raw());
      od::value& value = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "symbol") {
        r = read_text(value, "data.symbol", f.ticker_symbol);
      } else if (key == "markPrice") {
        r = read_optional_decimal(value, "data.markPrice", f.mark);
      } else if (key == "indexPrice") {
        r = read_optional_decimal(value, "data.indexPrice", f.index);
      } else if (key == "fundingRate") {
        r = read_optional_decimal(value, "data.fundingRate", f.funding);
      } else if (key == "nextFundingTime") {
        r = read_next_funding(value);
      } else if (key == "bid1Price") {
        r = read_optional_decimal(value, "data.bid1Price", f.bid_price);
      } else if (key == "bid1Size") {
        r = read_optional_decimal(value, "data.bid1Size", f.bid_size);
      } else if (key == "ask1Price") {
        r = read_optional_decimal(value, "data.ask1Price", f.ask_price);
      } else if (key == "ask1Size") {
        r = read_optional_decimal(value, "data.ask1Size", f.ask_size);
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  // nextFundingTime is a string of milliseconds ("1786320000000"); "" or "0" when the contract has none.
  DecodeError read_next_funding(od::value& v) noexcept {
    std::string_view text;
    if (auto r = read_text(v, "data.nextFundingTime", text); r != DecodeError::kNone) return r;
    if (text.empty()) return DecodeError::kNone;
    const auto ms = parse_unsigned(text);
    if (!ms || *ms > static_cast<std::uint64_t>(kMaxTimestampMs))
      return fail(DecodeError::kBadValue,
                  {"field \"data.nextFundingTime\": \"", text, "\" is not a time in ms"});
    if (*ms != 0) f.next_funding_ms = static_cast<std::int64_t>(*ms);
    return DecodeError::kNone;
  }

  DecodeError read_items(od::value& v) noexcept {
    od::array data;
    if (auto e = v.get_array().get(data)) return fail_json(e, "data", "an array");
    const bool trades = f.info.channel == Channel::kTrade;
    f.item_count = 0;
    for (auto element_result : data) {
      od::object element;
      if (auto e = element_result.get_object().get(element)) return fail_json(e, "data[]", "an object");
      if (f.item_count == limits.max_items_per_frame)
        return fail(DecodeError::kTooManyItems, {"field \"data\": more elements than max_items_per_frame"});
      Item& item = items[f.item_count];
      item = Item{};
      enum : unsigned { kT = 1, kS = 2, kSide = 4, kV = 8, kP = 16, kI = 32 };
      unsigned seen = 0;
      for (auto field_result : element) {
        od::field field;
        if (auto e = std::move(field_result).get(field)) return fail_json(e, "data[]", "an object");
        const std::string_view key = raw_text(field.key().raw());
        od::value& value = field.value();
        DecodeError r = DecodeError::kNone;
        if (key.size() != 1) continue;
        switch (key[0]) {
          case 'T':
            r = read_ms(value, "data[].T", item.time_ms);
            seen |= kT;
            break;
          case 's':
            r = read_text(value, "data[].s", item.symbol);
            seen |= kS;
            break;
          case 'S': {
            std::string_view side;
            r = read_text(value, "data[].S", side);
            if (r == DecodeError::kNone) {
              item.side = side == "Buy" ? Side::kBuy : side == "Sell" ? Side::kSell : Side::kUnknown;
              if (item.side == Side::kUnknown)
                r = fail(DecodeError::kBadValue,
                         {"field \"data[].S\": expected \"Buy\" or \"Sell\", got \"", side, "\""});
            }
            seen |= kSide;
            break;
          }
          case 'v':
            r = read_decimal(value, "data[].v", item.size);
            seen |= kV;
            break;
          case 'p':
            r = read_decimal(value, "data[].p", item.price);
            seen |= kP;
            break;
          case 'i':
            if (trades) {
              std::string_view id;
              r = read_text(value, "data[].i", id);
              item.id = trade_id_of(id);
              seen |= kI;
            }
            break;
          default:
            break;
        }
        if (r != DecodeError::kNone) return r;
      }
      const unsigned required = trades ? (kT | kS | kSide | kV | kP | kI) : (kT | kS | kSide | kV | kP);
      if (const unsigned missing = required & ~seen) {
        static constexpr std::string_view kNames[] = {"T", "s", "S", "v", "p", "i"};
        const auto bit = static_cast<std::size_t>(__builtin_ctz(missing));
        return fail(DecodeError::kMissingField,
                    {f.info.name, ": data element misses field \"", kNames[bit], "\""});
      }
      ++f.item_count;
    }
    return DecodeError::kNone;
  }

  // ---- events ----

  void begin_event(EventKind kind, std::string_view symbol, std::int64_t exchange_ts_ms) noexcept {
    event.kind = kind;
    event.symbol = symbol;
    event.stream = f.topic;
    event.type_name = f.has_topic ? f.info.name : f.op;
    event.exchange_ts_ns = exchange_ts_ms * kNsPerMs;
    event.event_ts_ns = f.ts * kNsPerMs;
  }

  DecodeError emit_push(EventSink& sink) noexcept {
    switch (f.info.channel) {
      case Channel::kUnknown:
        return fail(DecodeError::kUnknownTopic, {"unknown topic \"", f.topic, "\""});
      case Channel::kIgnored:
        begin_event(EventKind::kIgnored, f.info.symbol, f.ts);
        sink.on_event(event);
        return DecodeError::kNone;
      default:
        break;
    }
    if (!f.data_read) return fail(DecodeError::kMissingField, {f.info.name, ": missing field \"data\""});
    switch (f.info.channel) {
      case Channel::kBook:
        return emit_book(sink);
      case Channel::kTicker:
        return emit_ticker(sink);
      case Channel::kTrade:
        return emit_trades(sink);
      default:
        return emit_liquidations(sink);
    }
  }

  DecodeError emit_book(EventSink& sink) noexcept {
    if (!f.has_bids) return fail(DecodeError::kMissingField, {"orderbook: missing field \"data.b\""});
    if (!f.has_asks) return fail(DecodeError::kMissingField, {"orderbook: missing field \"data.a\""});
    if (!f.has_u) return fail(DecodeError::kMissingField, {"orderbook: missing field \"data.u\""});
    if (!f.has_type) return fail(DecodeError::kMissingField, {"orderbook: missing field \"type\""});
    const bool snapshot = f.type == "snapshot";
    if (!snapshot && f.type != "delta")
      return fail(DecodeError::kBadValue, {"orderbook: type \"", f.type, "\" is neither snapshot nor delta"});
    if (!snapshot && f.u == 0) return fail(DecodeError::kBadValue, {"orderbook: delta with u = 0"});
    const std::string_view symbol = f.book_symbol.empty() ? f.info.symbol : f.book_symbol;
    begin_event(snapshot ? EventKind::kBookSnapshot : EventKind::kBookDelta, symbol,
                f.has_cts ? f.cts : f.ts);
    const std::span<const PriceLevel> bid_levels{bids.get(), f.bid_count};
    const std::span<const PriceLevel> ask_levels{asks.get(), f.ask_count};
    if (snapshot) {
      event.snapshot = BookSnapshot{bid_levels, ask_levels, f.u, f.info.depth, std::nullopt};
    } else {
      event.delta = BookDelta{bid_levels, ask_levels, f.u, f.u, f.u - 1, std::nullopt};
    }
    sink.on_event(event);
    return DecodeError::kNone;
  }

  DecodeError emit_ticker(EventSink& sink) noexcept {
    const std::string_view symbol = f.ticker_symbol.empty() ? f.info.symbol : f.ticker_symbol;
    bool emitted = false;
    if (f.mark || f.index || f.funding || f.next_funding_ms) {
      begin_event(EventKind::kMarkFunding, symbol, f.ts);
      event.mark_funding = MarkFunding{f.mark, f.index, std::nullopt, f.funding,
                                       f.next_funding_ms ? *f.next_funding_ms * kNsPerMs : 0};
      sink.on_event(event);
      emitted = true;
    }
    // BestBidAsk has no optional sides: a one-sided delta (only bid1Price/bid1Size changed) is not turned
    // into a quote here. The book topic carries the same touch at a higher rate, so nothing is lost.
    if (f.bid_price && f.bid_size && f.ask_price && f.ask_size) {
      begin_event(EventKind::kBestBidAsk, symbol, f.ts);
      event.best_bid_ask = BestBidAsk{*f.bid_price, *f.bid_size, *f.ask_price, *f.ask_size, kNoUpdateId};
      sink.on_event(event);
      emitted = true;
    }
    if (!emitted) {
      begin_event(EventKind::kIgnored, symbol, f.ts);
      sink.on_event(event);
    }
    return DecodeError::kNone;
  }

  DecodeError emit_trades(EventSink& sink) noexcept {
    for (std::size_t i = 0; i < f.item_count; ++i) {
      const Item& item = items[i];
      begin_event(EventKind::kTrade, item.symbol, item.time_ms);
      event.trade = Trade{item.price, item.size, item.side, item.id, kNoUpdateId, kNoUpdateId};
      sink.on_event(event);
    }
    return DecodeError::kNone;
  }

  // Bybit's `S` on allLiquidation is the side of the liquidated *position* (docs all-liquidation.mdx: "When
  // you receive a Buy update, this means that a long position has been liquidated"). MarketEvent's side is
  // that of the forced order, which closes the position: S=Buy (long liquidated) → SELL, S=Sell → BUY.
  // `p` is the bankruptcy price, `v` the quantity; Bybit reports neither fills nor a status.
  DecodeError emit_liquidations(EventSink& sink) noexcept {
    for (std::size_t i = 0; i < f.item_count; ++i) {
      const Item& item = items[i];
      begin_event(EventKind::kLiquidation, item.symbol, item.time_ms);
      event.liquidation = Liquidation{item.side == Side::kBuy ? Side::kSell : Side::kBuy,
                                      item.price,
                                      std::nullopt,
                                      item.size,
                                      std::nullopt,
                                      {}};
      sink.on_event(event);
    }
    return DecodeError::kNone;
  }

  DecodeError emit_control(EventSink& sink) noexcept {
    if (f.has_success && !f.success) {
      begin_event(EventKind::kVenueError, {}, 0);
      event.error = VenueError{0, f.ret_msg};
      sink.on_event(event);
      return DecodeError::kNone;
    }
    if (!f.has_op) return fail(DecodeError::kUnknownMessage, {"reply without \"op\""});
    const bool pong = f.op == "pong" || (f.has_success && f.op == "ping");
    if (pong) {
      begin_event(EventKind::kIgnored, {}, 0);
      event.type_name = "pong";
      sink.on_event(event);
      return DecodeError::kNone;
    }
    if (!f.has_success) {
      // A client request ({"op":"subscribe","args":[..]}, {"op":"ping"}), as captures record the client's
      // side: not market data.
      if (f.op == "ping" || f.op == "subscribe" || f.op == "unsubscribe") {
        begin_event(EventKind::kIgnored, {}, 0);
        sink.on_event(event);
        return DecodeError::kNone;
      }
      return fail(DecodeError::kUnknownMessage, {"unknown op \"", f.op, "\""});
    }
    begin_event(EventKind::kSubscribeAck, {}, 0);
    const auto id = parse_unsigned(f.req_id);
    event.ack.request_id =
        id && *id <= static_cast<std::uint64_t>(INT64_MAX) ? static_cast<std::int64_t>(*id) : -1;
    sink.on_event(event);
    return DecodeError::kNone;
  }

  // ---- entry ----

  // The top level is no object: tell valid JSON of another type ([..], 42) from text that only starts like
  // a literal ("not json" peeks like `null`).
  DecodeError fail_not_object(od::document& doc) noexcept {
    od::json_type type;
    if (auto e = doc.type().get(type))
      return fail(DecodeError::kInvalidJson, {"document: ", simdjson::error_message(e)});
    if (json_fields::is_broken_literal(doc, type))
      return fail(DecodeError::kInvalidJson, {"document: not valid JSON"});
    return fail(DecodeError::kNotAnObject, {"top-level value is not an object"});
  }

  DecodeError decode(const char* data, std::size_t length, std::int64_t recv_ns, EventSink& sink) noexcept {
    last = DecodeError::kNone;
    error.clear();
    event.kind = EventKind::kNone;
    event.recv_ns = recv_ns;
    f = Frame{};
    if (length == 0) return fail(DecodeError::kEmptyFrame, {"empty frame"});

    od::document doc;
    if (auto e = parser.iterate(data, length, length + engine::kFramePadding).get(doc))
      return fail(DecodeError::kInvalidJson, {"document: ", simdjson::error_message(e)});
    od::object object;
    if (auto e = doc.get_object().get(object)) {
      if (is_type_error(e)) return fail_not_object(doc);
      return fail(DecodeError::kInvalidJson, {"document: ", simdjson::error_message(e)});
    }
    if (auto r = scan(object, false); r != DecodeError::kNone) return r;
    if (f.has_topic && f.data_pending) {
      doc.rewind();
      if (auto e = doc.get_object().get(object)) return fail_json(e, "document", "an object");
      if (auto r = scan(object, true); r != DecodeError::kNone) return r;
    }
    if (f.has_topic) return emit_push(sink);
    if (f.has_op || f.has_success) return emit_control(sink);
    return fail(DecodeError::kUnknownMessage, {"object has neither \"topic\" nor \"op\""});
  }
};

Decoder::Decoder(DecoderLimits limits) : state_(std::make_unique<State>(limits)) {}

Decoder::~Decoder() = default;

bool Decoder::decode(std::string_view padded, std::int64_t recv_ns, std::string_view /*stream_hint*/,
                     EventSink& sink) noexcept {
  // Bybit frames always name their topic, so the stream hint of a raw connection is not needed.
  return state_->decode(padded.data(), padded.size(), recv_ns, sink) == DecodeError::kNone;
}

bool Decoder::decode_rest_snapshot(std::string_view /*padded*/, std::string_view /*symbol*/,
                                   std::int64_t /*recv_ns*/, EventSink& /*sink*/) noexcept {
  state_->fail(
      DecodeError::kNoRestSnapshot,
      {"bybit books sync from the WebSocket snapshot sent on (re)subscribe; there is no REST snapshot"});
  return false;
}

std::string_view Decoder::error_message() const noexcept {
  return state_->error.view();
}

DecodeError Decoder::last_error() const noexcept {
  return state_->last;
}

}  // namespace sigflow::io::bybit
