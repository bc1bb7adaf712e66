#include "io/venues/binance/decoder.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "io/venues/frame_parser.hpp"
#include "io/venues/json_fields.hpp"

namespace sigflow::io::binance {

namespace od = simdjson::ondemand;
using json_fields::is_type_error;
using json_fields::raw_text;

std::string_view to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::kUnknownEventType:
      return "unknown_event_type";
    case DecodeError::kMissingStream:
      return "missing_stream";
    case DecodeError::kFrameTooLarge:
      return "frame_too_large";
    default:
      return json_fields::common_error_name(error);
  }
}

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
// Millisecond timestamps above this do not fit in int64 nanoseconds (year 2262). A venue never sends one; a
// corrupted or hostile frame may, and multiplying it would be undefined behaviour.
constexpr std::int64_t kMaxTimestampMs = INT64_MAX / kNsPerMs;

// The fields of one Binance message, gathered in a single pass over the object (key order is not
// guaranteed) and interpreted once the event type is known. Keys mean different things in different
// event types (`a` is an aggregate trade id, an ask price or the ask levels; `T` is trade time or next
// funding time), so values are stored by key and JSON type, and a type mismatch is only an error if the
// event type turns out to need that field: a 24hrTicker's string `l` must not fail an aggTrade rule.
struct Fields {
  enum Bit : std::uint64_t {
    kType = 1ull << 0,           // e
    kEventTime = 1ull << 1,      // E
    kTime = 1ull << 2,           // T
    kSymbol = 1ull << 3,         // s
    kPrice = 1ull << 4,          // p
    kQty = 1ull << 5,            // q
    kBidPrice = 1ull << 6,       // b (string)
    kBidQty = 1ull << 7,         // B
    kAskPrice = 1ull << 8,       // a (string)
    kAskQty = 1ull << 9,         // A
    kBidLevels = 1ull << 10,     // b / bids (array)
    kAskLevels = 1ull << 11,     // a / asks (array)
    kAggId = 1ull << 12,         // a (number)
    kTradeId = 1ull << 13,       // t
    kFirstTrade = 1ull << 14,    // f (number)
    kLastTrade = 1ull << 15,     // l (number)
    kMaker = 1ull << 16,         // m
    kFirstUpdate = 1ull << 17,   // U
    kFinalUpdate = 1ull << 18,   // u
    kPrevUpdate = 1ull << 19,    // pu
    kLastUpdateId = 1ull << 20,  // lastUpdateId
    kIndex = 1ull << 21,         // i
    kSettle = 1ull << 22,        // P
    kFunding = 1ull << 23,       // r
    kOrder = 1ull << 24,         // o (object: forceOrder)
    kResult = 1ull << 25,        // result
    kId = 1ull << 26,            // id
    kCode = 1ull << 27,          // code
    kMsg = 1ull << 28,           // msg
    kLiqSide = 1ull << 29,       // o.S
    kLiqAvgPrice = 1ull << 30,   // o.ap
    kLiqFilled = 1ull << 31,     // o.z
    kLiqStatus = 1ull << 32,     // o.X
    kMethod = 1ull << 33,        // method: a client request, as captures record it
  };

  std::uint64_t seen = 0;
  std::uint64_t bad = 0;  // present with a wrong JSON type or an unparsable decimal
  DecodeError bad_error = DecodeError::kNone;
  std::string_view bad_key;

  std::string_view stream;
  std::string_view type;
  std::string_view symbol;
  std::int64_t event_time = 0;
  std::int64_t time = 0;
  Decimal price, qty, bid_price, bid_qty, ask_price, ask_qty, index, settle;
  std::optional<Decimal> funding;
  std::uint64_t agg_id = 0, trade_id = 0, first_trade = 0, last_trade = 0;
  std::uint64_t first_update = 0, final_update = 0, prev_update = 0, last_update_id = 0;
  bool maker = false;
  std::size_t bid_count = 0, ask_count = 0;
  std::int64_t id = -1;
  std::int64_t code = 0;
  std::string_view msg;
  std::string_view method;
  Side liq_side = Side::kUnknown;
  Decimal liq_avg_price, liq_filled;
  std::string_view liq_status;
};

// Binance's partial streams are depth5, depth10 and depth20; its REST depth takes a limit up to 5000. A
// larger number names no partial stream, and stopping there keeps the parse far from overflow.
constexpr int kMaxPartialDepth = 5000;

