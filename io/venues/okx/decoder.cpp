#include "io/venues/okx/decoder.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <limits>

#include "engine/frame_ring.hpp"
#include "io/venues/frame_parser.hpp"
#include "io/venues/json_fields.hpp"

namespace sigflow::io::okx {

namespace od = simdjson::ondemand;
using json_fields::is_type_error;
using json_fields::raw_text;

std::string_view to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::kBadInteger:
      return "bad_integer";
    case DecodeError::kUnknownChannel:
      return "unknown_channel";
    case DecodeError::kUnknownEvent:
      return "unknown_event";
    case DecodeError::kUnknownMessage:
      return "unknown_message";
    default:
      return json_fields::common_error_name(error);
  }
}

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
// Millisecond timestamps above this do not fit in int64 nanoseconds (year 2262); only a corrupted or
// hostile frame sends one, and multiplying it would be undefined behaviour.
constexpr std::int64_t kMaxTimestampMs = INT64_MAX / kNsPerMs;

enum class Channel : std::uint8_t {
  kUnknown,
  kBooks,         // books: 400-level snapshot, then 100 ms incremental updates
  kBooks5,        // books5: 5-level full snapshot every 100 ms, no action
  kBooksL2Tbt,    // books-l2-tbt (VIP5+): 400 levels tick by tick, same shape as books
  kBooks50L2Tbt,  // books50-l2-tbt (VIP4+): 50 levels tick by tick
  kBboTbt,        // bbo-tbt: top of book, 10 ms
  kTrades,
  kTickers,
  kFundingRate,
  kMarkPrice,
  kIndexTickers,
  kLiquidationOrders,
  kUnused,  // valid public channels the engine does not read (open-interest, candles, ...)
};

Channel channel_of(std::string_view name) noexcept {
  struct Entry {
    std::string_view name;
    Channel channel;
  };
  static constexpr Entry kChannels[] = {
      {"books", Channel::kBooks},
      {"books5", Channel::kBooks5},
      {"books-l2-tbt", Channel::kBooksL2Tbt},
      {"books50-l2-tbt", Channel::kBooks50L2Tbt},
      {"bbo-tbt", Channel::kBboTbt},
      {"trades", Channel::kTrades},
      {"tickers", Channel::kTickers},
      {"funding-rate", Channel::kFundingRate},
      {"mark-price", Channel::kMarkPrice},
      {"index-tickers", Channel::kIndexTickers},
      {"liquidation-orders", Channel::kLiquidationOrders},
      {"open-interest", Channel::kUnused},
      {"price-limit", Channel::kUnused},
      {"estimated-price", Channel::kUnused},
      {"opt-summary", Channel::kUnused},
      {"instruments", Channel::kUnused},
      {"status", Channel::kUnused},
  };
  for (const Entry& e : kChannels)
    if (e.name == name) return e.channel;
  if (name.starts_with("candle") || name.starts_with("mark-price-candle") || name.starts_with("index-candle"))
    return Channel::kUnused;
  return Channel::kUnknown;
}

bool is_book(Channel c) noexcept {
  return c == Channel::kBooks || c == Channel::kBooks5 || c == Channel::kBooksL2Tbt ||
         c == Channel::kBooks50L2Tbt;
}

// Books whose frames say whether they are a snapshot or an update.
bool has_action(Channel c) noexcept {
  return is_book(c) && c != Channel::kBooks5;
}

// The N of a channel's visible book, for BookSnapshot::depth.
std::uint16_t book_depth(Channel c) noexcept {
  switch (c) {
    case Channel::kBooks5:
      return 5;
    case Channel::kBooks50L2Tbt:
      return 50;
    default:
      return 400;
  }
}

