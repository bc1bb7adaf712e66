#include "engine/app/feed_thread.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "engine/clock.hpp"
#include "io/event_loop.hpp"

namespace sigflow::app {
namespace {

// How long a stopping feed thread waits for its WebSocket close handshakes.
constexpr std::int64_t kCloseGraceNs = 2'000'000'000;
// With a request queue the loop wakes at least this often to look at it: a request waits at most this long
// when the sockets are quiet (a resync is useless before the strategy's 50 ms cycle anyway).
constexpr std::int64_t kRequestPollNs = 5'000'000;

}  // namespace

FeedThread::FeedThread(std::string name, engine::ThreadConfig thread,
                       std::vector<FeedConnectionConfig> connections, io::TlsOptions tls,
                       engine::FrameRing& ring)
    : name_(std::move(name)),
      thread_config_(thread),
      configs_(std::move(connections)),
      tls_options_(std::move(tls)),
      ring_(ring),
      open_flags_(std::make_unique<std::atomic<bool>[]>(configs_.size())) {}

FeedThread::FeedThread(std::string name, engine::ThreadConfig thread, const VenueWiring& wiring,
                       io::TlsOptions tls, engine::FrameRing& ring, strategies::FeedRequestQueue* requests,
                       RestSnapshotSourceFactory rest)
    : name_(std::move(name)),
      thread_config_(thread),
      configs_(wiring.connections),
      routes_(wiring.feed_routes),
      venues_(wiring.venues),
      requests_(requests),
      rest_factory_(std::move(rest)),
      tls_options_(std::move(tls)),
      ring_(ring),
      open_flags_(std::make_unique<std::atomic<bool>[]>(configs_.size())) {}

FeedThread::~FeedThread() {
  stop();
}

void FeedThread::start() {
  thread_ = engine::PinnedThread(name_, thread_config_, [this] { run(); });
  while (ready_.load(std::memory_order_acquire) == 0) std::this_thread::yield();
  if (ready_.load(std::memory_order_acquire) < 0) {
    thread_.join();
    throw std::runtime_error(name_ + ": " + error_);
  }
}

void FeedThread::stop() {
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

std::size_t FeedThread::connections_open(std::string_view venue) const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < configs_.size(); ++i)
    if (configs_[i].venue == venue && open_flags_[i].load(std::memory_order_relaxed)) ++n;
  return n;
}

std::size_t FeedThread::connection_count(std::string_view venue) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(configs_.begin(), configs_.end(), [&](const auto& c) { return c.venue == venue; }));
}

const FeedConnectionCounters* FeedThread::connection_counters(std::size_t index) const noexcept {
  if (ready_.load(std::memory_order_acquire) != 1 || finished_.load(std::memory_order_acquire) ||
      index >= connections_.size())
    return nullptr;
  return &connections_[index]->counters();
}

FeedTotals FeedThread::totals() const noexcept {
  if (finished_.load(std::memory_order_acquire)) return final_totals_;
  // Before ready_ the thread is still building the connections and the REST source.
  if (ready_.load(std::memory_order_acquire) != 1) return {};
  FeedTotals t = connection_totals({});
  t.requests = requests_taken_.load();
  t.requests_dropped += requests_dropped_.load();
  t.rest_requests = rest_requests_.load();
  if (rest_) t.rest_bodies = rest_->bodies();
  return t;
}

FeedTotals FeedThread::connection_totals(std::string_view venue) const noexcept {
  FeedTotals t;
  if (ready_.load(std::memory_order_acquire) != 1 || finished_.load(std::memory_order_acquire)) return t;
  for (std::size_t i = 0; i < connections_.size(); ++i) {
    if (!venue.empty() && configs_[i].venue != venue) continue;
    const auto& c = connections_[i];
    t.messages += c->websocket_counters().messages.load();
    t.bytes += c->websocket_counters().bytes.load();
    t.ring_drops += c->websocket_counters().drops.load();
    t.disconnects += c->counters().disconnects.load();
    t.opens += c->counters().opens.load();
    t.resubscribes += c->counters().resubscribes.load();
    t.recycles += c->counters().recycles.load();
    t.requests_dropped += c->counters().requests_dropped.load();
  }
  return t;
}

