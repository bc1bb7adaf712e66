#include "tools/exchange-sim/exchange_sim.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "engine/clock.hpp"
#include "io/loopback_certs.hpp"
#include "tools/exchange-sim/capture_file.hpp"
#include "tools/exchange-sim/client_connection.hpp"
#include "tools/exchange-sim/synthetic_market.hpp"
#include "tools/exchange-sim/venues.hpp"

namespace sigflow::tools {
namespace {

// The feed thread's step: 1 ms batches keep pacing smooth at 1k msg/s and amortise wake-ups at 200k+.
constexpr auto kFeedTick = std::chrono::milliseconds(1);
// A feed thread more than this far behind its schedule drops the debt instead of bursting to catch up.
constexpr double kMaxLagSeconds = 0.1;
// Market events per target frame at most. Only some events produce a frame on a given subscription (a deep
// level change moves no bookTicker), so a fully subscribed client needs ~1.5 events per frame; with sparse
// subscriptions the cap keeps the feed thread from spinning and the delivered rate falls short instead.
constexpr double kMaxEventsPerFrame = 3.0;
// After the walk pauses, the interval streams (depth@100ms, Bybit's and Deribit's timed pushes, at most
// 200 ms apart) still owe the last steps' changes; the books are copied once they have gone out.
constexpr std::int64_t kPauseFlushNs = 1'000'000'000;

struct TopicHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

std::string openssl_error(const char* what) {
  char reason[256] = "no OpenSSL error queued";
  if (const unsigned long code = ERR_get_error()) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  return std::string(what) + ": " + reason;
}

// How long a REST request waits for the feed thread; it answers within a tick unless the process is stopping.
constexpr auto kRestAnswerTimeout = std::chrono::seconds(2);

// Fans each rendered frame out to the connections of one venue subscribed to its topic. Owned by the feed
// thread; the route table is rebuilt from the connections' published topics whenever one of them changes.
class FanOut final : public FrameSink {
 public:
  bool wanted(std::string_view topic) const override { return routes_.find(topic) != routes_.end(); }
  bool idle() const { return routes_.empty(); }

  void emit(std::string_view topic, std::string_view payload, std::size_t stamp_slot,
            bool book_delta) override {
    const auto it = routes_.find(topic);
    if (it == routes_.end()) return;
    for (const auto& connection : it->second) {
      connection->enqueue(topic, payload, stamp_slot, book_delta);
      touched_.insert(connection.get());
    }
    deliveries_ += it->second.size();
  }

  void rebuild(const Venue& venue, const std::vector<std::shared_ptr<ClientConnection>>& connections) {
    routes_.clear();
    for (const auto& c : connections) {
      if (c->finished() || c->venue() != &venue) continue;
      for (auto& topic : c->info().topics) routes_[std::move(topic)].push_back(c);
    }
  }

  std::uint64_t take_deliveries() { return std::exchange(deliveries_, 0); }

  void wake_touched() {
    for (auto* c : touched_) c->wake();
    touched_.clear();
  }

 private:
  std::unordered_map<std::string, std::vector<std::shared_ptr<ClientConnection>>, TopicHash, std::equal_to<>>
      routes_;
  std::unordered_set<ClientConnection*> touched_;
  std::uint64_t deliveries_ = 0;
};

}  // namespace

struct ExchangeSim::State {
  explicit State(ExchangeSimConfig c) : config(std::move(c)) {
    for (const auto& [symbol, profile] : config.activity)
      activity[symbol] = {profile, engine::monotonic_ns()};
  }

  ExchangeSimConfig config;
  std::vector<std::unique_ptr<Venue>> venues;     // the served ones, in config order
  std::vector<std::vector<std::string>> symbols;  // per served venue
  std::string ca_pem;
  SSL_CTX* tls = nullptr;
  Capture capture;
  SimCounters counters;
  ServerContext context;
  int listen_fd = -1;
  int stop_fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  bool started = false;

