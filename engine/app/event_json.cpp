#include "engine/app/event_json.hpp"

#include <charconv>

#include "strategies/signal.hpp"

namespace sigflow::app {
namespace {

void key(std::string& out, std::string_view name) {
  out += ",\"";
  out += name;
  out += "\":";
}

void integer(std::string& out, std::string_view name, std::int64_t value) {
  key(out, name);
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

void text(std::string& out, std::string_view name, std::string_view value) {
  key(out, name);
  strategies::append_json_string(value, out);
}

void decimal(std::string& out, std::string_view name, const io::Decimal& value) {
  key(out, name);
  char buf[48];
  out += '"';
  out.append(buf, value.format(buf, buf + sizeof buf));
  out += '"';
}

void optional_decimal(std::string& out, std::string_view name, const std::optional<io::Decimal>& value) {
  if (value) decimal(out, name, *value);
}

void update_id(std::string& out, std::string_view name, std::uint64_t id) {
  if (id != io::kNoUpdateId) integer(out, name, static_cast<std::int64_t>(id));
}

void levels(std::string& out, std::string_view name, std::span<const io::PriceLevel> side) {
  key(out, name);
  out += '[';
  char buf[48];
  for (std::size_t i = 0; i < side.size(); ++i) {
    if (i) out += ',';
    out += "[\"";
    out.append(buf, side[i].price.format(buf, buf + sizeof buf));
    out += "\",\"";
    out.append(buf, side[i].size.format(buf, buf + sizeof buf));
    out += "\"]";
  }
  out += ']';
}

}  // namespace

void append_event_json(const io::MarketEvent& event, std::string& out) {
  out += "{\"type\":\"";
  out += io::to_string(event.kind);
  out += '"';
  if (!event.symbol.empty()) text(out, "symbol", event.symbol);
  if (!event.stream.empty()) text(out, "stream", event.stream);
  if (event.exchange_ts_ns) integer(out, "exchange_ts_ns", event.exchange_ts_ns);
  if (event.event_ts_ns) integer(out, "event_ts_ns", event.event_ts_ns);
  switch (event.kind) {
    case io::EventKind::kTrade:
      decimal(out, "price", event.trade.price);
      decimal(out, "size", event.trade.size);
      text(out, "aggressor", io::to_string(event.trade.aggressor));
      integer(out, "trade_id", static_cast<std::int64_t>(event.trade.trade_id));
      update_id(out, "first_trade_id", event.trade.first_trade_id);
      update_id(out, "last_trade_id", event.trade.last_trade_id);
      break;
    case io::EventKind::kBestBidAsk:
      decimal(out, "bid_price", event.best_bid_ask.bid_price);
      decimal(out, "bid_size", event.best_bid_ask.bid_size);
      decimal(out, "ask_price", event.best_bid_ask.ask_price);
      decimal(out, "ask_size", event.best_bid_ask.ask_size);
      update_id(out, "update_id", event.best_bid_ask.update_id);
      break;
    case io::EventKind::kBookSnapshot:
      update_id(out, "last_update_id", event.snapshot.last_update_id);
      if (event.snapshot.depth) integer(out, "depth", event.snapshot.depth);
      levels(out, "bids", event.snapshot.bids);
      levels(out, "asks", event.snapshot.asks);
      break;
    case io::EventKind::kBookDelta:
      update_id(out, "first_update_id", event.delta.first_update_id);
      update_id(out, "final_update_id", event.delta.final_update_id);
      update_id(out, "prev_final_update_id", event.delta.prev_final_update_id);
      levels(out, "bids", event.delta.bids);
      levels(out, "asks", event.delta.asks);
      break;
    case io::EventKind::kMarkFunding:
      optional_decimal(out, "mark_price", event.mark_funding.mark_price);
      optional_decimal(out, "index_price", event.mark_funding.index_price);
      optional_decimal(out, "estimated_settle_price", event.mark_funding.estimated_settle_price);
      optional_decimal(out, "funding_rate", event.mark_funding.funding_rate);
      if (event.mark_funding.next_funding_ts_ns)
        integer(out, "next_funding_ts_ns", event.mark_funding.next_funding_ts_ns);
      break;
    case io::EventKind::kLiquidation:
      text(out, "side", io::to_string(event.liquidation.side));
      decimal(out, "price", event.liquidation.price);
      optional_decimal(out, "average_price", event.liquidation.average_price);
      decimal(out, "quantity", event.liquidation.quantity);
      optional_decimal(out, "filled_quantity", event.liquidation.filled_quantity);
      text(out, "status", event.liquidation.status);
      break;
    case io::EventKind::kSubscribeAck:
      integer(out, "request_id", event.ack.request_id);
      break;
    case io::EventKind::kVenueError:
      integer(out, "code", event.error.code);
      text(out, "message", event.error.message);
      break;
    case io::EventKind::kIgnored:
      text(out, "venue_type", event.type_name);
      break;
    case io::EventKind::kNone:
      break;
  }
  out += "}\n";
}

}  // namespace sigflow::app
