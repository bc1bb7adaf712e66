#include "strategies/strategy_core.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "engine/clock.hpp"

namespace sigflow::strategies {

namespace {

// A fixed-size line for the error log: the error path must not allocate either.
class LogLine {
 public:
  LogLine& text(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), sizeof(buffer_) - 1 - length_);
    if (n != 0) std::memcpy(buffer_ + length_, s.data(), n);
    length_ += n;
    return *this;
  }
  LogLine& number(std::uint64_t v) noexcept {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, v);
    return text(std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
  }
  // The frame as printable ASCII: control and non-ASCII bytes become '.', so one line stays one line.
  LogLine& snippet(std::string_view frame, std::size_t limit) noexcept {
    const std::size_t n = std::min(frame.size(), limit);
    for (std::size_t i = 0; i < n && length_ < sizeof(buffer_) - 1; ++i) {
      const unsigned char c = static_cast<unsigned char>(frame[i]);
      buffer_[length_++] = (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '.';
    }
    if (frame.size() > n) text("...");
    return *this;
  }
  void write(std::FILE* out) noexcept {
    buffer_[length_++] = '\n';
    std::fwrite(buffer_, 1, length_, out);
    std::fflush(out);
  }

 private:
  char buffer_[768];
  std::size_t length_ = 0;
};

}  // namespace

StrategyCore::StrategyCore(std::vector<InstrumentSpec> instruments, std::vector<ConnectionSpec> connections,
                           StrategyConfig config)
    : config_(config), model_(config.model), counters_(std::make_unique<StrategyCounters>()) {
  rest_body_.reserve(config_.max_rest_body_bytes + engine::kFramePadding);
  states_.reserve(instruments.size());
  for (InstrumentSpec& spec : instruments) {
    const std::uint16_t venue = venue_index(spec.venue);
    symbols_.push_back(SymbolKey{venue, spec.symbol, states_.size()});
    const LivenessBounds liveness = spec.liveness.value_or(config_.liveness);
    states_.emplace_back(std::move(spec), config_.book_capacity, config_.book_sync, liveness);
  }
  std::sort(symbols_.begin(), symbols_.end(), [](const SymbolKey& a, const SymbolKey& b) {
    return a.venue != b.venue ? a.venue < b.venue : a.symbol < b.symbol;
  });
  for (std::size_t i = 1; i < symbols_.size(); ++i) {
    if (symbols_[i].venue == symbols_[i - 1].venue && symbols_[i].symbol == symbols_[i - 1].symbol) {
      throw std::invalid_argument("strategy: instrument \"" + symbols_[i].symbol +
                                  "\" listed twice for venue \"" + venues_[symbols_[i].venue] + "\"");
    }
  }

  for (ConnectionSpec& c : connections) {
    const std::uint16_t venue = venue_index(c.venue);
    const bool rest = c.route == kRestRoute;
    for (std::uint32_t book : c.books)
      if (book >= states_.size())
        throw std::invalid_argument("strategy: connection id " + std::to_string(c.conn_id) +
                                    " carries book " + std::to_string(book) + ", which does not exist");
    connections_.push_back(Connection{c.conn_id, venue, std::move(c.venue), std::move(c.route),
                                      std::move(c.stream), rest, std::move(c.books)});
  }
  std::sort(connections_.begin(), connections_.end(),
            [](const Connection& a, const Connection& b) { return a.conn_id < b.conn_id; });
  for (std::size_t i = 1; i < connections_.size(); ++i) {
    if (connections_[i].conn_id == connections_[i - 1].conn_id) {
      throw std::invalid_argument("strategy: connection id " + std::to_string(connections_[i].conn_id) +
                                  " listed twice");
    }
  }

  features_.resize(states_.size());
  for (std::size_t i = 0; i < states_.size(); ++i) {
    features_[i].venue = states_[i].spec().venue;
    features_[i].symbol = states_[i].spec().symbol;
    features_[i].instrument = states_[i].spec().instrument;
  }
}

StrategyCore::~StrategyCore() = default;