// Returns the N of a top-N partial depth stream ("btcusdt@depth20@100ms" → 20), 0 otherwise.
int partial_depth(std::string_view stream) noexcept {
  const std::size_t at = stream.find("@depth");
  if (at == std::string_view::npos) return 0;
  std::string_view rest = stream.substr(at + 6);
  int n = 0;
  std::size_t i = 0;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
    n = n * 10 + (rest[i++] - '0');
    if (n > kMaxPartialDepth) return 0;
  }
  if (i < rest.size() && rest[i] != '@') return 0;
  return n;
}

bool is_diff_depth(std::string_view stream) noexcept {
  const std::size_t at = stream.find("@depth");
  if (at == std::string_view::npos) return false;
  const std::size_t next = at + 6;
  return next == stream.size() || stream[next] == '@';
}

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Event types that are valid Binance market data but feed nothing in the engine: counted, not errors.
bool is_ignored_type(std::string_view type) noexcept {
  static constexpr std::string_view kIgnored[] = {
      "kline",          "continuous_kline", "markPrice_kline",  "indexPrice_kline",
      "24hrTicker",     "24hrMiniTicker",   "indexPriceUpdate", "contractInfo",
      "compositeIndex", "assetIndexUpdate", "serverShutdown",
  };
  return std::find(std::begin(kIgnored), std::end(kIgnored), type) != std::end(kIgnored);
}

}  // namespace

struct Decoder::State : json_fields::FieldReaders<Decoder::State, Fields> {
  explicit State(DecoderLimits l)
      : limits(l),
        parser(make_frame_parser(std::max(l.max_rest_body_bytes, engine::kMaxFrameBytes))),
        bids(new PriceLevel[l.max_levels_per_side]),
        asks(new PriceLevel[l.max_levels_per_side]) {}

  DecoderLimits limits;
  od::parser parser;
  std::unique_ptr<PriceLevel[]> bids;
  std::unique_ptr<PriceLevel[]> asks;
  std::unique_ptr<char[]> rest_buffer;
  std::size_t rest_capacity = 0;
  char symbol_buffer[32] = {};
  json_fields::ErrorText<192> error;

  // ---- errors ----

  DecodeError fail(DecodeError code, std::string_view a, std::string_view b = {}, std::string_view c = {},
                   std::string_view d = {}) noexcept {
    error.set({a, b, c, d});
    return code;
  }

  DecodeError fail_json(simdjson::error_code e, std::string_view where) noexcept {
    return fail(is_type_error(e) ? DecodeError::kWrongType : DecodeError::kInvalidJson, where, ": ",
                simdjson::error_message(e));
  }

  // ---- field readers: a JSON-level error aborts the decode, a type mismatch is recorded in `f.bad` ----

  // A decimal string into `out`. Broken JSON is an error; a wrong type or a malformed decimal marks the field
  // bad (and leaves `parsed` false) so that the event builder reports it only if the event needs the field.
  DecodeError parse_decimal(od::value& v, Fields& f, std::uint64_t bit, std::string_view key, Decimal& out,
                            bool& parsed) noexcept {
    parsed = false;
    od::raw_json_string raw;
    bool got = false;
    if (auto r = read_value(v, f, bit, key, raw, got); !got) return r;
    const auto decimal = Decimal::parse(raw_text(raw.raw()));
    if (!decimal) {
      mark_bad(f, bit, DecodeError::kBadDecimal, key);
      return DecodeError::kNone;
    }
    out = *decimal;
    parsed = true;
    return DecodeError::kNone;
  }

  DecodeError read_decimal(od::value& v, Fields& f, std::uint64_t bit, std::string_view key,
                           Decimal& out) noexcept {
    bool parsed = false;
    if (auto e = parse_decimal(v, f, bit, key, out, parsed); e != DecodeError::kNone) return e;
    if (parsed) f.seen |= bit;
    return DecodeError::kNone;
  }