  std::atomic<std::uint64_t> routes_version{0};
  mutable std::mutex connections_mutex;
  struct Running {
    std::shared_ptr<ClientConnection> connection;
    std::thread thread;
  };
  std::list<Running> running;
  std::uint64_t next_connection_id = 1;

  mutable std::mutex upgrades_mutex;
  std::vector<std::pair<std::string, std::int64_t>> upgrades;  // venue, CLOCK_MONOTONIC ns

  std::mutex feed_mutex;
  std::condition_variable feed_wake;

  // REST requests wait here for the feed thread, which owns the markets.
  struct RestRequest {
    const Venue* venue;
    std::string target;
    HttpReply reply;
    bool answered = false;
  };
  std::mutex rest_mutex;
  std::condition_variable rest_answered;
  std::vector<RestRequest*> rest_pending;
  struct RestFault {
    std::size_t remaining = 0;
    unsigned status = 429;
    std::chrono::seconds retry_after{0};
  };
  std::unordered_map<std::string, RestFault> rest_faults;  // by venue id, under rest_mutex

  // A pause stops the walk; the feed thread then copies every book once, for that pause (its epoch).
  // Activity profiles by symbol (config, then set_activity), each with when its quiet spells count from;
  // the feed thread copies them when the version moves.
  struct ActivitySetting {
    ActivityProfile profile;
    std::int64_t since_ns = 0;
  };
  std::mutex activity_mutex;
  std::map<std::string, ActivitySetting, std::less<>> activity;  // under activity_mutex
  std::atomic<std::uint64_t> activity_version{1};

  std::atomic<bool> market_paused{false};
  std::atomic<std::uint64_t> pause_epoch{0};
  mutable std::mutex books_mutex;
  std::condition_variable books_taken;
  std::uint64_t books_epoch = 0;            // under books_mutex: the pause `books` belongs to
  std::vector<std::vector<SimBook>> books;  // per served venue, under books_mutex
  std::thread acceptor;
  std::thread feed;

  ~State() {
    if (tls) SSL_CTX_free(tls);
    if (listen_fd >= 0) ::close(listen_fd);
    if (stop_fd >= 0) ::close(stop_fd);
  }

  std::vector<std::shared_ptr<ClientConnection>> snapshot() const {
    std::lock_guard lock(connections_mutex);
    std::vector<std::shared_ptr<ClientConnection>> out;
    for (const auto& r : running) out.push_back(r.connection);
    return out;
  }