std::uint16_t StrategyCore::venue_index(const std::string& venue) {
  const auto it = std::find(venues_.begin(), venues_.end(), venue);
  if (it != venues_.end()) return static_cast<std::uint16_t>(it - venues_.begin());
  std::unique_ptr<io::VenueDecoder> decoder = io::make_decoder(venue);
  if (!decoder) throw std::invalid_argument("strategy: no decoder for venue \"" + venue + "\"");
  if (!sync_family(venue))
    throw std::invalid_argument("strategy: no book-sync rules for venue \"" + venue + "\"");
  venues_.push_back(venue);
  decoders_.push_back(std::move(decoder));
  latencies_.push_back(std::make_unique<VenueLatencies>());
  book_events_.push_back(0);
  return static_cast<std::uint16_t>(venues_.size() - 1);
}

const StrategyCore::Connection* StrategyCore::find_connection(std::uint32_t conn_id) const noexcept {
  const auto it = std::lower_bound(connections_.begin(), connections_.end(), conn_id,
                                   [](const Connection& c, std::uint32_t id) { return c.conn_id < id; });
  return it != connections_.end() && it->conn_id == conn_id ? &*it : nullptr;
}

InstrumentState* StrategyCore::find_state(std::uint16_t venue, std::string_view symbol) noexcept {
  const auto it = std::lower_bound(
      symbols_.begin(), symbols_.end(), std::pair{venue, symbol},
      [](const SymbolKey& k, const std::pair<std::uint16_t, std::string_view>& v) {
        return k.venue != v.first ? k.venue < v.first : std::string_view(k.symbol) < v.second;
      });
  if (it == symbols_.end() || it->venue != venue || it->symbol != symbol) return nullptr;
  return &states_[it->instrument];
}

int StrategyCore::find_instrument(std::string_view venue, std::string_view symbol) const noexcept {
  const auto v = std::find(venues_.begin(), venues_.end(), venue);
  if (v == venues_.end()) return -1;
  const InstrumentState* state =
      const_cast<StrategyCore*>(this)->find_state(static_cast<std::uint16_t>(v - venues_.begin()), symbol);
  return state ? static_cast<int>(state - states_.data()) : -1;
}

void StrategyCore::reset_change_score(std::size_t instrument) noexcept {
  if (instrument < states_.size()) states_[instrument].reset_change_score();
}

std::int64_t StrategyCore::on_frame(const engine::FrameView& frame, std::int64_t dequeued_ns) noexcept {
  StrategyCounters& c = *counters_;
  c.frames.add();
  const Connection* connection = find_connection(frame.conn_id);
  if (!connection) {
    c.unknown_connections.add();
    log_error({}, frame.conn_id, {}, "unknown connection id", {}, frame.bytes);
    return dequeued_ns ? engine::monotonic_ns() : 0;
  }
  // Before this frame's events: the lost ones came before it, and the book must not take this delta as if
  // it followed the last one applied.
  if (frame.after_loss) on_frames_lost(*connection, frame.recv_ns);
  io::VenueDecoder& decoder = *decoders_[connection->venue];
  applier_.venue = connection->venue;
  timing_frame_ = dequeued_ns != 0;
  const bool decoded =
      connection->rest
          ? decoder.decode_rest_snapshot(frame.bytes, connection->stream, frame.recv_ns, applier_)
          : decoder.decode(frame.bytes, frame.recv_ns, connection->stream, applier_);
  if (decoded) {
    c.decoded_frames.add();
  } else {
    c.decode_errors.add();
    log_error(connection->venue_name, frame.conn_id, connection->route,
              connection->rest ? "REST depth body does not decode" : "frame does not decode",
              decoder.error_message(), frame.bytes);
  }
  if (!timing_frame_) return 0;
  timing_frame_ = false;
  const std::int64_t done_ns = engine::monotonic_ns();
  VenueLatencies& l = *latencies_[connection->venue];
  // A receive stamp from another clock domain (a capture) would give nonsense; monotonic stamps never
  // exceed the dequeue time.
  if (frame.recv_ns > 0 && frame.recv_ns <= dequeued_ns) {
    l.queue.record(static_cast<std::uint64_t>(dequeued_ns - frame.recv_ns));
    l.receive_to_applied.record(static_cast<std::uint64_t>(done_ns - frame.recv_ns));
  }
  l.process.record(static_cast<std::uint64_t>(done_ns - dequeued_ns));
  if (config_.send_stamp_probe) record_send_stamp(frame.bytes, done_ns);
  return done_ns;
}