  // [[price, size, ...], ...] with both as decimal strings; extra elements (other venues' order counts)
  // are skipped.
  DecodeError read_levels(od::value& v, Fields& f, std::uint64_t bit, std::string_view key,
                          PriceLevel* storage, std::size_t& count) noexcept {
    od::array levels;
    bool got = false;
    if (auto r = read_value(v, f, bit, key, levels, got); !got) return r;
    count = 0;
    for (auto level_result : levels) {
      od::value level_value;
      if (auto e = std::move(level_result).get(level_value)) return fail_json(e, key);
      od::array level;
      if (auto r = read_value(level_value, f, bit, key, level, got); !got) return r;
      if (count == limits.max_levels_per_side)
        return fail(DecodeError::kTooManyLevels, key, ": too many levels");
      Decimal parts[2];
      int n = 0;
      for (auto part_result : level) {
        od::value part;
        if (auto e = std::move(part_result).get(part)) return fail_json(e, key);
        if (n < 2) {
          bool parsed = false;
          if (auto e = parse_decimal(part, f, bit, key, parts[n], parsed); e != DecodeError::kNone) return e;
          if (!parsed) return DecodeError::kNone;
        }
        ++n;
      }
      if (n < 2) {
        mark_bad(f, bit, DecodeError::kWrongType, key);
        return DecodeError::kNone;
      }
      storage[count++] = PriceLevel{parts[0], parts[1]};
    }
    f.seen |= bit;
    return DecodeError::kNone;
  }

  // ---- the single pass over an object: top level, "data" of a combined frame, or "error" ----