template <class Int>
bool parse_integer(std::string_view text, Int& out) noexcept {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The fields of one `data` element (or `details` entry), gathered in a single pass in any key order.
struct Element {
  enum Bit : std::uint32_t {
    kAsks = 1u << 0,
    kBids = 1u << 1,
    kTs = 1u << 2,
    kChecksum = 1u << 3,
    kSeqId = 1u << 4,
    kPrevSeqId = 1u << 5,
    kInstId = 1u << 6,
    kTradeId = 1u << 7,
    kPx = 1u << 8,
    kSz = 1u << 9,
    kSide = 1u << 10,
    kBidPx = 1u << 11,
    kBidSz = 1u << 12,
    kAskPx = 1u << 13,
    kAskSz = 1u << 14,
    kFundingRate = 1u << 15,
    kFundingTime = 1u << 16,
    kMarkPx = 1u << 17,
    kIdxPx = 1u << 18,
    kDetails = 1u << 19,
    kBkPx = 1u << 20,
  };

  std::uint32_t seen = 0;
  std::size_t ask_count = 0, bid_count = 0;
  std::int64_t ts = 0;
  std::int64_t checksum = 0;
  std::int64_t seq_id = 0, prev_seq_id = 0;
  std::string_view inst_id;
  std::uint64_t trade_id = 0;
  Decimal px, sz, bid_px, bid_sz, ask_px, ask_sz, funding_rate, mark_px, idx_px, bk_px;
  std::int64_t funding_time = 0;
  Side side = Side::kUnknown;
};

constexpr std::string_view element_field_name(std::uint32_t bit) noexcept {
  switch (bit) {
    case Element::kAsks:
      return "asks";
    case Element::kBids:
      return "bids";
    case Element::kTs:
      return "ts";
    case Element::kSeqId:
      return "seqId";
    case Element::kPrevSeqId:
      return "prevSeqId";
    case Element::kInstId:
      return "instId";
    case Element::kTradeId:
      return "tradeId";
    case Element::kPx:
      return "px";
    case Element::kSz:
      return "sz";
    case Element::kSide:
      return "side";
    case Element::kBidPx:
      return "bidPx";
    case Element::kBidSz:
      return "bidSz";
    case Element::kAskPx:
      return "askPx";
    case Element::kAskSz:
      return "askSz";
    case Element::kFundingRate:
      return "fundingRate";
    case Element::kFundingTime:
      return "fundingTime";
    case Element::kMarkPx:
      return "markPx";
    case Element::kIdxPx:
      return "idxPx";
    case Element::kDetails:
      return "details";
    case Element::kBkPx:
      return "bkPx";
    default:
      return "?";
  }
}

// The top level of a frame.
struct Frame {
  std::string_view channel_name;
  Channel channel = Channel::kUnknown;
  std::string_view inst_id;    // arg.instId
  std::string_view inst_type;  // arg.instType (liquidation-orders)
  bool has_arg = false;
  bool has_action = false;
  bool snapshot = false;  // action "snapshot" (vs "update")
  std::string_view action;
  std::string_view event;
  bool has_code = false;
  std::int64_t code = 0;
  std::string_view msg;
  std::int64_t request_id = -1;
  bool has_data = false;
  bool data_done = false;
};

}  // namespace

struct Decoder::State {
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
  std::int64_t recv_ns = 0;
  char stream_buffer[128] = {};
  std::string_view stream;
  json_fields::ErrorText<192> error;
  DecodeError last = DecodeError::kNone;

  // ---- errors ----

  DecodeError fail(DecodeError code, std::string_view a, std::string_view b = {}, std::string_view c = {},
                   std::string_view d = {}, std::string_view e = {}) noexcept {
    error.set({a, b, c, d, e});
    return code;
  }

  DecodeError fail_json(simdjson::error_code e, std::string_view where) noexcept {
    return fail(is_type_error(e) ? DecodeError::kWrongType : DecodeError::kInvalidJson, "field \"", where,
                "\": ", simdjson::error_message(e));
  }

  DecodeError fail_type(std::string_view key, std::string_view expected) noexcept {
    return fail(DecodeError::kWrongType, "field \"", key, "\": expected ", expected);
  }

  // ---- value readers: each returns kNone or the error of the frame ----

  DecodeError read_raw(od::value& v, std::string_view key, std::string_view& out) noexcept {
    od::raw_json_string raw;
    if (auto e = v.get_raw_json_string().get(raw)) {
      if (is_type_error(e)) return fail_type(key, "a string");
      return fail_json(e, key);
    }
    out = raw_text(raw.raw());
    return DecodeError::kNone;
  }

  DecodeError read_decimal(od::value& v, std::string_view key, Decimal& out) noexcept {
    std::string_view text;
    if (auto r = read_raw(v, key, text); r != DecodeError::kNone) {
      if (r == DecodeError::kWrongType) return fail_type(key, "a decimal string");
      return r;
    }
    const auto decimal = Decimal::parse(text);
    if (!decimal)
      return fail(DecodeError::kBadDecimal, "field \"", key, "\": \"", text, "\" is not a decimal");
    out = *decimal;
    return DecodeError::kNone;
  }

