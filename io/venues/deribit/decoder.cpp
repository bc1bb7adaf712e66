#include "io/venues/deribit/decoder.hpp"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "engine/frame_ring.hpp"
#include "io/venues/deribit/json_number.hpp"
#include "io/venues/frame_parser.hpp"
#include "io/venues/json_fields.hpp"

namespace sigflow::io::deribit {

namespace od = simdjson::ondemand;
using json_fields::is_type_error;
using json_fields::raw_text;

std::string_view to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::kUnknownMessage:
      return "unknown_message";
    case DecodeError::kNotSupported:
      return "not_supported";
    default:
      return json_fields::common_error_name(error);
  }
}

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
// Millisecond timestamps above this do not fit in int64 nanoseconds; only a corrupted frame sends one.
constexpr std::int64_t kMaxTimestampMs = INT64_MAX / kNsPerMs;

// raw_json_token() runs up to the next structural character, so it may carry trailing whitespace.
std::string_view trim_token(std::string_view token) noexcept {
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' || token.back() == '\t'))
    token.remove_suffix(1);
  return token;
}

enum class ChannelKind : std::uint8_t { kBook, kGroupedBook, kTrades, kTicker, kQuote, kOther };

// A channel name split into what the decoder needs: "book.BTC-PERPETUAL.100ms" → book, "BTC-PERPETUAL".
// Instrument names never contain '.', so the segments are unambiguous.
struct Channel {
  ChannelKind kind = ChannelKind::kOther;
  std::string_view prefix;      // first segment: "book", "trades", ...
  std::string_view instrument;  // second segment
  std::uint16_t depth = 0;      // grouped books: book.{inst}.{group}.{depth}.{interval}
};