void FeedThread::serve_requests(std::int64_t now_ns) {
  strategies::FeedRequest request;
  for (std::size_t n = 0; n < kMaxRequestsPerTurn && requests_->pop(request); ++n) {
    requests_taken_.add();
    if (request.instrument >= routes_.size()) {
      requests_dropped_.add();
      continue;
    }
    const InstrumentFeedRoute& route = routes_[request.instrument];
    if (request.kind == strategies::FeedRequest::Kind::kBookResync) {
      book_resync(route);
      continue;
    }
    const TopicRef ref = topic_carrying(route, request.topic);
    if (!ref.valid()) {
      requests_dropped_.add();
      continue;
    }
    connections_[ref.connection]->on_topic_silent(ref.topic, request.last_data_ns, now_ns);
  }
}

void FeedThread::book_resync(const InstrumentFeedRoute& route) {
  if (route.rest_conn_id != 0) {
    if (rest_ && rest_->request(venues_[route.venue], route)) {
      rest_requests_.add();
    } else {
      requests_dropped_.add();
    }
    return;
  }
  const TopicRef ref = route.topics[static_cast<std::size_t>(io::TopicKind::kBook)];
  if (!ref.valid()) {
    requests_dropped_.add();
    return;
  }
  connections_[ref.connection]->resubscribe(ref.topic);
}

void FeedThread::run() {
  std::unique_ptr<io::EventLoop> loop;
  std::unique_ptr<io::TlsContext> tls;
  try {
    io::EventLoopConfig loop_config;
    loop_config.busy_poll = thread_config_.wait == engine::WaitMode::kBusyPoll;
    loop = std::make_unique<io::EventLoop>(loop_config);
    bool needs_tls = rest_factory_ != nullptr;
    for (const auto& c : configs_) needs_tls |= c.url.tls;
    if (needs_tls) {
      tls = io::TlsContext::create(tls_options_, error_);
      if (!tls) throw std::runtime_error(error_);
    }
    for (const auto& c : configs_)
      connections_.push_back(std::make_unique<FeedConnection>(*loop, tls.get(), c, ring_));
    if (rest_factory_) rest_ = rest_factory_(*loop, tls.get(), venues_, ring_);
  } catch (const std::exception& e) {
    error_ = e.what();
    rest_.reset();
    connections_.clear();
    ready_.store(-1, std::memory_order_release);
    return;
  }
  ready_.store(1, std::memory_order_release);

  for (auto& connection : connections_) connection->start();
  const std::int64_t max_wait = requests_ ? kRequestPollNs : io::EventLoop::kMaxWaitNs;
  while (!stop_.load(std::memory_order_acquire)) {
    loop->run_once(max_wait);
    if (requests_) serve_requests(engine::monotonic_ns());
    std::size_t open = 0;
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      const bool is_open = connections_[i]->is_open();
      open_flags_[i].store(is_open, std::memory_order_relaxed);
      open += is_open ? 1 : 0;
    }
    open_.store(open, std::memory_order_relaxed);
  }

  for (auto& connection : connections_) connection->stop();
  loop->run_until(
      [&] {
        for (const auto& connection : connections_)
          if (!connection->stopped()) return false;
        return true;
      },
      kCloseGraceNs);
  open_.store(0, std::memory_order_relaxed);
  for (std::size_t i = 0; i < connections_.size(); ++i)
    open_flags_[i].store(false, std::memory_order_relaxed);
  final_totals_ = totals();
  finished_.store(true, std::memory_order_release);
  // The REST source and the connections hold timers and operations on the loop: they go first, here.
  rest_.reset();
  connections_.clear();
  loop.reset();
}

}  // namespace sigflow::app