  // OKX writes timestamps, trade ids and error codes as strings of digits ("1597026383085", "60012") and
  // sequence ids as numbers; both forms are accepted wherever an integer belongs.
  template <class Int>
  DecodeError read_integer(od::value& v, std::string_view key, Int& out) noexcept {
    od::json_type type;
    if (auto e = v.type().get(type)) return fail_json(e, key);
    if (type == od::json_type::number) {
      simdjson::error_code e;
      if constexpr (std::is_signed_v<Int>) {
        e = v.get_int64().get(out);
      } else {
        e = v.get_uint64().get(out);
      }
      if (e) {
        if (is_type_error(e)) return fail_type(key, "an integer");
        return fail_json(e, key);
      }
      return DecodeError::kNone;
    }
    if (type != od::json_type::string) return fail_type(key, "an integer or a string of digits");
    std::string_view text;
    if (auto r = read_raw(v, key, text); r != DecodeError::kNone) return r;
    if (!parse_integer(text, out))
      return fail(DecodeError::kBadInteger, "field \"", key, "\": \"", text, "\" is not an integer");
    return DecodeError::kNone;
  }

  DecodeError read_timestamp_ms(od::value& v, std::string_view key, std::int64_t& out) noexcept {
    if (auto r = read_integer(v, key, out); r != DecodeError::kNone) return r;
    if (out < 0 || out > kMaxTimestampMs)
      return fail(DecodeError::kBadInteger, "field \"", key, "\": timestamp out of range");
    return DecodeError::kNone;
  }

  // [[px, sz, "0", numOrders], ...]: the deprecated liquidated-orders count and the order count are skipped.
  DecodeError read_levels(od::value& v, std::string_view key, PriceLevel* storage,
                          std::size_t& count) noexcept {
    od::array levels;
    if (auto e = v.get_array().get(levels)) {
      if (is_type_error(e)) return fail_type(key, "an array of levels");
      return fail_json(e, key);
    }
    count = 0;
    for (auto level_result : levels) {
      od::array level;
      if (auto e = level_result.get_array().get(level)) {
        if (is_type_error(e)) return fail_type(key, "levels as [price, size, ...] arrays");
        return fail_json(e, key);
      }
      if (count == limits.max_levels_per_side)
        return fail(DecodeError::kTooManyLevels, "field \"", key, "\": more levels than max_levels_per_side");
      PriceLevel& out = storage[count];
      int index = 0;
      for (auto item_result : level) {
        od::value item;
        if (auto e = std::move(item_result).get(item)) return fail_json(e, key);
        if (index == 0) {
          if (auto r = read_decimal(item, key, out.price); r != DecodeError::kNone) return r;
        } else if (index == 1) {
          if (auto r = read_decimal(item, key, out.size); r != DecodeError::kNone) return r;
        }
        ++index;
      }
      if (index < 2) return fail(DecodeError::kMissingField, "field \"", key, "\": a level without a size");
      ++count;
    }
    return DecodeError::kNone;
  }

  DecodeError read_side(od::value& v, std::string_view key, Side& out) noexcept {
    std::string_view text;
    if (auto r = read_raw(v, key, text); r != DecodeError::kNone) return r;
    if (text == "buy") {
      out = Side::kBuy;
    } else if (text == "sell") {
      out = Side::kSell;
    } else {
      return fail(DecodeError::kWrongType, "field \"", key, "\": expected \"buy\" or \"sell\", got \"", text,
                  "\"");
    }
    return DecodeError::kNone;
  }

  // ---- entry ----

  DecodeError decode(std::string_view padded, std::int64_t recv) noexcept {
    recv_ns = recv;
    stream = {};
    error.clear();
    if (padded.empty()) return fail(DecodeError::kEmptyFrame, "empty frame");
    // The heartbeat answer to the client's text `ping` is the bare text `pong`, not JSON.
    if (padded == "pong") {
      begin_event(EventKind::kIgnored, {}, "pong", 0);
      deliver();
      return DecodeError::kNone;
    }
    od::document doc;
    if (auto e = parser.iterate(padded.data(), padded.size(), padded.size() + engine::kFramePadding).get(doc))
      return fail_json(e, "document");
    od::object object;
    if (auto e = doc.get_object().get(object)) {
      if (e != simdjson::INCORRECT_TYPE) return fail_json(e, "document");
      return fail_not_object(doc);
    }
    Frame f;
    if (auto r = scan_top(object, f); r != DecodeError::kNone) return r;
    if (f.has_data && !f.data_done) {
      // `data` came before the `arg` or `action` that say how to read it: read it again now.
      if (auto r = check_data_frame(f); r != DecodeError::kNone) return r;
      doc.rewind();
      od::object again;
      if (auto e = doc.get_object().get(again)) return fail_json(e, "document");
      od::value data;
      if (auto e = again.find_field_unordered("data").get(data)) return fail_json(e, "data");
      if (auto r = decode_data(data, f); r != DecodeError::kNone) return r;
      f.data_done = true;
    }
    return finish(f);
  }