Channel parse_channel(std::string_view name) noexcept {
  Channel c;
  std::string_view segments[6];
  std::size_t n = 0;
  for (std::string_view rest = name; n < 6;) {
    const std::size_t dot = rest.find('.');
    segments[n++] = rest.substr(0, dot);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  c.prefix = segments[0];
  if (n >= 2) c.instrument = segments[1];
  if (c.prefix == "book" && n == 3) {
    c.kind = ChannelKind::kBook;
  } else if (c.prefix == "book" && n == 5) {
    std::uint32_t depth = 0;
    for (const char ch : segments[3]) {
      if (ch < '0' || ch > '9' || depth > 10'000) return c;
      depth = depth * 10 + static_cast<std::uint32_t>(ch - '0');
    }
    if (segments[3].empty()) return c;
    c.kind = ChannelKind::kGroupedBook;
    c.depth = static_cast<std::uint16_t>(std::min<std::uint32_t>(depth, UINT16_MAX));
  } else if (c.prefix == "trades" && n == 3) {
    c.kind = ChannelKind::kTrades;
  } else if (c.prefix == "ticker" && n == 3) {
    c.kind = ChannelKind::kTicker;
  } else if (c.prefix == "quote" && n == 2) {
    c.kind = ChannelKind::kQuote;
  }
  return c;
}

// The number in a trade id: "403691824" → 403691824, "ETH-123456" → 123456; false when there is none.
bool trade_id_number(std::string_view id, std::uint64_t& out) noexcept {
  const std::size_t dash = id.rfind('-');
  if (dash != std::string_view::npos) id.remove_prefix(dash + 1);
  if (id.empty() || id.size() > 19) return false;
  std::uint64_t value = 0;
  for (const char c : id) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = value;
  return true;
}

// The fields of one `data` object (a book frame, one trade, a ticker or a quote), gathered in one pass in
// any key order. A known field with an unusable value is recorded in `bad` and is an error only if the event
// being built needs it: a ticker's malformed open_interest must not fail the frame, its mark price must.
struct Fields {
  enum Bit : std::uint32_t {
    kType = 1u << 0,             // type ("snapshot" | "change")
    kTimestamp = 1u << 1,        // timestamp (ms)
    kInstrument = 1u << 2,       // instrument_name
    kChangeId = 1u << 3,         // change_id
    kPrevChangeId = 1u << 4,     // prev_change_id
    kBids = 1u << 5,             // bids
    kAsks = 1u << 6,             // asks
    kPrice = 1u << 7,            // price
    kAmount = 1u << 8,           // amount
    kDirection = 1u << 9,        // direction ("buy" | "sell": the taker's side)
    kTradeSeq = 1u << 10,        // trade_seq
    kTradeId = 1u << 11,         // trade_id (string)
    kLiquidation = 1u << 12,     // liquidation ("M" | "T" | "MT")
    kMarkPrice = 1u << 13,       // mark_price
    kIndexPrice = 1u << 14,      // index_price
    kDelivery = 1u << 15,        // estimated_delivery_price
    kFunding8h = 1u << 16,       // funding_8h
    kCurrentFunding = 1u << 17,  // current_funding
    kBidPrice = 1u << 18,        // best_bid_price
    kBidAmount = 1u << 19,       // best_bid_amount
    kAskPrice = 1u << 20,        // best_ask_price
    kAskAmount = 1u << 21,       // best_ask_amount
  };

  std::uint32_t seen = 0;
  std::uint32_t null = 0;  // present as JSON null (a ticker's optional fields, an empty best bid/ask side)
  std::uint32_t bad = 0;
  DecodeError bad_error = DecodeError::kNone;
  std::string_view bad_key;

  std::string_view type, instrument, direction, trade_id, liquidation;
  std::int64_t timestamp = 0;
  std::uint64_t change_id = 0, prev_change_id = 0, trade_seq = 0;
  std::size_t bid_count = 0, ask_count = 0;
  Decimal price, amount, mark_price, index_price, delivery, funding_8h, current_funding;
  Decimal bid_price, bid_amount, ask_price, ask_amount;
};

std::string_view field_name(std::uint32_t bit) noexcept {
  switch (bit) {
    case Fields::kType:
      return "type";
    case Fields::kTimestamp:
      return "timestamp";
    case Fields::kInstrument:
      return "instrument_name";
    case Fields::kChangeId:
      return "change_id";
    case Fields::kPrevChangeId:
      return "prev_change_id";
    case Fields::kBids:
      return "bids";
    case Fields::kAsks:
      return "asks";
    case Fields::kPrice:
      return "price";
    case Fields::kAmount:
      return "amount";
    case Fields::kDirection:
      return "direction";
    case Fields::kMarkPrice:
      return "mark_price";
    case Fields::kBidPrice:
      return "best_bid_price";
    case Fields::kBidAmount:
      return "best_bid_amount";
    case Fields::kAskPrice:
      return "best_ask_price";
    case Fields::kAskAmount:
      return "best_ask_amount";
    default:
      return "?";
  }
}

}  // namespace

struct Decoder::State : json_fields::FieldReaders<Decoder::State, Fields> {
  explicit State(DecoderLimits l)
      : limits(l),
        parser(make_frame_parser()),
        bids(new PriceLevel[l.max_levels_per_side]),
        asks(new PriceLevel[l.max_levels_per_side]) {}

  DecoderLimits limits;
  od::parser parser;
  std::unique_ptr<PriceLevel[]> bids;
  std::unique_ptr<PriceLevel[]> asks;
  MarketEvent event;
  EventSink* sink = nullptr;
  DecodeError last_error = DecodeError::kNone;
  json_fields::ErrorText<224> error;

  // What the top level of a message says, gathered in one pass: `params` may come before `method`.
  struct Envelope {
    std::string_view method;
    bool has_method = false;
    bool has_id = false;
    bool has_result = false;
    bool has_error = false;
    bool has_params = false;
    std::int64_t id = -1;
    std::int64_t error_code = 0;
    std::string_view error_message;
    std::string_view channel_name;
    bool has_channel = false;
    std::string_view params_type;  // heartbeat notifications: "heartbeat" | "test_request"
    bool data_done = false;        // data decoded during the pass
    std::string_view data_raw;     // data met before the method/channel: decoded after the pass
    bool data_is_array = false;
  };

  // ---- errors ----

  DecodeError fail(DecodeError code, std::string_view a, std::string_view b = {}, std::string_view c = {},
                   std::string_view d = {}, std::string_view e = {}) noexcept {
    error.set({a, b, c, d, e});
    return code;
  }

  DecodeError fail_json(simdjson::error_code e, std::string_view where) noexcept {
    return fail(is_type_error(e) ? DecodeError::kWrongType : DecodeError::kInvalidJson, where, ": ",
                simdjson::error_message(e));
  }

  DecodeError require(const Fields& f, std::uint32_t required, std::string_view what) noexcept {
    if (const std::uint32_t bad = f.bad & required) {
      return fail(
          f.bad_error, what, " field \"", f.bad_key,
          f.bad_error == DecodeError::kBadDecimal ? "\": not an exact decimal" : "\": wrong JSON type");
    }
    if (const std::uint32_t missing = required & ~f.seen) {
      return fail(DecodeError::kMissingField, what, ": missing field \"",
                  field_name(missing & (~missing + 1)), "\"");
    }
    return DecodeError::kNone;
  }

  // ---- field readers: broken JSON aborts the decode; a wrong type is recorded in `f.bad` ----

  // A JSON number token to an exact Decimal. `allow_null`: null is recorded in `f.null`, not as bad.
  DecodeError read_number(od::value& v, Fields& f, std::uint32_t bit, std::string_view key, Decimal& out,
                          bool allow_null = false) noexcept {
    od::json_type type;
    if (auto e = v.type().get(type)) return fail_json(e, key);
    if (type != od::json_type::number) {
      if (type == od::json_type::null && allow_null) {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) return fail_json(e, key);
        if (is_null) {
          f.null |= bit;
          return DecodeError::kNone;
        }
      }
      mark_bad(f, bit, DecodeError::kWrongType, key);
      return DecodeError::kNone;
    }
    const auto decimal = parse_json_number(trim_token(v.raw_json_token()));
    if (!decimal) {
      mark_bad(f, bit, DecodeError::kBadDecimal, key);
      return DecodeError::kNone;
    }
    out = *decimal;
    f.seen |= bit;
    return DecodeError::kNone;
  }

  // Book levels: [action, price, amount] (book.{inst}.{interval}) or [price, amount] (grouped books).
  // "delete" carries the old amount or 0; the level's size is 0 either way, which is what deletes it.
  DecodeError read_levels(od::value& v, Fields& f, std::uint32_t bit, std::string_view key,
                          PriceLevel* storage, std::size_t& count) noexcept {
    od::array levels;
    bool got = false;
    if (auto r = read_value(v, f, bit, key, levels, got); !got) return r;
    count = 0;
    for (auto level_result : levels) {
      od::value level_value;
      if (auto e = std::move(level_result).get(level_value)) return fail_json(e, key);
      od::array level;
      if (auto e = level_value.get_array().get(level)) {
        if (!is_type_error(e)) return fail_json(e, key);
        return fail(DecodeError::kWrongType, "field \"", key, "\": a level is not an array");
      }
      if (count == limits.max_levels_per_side)
        return fail(DecodeError::kTooManyLevels, "field \"", key, "\": more levels than max_levels_per_side");
      bool is_delete = false;
      bool has_action = false;
      Decimal numbers[2];
      int n = 0;
      for (auto part_result : level) {
        od::value part;
        if (auto e = std::move(part_result).get(part)) return fail_json(e, key);
        if (n == 0 && !has_action) {
          od::json_type type;
          if (auto e = part.type().get(type)) return fail_json(e, key);
          if (type == od::json_type::string) {
            od::raw_json_string raw;
            if (auto e = part.get_raw_json_string().get(raw)) return fail_json(e, key);
            const std::string_view action = raw_text(raw.raw());
            if (action == "delete") {
              is_delete = true;
            } else if (action != "new" && action != "change") {
              return fail(DecodeError::kWrongType, "field \"", key, "\": unknown level action \"", action,
                          "\"");
            }
            has_action = true;
            continue;
          }
        }
        if (n == 2) return fail(DecodeError::kWrongType, "field \"", key, "\": a level has extra elements");
        Fields scratch;
        if (auto r = read_number(part, scratch, 1, key, numbers[n]); r != DecodeError::kNone) return r;
        if (scratch.bad) {
          return fail(scratch.bad_error, "field \"", key,
                      scratch.bad_error == DecodeError::kBadDecimal ? "\": level number not an exact decimal"
                                                                    : "\": level element is not a number");
        }
        ++n;
      }
      if (n != 2)
        return fail(DecodeError::kWrongType, "field \"", key, "\": a level needs a price and an amount");
      storage[count++] = PriceLevel{numbers[0], is_delete ? Decimal(0, numbers[1].exponent()) : numbers[1]};
    }
    f.seen |= bit;
    return DecodeError::kNone;
  }

  // ---- the single pass over one `data` object ----

  DecodeError scan_data(od::object& object, Fields& f) noexcept {
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "data");
      const std::string_view key = raw_text(field.key().raw());
      od::value& v = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "timestamp") {
        r = read_integer(v, f, Fields::kTimestamp, key, f.timestamp);
      } else if (key == "instrument_name") {
        r = read_text(v, f, Fields::kInstrument, key, f.instrument);
      } else if (key == "price") {
        r = read_number(v, f, Fields::kPrice, key, f.price);
      } else if (key == "amount") {
        r = read_number(v, f, Fields::kAmount, key, f.amount);
      } else if (key == "best_bid_price") {
        r = read_number(v, f, Fields::kBidPrice, key, f.bid_price, true);
      } else if (key == "best_bid_amount") {
        r = read_number(v, f, Fields::kBidAmount, key, f.bid_amount, true);
      } else if (key == "best_ask_price") {
        r = read_number(v, f, Fields::kAskPrice, key, f.ask_price, true);
      } else if (key == "best_ask_amount") {
        r = read_number(v, f, Fields::kAskAmount, key, f.ask_amount, true);
      } else if (key == "change_id") {
        r = read_integer(v, f, Fields::kChangeId, key, f.change_id);
      } else if (key == "prev_change_id") {
        r = read_integer(v, f, Fields::kPrevChangeId, key, f.prev_change_id);
      } else if (key == "bids") {
        r = read_levels(v, f, Fields::kBids, key, bids.get(), f.bid_count);
      } else if (key == "asks") {
        r = read_levels(v, f, Fields::kAsks, key, asks.get(), f.ask_count);
      } else if (key == "type") {
        r = read_text(v, f, Fields::kType, key, f.type);
      } else if (key == "direction") {
        r = read_text(v, f, Fields::kDirection, key, f.direction);
      } else if (key == "trade_seq") {
        r = read_integer(v, f, Fields::kTradeSeq, key, f.trade_seq);
      } else if (key == "trade_id") {
        r = read_text(v, f, Fields::kTradeId, key, f.trade_id);
      } else if (key == "liquidation") {
        r = read_text(v, f, Fields::kLiquidation, key, f.liquidation);
      } else if (key == "mark_price") {
        r = read_number(v, f, Fields::kMarkPrice, key, f.mark_price, true);
      } else if (key == "index_price") {
        r = read_number(v, f, Fields::kIndexPrice, key, f.index_price, true);
      } else if (key == "estimated_delivery_price") {
        r = read_number(v, f, Fields::kDelivery, key, f.delivery, true);
      } else if (key == "funding_8h") {
        r = read_number(v, f, Fields::kFunding8h, key, f.funding_8h, true);
      } else if (key == "current_funding") {
        r = read_number(v, f, Fields::kCurrentFunding, key, f.current_funding, true);
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  // ---- building events ----

  void begin_event(EventKind kind, const Channel& channel, std::string_view channel_name, const Fields& f,
                   std::string_view type_name) noexcept {
    event.kind = kind;
    event.symbol = (f.seen & Fields::kInstrument) ? f.instrument : channel.instrument;
    event.stream = channel_name;
    event.type_name = type_name;
    event.exchange_ts_ns = (f.seen & Fields::kTimestamp) ? f.timestamp * kNsPerMs : 0;
    event.event_ts_ns = 0;
  }

  DecodeError check_timestamp(const Fields& f, std::string_view what) noexcept {
    if ((f.seen & Fields::kTimestamp) && (f.timestamp < 0 || f.timestamp > kMaxTimestampMs))
      return fail(DecodeError::kWrongType, what, ": timestamp out of range");
    return DecodeError::kNone;
  }

  DecodeError emit_book(const Channel& channel, std::string_view name, const Fields& f) noexcept {
    const bool grouped = channel.kind == ChannelKind::kGroupedBook;
    if (auto r = require(f,
                         Fields::kChangeId | Fields::kBids | Fields::kAsks |
                             (grouped ? 0u : static_cast<std::uint32_t>(Fields::kType)),
                         "book");
        r != DecodeError::kNone) {
      return r;
    }
    if (auto r = check_timestamp(f, "book"); r != DecodeError::kNone) return r;
    const std::span<const PriceLevel> bid_levels{bids.get(), f.bid_count};
    const std::span<const PriceLevel> ask_levels{asks.get(), f.ask_count};
    if (grouped || f.type == "snapshot") {
      begin_event(EventKind::kBookSnapshot, channel, name, f, grouped ? channel.prefix : f.type);
      event.snapshot = BookSnapshot{bid_levels, ask_levels, f.change_id, channel.depth, std::nullopt};
    } else if (f.type == "change") {
      if (auto r = require(f, Fields::kPrevChangeId, "book change"); r != DecodeError::kNone) return r;
      begin_event(EventKind::kBookDelta, channel, name, f, f.type);
      event.delta =
          BookDelta{bid_levels, ask_levels, f.change_id, f.change_id, f.prev_change_id, std::nullopt};
    } else {
      return fail(DecodeError::kWrongType, "book: field \"type\" is \"", f.type,
                  "\", expected \"snapshot\" or \"change\"");
    }
    if (event.symbol.empty()) return fail(DecodeError::kMissingField, "book: no instrument name");
    sink->on_event(event);
    return DecodeError::kNone;
  }

  DecodeError emit_trade(const Channel& channel, std::string_view name, const Fields& f,
                         std::size_t index) noexcept {
    char where[32] = "trades[";
    std::size_t len = 7;
    {
      char digits[20];
      std::size_t n = 0;
      std::size_t i = index;
      do {
        digits[n++] = static_cast<char>('0' + i % 10);
        i /= 10;
      } while (i != 0 && n < sizeof(digits));
      while (n != 0 && len + 2 < sizeof(where)) where[len++] = digits[--n];
      where[len++] = ']';
    }
    const std::string_view what(where, len);
    if (auto r = require(f, Fields::kPrice | Fields::kAmount | Fields::kDirection | Fields::kTimestamp, what);
        r != DecodeError::kNone) {
      return r;
    }
    if (auto r = check_timestamp(f, what); r != DecodeError::kNone) return r;
    const Side taker = f.direction == "buy"    ? Side::kBuy
                       : f.direction == "sell" ? Side::kSell
                                               : Side::kUnknown;
    if (taker == Side::kUnknown)
      return fail(DecodeError::kWrongType, what, " field \"direction\": expected \"buy\" or \"sell\"");
    std::uint64_t id = 0;
    if (!((f.seen & Fields::kTradeId) && trade_id_number(f.trade_id, id))) {
      if (!(f.seen & Fields::kTradeSeq))
        return fail(DecodeError::kMissingField, what, ": neither a numeric \"trade_id\" nor \"trade_seq\"");
      id = f.trade_seq;
    }
    // Which parties were liquidated: the taker's forced order has the taker's side, the maker's the other.
    bool taker_liquidated = false;
    bool maker_liquidated = false;
    if (f.seen & Fields::kLiquidation) {
      if (f.liquidation == "T") {
        taker_liquidated = true;
      } else if (f.liquidation == "M") {
        maker_liquidated = true;
      } else if (f.liquidation == "MT") {
        taker_liquidated = maker_liquidated = true;
      } else {
        return fail(DecodeError::kWrongType, what, " field \"liquidation\": expected \"M\", \"T\" or \"MT\"");
      }
    }
    begin_event(EventKind::kTrade, channel, name, f, channel.prefix);
    if (event.symbol.empty()) return fail(DecodeError::kMissingField, what, ": no instrument name");
    event.trade = Trade{f.price, f.amount, taker, id, kNoUpdateId, kNoUpdateId};
    sink->on_event(event);
    for (const bool liquidated_taker : {true, false}) {
      if (liquidated_taker ? !taker_liquidated : !maker_liquidated) continue;
      const Side maker = taker == Side::kBuy ? Side::kSell : Side::kBuy;
      begin_event(EventKind::kLiquidation, channel, name, f, channel.prefix);
      event.liquidation =
          Liquidation{liquidated_taker ? taker : maker, f.price, f.price, f.amount, f.amount, f.liquidation};
      sink->on_event(event);
    }
    return DecodeError::kNone;
  }

  // A best bid/ask from a ticker or quote. A side without orders comes as null or 0 (options books are
  // often one-sided): it becomes price 0, size 0, which the book state reads as "no level".
  DecodeError emit_best_bid_ask(const Channel& channel, std::string_view name, const Fields& f,
                                std::string_view what) noexcept {
    constexpr std::uint32_t kAll =
        Fields::kBidPrice | Fields::kBidAmount | Fields::kAskPrice | Fields::kAskAmount;
    Fields present = f;
    present.seen |= f.null & kAll;
    if (auto r = require(present, kAll, what); r != DecodeError::kNone) return r;
    begin_event(EventKind::kBestBidAsk, channel, name, f, channel.prefix);
    if (event.symbol.empty()) return fail(DecodeError::kMissingField, what, ": no instrument name");
    const auto value = [&f](std::uint32_t bit, Decimal d) { return (f.null & bit) ? Decimal() : d; };
    event.best_bid_ask = BestBidAsk{
        value(Fields::kBidPrice, f.bid_price), value(Fields::kBidAmount, f.bid_amount),
        value(Fields::kAskPrice, f.ask_price), value(Fields::kAskAmount, f.ask_amount), kNoUpdateId};
    sink->on_event(event);
    return DecodeError::kNone;
  }

  // Funding: `funding_8h` is the rate over 8 hours, the unit Binance's `r` and Bybit's fundingRate use, so it
  // is preferred; `current_funding` (the instantaneous rate) stands in when only it is sent. Options and
  // futures send neither: funding_rate stays empty. Deribit funds perpetuals continuously, so there is no
  // next funding time.
  DecodeError emit_ticker(const Channel& channel, std::string_view name, const Fields& f) noexcept {
    constexpr std::uint32_t kOptional = Fields::kIndexPrice | Fields::kDelivery | Fields::kFunding8h |
                                        Fields::kCurrentFunding | Fields::kTimestamp;
    if (auto r = require(f, Fields::kMarkPrice | (f.bad & kOptional), "ticker"); r != DecodeError::kNone)
      return r;
    if (auto r = check_timestamp(f, "ticker"); r != DecodeError::kNone) return r;
    begin_event(EventKind::kMarkFunding, channel, name, f, channel.prefix);
    if (event.symbol.empty()) return fail(DecodeError::kMissingField, "ticker: no instrument name");
    const auto optional = [&f](std::uint32_t bit, Decimal d) {
      return (f.seen & bit) ? std::optional<Decimal>(d) : std::nullopt;
    };
    event.mark_funding.mark_price = f.mark_price;
    event.mark_funding.index_price = optional(Fields::kIndexPrice, f.index_price);
    event.mark_funding.estimated_settle_price = optional(Fields::kDelivery, f.delivery);
    event.mark_funding.funding_rate = (f.seen & Fields::kFunding8h)
                                          ? std::optional<Decimal>(f.funding_8h)
                                          : optional(Fields::kCurrentFunding, f.current_funding);
    event.mark_funding.next_funding_ts_ns = 0;
    sink->on_event(event);
    return emit_best_bid_ask(channel, name, f, "ticker");
  }

  // One channel's `data`: an object, or for trades an array of objects. `V` is a value or a document.
  template <class V>
  DecodeError decode_data(V& data, std::string_view name) noexcept {
    const Channel channel = parse_channel(name);
    if (channel.kind == ChannelKind::kOther) {
      // Valid Deribit data the engine does not use (deribit_price_index, perpetual, markprice.options...).
      event.kind = EventKind::kIgnored;
      event.symbol = channel.instrument;
      event.stream = name;
      event.type_name = channel.prefix;
      sink->on_event(event);
      return DecodeError::kNone;
    }
    if (channel.kind == ChannelKind::kTrades) {
      od::array trades;
      if (auto e = data.get_array().get(trades)) {
        if (!is_type_error(e)) return fail_json(e, "data");
        return fail(DecodeError::kWrongType, "trades: \"data\" is not an array");
      }
      std::size_t index = 0;
      for (auto trade_result : trades) {
        od::value trade_value;
        if (auto e = std::move(trade_result).get(trade_value)) return fail_json(e, "trades");
        od::object trade;
        if (auto e = trade_value.get_object().get(trade)) {
          if (!is_type_error(e)) return fail_json(e, "trades");
          return fail(DecodeError::kNotAnObject, "trades: an element of \"data\" is not an object");
        }
        Fields f;
        if (auto r = scan_data(trade, f); r != DecodeError::kNone) return r;
        if (auto r = emit_trade(channel, name, f, index++); r != DecodeError::kNone) return r;
      }
      return DecodeError::kNone;
    }
    od::object object;
    if (auto e = data.get_object().get(object)) {
      if (!is_type_error(e)) return fail_json(e, "data");
      return fail(DecodeError::kNotAnObject, channel.prefix, ": \"data\" is not an object");
    }
    Fields f;
    if (auto r = scan_data(object, f); r != DecodeError::kNone) return r;
    switch (channel.kind) {
      case ChannelKind::kBook:
      case ChannelKind::kGroupedBook:
        return emit_book(channel, name, f);
      case ChannelKind::kTicker:
        return emit_ticker(channel, name, f);
      case ChannelKind::kQuote:
        if (auto r = check_timestamp(f, "quote"); r != DecodeError::kNone) return r;
        return emit_best_bid_ask(channel, name, f, "quote");
      default:
        return DecodeError::kNone;
    }
  }

  // ---- the top level ----

  bool is_subscription(const Envelope& env) const noexcept {
    return env.has_method && env.method == "subscription";
  }

  DecodeError scan_params(od::value& v, Envelope& env) noexcept {
    od::object params;
    if (auto e = v.get_object().get(params)) {
      if (!is_type_error(e)) return fail_json(e, "params");
      // Client requests may carry array params; they are recorded, not decoded.
      return DecodeError::kNone;
    }
    env.has_params = true;
    for (auto field_result : params) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "params");
      const std::string_view key = raw_text(field.key().raw());
      od::value& value = field.value();
      if (key == "channel") {
        od::raw_json_string raw;
        if (auto e = value.get_raw_json_string().get(raw)) {
          if (!is_type_error(e)) return fail_json(e, "params.channel");
          return fail(DecodeError::kWrongType, "field \"params.channel\": expected a string");
        }
        env.channel_name = raw_text(raw.raw());
        env.has_channel = true;
      } else if (key == "type") {
        od::raw_json_string raw;
        if (value.get_raw_json_string().get(raw) == simdjson::SUCCESS) env.params_type = raw_text(raw.raw());
      } else if (key == "data") {
        if (is_subscription(env) && env.has_channel) {
          // The order Deribit writes: method, then params with channel before data. Decoded in place.
          if (auto r = decode_data(value, env.channel_name); r != DecodeError::kNone) return r;
          env.data_done = true;
          continue;
        }
        od::json_type type;
        if (auto e = value.type().get(type)) return fail_json(e, "params.data");
        if (type == od::json_type::object) {
          od::object o;
          if (auto e = value.get_object().get(o)) return fail_json(e, "params.data");
          if (auto e = o.raw_json().get(env.data_raw)) return fail_json(e, "params.data");
        } else if (type == od::json_type::array) {
          od::array a;
          if (auto e = value.get_array().get(a)) return fail_json(e, "params.data");
          if (auto e = a.raw_json().get(env.data_raw)) return fail_json(e, "params.data");
          env.data_is_array = true;
        } else {
          return fail(DecodeError::kWrongType, "field \"params.data\": expected an object or an array");
        }
      }
    }
    return DecodeError::kNone;
  }

  DecodeError scan_error(od::value& v, Envelope& env) noexcept {
    od::object object;
    if (auto e = v.get_object().get(object)) {
      if (!is_type_error(e)) return fail_json(e, "error");
      return fail(DecodeError::kWrongType, "field \"error\": expected an object");
    }
    bool has_code = false;
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "error");
      const std::string_view key = raw_text(field.key().raw());
      od::value& value = field.value();
      if (key == "code") {
        if (auto e = value.get_int64().get(env.error_code)) {
          if (!is_type_error(e)) return fail_json(e, "error.code");
          return fail(DecodeError::kWrongType, "field \"error.code\": expected an integer");
        }
        has_code = true;
      } else if (key == "message") {
        // Unescaped: a free-text message. The view lives in the parser's string buffer until the next decode.
        if (auto e = value.get_string().get(env.error_message)) {
          if (!is_type_error(e)) return fail_json(e, "error.message");
          return fail(DecodeError::kWrongType, "field \"error.message\": expected a string");
        }
      }
    }
    if (!has_code) return fail(DecodeError::kMissingField, "error reply: missing field \"error.code\"");
    env.has_error = true;
    return DecodeError::kNone;
  }

  DecodeError scan_top(od::object& object, Envelope& env) noexcept {
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "object");
      const std::string_view key = raw_text(field.key().raw());
      od::value& v = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "method") {
        od::raw_json_string raw;
        if (auto e = v.get_raw_json_string().get(raw)) {
          if (!is_type_error(e)) return fail_json(e, "method");
          return fail(DecodeError::kWrongType, "field \"method\": expected a string");
        }
        env.method = raw_text(raw.raw());
        env.has_method = true;
      } else if (key == "params") {
        r = scan_params(v, env);
      } else if (key == "id") {
        std::int64_t id = -1;
        if (v.get_int64().get(id) == simdjson::SUCCESS) env.id = id;  // ids may also be strings or null
        env.has_id = true;
      } else if (key == "result") {
        env.has_result = true;  // a channel list, "ok", or a version object: not needed
      } else if (key == "error") {
        r = scan_error(v, env);
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  void emit_control(EventKind kind, std::string_view type_name) noexcept {
    event.kind = kind;
    event.type_name = type_name;
    sink->on_event(event);
  }

  DecodeError build(const Envelope& env, const char* data, std::size_t capacity) noexcept {
    if (env.has_error) {
      event.kind = EventKind::kVenueError;
      event.error = VenueError{env.error_code, env.error_message};
      event.ack.request_id = env.id;
      sink->on_event(event);
      return DecodeError::kNone;
    }
    if (env.has_method) {
      if (env.method == "subscription") {
        if (env.data_done) return DecodeError::kNone;
        if (!env.has_channel)
          return fail(DecodeError::kMissingField, "subscription: missing field \"params.channel\"");
        if (env.data_raw.empty())
          return fail(DecodeError::kMissingField, "subscription: missing field \"params.data\"");
        // `data` came before the channel or the method: parse it again now that its channel is known. The
        // bytes after it (the rest of the frame, then the ring's padding) satisfy simdjson's padding rule.
        const std::size_t remaining = capacity - static_cast<std::size_t>(env.data_raw.data() - data);
        od::document doc;
        if (auto e = parser.iterate(env.data_raw.data(), env.data_raw.size(), remaining).get(doc))
          return fail_json(e, "params.data");
        return decode_data(doc, env.channel_name);
      }
      if (env.method == "heartbeat") {
        if (env.params_type != "heartbeat" && env.params_type != "test_request")
          return fail(DecodeError::kUnknownMessage, "heartbeat: params.type \"", env.params_type,
                      "\" is neither \"heartbeat\" nor \"test_request\"");
        emit_control(EventKind::kIgnored, env.params_type);
        return DecodeError::kNone;
      }
      if (env.has_id) {
        // A request ({"id":0,"method":"public/subscribe",..}): what captures record of the client's side.
        emit_control(EventKind::kIgnored, env.method);
        return DecodeError::kNone;
      }
      return fail(DecodeError::kUnknownMessage, "unknown notification method \"", env.method, "\"");
    }
    if (env.has_result) {
      event.ack.request_id = env.id;
      emit_control(EventKind::kSubscribeAck, "result");
      return DecodeError::kNone;
    }
    return fail(DecodeError::kUnknownMessage,
                "not a JSON-RPC message this decoder knows: no \"method\", \"result\" or \"error\"");
  }

  DecodeError decode(const char* data, std::size_t length, std::size_t capacity, std::int64_t recv_ns,
                     EventSink& out) noexcept {
    sink = &out;
    event.kind = EventKind::kNone;
    event.symbol = {};
    event.stream = {};
    event.type_name = {};
    event.exchange_ts_ns = 0;
    event.event_ts_ns = 0;
    event.recv_ns = recv_ns;
    event.ack.request_id = -1;
    error.clear();
    if (length == 0) return fail(DecodeError::kEmptyFrame, "empty frame");
    od::document doc;
    if (auto e = parser.iterate(data, length, capacity).get(doc)) return fail_json(e, "document");
    od::object object;
    if (auto e = doc.get_object().get(object)) {
      if (e != simdjson::INCORRECT_TYPE) return fail_json(e, "document");
      return fail_not_object(doc);
    }
    Envelope env;
    if (auto r = scan_top(object, env); r != DecodeError::kNone) return r;
    return build(env, data, capacity);
  }
};