  DecodeError scan(od::object& object, Fields& f, int depth) noexcept {
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "object");
      const std::string_view key = raw_text(field.key().raw());
      od::value& v = field.value();
      DecodeError r = DecodeError::kNone;
      if (key.size() == 1) {
        switch (key[0]) {
          case 'e':
            r = read_text(v, f, Fields::kType, key, f.type);
            break;
          case 'E':
            r = read_integer(v, f, Fields::kEventTime, key, f.event_time);
            break;
          case 'T':
            r = read_integer(v, f, Fields::kTime, key, f.time);
            break;
          case 's':
            r = read_text(v, f, Fields::kSymbol, key, f.symbol);
            break;
          case 'p':
            r = read_decimal(v, f, Fields::kPrice, key, f.price);
            break;
          case 'q':
            r = read_decimal(v, f, Fields::kQty, key, f.qty);
            break;
          case 'B':
            r = read_decimal(v, f, Fields::kBidQty, key, f.bid_qty);
            break;
          case 'A':
            r = read_decimal(v, f, Fields::kAskQty, key, f.ask_qty);
            break;
          case 'i':
            r = read_decimal(v, f, Fields::kIndex, key, f.index);
            break;
          case 'P':
            r = read_decimal(v, f, Fields::kSettle, key, f.settle);
            break;
          case 't':
            r = read_integer(v, f, Fields::kTradeId, key, f.trade_id);
            break;
          case 'U':
            r = read_integer(v, f, Fields::kFirstUpdate, key, f.first_update);
            break;
          case 'u':
            r = read_integer(v, f, Fields::kFinalUpdate, key, f.final_update);
            break;
          case 'b':
            r = scan_side(v, f, key, true);
            break;
          case 'a':
            r = scan_side(v, f, key, false);
            break;
          case 'f':
            r = scan_trade_bound(v, f, key, Fields::kFirstTrade, f.first_trade);
            break;
          case 'l':
            r = scan_trade_bound(v, f, key, Fields::kLastTrade, f.last_trade);
            break;
          case 'm':
            r = scan_maker(v, f, key);
            break;
          case 'r':
            r = scan_funding(v, f, key);
            break;
          case 'o':
            r = scan_order(v, f, key);
            break;
          default:
            break;
        }
      } else if (key == "pu") {
        r = read_integer(v, f, Fields::kPrevUpdate, key, f.prev_update);
      } else if (key == "bids") {
        r = read_levels(v, f, Fields::kBidLevels, key, bids.get(), f.bid_count);
      } else if (key == "asks") {
        r = read_levels(v, f, Fields::kAskLevels, key, asks.get(), f.ask_count);
      } else if (key == "lastUpdateId") {
        r = read_integer(v, f, Fields::kLastUpdateId, key, f.last_update_id);
      } else if (key == "stream" && depth == 0) {
        r = read_text(v, f, 0, key, f.stream);
      } else if (key == "data" && depth == 0) {
        r = scan_nested(v, f, key, depth);
      } else if (key == "error" && depth == 0) {
        r = scan_nested(v, f, key, depth);
      } else if (key == "method" && depth == 0) {
        r = read_text(v, f, Fields::kMethod, key, f.method);
      } else if (key == "result") {
        f.seen |= Fields::kResult;  // null for SUBSCRIBE; a list or value for other commands, not needed
      } else if (key == "id") {
        std::int64_t id = -1;
        if (v.get_int64().get(id) == simdjson::SUCCESS) f.id = id;  // ids may also be strings or null
        f.seen |= Fields::kId;
      } else if (key == "code") {
        r = read_integer(v, f, Fields::kCode, key, f.code);
      } else if (key == "msg") {
        // Unescaped: error messages are free text. The view lives in the parser's string buffer.
        bool got = false;
        r = read_value(v, f, Fields::kMsg, key, f.msg, got);
        if (got) f.seen |= Fields::kMsg;
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  DecodeError scan_nested(od::value& v, Fields& f, std::string_view key, int depth) noexcept {
    od::object inner;
    if (auto e = v.get_object().get(inner)) {
      if (!is_type_error(e)) return fail_json(e, key);
      return fail(DecodeError::kWrongType, "field \"", key, "\": expected an object");
    }
    return scan(inner, f, depth + 1);
  }

  // `b` / `a`: a price string (bookTicker), a level array (depthUpdate) or, for `a`, the aggregate trade id.
  DecodeError scan_side(od::value& v, Fields& f, std::string_view key, bool bid) noexcept {
    od::json_type type;
    if (auto e = v.type().get(type)) return fail_json(e, key);
    switch (type) {
      case od::json_type::string:
        return read_decimal(v, f, bid ? Fields::kBidPrice : Fields::kAskPrice, key,
                            bid ? f.bid_price : f.ask_price);
      case od::json_type::array:
        return bid ? read_levels(v, f, Fields::kBidLevels, key, bids.get(), f.bid_count)
                   : read_levels(v, f, Fields::kAskLevels, key, asks.get(), f.ask_count);
      case od::json_type::number:
        if (!bid) return read_integer(v, f, Fields::kAggId, key, f.agg_id);
        [[fallthrough]];
      default:
        mark_bad(f,
                 bid ? (Fields::kBidPrice | Fields::kBidLevels)
                     : (Fields::kAskPrice | Fields::kAskLevels | Fields::kAggId),
                 DecodeError::kWrongType, key);
        return DecodeError::kNone;
    }
  }

  // `f` / `l`: trade id bounds in aggTrade; other event types use them for text (24hrTicker's low price).
  DecodeError scan_trade_bound(od::value& v, Fields& f, std::string_view key, std::uint64_t bit,
                               std::uint64_t& out) noexcept {
    od::json_type type;
    if (auto e = v.type().get(type)) return fail_json(e, key);
    if (type != od::json_type::number) return DecodeError::kNone;
    return read_integer(v, f, bit, key, out);
  }

  DecodeError scan_maker(od::value& v, Fields& f, std::string_view key) noexcept {
    bool got = false;
    const DecodeError r = read_value(v, f, Fields::kMaker, key, f.maker, got);
    if (got) f.seen |= Fields::kMaker;
    return r;
  }

  // Funding rate: a decimal string, or "" for contracts without funding (delivery futures).
  DecodeError scan_funding(od::value& v, Fields& f, std::string_view key) noexcept {
    od::raw_json_string raw;
    bool got = false;
    if (auto r = read_value(v, f, Fields::kFunding, key, raw, got); !got) return r;
    const std::string_view text = raw_text(raw.raw());
    f.seen |= Fields::kFunding;
    if (text.empty()) return DecodeError::kNone;
    f.funding = Decimal::parse(text);
    if (!f.funding) mark_bad(f, Fields::kFunding, DecodeError::kBadDecimal, key);
    return DecodeError::kNone;
  }

  // forceOrder's `o`: the liquidation order, with keys that clash with the outer event's (`o` type, `f`
  // time in force, `l` last filled quantity), so it has its own pass.
  DecodeError scan_order(od::value& v, Fields& f, std::string_view key) noexcept {
    od::json_type type;
    if (auto e = v.type().get(type)) return fail_json(e, key);
    if (type != od::json_type::object) return DecodeError::kNone;  // e.g. a 24hrTicker's open price
    od::object order;
    if (auto e = v.get_object().get(order)) return fail_json(e, key);
    f.seen |= Fields::kOrder;
    for (auto field_result : order) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "o");
      const std::string_view k = raw_text(field.key().raw());
      od::value& value = field.value();
      DecodeError r = DecodeError::kNone;
      if (k == "s") {
        r = read_text(value, f, Fields::kSymbol, "o.s", f.symbol);
      } else if (k == "S") {
        std::string_view side;
        r = read_text(value, f, Fields::kLiqSide, "o.S", side);
        if (r == DecodeError::kNone && (f.seen & Fields::kLiqSide)) {
          f.liq_side = side == "BUY" ? Side::kBuy : side == "SELL" ? Side::kSell : Side::kUnknown;
        }
      } else if (k == "p") {
        r = read_decimal(value, f, Fields::kPrice, "o.p", f.price);
      } else if (k == "q") {
        r = read_decimal(value, f, Fields::kQty, "o.q", f.qty);
      } else if (k == "ap") {
        r = read_decimal(value, f, Fields::kLiqAvgPrice, "o.ap", f.liq_avg_price);
      } else if (k == "z") {
        r = read_decimal(value, f, Fields::kLiqFilled, "o.z", f.liq_filled);
      } else if (k == "X") {
        r = read_text(value, f, Fields::kLiqStatus, "o.X", f.liq_status);
      } else if (k == "T") {
        r = read_integer(value, f, Fields::kTime, "o.T", f.time);
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  // ---- building the event once every field is known ----

  // Checks that each field in `required` was seen with a usable value.
  DecodeError require(const Fields& f, std::uint64_t required, std::string_view what) noexcept {
    if (f.bad & required) {
      return fail(
          f.bad_error, "field \"", f.bad_key,
          f.bad_error == DecodeError::kBadDecimal ? "\": not an exact decimal" : "\": wrong JSON type");
    }
    if (const std::uint64_t missing = required & ~f.seen) {
      return fail(DecodeError::kMissingField, what, ": missing field \"",
                  field_name(missing & (~missing + 1)), "\"");
    }
    return DecodeError::kNone;
  }

  static std::string_view field_name(std::uint64_t bit) noexcept {
    switch (bit) {
      case Fields::kType:
        return "e";
      case Fields::kEventTime:
        return "E";
      case Fields::kTime:
        return "T";
      case Fields::kSymbol:
        return "s";
      case Fields::kPrice:
        return "p";
      case Fields::kQty:
        return "q";
      case Fields::kBidPrice:
        return "b";
      case Fields::kBidQty:
        return "B";
      case Fields::kAskPrice:
        return "a";
      case Fields::kAskQty:
        return "A";
      case Fields::kBidLevels:
        return "b/bids";
      case Fields::kAskLevels:
        return "a/asks";
      case Fields::kAggId:
        return "a";
      case Fields::kTradeId:
        return "t";
      case Fields::kMaker:
        return "m";
      case Fields::kFirstUpdate:
        return "U";
      case Fields::kFinalUpdate:
        return "u";
      case Fields::kLastUpdateId:
        return "lastUpdateId";
      case Fields::kOrder:
        return "o";
      case Fields::kLiqSide:
        return "o.S";
      case Fields::kMsg:
        return "msg";
      default:
        return "?";
    }
  }

  // Binance symbols are the stream name's prefix in upper case; raw depth partials carry no `s`.
  std::string_view symbol_from_stream(std::string_view stream) noexcept {
    const std::size_t at = stream.find('@');
    if (at == std::string_view::npos || at == 0 || at > sizeof(symbol_buffer)) return {};
    for (std::size_t i = 0; i < at; ++i) {
      const char c = stream[i];
      symbol_buffer[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    return {symbol_buffer, at};
  }

  DecodeError resolve_symbol(const Fields& f, MarketEvent& out) noexcept {
    out.symbol = (f.seen & Fields::kSymbol) ? f.symbol : symbol_from_stream(f.stream);
    if (out.symbol.empty())
      return fail(DecodeError::kMissingField, "missing symbol (no \"s\" and no stream name)");
    return DecodeError::kNone;
  }

  DecodeError build(const Fields& f, MarketEvent& out) noexcept {
    out.stream = f.stream;
    out.type_name = f.type;
    if (((f.seen & Fields::kEventTime) && (f.event_time < 0 || f.event_time > kMaxTimestampMs)) ||
        ((f.seen & Fields::kTime) && (f.time < 0 || f.time > kMaxTimestampMs)))
      return fail(DecodeError::kWrongType, "timestamp out of range");
    if (f.seen & Fields::kEventTime) out.event_ts_ns = f.event_time * kNsPerMs;
    const std::int64_t matching_ts = (f.seen & Fields::kTime) ? f.time * kNsPerMs : out.event_ts_ns;

    if (!(f.seen & Fields::kType)) {
      if (f.bad & Fields::kType) return require(f, Fields::kType, "event");
      return build_untyped(f, out, matching_ts);
    }
    const std::string_view type = f.type;
    if (type == "depthUpdate") return build_depth(f, out, matching_ts);
    if (type == "bookTicker") return build_best_bid_ask(f, out, matching_ts);
    if (type == "aggTrade" || type == "trade") return build_trade(f, out, matching_ts);
    if (type == "markPriceUpdate") return build_mark(f, out);
    if (type == "forceOrder") return build_liquidation(f, out, matching_ts);
    if (is_ignored_type(type)) {
      if (f.seen & Fields::kSymbol) out.symbol = f.symbol;
      out.exchange_ts_ns = matching_ts;
      out.kind = EventKind::kIgnored;
      return DecodeError::kNone;
    }
    return fail(DecodeError::kUnknownEventType, "unknown event type \"", type, "\"");
  }

  DecodeError build_untyped(const Fields& f, MarketEvent& out, std::int64_t matching_ts) noexcept {
    if (f.seen & Fields::kCode) {
      out.kind = EventKind::kVenueError;
      out.error.code = f.code;
      out.error.message = (f.seen & Fields::kMsg) ? f.msg : std::string_view{};
      return DecodeError::kNone;
    }
    if (f.bad & Fields::kCode) return require(f, Fields::kCode, "error reply");
    if (f.seen & Fields::kMethod) {
      // A request ({"method":"SUBSCRIBE",..}), as captures record the client's side: not market data.
      out.type_name = f.method;
      out.kind = EventKind::kIgnored;
      return DecodeError::kNone;
    }
    if (f.seen & (Fields::kResult | Fields::kId)) {
      out.kind = EventKind::kSubscribeAck;
      out.ack.request_id = f.id;
      return DecodeError::kNone;
    }
    if (f.seen & (Fields::kLastUpdateId | Fields::kBidLevels | Fields::kAskLevels)) {
      // Spot top-N partial frames and REST snapshots: {"lastUpdateId":..,"bids":..,"asks":..}.
      if (auto r =
              require(f, Fields::kLastUpdateId | Fields::kBidLevels | Fields::kAskLevels, "depth snapshot");
          r != DecodeError::kNone) {
        return r;
      }
      // A REST body names no symbol; decode_rest_depth fills it in from the request.
      out.symbol = (f.seen & Fields::kSymbol) ? f.symbol : symbol_from_stream(f.stream);
      out.kind = EventKind::kBookSnapshot;
      out.exchange_ts_ns = matching_ts;
      out.snapshot = BookSnapshot{{bids.get(), f.bid_count},
                                  {asks.get(), f.ask_count},
                                  f.last_update_id,
                                  static_cast<std::uint16_t>(partial_depth(f.stream)),
                                  std::nullopt};
      return DecodeError::kNone;
    }
    if (ends_with(f.stream, "@bookTicker")) return build_best_bid_ask(f, out, matching_ts);  // spot: no `e`
    return fail(DecodeError::kUnknownEventType, "object has no event type \"e\" and is no known reply");
  }

  DecodeError build_depth(const Fields& f, MarketEvent& out, std::int64_t matching_ts) noexcept {
    if (auto r = require(f, Fields::kBidLevels | Fields::kAskLevels | Fields::kFinalUpdate, "depthUpdate");
        r != DecodeError::kNone) {
      return r;
    }
    if (auto r = resolve_symbol(f, out); r != DecodeError::kNone) return r;
    out.exchange_ts_ns = matching_ts;
    const std::span<const PriceLevel> bid_levels{bids.get(), f.bid_count};
    const std::span<const PriceLevel> ask_levels{asks.get(), f.ask_count};
    if (const int depth = partial_depth(f.stream); depth > 0) {
      out.kind = EventKind::kBookSnapshot;
      out.snapshot = BookSnapshot{bid_levels, ask_levels, f.final_update, static_cast<std::uint16_t>(depth),
                                  std::nullopt};
      return DecodeError::kNone;
    }
    if (!is_diff_depth(f.stream)) {
      return fail(DecodeError::kMissingStream, "depthUpdate on stream \"", f.stream,
                  "\": partial and diff frames cannot be told apart");
    }
    if (auto r = require(f, Fields::kFirstUpdate, "depthUpdate"); r != DecodeError::kNone) return r;
    out.kind = EventKind::kBookDelta;
    out.delta = BookDelta{bid_levels,
                          ask_levels,
                          f.first_update,
                          f.final_update,
                          (f.seen & Fields::kPrevUpdate) ? f.prev_update : kNoUpdateId,
                          std::nullopt};
    return DecodeError::kNone;
  }

  DecodeError build_best_bid_ask(const Fields& f, MarketEvent& out, std::int64_t matching_ts) noexcept {
    if (auto r = require(f, Fields::kBidPrice | Fields::kBidQty | Fields::kAskPrice | Fields::kAskQty,
                         "bookTicker");
        r != DecodeError::kNone) {
      return r;
    }
    if (auto r = resolve_symbol(f, out); r != DecodeError::kNone) return r;
    out.kind = EventKind::kBestBidAsk;
    out.exchange_ts_ns = matching_ts;
    out.best_bid_ask = BestBidAsk{f.bid_price, f.bid_qty, f.ask_price, f.ask_qty,
                                  (f.seen & Fields::kFinalUpdate) ? f.final_update : kNoUpdateId};
    return DecodeError::kNone;
  }

  DecodeError build_trade(const Fields& f, MarketEvent& out, std::int64_t matching_ts) noexcept {
    const bool aggregated = f.type == "aggTrade";
    const std::uint64_t id_bit = aggregated ? Fields::kAggId : Fields::kTradeId;
    if (auto r =
            require(f, Fields::kSymbol | Fields::kPrice | Fields::kQty | Fields::kMaker | id_bit, f.type);
        r != DecodeError::kNone) {
      return r;
    }
    out.symbol = f.symbol;
    out.kind = EventKind::kTrade;
    out.exchange_ts_ns = matching_ts;
    out.trade = Trade{f.price,
                      f.qty,
                      f.maker ? Side::kSell : Side::kBuy,
                      aggregated ? f.agg_id : f.trade_id,
                      (aggregated && (f.seen & Fields::kFirstTrade)) ? f.first_trade : kNoUpdateId,
                      (aggregated && (f.seen & Fields::kLastTrade)) ? f.last_trade : kNoUpdateId};
    return DecodeError::kNone;
  }

  DecodeError build_mark(const Fields& f, MarketEvent& out) noexcept {
    // Optional fields are checked only when present: a malformed index price is still an error.
    constexpr std::uint64_t kOptional = Fields::kIndex | Fields::kSettle | Fields::kFunding | Fields::kTime;
    if (auto r = require(f, Fields::kSymbol | Fields::kPrice | (f.bad & kOptional), "markPriceUpdate");
        r != DecodeError::kNone) {
      return r;
    }
    out.symbol = f.symbol;
    out.kind = EventKind::kMarkFunding;
    out.exchange_ts_ns = out.event_ts_ns;  // `T` is the next funding time here, not a matching time
    out.mark_funding.mark_price = f.price;
    out.mark_funding.index_price = (f.seen & Fields::kIndex) ? std::optional<Decimal>(f.index) : std::nullopt;
    out.mark_funding.estimated_settle_price =
        (f.seen & Fields::kSettle) ? std::optional<Decimal>(f.settle) : std::nullopt;
    out.mark_funding.funding_rate = f.funding;
    out.mark_funding.next_funding_ts_ns = (f.seen & Fields::kTime) ? f.time * kNsPerMs : 0;
    return DecodeError::kNone;
  }

  DecodeError build_liquidation(const Fields& f, MarketEvent& out, std::int64_t matching_ts) noexcept {
    if (auto r =
            require(f, Fields::kOrder | Fields::kSymbol | Fields::kLiqSide | Fields::kPrice | Fields::kQty,
                    "forceOrder");
        r != DecodeError::kNone) {
      return r;
    }
    if (f.liq_side == Side::kUnknown)
      return fail(DecodeError::kWrongType, "field \"o.S\": expected BUY or SELL");
    out.symbol = f.symbol;
    out.kind = EventKind::kLiquidation;
    out.exchange_ts_ns = matching_ts;
    out.liquidation.side = f.liq_side;
    out.liquidation.price = f.price;
    out.liquidation.average_price =
        (f.seen & Fields::kLiqAvgPrice) ? std::optional<Decimal>(f.liq_avg_price) : std::nullopt;
    out.liquidation.quantity = f.qty;
    out.liquidation.filled_quantity =
        (f.seen & Fields::kLiqFilled) ? std::optional<Decimal>(f.liq_filled) : std::nullopt;
    out.liquidation.status = f.liq_status;
    return DecodeError::kNone;
  }

  // ---- entry ----

  DecodeError decode(const char* data, std::size_t length, std::size_t capacity, std::int64_t recv_ns,
                     std::string_view stream_hint, MarketEvent& out) noexcept {
    out.kind = EventKind::kNone;
    out.symbol = {};
    out.stream = {};
    out.type_name = {};
    out.exchange_ts_ns = 0;
    out.event_ts_ns = 0;
    out.recv_ns = recv_ns;
    error.clear();
    if (length == 0) return fail(DecodeError::kEmptyFrame, "empty frame");

    od::document doc;
    if (auto e = parser.iterate(data, length, capacity).get(doc)) return fail_json(e, "document");
    od::object object;
    if (auto e = doc.get_object().get(object)) {
      if (e != simdjson::INCORRECT_TYPE) return fail_json(e, "document");
      return fail_not_object(doc);
    }
    Fields f;
    if (auto r = scan(object, f, 0); r != DecodeError::kNone) return fail_kind(r, out);
    if (f.stream.empty()) f.stream = stream_hint;
    const DecodeError r = build(f, out);
    return r == DecodeError::kNone ? r : fail_kind(r, out);
  }

  static DecodeError fail_kind(DecodeError r, MarketEvent& out) noexcept {
    out.kind = EventKind::kNone;
    return r;
  }

  // A REST body decoded as a frame becomes the snapshot of the symbol it was requested for.
  DecodeError finish_rest_depth(DecodeError r, std::string_view symbol, MarketEvent& out) noexcept;
};

Decoder::Decoder(DecoderLimits limits) : state_(std::make_unique<State>(limits)) {}

Decoder::~Decoder() = default;

DecodeError Decoder::decode(const engine::FrameView& frame, std::string_view stream_hint,
                            MarketEvent& out) noexcept {
  return decode_padded(frame.bytes, frame.recv_ns, stream_hint, out);
}

DecodeError Decoder::decode_padded(std::string_view bytes, std::int64_t recv_ns, std::string_view stream_hint,
                                   MarketEvent& out) noexcept {
  return state_->decode(bytes.data(), bytes.size(), bytes.size() + engine::kFramePadding, recv_ns,
                        stream_hint, out);
}

DecodeError Decoder::decode_rest_depth(std::string_view body, std::string_view symbol, std::int64_t recv_ns,
                                       MarketEvent& out) noexcept {
  State& s = *state_;
  if (body.size() > s.limits.max_rest_body_bytes) {
    out.kind = EventKind::kNone;
    return s.fail(DecodeError::kFrameTooLarge, "REST body larger than max_rest_body_bytes");
  }
  const std::size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
  if (needed > s.rest_capacity) {
    s.rest_buffer.reset(new (std::nothrow) char[needed]);
    s.rest_capacity = s.rest_buffer ? needed : 0;
    if (!s.rest_buffer) {
      out.kind = EventKind::kNone;
      return s.fail(DecodeError::kFrameTooLarge, "out of memory for the REST body");
    }
  }
  if (!body.empty()) std::memcpy(s.rest_buffer.get(), body.data(), body.size());
  std::memset(s.rest_buffer.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  return s.finish_rest_depth(s.decode(s.rest_buffer.get(), body.size(), needed, recv_ns, {}, out), symbol,
                             out);
}

DecodeError Decoder::decode_rest_depth_padded(std::string_view padded, std::string_view symbol,
                                              std::int64_t recv_ns, MarketEvent& out) noexcept {
  State& s = *state_;
  if (padded.size() > s.limits.max_rest_body_bytes) {
    out.kind = EventKind::kNone;
    return s.fail(DecodeError::kFrameTooLarge, "REST body larger than max_rest_body_bytes");
  }
  return s.finish_rest_depth(
      s.decode(padded.data(), padded.size(), padded.size() + engine::kFramePadding, recv_ns, {}, out), symbol,
      out);
}

DecodeError Decoder::State::finish_rest_depth(DecodeError r, std::string_view symbol,
                                              MarketEvent& out) noexcept {
  if (r != DecodeError::kNone) return r;
  if (out.kind != EventKind::kBookSnapshot) {
    // A REST error body ({"code":-1003,..}) decodes as a venue error: pass it on as such.
    if (out.kind == EventKind::kVenueError) return r;
    out.kind = EventKind::kNone;
    return fail(DecodeError::kUnknownEventType, "REST body is not a depth snapshot");
  }
  out.symbol = symbol;
  out.snapshot.depth = 0;
  return r;
}

std::string_view Decoder::error_message() const noexcept {
  return state_->error.view();
}

}  // namespace sigflow::io::binance
