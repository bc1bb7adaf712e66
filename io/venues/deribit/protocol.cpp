#include "io/venues/deribit/protocol.hpp"

#include <algorithm>
#include <cstring>

#include "io/venues/deribit/instrument_name.hpp"

namespace sigflow::io::deribit {
namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;

// Data liveness per channel. The ticker carries the mark price, which moves with the index every interval
// on every instrument, options included: 10 s without one means the subscription is dead. Books of quiet
// options can legitimately stay unchanged for minutes, and every false alarm costs an unsubscribe and a
// subscribe from the shared credit pool — with a hundred option books a 10 s bound alone would spend the
// whole sustained budget (≈20 requests/s) and get the session terminated (10028). Trades are not watched.
struct Channel {
  std::string_view prefix;
  TopicKind kind;
  std::int64_t max_silence_ns;
  bool pushed_on_clock;  // the ticker carries the mark price, pushed every interval
};

constexpr Channel kChannels[] = {
    {"book", TopicKind::kBook, 60 * kSecondNs, false},
    {"trades", TopicKind::kTrades, 0, false},
    {"ticker", TopicKind::kTicker, 10 * kSecondNs, true},
};

constexpr std::string_view kInterval = ".100ms";

// The public/test call answering a test_request. Fixed text: reply_to() is stateless and must not format.
constexpr std::string_view kTestReply =
    R"({"jsonrpc":"2.0","id":9000000002,"method":"public/test","params":{}})";
static_assert(kTestReplyId == 9'000'000'002, "kTestReply spells kTestReplyId");

// A test_request is about 70 bytes compact (about 110 pretty-printed, fixture heartbeat_test_request);
// anything much larger is data and not worth a memmem.
constexpr std::size_t kMaxHeartbeatFrame = 256;

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

const char* skip_space(const char* p, const char* end) noexcept {
  while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  return p;
}

// Whether `"key"` in [begin, end) is followed by `: "value"` (JSON whitespace allowed around the colon).
bool has_member(const char* begin, const char* end, std::string_view key, std::string_view value) noexcept {
  const char* p = begin;
  while (true) {
    const void* hit = memmem(p, static_cast<std::size_t>(end - p), key.data(), key.size());
    if (hit == nullptr) return false;
    const char* q = skip_space(static_cast<const char*>(hit) + key.size(), end);
    p = static_cast<const char*>(hit) + key.size();
    if (q == end || *q != ':') continue;
    q = skip_space(q + 1, end);
    if (static_cast<std::size_t>(end - q) >= value.size() && std::memcmp(q, value.data(), value.size()) == 0)
      return true;
  }
}

}  // namespace

std::string channels_request(std::string_view method, std::span<const std::string> channels,
                             std::uint64_t id) {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += std::to_string(id);
  out += R"(,"method":)";
  append_json_string(out, method);
  out += R"(,"params":{"channels":[)";
  for (std::size_t i = 0; i < channels.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, channels[i]);
  }
  out += "]}}";
  return out;
}

bool test_request_reply(std::string_view frame, std::string& reply) noexcept {
  if (frame.size() > kMaxHeartbeatFrame) return false;
  const char* begin = frame.data();
  const char* end = begin + frame.size();
  if (memmem(begin, frame.size(), "test_request", 12) == nullptr) return false;
  // A notification whose method is heartbeat and whose params.type is test_request; a subscription frame
  // cannot pass, its method is "subscription".
  if (!has_member(begin, end, R"("method")", R"("heartbeat")")) return false;
  if (!has_member(begin, end, R"("type")", R"("test_request")")) return false;
  reply.assign(kTestReply);
  return true;
}

std::string DeribitProtocol::normalized_instrument(std::string_view symbol) const {
  return deribit::normalized_instrument(symbol);
}

std::vector<ConnectionPlan> DeribitProtocol::plan(const VenueEndpoints& endpoints,
                                                  std::span<const std::string> symbols) const {
  std::vector<ConnectionPlan> out;
  const std::string url = endpoints.url.empty() ? std::string(kStreamUrl) : endpoints.url;
  // Every channel of an instrument on the same connection, so that its book, trades and ticker share one
  // transport and one ordering.
  const std::size_t per_connection = kMaxChannelsPerConnection / std::size(kChannels);
  for (std::size_t first = 0; first < symbols.size(); first += per_connection) {
    ConnectionPlan plan;
    plan.url = url;
    const std::size_t last = std::min(symbols.size(), first + per_connection);
    for (std::size_t i = first; i < last; ++i) {
      for (const Channel& channel : kChannels) {
        std::string name(channel.prefix);
        name += '.';
        name += symbols[i];
        name += kInterval;
        plan.topics.push_back(Topic{std::move(name), symbols[i], channel.kind, channel.max_silence_ns,
                                    channel.pushed_on_clock});
      }
    }
    std::vector<std::string> names;
    std::uint64_t id = kFirstSubscribeId;
    for (std::size_t i = 0; i < plan.topics.size(); i += kMaxChannelsPerRequest) {
      names.clear();
      for (std::size_t k = i; k < std::min(plan.topics.size(), i + kMaxChannelsPerRequest); ++k)
        names.push_back(plan.topics[k].name);
      plan.subscribe_messages.push_back(channels_request("public/subscribe", names, id++));
    }
    out.push_back(std::move(plan));
  }
  return out;
}

VenueLimits DeribitProtocol::limits() const {
  VenueLimits limits;
  // Credits (docs.deribit.com/articles/rate-limits, feeds.md §2): a public request costs 500 of a 50,000
  // pool refilled at 10,000/s — about 20 requests/s sustained, bursts of 100 — and running dry terminates
  // the session. The pool is shared by every connection from the IP, so each connection keeps to 5/s.
  limits.max_outgoing_per_s = 5;
  limits.max_topics_per_connection = kMaxChannelsPerConnection;
  limits.max_topics_per_message = kMaxChannelsPerRequest;
  // 32 simultaneous connections per IP; the venue publishes no attempt window, so reconnects are held to
  // 30 a minute, under one full set of connections per minute.
  limits.connect_attempts_per_window = 30;
  limits.connect_window_ns = 60 * kSecondNs;
  return limits;
}

std::vector<std::string> DeribitProtocol::open_messages() const {
  std::string request = R"({"jsonrpc":"2.0","id":)";
  request += std::to_string(kSetHeartbeatId);
  request += R"(,"method":"public/set_heartbeat","params":{"interval":)";
  request += std::to_string(kHeartbeatIntervalS);
  request += "}}";
  return {std::move(request)};
}

bool DeribitProtocol::reply_to(std::string_view frame, std::string& reply) const {
  return test_request_reply(frame, reply);
}

std::vector<std::string> DeribitProtocol::resubscribe(const Topic& topic, std::uint64_t request_id) const {
  const std::string names[] = {topic.name};
  // Two requests with consecutive ids, so that each acknowledgement can be matched to its request.
  return {channels_request("public/unsubscribe", names, request_id),
          channels_request("public/subscribe", names, request_id + 1)};
}

const VenueProtocol& deribit_protocol() {
  static const DeribitProtocol kProtocol;
  return kProtocol;
}

}  // namespace sigflow::io::deribit
