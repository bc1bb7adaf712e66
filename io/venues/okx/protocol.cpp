#include "io/venues/okx/protocol.hpp"

#include <algorithm>

namespace sigflow::io::okx {
namespace {

constexpr std::int64_t kNsPerS = 1'000'000'000;

// Books push every 100 ms while they change and tickers on every trade or quote change; a minute without
// either on a listed instrument means the subscription is dead, not that the market is quiet.
constexpr std::int64_t kBookSilenceNs = 60 * kNsPerS;
constexpr std::int64_t kTickerSilenceNs = 60 * kNsPerS;

bool is_upper_alnum(std::string_view part) noexcept {
  return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

bool is_digits(std::string_view part) noexcept {
  return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> split_dash(std::string_view text) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t dash = text.find('-');
    parts.push_back(text.substr(0, dash));
    if (dash == std::string_view::npos) return parts;
    text.remove_prefix(dash + 1);
  }
}

bool is_swap(std::string_view inst_id) noexcept {
  return inst_id.ends_with("-SWAP");
}

Topic make_topic(std::string_view channel, std::string_view symbol, TopicKind kind, std::int64_t silence) {
  Topic t;
  t.name.reserve(channel.size() + 1 + symbol.size());
  t.name.append(channel).append(":").append(symbol);
  t.symbol = std::string(symbol);
  t.kind = kind;
  t.max_silence_ns = silence;
  return t;
}

void append_arg(std::string& out, std::string_view topic_name) {
  const std::size_t colon = topic_name.find(':');
  out += "{\"channel\":\"";
  out.append(topic_name.substr(0, colon));
  if (colon != std::string_view::npos) {
    out += "\",\"instId\":\"";
    out.append(topic_name.substr(colon + 1));
  }
  out += "\"}";
}

}  // namespace

std::string normalized_instrument(std::string_view inst_id) {
  const std::vector<std::string_view> parts = split_dash(inst_id);
  if (parts.size() < 2 || !is_upper_alnum(parts[0]) || !is_upper_alnum(parts[1])) return {};
  const std::string pair = std::string(parts[0]) + "-" + std::string(parts[1]);
  if (parts.size() == 2) return pair;
  if (parts.size() == 3 && parts[2] == "SWAP") return pair + "-PERP";
  if (parts.size() == 3 && parts[2].size() == 6 && is_digits(parts[2])) return std::string(inst_id);
  if (parts.size() == 5 && parts[2].size() == 6 && is_digits(parts[2]) && is_digits(parts[3]) &&
      (parts[4] == "C" || parts[4] == "P"))
    return std::string(inst_id);
  return {};
}

std::string request(std::string_view op, std::span<const Topic> topics, std::uint64_t request_id) {
  std::string out = "{\"id\":\"" + std::to_string(request_id) + "\",\"op\":\"";
  out.append(op);
  out += "\",\"args\":[";
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (i != 0) out += ',';
    append_arg(out, topics[i].name);
  }
  out += "]}";
  return out;
}

std::string Protocol::normalized_instrument(std::string_view symbol) const {
  return okx::normalized_instrument(symbol);
}

std::vector<ConnectionPlan> Protocol::plan(const VenueEndpoints& endpoints,
                                           std::span<const std::string> symbols) const {
  std::vector<Topic> topics;
  for (const std::string& s : symbols) {
    topics.push_back(make_topic("books", s, TopicKind::kBook, kBookSilenceNs));
    topics.push_back(make_topic("trades", s, TopicKind::kTrades, 0));
    topics.push_back(make_topic("tickers", s, TopicKind::kTicker, kTickerSilenceNs));
    if (is_swap(s)) {
      // Funding pushes every 30-90 s and mark price only on change: too sparse to watch for silence.
      topics.push_back(make_topic("funding-rate", s, TopicKind::kOther, 0));
      topics.push_back(make_topic("mark-price", s, TopicKind::kOther, 0));
    }
  }
  const std::string url = endpoints.url.empty() ? std::string(kPublicUrl) : endpoints.url;
  std::vector<ConnectionPlan> plans;
  std::uint64_t request_id = 1;
  for (std::size_t first = 0; first < topics.size(); first += kTopicsPerConnection) {
    const std::size_t end = std::min(topics.size(), first + kTopicsPerConnection);
    ConnectionPlan plan;
    plan.route = "/public";
    plan.url = url;
    plan.topics.assign(topics.begin() + static_cast<std::ptrdiff_t>(first),
                       topics.begin() + static_cast<std::ptrdiff_t>(end));
    // Requests of up to kTopicsPerRequest args, cut earlier if the args would pass the venue's 64 KB.
    std::size_t start = 0;
    std::size_t args_bytes = 0;
    for (std::size_t i = 0; i <= plan.topics.size(); ++i) {
      const std::size_t arg_bytes = i < plan.topics.size() ? plan.topics[i].name.size() + 32 : 0;
      const bool last = i == plan.topics.size();
      if (last || i - start == kTopicsPerRequest || args_bytes + arg_bytes > kMaxArgsBytesPerRequest) {
        if (i > start) {
          plan.subscribe_messages.push_back(request(
              "subscribe", std::span<const Topic>(plan.topics).subspan(start, i - start), request_id++));
        }
        start = i;
        args_bytes = 0;
      }
      args_bytes += arg_bytes;
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

VenueLimits Protocol::limits() const {
  VenueLimits l;
  // 480 requests per hour is the binding rule, not a per-second rate; 5/s keeps a reconnect's 4 requests
  // within a second without bursting.
  l.max_outgoing_per_s = 5;
  l.max_topics_per_connection = kTopicsPerConnection;
  l.max_topics_per_message = kTopicsPerRequest;
  l.connect_attempts_per_window = 3;
  l.connect_window_ns = kNsPerS;
  return l;
}

Heartbeat Protocol::heartbeat() const {
  Heartbeat h;
  // The server drops a connection after 30 s without traffic; 20 s leaves room for one lost ping.
  h.client_ping_interval_ns = 20 * kNsPerS;
  h.ping_text = "ping";
  h.only_when_idle = true;
  return h;
}

std::vector<std::string> Protocol::resubscribe(const Topic& topic, std::uint64_t request_id) const {
  // Both requests carry the caller's id: the venue echoes it in each ack, and the caller hands out one id
  // per resync.
  const std::span<const Topic> one(&topic, 1);
  return {request("unsubscribe", one, request_id), request("subscribe", one, request_id)};
}

const VenueProtocol& okx_protocol() {
  static const Protocol kProtocol;
  return kProtocol;
}

}  // namespace sigflow::io::okx