void StrategyCore::record_send_stamp(std::string_view frame, std::int64_t done_ns) noexcept {
  static constexpr std::string_view kKey = "\"sim_ns\":";
  const auto at = frame.find(kKey);
  if (at == std::string_view::npos) return;
  std::int64_t sent_ns = 0;
  const char* digits = frame.data() + at + kKey.size();
  if (std::from_chars(digits, frame.data() + frame.size(), sent_ns).ec != std::errc() || sent_ns <= 0 ||
      sent_ns > done_ns)
    return;
  send_to_applied_->record(static_cast<std::uint64_t>(done_ns - sent_ns));
}

bool StrategyCore::on_rest_depth_snapshot(std::string_view venue, std::string_view symbol,
                                          std::string_view body, std::int64_t recv_ns) noexcept {
  StrategyCounters& c = *counters_;
  const auto v = std::find(venues_.begin(), venues_.end(), venue);
  if (v == venues_.end() || !find_state(static_cast<std::uint16_t>(v - venues_.begin()), symbol)) {
    c.unknown_symbols.add();
    return false;
  }
  if (body.size() > config_.max_rest_body_bytes) {
    c.decode_errors.add();
    log_error(venue, kNoConnection, "REST depth", "body larger than max_rest_body_bytes", {}, body);
    return false;
  }
  rest_body_.assign(body);
  rest_body_.append(engine::kFramePadding, '\0');  // fits the reserve: no allocation
  const auto venue_id = static_cast<std::uint16_t>(v - venues_.begin());
  io::VenueDecoder& decoder = *decoders_[venue_id];
  applier_.venue = venue_id;
  const std::uint64_t snapshots_before = find_state(venue_id, symbol)->snapshots();
  if (!decoder.decode_rest_snapshot(std::string_view(rest_body_.data(), body.size()), symbol, recv_ns,
                                    applier_)) {
    c.decode_errors.add();
    log_error(venue, kNoConnection, "REST depth", "body does not decode", decoder.error_message(), body);
    return false;
  }
  return find_state(venue_id, symbol)->snapshots() > snapshots_before;
}

void StrategyCore::apply_event(std::uint16_t venue, const io::MarketEvent& event) noexcept {
  StrategyCounters& c = *counters_;
  switch (event.kind) {
    case io::EventKind::kSubscribeAck:
      c.acks.add();
      return;
    case io::EventKind::kVenueError: {
      c.venue_errors.add();
      char code[24];
      const auto r = std::to_chars(code, code + sizeof code, event.error.code);
      log_error(venues_[venue], kNoConnection, event.stream, "venue error",
                std::string_view(code, static_cast<std::size_t>(r.ptr - code)), event.error.message);
      return;
    }
    case io::EventKind::kIgnored:
    case io::EventKind::kNone:
      c.ignored_messages.add();
      return;
    default:
      break;
  }
  InstrumentState* state = find_state(venue, event.symbol);
  if (!state) {
    c.unknown_symbols.add();
    return;
  }
  c.decoded_events.add();
  const bool timed =
      timing_frame_ &&
      (event.kind == io::EventKind::kBookSnapshot || event.kind == io::EventKind::kBookDelta) &&
      ++book_events_[venue] % kBookApplySampleEvery == 0;
  const std::int64_t apply_start_ns = timed ? engine::monotonic_ns() : 0;
  const ApplyResult applied = state->apply(event);
  if (timed)
    latencies_[venue]->book_apply.record(static_cast<std::uint64_t>(engine::monotonic_ns() - apply_start_ns));
  switch (applied) {
    case ApplyResult::kGap:
      c.book_gaps.add();
      break;
    case ApplyResult::kStale:
      c.stale_deltas.add();
      break;
    case ApplyResult::kBuffered:
      c.buffered_deltas.add();
      break;
    case ApplyResult::kSnapshotRejected:
      c.rejected_snapshots.add();
      break;
    default:
      break;
  }
  if (state->take_snapshot_request(event.recv_ns))
    request(FeedRequest::Kind::kBookResync, io::TopicKind::kBook,
            static_cast<std::size_t>(state - states_.data()));
}