Decoder::Decoder(DecoderLimits limits) : state_(std::make_unique<State>(limits)) {}

Decoder::~Decoder() = default;

bool Decoder::decode(std::string_view padded, std::int64_t recv_ns, std::string_view /*stream_hint*/,
                     EventSink& sink) noexcept {
  // Deribit frames name their channel, so the stream hint of raw single-stream connections is not needed.
  State& s = *state_;
  s.last_error = s.decode(padded.data(), padded.size(), padded.size() + engine::kFramePadding, recv_ns, sink);
  return s.last_error == DecodeError::kNone;
}

bool Decoder::decode_rest_snapshot(std::string_view /*padded*/, std::string_view /*symbol*/,
                                   std::int64_t /*recv_ns*/, EventSink& /*sink*/) noexcept {
  State& s = *state_;
  s.last_error =
      s.fail(DecodeError::kNotSupported,
             "deribit: books resync by resubscribing (the first notification is a snapshot); there is "
             "no REST snapshot to decode");
  return false;
}

std::string_view Decoder::error_message() const noexcept {
  return state_->error.view();
}

DecodeError Decoder::last_error() const noexcept {
  return state_->last_error;
}

std::unique_ptr<VenueDecoder> make_deribit_decoder() {
  return std::make_unique<Decoder>();
}

}  // namespace sigflow::io::deribit