  StartResult make_tls() {
    io::LoopbackCertificates certs;
    try {
      certs = io::make_loopback_certificates();
    } catch (const std::exception& e) {
      return {e.what()};
    }
    ca_pem = certs.ca_pem;
    tls = SSL_CTX_new(TLS_server_method());
    if (!tls) return {openssl_error("SSL_CTX_new")};
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    // Partial writes and a moving buffer let one connection thread feed a non-blocking socket from a
    // growing plaintext buffer without copying it per SSL_write retry.
    SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    BIO* cert_bio = BIO_new_mem_buf(certs.cert_pem.data(), static_cast<int>(certs.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO* key_bio = BIO_new_mem_buf(certs.key_pem.data(), static_cast<int>(certs.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(key_bio);
    const bool ok = cert && key && SSL_CTX_use_certificate(tls, cert) == 1 &&
                    SSL_CTX_use_PrivateKey(tls, key) == 1 && SSL_CTX_check_private_key(tls) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) return {openssl_error("loading the loopback certificate")};
    return {};
  }

  StartResult listen_on_loopback() {
    listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) return {std::string("socket: ") + std::strerror(errno)};
    const int one = 1;
    ::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(config.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return {"bind 127.0.0.1:" + std::to_string(config.port) + ": " + std::strerror(errno)};
    if (::listen(listen_fd, 128) != 0) return {std::string("listen: ") + std::strerror(errno)};
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (stop_fd < 0) return {std::string("eventfd: ") + std::strerror(errno)};
    return {};
  }

  void reap_finished() {
    std::list<Running> done;
    {
      std::lock_guard lock(connections_mutex);
      for (auto it = running.begin(); it != running.end();) {
        if (it->connection->finished()) {
          done.splice(done.end(), running, it++);
        } else {
          ++it;
        }
      }
    }
    for (auto& r : done) r.thread.join();
  }

  void accept_loop() {
    while (!stopping.load()) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      // The timeout bounds how long finished connection threads wait to be joined.
      ::poll(fds, 2, 200);
      reap_finished();
      if (stopping.load()) break;
      if (!(fds[0].revents & POLLIN)) continue;
      for (;;) {
        const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
        counters.connections_accepted.add();
        std::lock_guard lock(connections_mutex);
        try {
          auto connection = std::make_shared<ClientConnection>(next_connection_id++, fd, context);
          running.push_back({connection, std::thread([connection] { connection->run(); })});
        } catch (const std::exception&) {
          counters.connections_closed.add();
        }
      }
    }
  }

  // The rendered state of one venue: its own market (symbols differ between venues), feed and routes.
  struct VenueWalk {
    const Venue* venue;
    SyntheticMarket market;
    std::unique_ptr<VenueFeed> feed;
    FanOut fanout;
    double credit = 0;
  };

  HttpReply http_get(const Venue& venue, std::string_view target) {
    std::unique_lock lock(rest_mutex);
    if (auto it = rest_faults.find(std::string(venue.id()));
        it != rest_faults.end() && it->second.remaining) {
      --it->second.remaining;
      counters.rest_faults.add();
      HttpReply reply;
      reply.status = it->second.status;
      reply.headers.emplace_back("Retry-After", std::to_string(it->second.retry_after.count()));
      reply.body = R"({"code":-1003,"msg":"Too many requests; simulated by fail_rest."})";
      return reply;
    }
    if (!config.replay_file.empty()) return {404, "text/plain", {}, "REST is not served during a replay\n"};
    RestRequest request{&venue, std::string(target), {}, false};
    rest_pending.push_back(&request);
    const bool answered =
        rest_answered.wait_for(lock, kRestAnswerTimeout, [&] { return request.answered || stopping.load(); });
    if (!request.answered) {
      std::erase(rest_pending, &request);
      return {503, "text/plain", {}, answered ? "simulator stopping\n" : "simulator busy\n"};
    }
    return std::move(request.reply);
  }

  void answer_rest(std::vector<VenueWalk>& walks, std::int64_t wall_ms) {
    std::lock_guard lock(rest_mutex);
    if (rest_pending.empty()) return;
    for (RestRequest* r : rest_pending) {
      for (VenueWalk& w : walks) {
        if (w.venue != r->venue) continue;
        if (auto reply = w.feed->on_http_get(w.market, r->target, wall_ms)) {
          r->reply = std::move(*reply);
        } else {
          r->reply = {404, "text/plain", {}, "no such endpoint: " + r->target + "\n"};
        }
      }
      r->answered = true;
    }
    rest_pending.clear();
    rest_answered.notify_all();
  }

  void feed_loop() {
    std::vector<VenueWalk> walks;
    walks.reserve(venues.size());
    for (std::size_t v = 0; v < venues.size(); ++v) {
      walks.push_back(
          {venues[v].get(),
           SyntheticMarket(make_instrument_specs(symbols[v], config.instruments), config.seed + v), nullptr,
           FanOut{}, 0});
      walks.back().feed = venues[v]->make_feed(walks.back().market, config.stamp_send_ns);
    }
    // The configured rate is the whole simulator's: each venue gets an equal share.
    const double rate = config.rate / static_cast<double>(std::max<std::size_t>(1, walks.size()));
    std::uint64_t seen_version = ~std::uint64_t{0};
    std::int64_t last = engine::monotonic_ns();
    std::int64_t paused_since = 0;  // when this thread first saw the current pause; 0: not paused
    std::uint64_t seen_activity = 0;
    std::map<std::string, ActivitySetting, std::less<>> profiles;
    auto deadline = std::chrono::steady_clock::now();
    while (!stopping.load()) {
      if (const std::uint64_t v = activity_version.load(std::memory_order_acquire); v != seen_activity) {
        seen_activity = v;
        std::lock_guard lock(activity_mutex);
        profiles = activity;
      }
      const std::uint64_t version = routes_version.load(std::memory_order_acquire);
      if (version != seen_version) {
        seen_version = version;
        const auto connections = snapshot();
        for (VenueWalk& w : walks) w.fanout.rebuild(*w.venue, connections);
      }
      const std::int64_t now = engine::monotonic_ns();
      const std::int64_t wall_ms = engine::wall_ns() / 1'000'000;
      const double earned = rate * static_cast<double>(now - last) / 1e9;
      last = now;
      const bool paused = market_paused.load();
      const std::uint64_t epoch = pause_epoch.load();
      if (!paused) {
        paused_since = 0;
      } else if (paused_since == 0) {
        paused_since = now;
      }
      if (!profiles.empty())
        for (VenueWalk& w : walks) apply_activity(w.market, profiles, now);
      for (VenueWalk& w : walks) {
        if (paused) w.credit = 0;  // no market event; the venue's clock (intervals, flushes) goes on
        step_walk(w, rate, paused ? 0 : earned, now, wall_ms);
      }
      if (paused && now - paused_since >= kPauseFlushNs) copy_books(walks, epoch);
      answer_rest(walks, wall_ms);
      for (VenueWalk& w : walks) w.fanout.wake_touched();

      deadline += kFeedTick;
      const auto steady_now = std::chrono::steady_clock::now();
      if (deadline < steady_now) deadline = steady_now;
      std::unique_lock lock(feed_mutex);
      feed_wake.wait_until(lock, deadline, [&] { return stopping.load(); });
    }
  }

  // Each instrument's activity now: its profile's, or none at all inside a quiet spell.
  static void apply_activity(SyntheticMarket& market,
                             const std::map<std::string, ActivitySetting, std::less<>>& profiles,
                             std::int64_t now) {
    for (std::size_t i = 0; i < market.size(); ++i) {
      const auto it = profiles.find(market.spec(i).symbol);
      if (it == profiles.end()) continue;
      const ActivityProfile& p = it->second.profile;
      const std::int64_t every = std::chrono::nanoseconds(p.quiet_every).count();
      const std::int64_t quiet = std::chrono::nanoseconds(p.quiet_for).count();
      bool in_spell = false;
      if (quiet > 0) in_spell = every > quiet ? (now - it->second.since_ns) % every < quiet : true;
      market.set_activity(i, in_spell ? 0.0 : p.activity);
    }
  }

  // Once per pause: every book as the walk left it, for paused_books().
  void copy_books(const std::vector<VenueWalk>& walks, std::uint64_t epoch) {
    std::lock_guard lock(books_mutex);
    if (books_epoch == epoch) return;
    books.assign(walks.size(), {});
    for (std::size_t v = 0; v < walks.size(); ++v) {
      const SyntheticMarket& market = walks[v].market;
      for (std::size_t i = 0; i < market.size(); ++i) {
        const InstrumentSpec& spec = market.spec(i);
        SimBook& book = books[v].emplace_back();
        book.symbol = spec.symbol;
        const auto copy_side = [&](const auto& levels, std::vector<SimBookLevel>& out) {
          for (const auto& [price, size] : levels) {
            SimBookLevel& level = out.emplace_back();
            append_decimal(level.price, price, spec.price_decimals);
            append_decimal(level.size, size, spec.size_decimals);
          }
        };
        copy_side(market.book(i).bids(), book.bids);
        copy_side(market.book(i).asks(), book.asks);
      }
    }
    books_epoch = epoch;
    books_taken.notify_all();
  }

  void step_walk(VenueWalk& w, double rate, double earned, std::int64_t now, std::int64_t wall_ms) {
    w.credit += earned;
    if (w.credit > rate * kMaxLagSeconds + 1) {
      counters.generator_lag_resets.add();
      w.credit = earned;
    }
    // With no subscriber at all the market stands still: nobody could tell, and it costs nothing.
    if (w.fanout.idle()) w.credit = 0;
    const auto max_events =
        static_cast<std::uint64_t>(std::max(16.0, std::max(earned, w.credit) * kMaxEventsPerFrame));
    std::uint64_t events = 0;
    if (!w.market.any_active()) w.credit = 0;  // every instrument quiet: no event to spend it on
    while (w.credit >= 1 && events < max_events) {
      w.feed->on_event(w.market, w.market.step(), wall_ms, w.fanout);
      w.credit -= static_cast<double>(w.fanout.take_deliveries());
      ++events;
    }
    // Nobody takes enough real-time frames to spend the budget: forget it rather than bank it.
    if (events == max_events) w.credit = std::min(w.credit, 1.0);
    w.feed->on_clock(w.market, now, wall_ms, w.fanout);
    w.credit -= static_cast<double>(w.fanout.take_deliveries());
  }
};

std::vector<SimVenueConfig> every_sim_venue() {
  std::vector<SimVenueConfig> out;
  for (const auto& venue : make_sim_venues())
    out.push_back({std::string(venue->id()), venue->default_symbols()});
  return out;
}

ExchangeSim::ExchangeSim(ExchangeSimConfig config) : state_(std::make_unique<State>(std::move(config))) {}

ExchangeSim::~ExchangeSim() {
  stop();
}

StartResult ExchangeSim::start() {
  State& s = *state_;
  if (s.started) return {"exchange simulator already started"};
  if (s.config.rate < 0) return {"rate must not be negative"};
  std::vector<SimVenueConfig> wanted = s.config.venues;
  if (wanted.empty()) wanted.push_back({"binance-usdm", {}});
  auto registered = make_sim_venues();
  for (const SimVenueConfig& w : wanted) {
    auto it = std::find_if(registered.begin(), registered.end(),
                           [&](const auto& v) { return v && v->id() == w.id; });
    if (it == registered.end()) {
      std::string known;
      for (const auto& id : sim_venue_ids()) known += (known.empty() ? "" : ", ") + id;
      return {"venue '" + w.id + "' is not simulated or listed twice (simulated: " + known + ")"};
    }
    std::vector<std::string> symbols = w.symbols.empty() ? (*it)->default_symbols() : w.symbols;
    if (symbols.empty()) symbols = s.config.symbols;
    // Generated instruments (no symbols anywhere) get their names here, so symbols() lists what is served.
    std::vector<std::string> served;
    for (const auto& spec : make_instrument_specs(symbols, s.config.instruments))
      served.push_back(spec.symbol);
    s.symbols.push_back(std::move(served));
    s.venues.push_back(std::move(*it));
  }
  if (!s.config.replay_file.empty()) {
    if (s.venues.size() != 1) return {"a replay serves exactly one venue"};
    try {
      s.capture = load_capture(s.config.replay_file, *s.venues.front());
    } catch (const std::exception& e) {
      return {e.what()};
    }
    if (s.capture.frames.empty())
      return {"capture " + s.config.replay_file + " has no frames for " +
              std::string(s.venues.front()->id())};
  } else {
    try {
      for (std::size_t v = 0; v < s.venues.size(); ++v)
        SyntheticMarket probe(make_instrument_specs(s.symbols[v], s.config.instruments), s.config.seed);
    } catch (const std::exception& e) {
      return {e.what()};
    }
  }
  if (auto r = s.make_tls(); !r.ok()) return r;
  if (auto r = s.listen_on_loopback(); !r.ok()) return r;

  s.context.config = &s.config;
  for (const auto& v : s.venues) s.context.venues.push_back(v.get());
  s.context.tls = s.tls;
  s.context.counters = &s.counters;
  s.context.upgraded = [&s](std::string_view venue) {
    const std::int64_t now = engine::monotonic_ns();
    std::lock_guard lock(s.upgrades_mutex);
    s.upgrades.emplace_back(std::string(venue), now);
  };
  s.context.replay = s.config.replay_file.empty() ? nullptr : &s.capture.frames;
  s.context.stopping = &s.stopping;
  s.context.topics_changed = [&s] { s.routes_version.fetch_add(1, std::memory_order_release); };
  s.context.http_get = [&s](const Venue& venue, std::string_view target) {
    return s.http_get(venue, target);
  };
  s.started = true;
  s.acceptor = std::thread([&s] { s.accept_loop(); });
  if (!s.context.replay) s.feed = std::thread([&s] { s.feed_loop(); });
  return {};
}

void ExchangeSim::stop() {
  State& s = *state_;
  if (!s.started || s.stopping.exchange(true)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(s.stop_fd, &one, sizeof one);
  { std::lock_guard lock(s.feed_mutex); }
  s.feed_wake.notify_all();
  { std::lock_guard lock(s.rest_mutex); }
  s.rest_answered.notify_all();
  if (s.acceptor.joinable()) s.acceptor.join();
  if (s.feed.joinable()) s.feed.join();
  // Connection threads see `stopping` at their next wake-up; waking them bounds that to a poll round trip.
  std::list<State::Running> all;
  {
    std::lock_guard lock(s.connections_mutex);
    all.swap(s.running);
  }
  for (auto& r : all) r.connection->wake();
  for (auto& r : all) r.thread.join();
  ::close(s.listen_fd);
  s.listen_fd = -1;
}

std::uint16_t ExchangeSim::port() const {
  return state_->port;
}
const std::string& ExchangeSim::ca_pem() const {
  return state_->ca_pem;
}
std::string_view ExchangeSim::venue() const {
  return state_->venues.empty() ? std::string_view("binance-usdm") : state_->venues.front()->id();
}

std::vector<std::string> ExchangeSim::venues() const {
  std::vector<std::string> out;
  for (const auto& v : state_->venues) out.emplace_back(v->id());
  return out;
}

std::vector<std::string> ExchangeSim::symbols(std::string_view venue) const {
  for (std::size_t v = 0; v < state_->venues.size(); ++v)
    if (state_->venues[v]->id() == venue) return state_->symbols[v];
  return {};
}

ExchangeSimStats ExchangeSim::stats() const {
  const SimCounters& c = state_->counters;
  ExchangeSimStats s;
  s.connections_accepted = c.connections_accepted.load();
  const std::uint64_t closed = c.connections_closed.load();
  s.connections_open = s.connections_accepted > closed ? s.connections_accepted - closed : 0;
  s.tls_failures = c.tls_failures.load();
  s.upgrades_rejected = c.upgrades_rejected.load();
  s.frames_sent = c.frames_sent.load();
  s.bytes_sent = c.bytes_sent.load();
  s.client_messages = c.client_messages.load();
  s.error_replies = c.error_replies.load();
  s.pings_sent = c.pings_sent.load();
  s.pongs_received = c.pongs_received.load();
  s.frames_withheld = c.frames_withheld.load();
  s.slow_consumer_disconnects = c.slow_consumer_disconnects.load();
  s.fault_disconnects = c.fault_disconnects.load();
  s.generator_lag_resets = c.generator_lag_resets.load();
  s.rest_requests = c.rest_requests.load();
  s.rest_faults = c.rest_faults.load();
  s.close_frames_received = c.close_frames_received.load();
  s.close_frames_going_away = c.close_frames_going_away.load();
  return s;
}

std::vector<std::int64_t> ExchangeSim::upgrade_times(std::string_view venue) const {
  std::vector<std::int64_t> out;
  std::lock_guard lock(state_->upgrades_mutex);
  for (const auto& [id, ns] : state_->upgrades)
    if (id == venue) out.push_back(ns);
  return out;
}

std::vector<ConnectionInfo> ExchangeSim::connections() const {
  std::vector<ConnectionInfo> out;
  for (const auto& c : state_->snapshot())
    if (!c->finished()) out.push_back(c->info());
  return out;
}

namespace {
template <class Action>
std::size_t for_connections(const std::vector<std::shared_ptr<ClientConnection>>& all, std::uint64_t id,
                            bool websocket_only, Action action) {
  std::size_t reached = 0;
  for (const auto& c : all) {
    if (c->finished() || (id != ExchangeSim::kAllConnections && c->id() != id)) continue;
    if (websocket_only && c->venue() == nullptr) continue;
    action(*c);
    ++reached;
  }
  return reached;
}
}  // namespace

std::size_t ExchangeSim::disconnect(std::uint64_t connection) {
  return for_connections(state_->snapshot(), connection, false,
                         [](ClientConnection& c) { c.request_disconnect(); });
}
std::size_t ExchangeSim::set_silent(bool silent, std::uint64_t connection) {
  return for_connections(state_->snapshot(), connection, true,
                         [silent](ClientConnection& c) { c.set_silent(silent); });
}
std::size_t ExchangeSim::send_malformed_json(std::uint64_t connection) {
  return for_connections(state_->snapshot(), connection, true,
                         [](ClientConnection& c) { c.request_malformed_frame(); });
}
std::size_t ExchangeSim::skip_depth_update(std::uint64_t connection) {
  return for_connections(state_->snapshot(), connection, true, [](ClientConnection& c) { c.request_gap(); });
}

void ExchangeSim::set_activity(std::string_view symbol, ActivityProfile profile) {
  State& s = *state_;
  {
    std::lock_guard lock(s.activity_mutex);
    s.activity[std::string(symbol)] = {profile, engine::monotonic_ns()};
  }
  s.activity_version.fetch_add(1, std::memory_order_release);
}

bool ExchangeSim::set_market_paused(bool paused) {
  State& s = *state_;
  if (!paused) {
    s.market_paused.store(false);
    return true;
  }
  if (!s.config.replay_file.empty()) return false;
  s.market_paused.store(true);
  const std::uint64_t epoch = s.pause_epoch.fetch_add(1) + 1;
  std::unique_lock lock(s.books_mutex);
  return s.books_taken.wait_for(lock, std::chrono::seconds(10), [&] { return s.books_epoch == epoch; });
}

std::vector<SimBook> ExchangeSim::paused_books(std::string_view venue) const {
  const State& s = *state_;
  if (!s.market_paused.load()) return {};
  std::lock_guard lock(s.books_mutex);
  for (std::size_t v = 0; v < s.venues.size() && v < s.books.size(); ++v)
    if (s.venues[v]->id() == venue) return s.books[v];
  return {};
}

std::vector<std::uint64_t> ExchangeSim::connection_ids(std::string_view venue) const {
  std::vector<std::uint64_t> out;
  for (const auto& c : state_->snapshot())
    if (!c->finished() && c->venue() && c->venue()->id() == venue) out.push_back(c->id());
  return out;
}

void ExchangeSim::fail_rest(std::string_view venue, std::size_t count, unsigned status,
                            std::chrono::seconds retry_after) {
  std::lock_guard lock(state_->rest_mutex);
  state_->rest_faults[std::string(venue)] = {count, status, retry_after};
}

}  // namespace sigflow::tools
