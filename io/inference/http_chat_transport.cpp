#include "io/inference/http_chat_transport.hpp"

#include <charconv>

#include "engine/clock.hpp"

namespace sigflow::io {
namespace {

class HeadersOf final : public ResponseHeaders {
 public:
  explicit HeadersOf(const HttpResponse& response) noexcept : response_(response) {}
  std::optional<std::string_view> find(std::string_view name) const override {
    return response_.header(name);
  }

 private:
  const HttpResponse& response_;
};

class NoHeaders final : public ResponseHeaders {
 public:
  std::optional<std::string_view> find(std::string_view) const override { return std::nullopt; }
};

}  // namespace

bool parse_chat_endpoint(std::string_view url, ChatEndpoint& out, std::string& error) {
  out = ChatEndpoint{};
  std::uint16_t default_port = 443;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
    out.origin.plaintext = true;
    default_port = 80;
  } else {
    error = "base_url must start with https:// (or http:// for loopback)";
    return false;
  }
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    error = "base_url needs a host (and no user info)";
    return false;
  }
  std::uint16_t port = default_port;
  std::string_view host = authority;
  if (authority.front() == '[') {  // IPv6 literal
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "base_url has an unterminated IPv6 literal";
      return false;
    }
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      error = "base_url has junk after the IPv6 literal";
      return false;
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    authority.remove_prefix(colon);
  } else {
    authority = {};
  }
  if (!authority.empty()) {  // ":port"
    const std::string_view digits = authority.substr(1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
        value > 65535) {
      error = "base_url has a bad port";
      return false;
    }
    port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) {
    error = "base_url needs a host";
    return false;
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    error = "base_url must not carry a query or fragment";
    return false;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.origin.host = std::string(host);
  out.origin.port = port;
  out.target = std::string(path) + "/chat/completions";
  return true;
}

// One request slot: the handler the HTTP connection calls back, bound to the InferenceClient's tag.
class HttpChatTransport::Exchange final : public HttpResponseHandler {
 public:
  explicit Exchange(HttpChatTransport& owner) noexcept : owner_(owner) {}

  bool busy = false;       // between send() and on_complete
  bool cancelled = false;  // the client abandoned it: swallow what is left
  bool head_seen = false;
  std::uint64_t tag = 0;
  HttpConnection* connection = nullptr;

  void on_head(const HttpResponse& response) override {
    head_seen = true;
    if (cancelled) return;
    const HeadersOf headers(response);
    owner_.events_.on_response_head(tag, static_cast<int>(response.status()), headers,
                                    engine::monotonic_ns());
  }

  bool on_body(std::string_view bytes) override {
    if (!cancelled) owner_.events_.on_response_body(tag, bytes, engine::monotonic_ns());
    return !cancelled;
  }

  void on_complete(const HttpError& error, const HttpResponse* response) override {
    busy = false;
    connection = nullptr;
    if (cancelled) return;
    const std::int64_t now = engine::monotonic_ns();
    if (error) {
      owner_.events_.on_transport_failure(tag, to_string(error.kind), now);
      return;
    }
    if (!owner_.stream_) {
      const HeadersOf headers(*response);
      owner_.events_.on_response_head(tag, static_cast<int>(response->status()), headers, now);
      if (!response->body().empty()) owner_.events_.on_response_body(tag, response->body(), now);
    } else if (!head_seen) {
      const NoHeaders none;
      owner_.events_.on_response_head(tag, static_cast<int>(response->status()), none, now);
    }
    owner_.events_.on_response_end(tag, now);
  }

 private:
  HttpChatTransport& owner_;
};

HttpChatTransport::HttpChatTransport(EventLoop& loop, const TlsContext* tls, const ChatEndpoint& endpoint,
                                     std::string_view api_key, std::size_t connections, bool stream,
                                     ChatTransportEvents& events)
    : target_(endpoint.target),
      authorization_("Bearer ", api_key),
      stream_(stream),
      events_(events),
      pool_(loop, tls, endpoint.origin, connections == 0 ? 1 : connections) {
  // A cancelled exchange stays busy until its connection reports the abort: room for one per connection
  // plus as many again being torn down.
  for (std::size_t i = 0; i < 2 * pool_.size(); ++i) exchanges_.push_back(std::make_unique<Exchange>(*this));
}

HttpChatTransport::~HttpChatTransport() = default;

bool HttpChatTransport::post(std::uint64_t tag, std::string_view body, std::int64_t timeout_ns) {
  Exchange* exchange = nullptr;
  for (auto& e : exchanges_)
    if (!e->busy) {
      exchange = e.get();
      break;
    }
  if (!exchange) return false;
  HttpConnection* connection = pool_.acquire();
  if (!connection) return false;
  const HttpHeader headers[3] = {
      {"Authorization", authorization_.view()},
      {"Content-Type", "application/json"},
      {"Accept", stream_ ? std::string_view("text/event-stream") : std::string_view("application/json")}};
  HttpRequest request;
  request.method = "POST";
  request.target = target_;
  request.headers = headers;
  request.body = body;
  request.delivery = stream_ ? HttpDelivery::kStreaming : HttpDelivery::kBuffered;
  // A non-streaming completion spends its whole generation before the first byte.
  request.first_byte_timeout_ns = timeout_ns;
  request.request_timeout_ns = timeout_ns;
  exchange->busy = true;
  exchange->cancelled = false;
  exchange->head_seen = false;
  exchange->tag = tag;
  exchange->connection = connection;
  if (!connection->send(request, *exchange)) {
    exchange->busy = false;
    exchange->connection = nullptr;
    return false;
  }
  return true;
}

void HttpChatTransport::cancel(std::uint64_t tag) {
  for (auto& e : exchanges_) {
    if (e->busy && !e->cancelled && e->tag == tag) {
      e->cancelled = true;
      if (e->connection) e->connection->abort();
      return;
    }
  }
}

}  // namespace sigflow::io
