#include "io/venues/binance/snapshot_fetcher.hpp"

#include <charconv>

#include "engine/clock.hpp"
#include "io/venues/binance/protocol.hpp"

namespace sigflow::io::binance {

bool parse_http_url(std::string_view url, HttpUrl& out) {
  if (url.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    out.port = 80;
    url.remove_prefix(7);
  } else {
    return false;
  }
  const std::size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  if (const std::size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return false;
    out.port = static_cast<std::uint16_t>(value);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return false;
  out.host = std::string(authority);
  return true;
}

struct SnapshotFetcher::Link final : HttpResponseHandler {
  Link(SnapshotFetcher& owner, std::size_t index, HttpUrl origin) noexcept
      : owner(owner), index(index), origin(std::move(origin)) {}

  void on_complete(const HttpError& error, const HttpResponse* response) override {
    owner.on_complete(*this, error, response);
  }

  SnapshotFetcher& owner;
  std::size_t index;
  HttpUrl origin;
  std::unique_ptr<HttpConnection> http;
};

std::unique_ptr<SnapshotFetcher> SnapshotFetcher::create(EventLoop& loop, const TlsContext* tls,
                                                         std::vector<SnapshotVenueConfig> venues,
                                                         SnapshotFetcherOptions options,
                                                         SnapshotDeliver deliver, std::string& error) {
  SnapshotScheduler scheduler(std::move(venues), options.policy);
  if (!scheduler.ok()) {
    error = scheduler.error();
    return nullptr;
  }
  std::unique_ptr<SnapshotFetcher> fetcher(
      new SnapshotFetcher(loop, std::move(scheduler), std::move(deliver)));
  SnapshotScheduler& s = fetcher->scheduler_;
  for (std::size_t i = 0; i < s.venue_count(); ++i) {
    // The origin is that of the venue's own snapshot URL, so the production defaults live in one place
    // (protocol.hpp).
    const VenueProtocol& protocol = s.venue(i) == "binance" ? spot_protocol() : usdm_protocol();
    const std::string url = protocol.rest_snapshot(s.endpoints(i), "BTCUSDT").url;
    HttpUrl origin;
    if (!parse_http_url(url, origin)) {
      error = "snapshot venue '" + std::string(s.venue(i)) + "': rest_url '" + s.endpoints(i).rest_url +
              "' is not an http(s) URL";
      return nullptr;
    }
    if (origin.tls && tls == nullptr) {
      error = "snapshot venue '" + std::string(s.venue(i)) + "': https needs a TLS context";
      return nullptr;
    }
    HttpOriginConfig config;
    config.host = origin.host;
    config.port = origin.port;
    config.plaintext = !origin.tls;
    config.connect_timeout_ns = options.connect_timeout_ns;
    config.first_byte_timeout_ns = options.request_timeout_ns;
    config.request_timeout_ns = options.request_timeout_ns;
    config.idle_timeout_ns = options.idle_timeout_ns;
    config.max_body_bytes = options.max_body_bytes;
    config.send_buffer_bytes = 4096;  // a GET with a short query
    auto link = std::make_unique<Link>(*fetcher, i, std::move(origin));
    link->http = std::make_unique<HttpConnection>(loop, link->origin.tls ? tls : nullptr, std::move(config));
    fetcher->links_.push_back(std::move(link));
  }
  return fetcher;
}

SnapshotFetcher::SnapshotFetcher(EventLoop& loop, SnapshotScheduler scheduler, SnapshotDeliver deliver)
    : loop_(loop),
      scheduler_(std::move(scheduler)),
      deliver_(std::move(deliver)),
      timer_(loop, timer_handler_) {}

SnapshotFetcher::~SnapshotFetcher() {
  // Destroying a link's connection may run the loop (its stream collects its io_uring operations), which
  // delivers the other links' replies: a reply completed into this half-destroyed fetcher would re-arm its
  // already destroyed timer on the loop. Detach every request first (as io::HttpPool does).
  for (const auto& link : links_) link->http->detach();
}

void SnapshotFetcher::on_failure(SnapshotFailed failed) {
  failed_ = std::move(failed);
}

const HttpClientCounters& SnapshotFetcher::http_counters(std::size_t venue_index) const noexcept {
  return links_[venue_index]->http->counters();
}

EnqueueResult SnapshotFetcher::request(std::string_view venue, std::string_view symbol) {
  const EnqueueResult result = scheduler_.enqueue(venue, symbol);
  if (result == EnqueueResult::kQueued) pump(engine::monotonic_ns());
  return result;
}

void SnapshotFetcher::on_timer(std::int64_t now_ns) {
  pump(now_ns);
}

void SnapshotFetcher::pump(std::int64_t now_ns) {
  while (const auto start = scheduler_.start_next(now_ns)) {
    Link& link = *links_[start->venue_index];
    HttpUrl url;
    HttpRequest request;
    if (parse_http_url(start->url, url)) request.target = url.target;
    if (request.target.empty() || request.target == "/" || !link.http->send(request, link)) {
      // Cannot happen with a URL built from the same origin and one request per venue at a time; reported
      // to the scheduler as a transport failure so that the request is retried after a backoff.
      SnapshotReply reply;
      reply.transport_error = true;
      scheduler_.on_reply(start->venue_index, reply, now_ns, engine::wall_ns());
    }
  }
  const std::int64_t next = scheduler_.next_ready_ns(now_ns);
  if (next == engine::kNeverNs) {
    timer_.cancel();
  } else {
    timer_.arm_at(next);
  }
}

void SnapshotFetcher::on_complete(Link& link, const HttpError& error, const HttpResponse* response) {
  const std::int64_t now_ns = loop_.now_ns() != 0 ? loop_.now_ns() : engine::monotonic_ns();
  SnapshotReply reply;
  // A response cut short (body too large, peer closed mid-body) is a transport failure: no usable body.
  if (error || response == nullptr) {
    reply.transport_error = true;
    if (const auto pending = scheduler_.in_flight(link.index); pending && failed_)
      failed_(pending->venue, pending->symbol, error.message);
  } else {
    reply.status = response->status();
    reply.used_weight_1m = response->header("X-MBX-USED-WEIGHT-1M");
    reply.retry_after = response->header("Retry-After");
    reply.body = response->body();
  }
  if (scheduler_.on_reply(link.index, reply, now_ns, engine::wall_ns()) == ReplyVerdict::kDeliver) {
    const auto done = scheduler_.last_delivered(link.index);
    if (done && deliver_) deliver_(done->venue, done->symbol, reply.status, reply.body, now_ns);
  }
  pump(now_ns);
}

}  // namespace sigflow::io::binance
