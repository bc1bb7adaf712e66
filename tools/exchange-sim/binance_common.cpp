#include "tools/exchange-sim/binance_common.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <vector>

#include <simdjson.h>

#include "strategies/signal.hpp"

namespace sigflow::tools::binance_sim {
namespace {

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
  return error_body(code, message);
}

class BinanceSession final : public VenueSession {
 public:
  BinanceSession(RouteOf route_of, int route, std::size_t max_streams, bool combined,
                 std::vector<std::string> topics)
      : route_of_(route_of),
        route_(route),
        max_streams_(max_streams),
        combined_(combined),
        topics_(std::move(topics)) {}

  std::vector<std::string> served_topics() const override {
    std::vector<std::string> served;
    for (const auto& t : topics_)
      if (route_of_(t) == route_) served.push_back(t);
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
        if (!route_of_(name))
          return error_reply(2, "Invalid request: invalid stream name '" + std::string(name) + "'");
        names.emplace_back(name);
      }
      if (method == "SUBSCRIBE") {
        for (auto& n : names)
          if (std::find(topics_.begin(), topics_.end(), n) == topics_.end()) topics_.push_back(std::move(n));
        if (topics_.size() > max_streams_) {
          topics_.resize(max_streams_);
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
  RouteOf route_of_;
  int route_;
  std::size_t max_streams_;
  // SET_PROPERTY may flip this while the feed thread wraps frames; a relaxed atomic suffices because the
  // switch has no ordering relation with any other data.
  std::atomic<bool> combined_;
  std::vector<std::string> topics_;
  simdjson::dom::parser parser_;  // control requests only: a few hundred bytes, a handful per connection
};

}  // namespace

std::string error_body(int code, std::string_view message) {
  // The shape of the venue's error table (binance-spot-api-docs "Error Messages"; fixture ws_error_replies).
  std::string out = "{\"code\":" + std::to_string(code) + ",\"msg\":";
  strategies::append_json_string(message, out);
  out += '}';
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (param.size() > name.size() && param.starts_with(name) && param[name.size()] == '=')
      return param.substr(name.size() + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::unique_ptr<VenueSession> open_session(std::string_view path, std::string_view query, RouteOf route_of,
                                           int route, std::size_t max_streams, unsigned& reject_status) {
  reject_status = 404;
  std::vector<std::string> topics;
  bool combined = false;
  if (path == "/stream") {
    combined = true;
    if (const auto streams = query_param(query, "streams")) {
      for (auto& s : split(percent_decode(*streams), '/'))
        if (!s.empty()) topics.push_back(std::move(s));
    }
  } else if (path == "/ws" || path == "/ws/") {
  } else if (path.starts_with("/ws/")) {
    for (auto& s : split(percent_decode(path.substr(4)), '/'))
      if (!s.empty()) topics.push_back(std::move(s));
  } else {
    return nullptr;
  }
  for (const auto& t : topics) {
    if (!route_of(t)) {
      reject_status = 400;
      return nullptr;
    }
  }
  if (topics.size() > max_streams) {
    reject_status = 400;
    return nullptr;
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  return std::make_unique<BinanceSession>(route_of, route, max_streams, combined, std::move(topics));
}

std::optional<HttpReply> RestWeightLedger::charge(std::int64_t weight, std::int64_t wall_ms) {
  const std::int64_t minute = wall_ms / 60'000;
  if (minute != minute_) {
    minute_ = minute;
    used_ = 0;
    rate_limited_this_minute_ = 0;
  }
  used_ += weight;
  if (wall_ms < banned_until_ms_) {
    HttpReply reply;
    reply.status = 418;
    reply.headers.emplace_back("Retry-After", std::to_string((banned_until_ms_ - wall_ms + 999) / 1000));
    reply.headers.push_back(used_header());
    reply.body = error_body(-1003, "Way too much request weight used; IP banned until " +
                                       std::to_string(banned_until_ms_) +
                                       ". Please use the websocket for live updates to avoid bans.");
    return reply;
  }
  if (used_ <= limit_) return std::nullopt;
  HttpReply reply;
  if (++rate_limited_this_minute_ > kRateLimitedBeforeBan) {
    banned_until_ms_ = wall_ms + next_ban_ms_;
    next_ban_ms_ = std::min<std::int64_t>(next_ban_ms_ * 2, 3 * 24 * 3600 * 1000);
    return charge(0, wall_ms);
  }
  reply.status = 429;
  reply.headers.emplace_back("Retry-After", std::to_string((60'000 - wall_ms % 60'000 + 999) / 1000));
  reply.headers.push_back(used_header());
  reply.body =
      error_body(-1003, "Too many requests; current limit of IP is " + std::to_string(limit_) +
                            " request weight per 1 MINUTE. Please use the websocket for live updates "
                            "to avoid polling the API.");
  return reply;
}

std::pair<std::string, std::string> RestWeightLedger::used_header() const {
  return {"X-MBX-USED-WEIGHT-1M", std::to_string(used_)};
}

namespace {

template <class Levels>
void append_levels(std::string& out, const Levels& levels, std::size_t limit, const InstrumentSpec& spec) {
  out += '[';
  std::size_t n = 0;
  for (auto it = levels.begin(); it != levels.end() && n < limit; ++it, ++n) {
    if (n) out += ',';
    out += "[\"";
    append_decimal(out, it->first, spec.price_decimals);
    out += "\",\"";
    append_decimal(out, it->second, spec.size_decimals);
    out += "\"]";
  }
  out += ']';
}

}  // namespace

std::string depth_snapshot_body(const OrderBook& book, const InstrumentSpec& spec,
                                std::uint64_t last_update_id, std::size_t limit,
                                std::string_view extra_fields) {
  std::string out = "{\"lastUpdateId\":" + std::to_string(last_update_id);
  if (!extra_fields.empty()) {
    out += ',';
    out.append(extra_fields);
  }
  out += ",\"bids\":";
  append_levels(out, book.bids(), limit, spec);
  out += ",\"asks\":";
  append_levels(out, book.asks(), limit, spec);
  out += '}';
  return out;
}

std::optional<std::size_t> find_symbol(const SyntheticMarket& market, std::string_view symbol) {
  for (std::size_t i = 0; i < market.size(); ++i)
    if (market.spec(i).symbol == symbol) return i;
  return std::nullopt;
}

std::optional<RecordedFrame> read_recorded_frame(std::string text, double recv_s) {
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

}  // namespace sigflow::tools::binance_sim