void StrategyCore::on_frames_lost(const Connection& connection, std::int64_t now_ns) noexcept {
  StrategyCounters& c = *counters_;
  c.frame_losses.add();
  // Which frames were lost is unknown: every book the connection carries may have missed a delta. A venue
  // chain would expose most such gaps at the next delta, but not a lost snapshot or the last delta before
  // a quiet spell, so each book is resynced now rather than trusted. A book already waiting for its
  // snapshot keeps waiting (its request timeout covers a lost snapshot).
  for (std::uint32_t index : connection.books) {
    InstrumentState& state = states_[index];
    if (!state.invalidate_book()) continue;
    c.book_gaps.add();
    c.loss_resyncs.add();
    if (state.take_snapshot_request(now_ns))
      request(FeedRequest::Kind::kBookResync, io::TopicKind::kBook, index);
  }
}

void StrategyCore::request(FeedRequest::Kind kind, io::TopicKind topic, std::size_t instrument,
                           std::int64_t last_data_ns) noexcept {
  StrategyCounters& c = *counters_;
  (kind == FeedRequest::Kind::kBookResync ? c.resync_requests : c.silent_topics).add();
  if (!config_.feed_requests) return;
  // A full queue loses this request only: the book's timeout asks again.
  if (!config_.feed_requests->push(
          FeedRequest{kind, topic, static_cast<std::uint32_t>(instrument), last_data_ns}))
    c.request_drops.add();
}

void StrategyCore::on_cycle(std::uint64_t cycle, std::int64_t now_ns, std::int64_t wall_ns,
                            SignalSink& sink) noexcept {
  std::uint64_t not_live = 0;
  for (std::size_t i = 0; i < states_.size(); ++i) {
    InstrumentState& state = states_[i];
    not_live += state.book_state() == BookState::kLive ? 0 : 1;
    if (state.take_snapshot_request(now_ns)) request(FeedRequest::Kind::kBookResync, io::TopicKind::kBook, i);
    if (const std::optional<io::TopicKind> silent = state.take_silent_topic(now_ns))
      request(FeedRequest::Kind::kTopicSilent, *silent, i, state.last_data_ns(*silent));
    state.on_cycle(now_ns);
    features_[i] = state.features(now_ns);
    const ModelDecision decision = model_.evaluate(features_[i]);
    Signal signal;
    signal.ts_ns = wall_ns;
    signal.cycle = cycle;
    signal.venue = features_[i].venue;
    signal.symbol = features_[i].symbol;
    signal.instrument = features_[i].instrument;
    signal.action = decision.action;
    signal.confidence = decision.confidence;
    signal.source = SignalSource::kLocal;
    signal.model = LocalModel::kName;
    signal.data_age_ms = features_[i].data_age_ms;
    signal.reason = decision.reason();
    sink.on_signal(signal);
    counters_->signals.add();
  }
  counters_->books_not_live.store(not_live, std::memory_order_relaxed);
}

void StrategyCore::log_error(std::string_view venue, std::int64_t conn_id, std::string_view route,
                             std::string_view what, std::string_view detail,
                             std::string_view frame) noexcept {
  if (!config_.error_log) return;
  // A broken feed can send thousands of bad frames a second; the counters carry the rate, the log
  // carries one example per interval.
  const std::int64_t now = engine::monotonic_ns();
  if (logged_once_ && now - last_log_ns_ < config_.error_log_interval_ns) {
    ++suppressed_logs_;
    return;
  }
  LogLine line;
  line.text("sigflow strategy: ");
  if (!venue.empty()) line.text(venue).text(" ");
  if (conn_id != kNoConnection) line.text("conn ").number(static_cast<std::uint64_t>(conn_id)).text(" ");
  if (!route.empty()) line.text(route).text(" ");
  line.text(": ").text(what);
  if (!detail.empty()) line.text(" (").text(detail).text(")");
  if (suppressed_logs_ > 0) line.text(" [").number(suppressed_logs_).text(" similar suppressed]");
  line.text(" frame: ").snippet(frame, config_.error_snippet_bytes);
  line.write(config_.error_log);
  logged_once_ = true;
  last_log_ns_ = now;
  suppressed_logs_ = 0;
}

}  // namespace sigflow::strategies