  DecodeError scan_top(od::object& object, Frame& f) noexcept {
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "document");
      const std::string_view key = raw_text(field.key().raw());
      od::value v = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "arg") {
        r = scan_arg(v, f);
      } else if (key == "action") {
        r = read_raw(v, key, f.action);
        f.has_action = true;
        f.snapshot = f.action == "snapshot";
      } else if (key == "data") {
        f.has_data = true;
        if (f.has_arg && (f.has_action || !has_action(f.channel))) {
          r = check_data_frame(f);
          if (r == DecodeError::kNone) r = decode_data(v, f);
          f.data_done = true;
        }
      } else if (key == "event") {
        r = read_raw(v, key, f.event);
      } else if (key == "code") {
        r = read_integer(v, key, f.code);
        f.has_code = true;
      } else if (key == "msg") {
        // Unescaped: messages are free text. The view lives in the parser's string buffer.
        if (auto e = v.get_string().get(f.msg))
          r = is_type_error(e) ? fail_type(key, "a string") : fail_json(e, key);
      } else if (key == "id") {
        // The request id a reply echoes; the protocol sends decimal ids, anything else is kept as -1.
        od::raw_json_string raw;
        if (v.get_raw_json_string().get(raw) == simdjson::SUCCESS) {
          std::int64_t id = -1;
          if (parse_integer(raw_text(raw.raw()), id)) f.request_id = id;
        }
      }
      if (r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  DecodeError scan_arg(od::value& v, Frame& f) noexcept {
    od::object arg;
    if (auto e = v.get_object().get(arg)) {
      if (is_type_error(e)) return fail_type("arg", "an object");
      return fail_json(e, "arg");
    }
    for (auto field_result : arg) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "arg");
      const std::string_view key = raw_text(field.key().raw());
      od::value value = field.value();
      DecodeError r = DecodeError::kNone;
      if (key == "channel") {
        r = read_raw(value, "arg.channel", f.channel_name);
      } else if (key == "instId") {
        r = read_raw(value, "arg.instId", f.inst_id);
      } else if (key == "instType") {
        r = read_raw(value, "arg.instType", f.inst_type);
      }
      if (r != DecodeError::kNone) return r;
    }
    f.has_arg = true;
    f.channel = channel_of(f.channel_name);
    set_stream(f);
    return DecodeError::kNone;
  }

  // "channel:instId", the topic name VenueProtocol subscribes, written into a buffer this decoder owns.
  void set_stream(const Frame& f) noexcept {
    const std::string_view target = f.inst_id.empty() ? f.inst_type : f.inst_id;
    const std::size_t length = f.channel_name.size() + 1 + target.size();
    if (f.channel_name.empty() || length > sizeof stream_buffer) {
      stream = f.channel_name;
      return;
    }
    std::memcpy(stream_buffer, f.channel_name.data(), f.channel_name.size());
    stream_buffer[f.channel_name.size()] = ':';
    if (!target.empty()) std::memcpy(stream_buffer + f.channel_name.size() + 1, target.data(), target.size());
    stream = {stream_buffer, target.empty() ? f.channel_name.size() : length};
  }

  // Whether the top-level fields allow reading `data` at all.
  DecodeError check_data_frame(const Frame& f) noexcept {
    if (!f.has_arg) return fail(DecodeError::kMissingField, "data push without \"arg\"");
    if (f.channel_name.empty()) return fail(DecodeError::kMissingField, "missing field \"arg.channel\"");
    if (f.channel == Channel::kUnknown)
      return fail(DecodeError::kUnknownChannel, "unknown channel \"", f.channel_name, "\"");
    if (has_action(f.channel)) {
      if (!f.has_action) return fail(DecodeError::kMissingField, "missing field \"action\"");
      if (f.action != "snapshot" && f.action != "update")
        return fail(DecodeError::kWrongType, "field \"action\": expected \"snapshot\" or \"update\", got \"",
                    f.action, "\"");
    }
    if (f.channel != Channel::kLiquidationOrders && f.channel != Channel::kUnused && f.inst_id.empty())
      return fail(DecodeError::kMissingField, "missing field \"arg.instId\"");
    return DecodeError::kNone;
  }

  DecodeError finish(const Frame& f) noexcept {
    if (f.data_done) return DecodeError::kNone;
    if (!f.event.empty()) return build_control(f);
    if (f.has_code) {
      // An OKX REST body: code "0" is success, anything else an error with `msg`.
      if (f.code == 0) {
        begin_event(EventKind::kIgnored, {}, "rest", 0);
      } else {
        begin_event(EventKind::kVenueError, {}, "error", 0);
        event.error = VenueError{f.code, f.msg};
      }
      deliver();
      return DecodeError::kNone;
    }
    if (f.has_arg) return fail(DecodeError::kMissingField, "missing field \"data\"");
    return fail(DecodeError::kUnknownMessage, "object has no \"event\", \"arg\"/\"data\" or \"code\"");
  }

  DecodeError build_control(const Frame& f) noexcept {
    const std::string_view name = f.event;
    if (name == "subscribe" || name == "unsubscribe" || name == "login") {
      begin_event(EventKind::kSubscribeAck, f.inst_id, name, 0);
      event.ack = SubscribeAck{f.request_id};
    } else if (name == "error" || name == "notice" || name == "channel-conn-count-error") {
      if (!f.has_code && name != "channel-conn-count-error")
        return fail(DecodeError::kMissingField, "\"", name, "\" event without \"code\"");
      begin_event(EventKind::kVenueError, f.inst_id, name, 0);
      event.error = VenueError{f.code, f.msg};
    } else if (name == "channel-conn-count") {
      begin_event(EventKind::kIgnored, {}, name, 0);
    } else {
      return fail(DecodeError::kUnknownEvent, "unknown event \"", name, "\"");
    }
    deliver();
    return DecodeError::kNone;
  }

  // ---- data elements ----

  DecodeError decode_data(od::value& v, const Frame& f) noexcept {
    od::array data;
    if (auto e = v.get_array().get(data)) {
      if (is_type_error(e)) return fail_type("data", "an array");
      return fail_json(e, "data");
    }
    for (auto element_result : data) {
      od::object element;
      if (auto e = element_result.get_object().get(element)) {
        if (is_type_error(e)) return fail_type("data", "an array of objects");
        return fail_json(e, "data");
      }
      if (f.channel == Channel::kUnused) {
        begin_event(EventKind::kIgnored, f.inst_id, f.channel_name, 0);
        deliver();
        continue;
      }
      if (f.channel == Channel::kLiquidationOrders) {
        if (auto r = decode_liquidations(element, f); r != DecodeError::kNone) return r;
        continue;
      }
      Element el;
      if (auto r = scan_element(element, f.channel, el); r != DecodeError::kNone) return r;
      if (auto r = build_element(f, el); r != DecodeError::kNone) return r;
    }
    return DecodeError::kNone;
  }

  DecodeError scan_element(od::object& element, Channel channel, Element& el) noexcept {
    const bool book = is_book(channel) || channel == Channel::kBboTbt;
    for (auto field_result : element) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "data");
      const std::string_view key = raw_text(field.key().raw());
      od::value v = field.value();
      DecodeError r = DecodeError::kNone;
      std::uint32_t bit = 0;
      if (key == "ts") {
        bit = Element::kTs;
        r = read_timestamp_ms(v, key, el.ts);
      } else if (key == "instId") {
        bit = Element::kInstId;
        r = read_raw(v, key, el.inst_id);
      } else if (book) {
        if (key == "asks") {
          bit = Element::kAsks;
          r = read_levels(v, key, asks.get(), el.ask_count);
        } else if (key == "bids") {
          bit = Element::kBids;
          r = read_levels(v, key, bids.get(), el.bid_count);
        } else if (key == "checksum") {
          bit = Element::kChecksum;
          r = read_integer(v, key, el.checksum);
          if (r == DecodeError::kNone && (el.checksum < INT32_MIN || el.checksum > INT32_MAX))
            r = fail(DecodeError::kBadInteger, "field \"checksum\": not a 32-bit integer");
        } else if (key == "seqId") {
          bit = Element::kSeqId;
          r = read_integer(v, key, el.seq_id);
        } else if (key == "prevSeqId") {
          bit = Element::kPrevSeqId;
          r = read_integer(v, key, el.prev_seq_id);
        }
      } else if (channel == Channel::kTrades) {
        if (key == "tradeId") {
          bit = Element::kTradeId;
          r = read_integer(v, key, el.trade_id);
        } else if (key == "px") {
          bit = Element::kPx;
          r = read_decimal(v, key, el.px);
        } else if (key == "sz") {
          bit = Element::kSz;
          r = read_decimal(v, key, el.sz);
        } else if (key == "side") {
          bit = Element::kSide;
          r = read_side(v, key, el.side);
        }
      } else if (channel == Channel::kTickers) {
        if (key == "bidPx") {
          bit = Element::kBidPx;
          r = read_decimal(v, key, el.bid_px);
        } else if (key == "bidSz") {
          bit = Element::kBidSz;
          r = read_decimal(v, key, el.bid_sz);
        } else if (key == "askPx") {
          bit = Element::kAskPx;
          r = read_decimal(v, key, el.ask_px);
        } else if (key == "askSz") {
          bit = Element::kAskSz;
          r = read_decimal(v, key, el.ask_sz);
        }
      } else if (channel == Channel::kFundingRate) {
        if (key == "fundingRate") {
          bit = Element::kFundingRate;
          r = read_decimal(v, key, el.funding_rate);
        } else if (key == "fundingTime") {
          bit = Element::kFundingTime;
          r = read_timestamp_ms(v, key, el.funding_time);
        }
      } else if (channel == Channel::kMarkPrice) {
        if (key == "markPx") {
          bit = Element::kMarkPx;
          r = read_decimal(v, key, el.mark_px);
        }
      } else if (channel == Channel::kIndexTickers) {
        if (key == "idxPx") {
          bit = Element::kIdxPx;
          r = read_decimal(v, key, el.idx_px);
        }
      }
      if (r != DecodeError::kNone) return r;
      el.seen |= bit;
    }
    return DecodeError::kNone;
  }

  DecodeError require(const Element& el, std::uint32_t bits, std::string_view what) noexcept {
    const std::uint32_t missing = bits & ~el.seen;
    if (missing == 0) return DecodeError::kNone;
    return fail(DecodeError::kMissingField, what, ": missing field \"",
                element_field_name(missing & (~missing + 1)), "\"");
  }

  static std::uint64_t sequence_id(std::int64_t id) noexcept {
    // prevSeqId is -1 on snapshots: no predecessor.
    return id < 0 ? kNoUpdateId : static_cast<std::uint64_t>(id);
  }

  DecodeError build_element(const Frame& f, const Element& el) noexcept {
    const std::int64_t ts = (el.seen & Element::kTs) ? el.ts * kNsPerMs : 0;
    const std::string_view symbol = f.inst_id;
    switch (f.channel) {
      case Channel::kBooks:
      case Channel::kBooks5:
      case Channel::kBooksL2Tbt:
      case Channel::kBooks50L2Tbt:
        return build_book(f, el, ts);
      case Channel::kBboTbt: {
        if (auto r = require(el, Element::kAsks | Element::kBids | Element::kTs, "bbo-tbt");
            r != DecodeError::kNone)
          return r;
        if (el.bid_count == 0 || el.ask_count == 0)
          return fail(DecodeError::kMissingField, "bbo-tbt: empty \"bids\" or \"asks\"");
        begin_event(EventKind::kBestBidAsk, symbol, f.channel_name, ts);
        event.best_bid_ask = BestBidAsk{bids[0].price, bids[0].size, asks[0].price, asks[0].size,
                                        (el.seen & Element::kSeqId) ? sequence_id(el.seq_id) : kNoUpdateId};
        break;
      }
      case Channel::kTrades:
        if (auto r =
                require(el, Element::kTradeId | Element::kPx | Element::kSz | Element::kSide | Element::kTs,
                        "trades");
            r != DecodeError::kNone)
          return r;
        begin_event(EventKind::kTrade, symbol, f.channel_name, ts);
        event.trade = Trade{el.px, el.sz, el.side, el.trade_id, kNoUpdateId, kNoUpdateId};
        break;
      case Channel::kTickers:
        if (auto r = require(
                el, Element::kBidPx | Element::kBidSz | Element::kAskPx | Element::kAskSz | Element::kTs,
                "tickers");
            r != DecodeError::kNone)
          return r;
        begin_event(EventKind::kBestBidAsk, symbol, f.channel_name, ts);
        event.best_bid_ask = BestBidAsk{el.bid_px, el.bid_sz, el.ask_px, el.ask_sz, kNoUpdateId};
        break;
      case Channel::kFundingRate:
        // fundingRate applies at fundingTime, the next settlement: that is the engine's next funding time.
        // nextFundingRate/nextFundingTime forecast the period after it and are not used.
        if (auto r = require(el, Element::kFundingRate | Element::kFundingTime, "funding-rate");
            r != DecodeError::kNone)
          return r;
        begin_event(EventKind::kMarkFunding, symbol, f.channel_name, ts);
        event.mark_funding = MarkFunding{};
        event.mark_funding.funding_rate = el.funding_rate;
        event.mark_funding.next_funding_ts_ns = el.funding_time * kNsPerMs;
        break;
      case Channel::kMarkPrice:
        if (auto r = require(el, Element::kMarkPx | Element::kTs, "mark-price"); r != DecodeError::kNone)
          return r;
        begin_event(EventKind::kMarkFunding, symbol, f.channel_name, ts);
        event.mark_funding = MarkFunding{};
        event.mark_funding.mark_price = el.mark_px;
        break;
      case Channel::kIndexTickers:
        if (auto r = require(el, Element::kIdxPx | Element::kTs, "index-tickers"); r != DecodeError::kNone)
          return r;
        begin_event(EventKind::kMarkFunding, symbol, f.channel_name, ts);
        event.mark_funding = MarkFunding{};
        event.mark_funding.index_price = el.idx_px;
        break;
      default:
        return fail(DecodeError::kUnknownChannel, "unknown channel \"", f.channel_name, "\"");
    }
    deliver();
    return DecodeError::kNone;
  }

  DecodeError build_book(const Frame& f, const Element& el, std::int64_t ts) noexcept {
    if (auto r = require(el, Element::kAsks | Element::kBids | Element::kTs, f.channel_name);
        r != DecodeError::kNone)
      return r;
    const std::span<const PriceLevel> bid_levels{bids.get(), el.bid_count};
    const std::span<const PriceLevel> ask_levels{asks.get(), el.ask_count};
    const std::uint64_t seq = (el.seen & Element::kSeqId) ? sequence_id(el.seq_id) : kNoUpdateId;
    // 0 means "no checksum" since OKX pinned the field to 0 (feeds.md §0).
    const std::optional<std::int32_t> checksum =
        ((el.seen & Element::kChecksum) && el.checksum != 0)
            ? std::optional<std::int32_t>(static_cast<std::int32_t>(el.checksum))
            : std::nullopt;
    if (f.channel == Channel::kBooks5 || f.snapshot) {
      begin_event(EventKind::kBookSnapshot, f.inst_id, f.channel_name, ts);
      event.snapshot = BookSnapshot{bid_levels, ask_levels, seq, book_depth(f.channel), checksum};
    } else {
      begin_event(EventKind::kBookDelta, f.inst_id, f.channel_name, ts);
      event.delta = BookDelta{bid_levels,
                              ask_levels,
                              seq,
                              seq,
                              (el.seen & Element::kPrevSeqId) ? sequence_id(el.prev_seq_id) : kNoUpdateId,
                              checksum};
    }
    deliver();
    return DecodeError::kNone;
  }

  // {"instId":..,"details":[{"side":..,"sz":..,"bkPx":..,"ts":..},..],..}: the instrument sits in the element
  // (or in a detail, or in `arg`), possibly after `details`, so the element is read twice: first its
  // instId, then each detail.
  DecodeError decode_liquidations(od::object& element, const Frame& f) noexcept {
    std::string_view element_inst = f.inst_id;
    bool has_details = false;
    for (auto field_result : element) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return fail_json(e, "data");
      const std::string_view key = raw_text(field.key().raw());
      od::value v = field.value();
      if (key == "instId") {
        if (auto r = read_raw(v, key, element_inst); r != DecodeError::kNone) return r;
      } else if (key == "details") {
        has_details = true;
      }
    }
    if (!has_details)
      return fail(DecodeError::kMissingField, "liquidation-orders: missing field \"details\"");
    if (auto e = element.reset().error()) return fail_json(e, "data");
    od::array details;
    if (auto e = element.find_field_unordered("details").get_array().get(details)) {
      if (is_type_error(e)) return fail_type("details", "an array");
      return fail_json(e, "details");
    }
    for (auto detail_result : details) {
      od::object detail;
      if (auto e = detail_result.get_object().get(detail)) {
        if (is_type_error(e)) return fail_type("details", "an array of objects");
        return fail_json(e, "details");
      }
      Element el;
      for (auto field_result : detail) {
        od::field field;
        if (auto e = std::move(field_result).get(field)) return fail_json(e, "details");
        const std::string_view key = raw_text(field.key().raw());
        od::value v = field.value();
        DecodeError r = DecodeError::kNone;
        std::uint32_t bit = 0;
        if (key == "side") {
          bit = Element::kSide;
          r = read_side(v, key, el.side);
        } else if (key == "sz") {
          bit = Element::kSz;
          r = read_decimal(v, key, el.sz);
        } else if (key == "bkPx") {
          bit = Element::kBkPx;
          r = read_decimal(v, key, el.bk_px);
        } else if (key == "ts") {
          bit = Element::kTs;
          r = read_timestamp_ms(v, key, el.ts);
        } else if (key == "instId") {
          bit = Element::kInstId;
          r = read_raw(v, key, el.inst_id);
        }
        if (r != DecodeError::kNone) return r;
        el.seen |= bit;
      }
      if (auto r = require(el, Element::kSide | Element::kSz | Element::kBkPx | Element::kTs,
                           "liquidation-orders");
          r != DecodeError::kNone)
        return r;
      const std::string_view symbol = (el.seen & Element::kInstId) ? el.inst_id : element_inst;
      if (symbol.empty())
        return fail(DecodeError::kMissingField, "liquidation-orders: missing field \"instId\"");
      begin_event(EventKind::kLiquidation, symbol, f.channel_name, el.ts * kNsPerMs);
      // side is the forced order's side: "buy" closes a liquidated short. sz counts contracts; bkPx is the
      // bankruptcy price, the price the position was taken over at.
      event.liquidation = Liquidation{el.side, el.bk_px, std::nullopt, el.sz, std::nullopt, {}};
      deliver();
    }
    return DecodeError::kNone;
  }

  // ---- events ----

  void begin_event(EventKind kind, std::string_view symbol, std::string_view type_name,
                   std::int64_t exchange_ts_ns) noexcept {
    event.kind = kind;
    event.symbol = symbol;
    event.stream = stream;
    event.type_name = type_name;
    event.exchange_ts_ns = exchange_ts_ns;
    event.event_ts_ns = 0;
    event.recv_ns = recv_ns;
  }

  void deliver() noexcept { sink->on_event(event); }

  // The top level is no object: tell valid JSON of another type ([..], 42) from text that only starts like
  // a literal ("ping" looks like nothing valid, "nope" like `null` to a type peek).
  DecodeError fail_not_object(od::document& doc) noexcept {
    od::json_type type;
    if (doc.type().get(type) != simdjson::SUCCESS || json_fields::is_broken_literal(doc, type))
      return fail(DecodeError::kInvalidJson, "document: not valid JSON");
    return fail(DecodeError::kNotAnObject, "top-level value is not an object");
  }
};

Decoder::Decoder(DecoderLimits limits) : state_(std::make_unique<State>(limits)) {}

Decoder::~Decoder() = default;

bool Decoder::decode(std::string_view padded, std::int64_t recv_ns, std::string_view stream_hint,
                     EventSink& sink) noexcept {
  (void)stream_hint;
  State& s = *state_;
  s.sink = &sink;
  s.last = s.decode(padded, recv_ns);
  return s.last == DecodeError::kNone;
}

bool Decoder::decode_rest_snapshot(std::string_view padded, std::string_view symbol, std::int64_t recv_ns,
                                   EventSink& sink) noexcept {
  (void)padded;
  (void)symbol;
  (void)recv_ns;
  (void)sink;
  State& s = *state_;
  s.last =
      s.fail(DecodeError::kUnknownMessage,
             "okx: books sync from WebSocket snapshots (resubscribe), there is no REST snapshot to decode");
  return false;
}

std::string_view Decoder::error_message() const noexcept {
  return state_->error.view();
}

DecodeError Decoder::last_error() const noexcept {
  return state_->last;
}

std::unique_ptr<VenueDecoder> make_okx_decoder() {
  return std::make_unique<Decoder>();
}

}  // namespace sigflow::io::okx
