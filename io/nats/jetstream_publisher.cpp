#include "io/nats/jetstream_publisher.hpp"

#include <fcntl.h>
#include <nats/nats.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace sigflow::io::nats {
namespace detail {

struct AckResult {
  std::string id;
  bool ok = false;
  bool duplicate = false;
  bool rejected = false;  // JetStream processed the message and refused it (an API error code): never stored
};

struct AckInbox {
  std::mutex mutex;
  std::vector<AckResult> results;
};

// What cnats' callbacks of one connection see. cnats may still call back after natsConnection_Destroy and
// jsCtx_Destroy return (the closed callback is queued to its callback thread), so these live as long as the
// process: a few dozen bytes per connection ever made, kept in a registry that owns them.
struct ConnectionState {
  std::atomic<bool> connected{false};
  std::atomic<bool> lost{false};
  std::shared_ptr<AckInbox> inbox;
};

}  // namespace detail
namespace {

constexpr std::size_t kRecordHeader = 12;
// Sends per poll() from the replay queue and the spill file: the sink thread gets back to its ring between
// chunks even when a long spill is replayed.
constexpr std::size_t kReplayChunk = 4'096;

detail::ConnectionState* new_connection_state(std::shared_ptr<detail::AckInbox> inbox) {
  static std::mutex mutex;
  static std::vector<std::unique_ptr<detail::ConnectionState>> registry;
  auto state = std::make_unique<detail::ConnectionState>();
  state->inbox = std::move(inbox);
  std::lock_guard lock(mutex);
  registry.push_back(std::move(state));
  return registry.back().get();
}

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

void on_connected(natsConnection*, void* closure) {
  static_cast<detail::ConnectionState*>(closure)->connected.store(true, std::memory_order_release);
}

void on_disconnected(natsConnection*, void* closure) {
  auto* state = static_cast<detail::ConnectionState*>(closure);
  state->connected.store(false, std::memory_order_release);
  state->lost.store(true, std::memory_order_release);
}

void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* state = static_cast<detail::ConnectionState*>(closure);
  detail::AckResult result;
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) result.id = id;
  result.ok = pa != nullptr;
  result.duplicate = pa && pa->Duplicate;
  result.rejected = !pa && pae && pae->ErrCode != 0;
  natsMsg_Destroy(msg);
  std::lock_guard lock(state->inbox->mutex);
  state->inbox->results.push_back(std::move(result));
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_exact(int fd, std::uint64_t offset, char* data, std::size_t size) {
  while (size) {
    const ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

void append_record(std::vector<char>& out, std::string_view subject, std::string_view id,
                   std::string_view payload) {
  const std::uint32_t sizes[3] = {static_cast<std::uint32_t>(subject.size()),
                                  static_cast<std::uint32_t>(id.size()),
                                  static_cast<std::uint32_t>(payload.size())};
  const char* raw = reinterpret_cast<const char*>(sizes);
  out.insert(out.end(), raw, raw + sizeof sizes);
  out.insert(out.end(), subject.begin(), subject.end());
  out.insert(out.end(), id.begin(), id.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

}  // namespace

JetStreamPublisher::JetStreamPublisher(PublisherOptions options)
    : options_(std::move(options)), inbox_(std::make_shared<detail::AckInbox>()) {
  if (options_.urls.empty()) throw std::runtime_error("nats: no server URL");
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  const std::filesystem::path path(options_.spill_path);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  spill_fd_ = ::open(options_.spill_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (spill_fd_ < 0)
    throw std::runtime_error("nats: cannot open spill file '" + options_.spill_path +
                             "': " + std::strerror(errno));
  // A previous run's spill is replayed first; a record cut short by a crash is dropped.
  const off_t end = ::lseek(spill_fd_, 0, SEEK_END);
  std::uint64_t offset = 0;
  std::uint32_t sizes[3];
  while (offset + kRecordHeader <= static_cast<std::uint64_t>(end) &&
         read_exact(spill_fd_, offset, reinterpret_cast<char*>(sizes), sizeof sizes)) {
    const std::uint64_t next = offset + kRecordHeader + std::uint64_t{sizes[0]} + sizes[1] + sizes[2];
    if (next > static_cast<std::uint64_t>(end)) break;
    offset = next;
    ++spill_records_;
  }
  if (offset != static_cast<std::uint64_t>(end) && ::ftruncate(spill_fd_, static_cast<off_t>(offset)) != 0)
    counters_.errors.add();
  spill_size_ = offset;
  update_backlog();
  connect();
}

JetStreamPublisher::~JetStreamPublisher() {
  // Whatever is still unacknowledged goes into the spill file ahead of what is there, so that the next run
  // replays it in order: rewritten to a temporary file and renamed over the spill.
  std::vector<char> head;
  for (const Entry& e : in_flight_)
    if (!e.acked && e.origin != Origin::kSpill) append_record(head, e.subject, e.id, e.payload);
  for (const Entry& e : retry_) append_record(head, e.subject, e.id, e.payload);
  drop_connection();
  if (spill_fd_ >= 0 && !head.empty()) {
    const std::string tmp = options_.spill_path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    bool ok = fd >= 0 && write_all(fd, head.data(), head.size());
    std::vector<char> chunk(1 << 16);
    for (std::uint64_t at = spill_acked_; ok && at < spill_size_;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), spill_size_ - at));
      ok = read_exact(spill_fd_, at, chunk.data(), n) && write_all(fd, chunk.data(), n);
      at += n;
    }
    ok = ok && ::fdatasync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (ok) ok = std::rename(tmp.c_str(), options_.spill_path.c_str()) == 0;
    if (!ok) std::remove(tmp.c_str());
  }
  // Records already acknowledged at the head of a file kept for the next run come back as duplicate acks.
  if (spill_fd_ >= 0) {
    sync_spill(true);
    ::close(spill_fd_);
  }
}

bool JetStreamPublisher::connected() const noexcept {
  return state_ && state_->connected.load(std::memory_order_acquire);
}

void JetStreamPublisher::update_backlog() noexcept {
  backlog_.store(retry_.size() + spill_records_, std::memory_order_relaxed);
}

void JetStreamPublisher::connect() {
  state_ = new_connection_state(inbox_);
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<const char*> servers;
  for (const std::string& url : options_.urls) servers.push_back(url.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK && !options_.name.empty()) s = natsOptions_SetName(opts, options_.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2'000);
  // See the header: a lost connection is replaced, never resumed with cnats' reconnect buffer.
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 1'000'000'000);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, options_.reconnect_wait_ms);
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, state_);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, state_);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_disconnected, state_);
  // A peer that vanished without a FIN is noticed within about two ping intervals.
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 2'000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK && !options_.credentials_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(opts, options_.credentials_file.c_str(), nullptr);
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    throw std::runtime_error(std::string("nats: bad connection options: ") + natsStatus_GetText(s));
  }
  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK) state_->connected.store(true, std::memory_order_release);
  if ((s != NATS_OK && s != NATS_NOT_YET_CONNECTED) || !nc) {
    if (nc) natsConnection_Destroy(nc);
    counters_.errors.add();
    state_ = nullptr;
    next_connect_ns_ = now_ns() + options_.reconnect_wait_ms * 1'000'000;
    return;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 2'000;  // stream lookups and creation
  jo.PublishAsync.MaxPending = static_cast<std::int64_t>(options_.max_in_flight);
  jo.PublishAsync.AckHandler = on_ack;
  jo.PublishAsync.AckHandlerClosure = state_;
  jo.PublishAsync.StallWait = 1;  // never reached: in_flight_ is kept at or below MaxPending
  jsCtx* js = nullptr;
  if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK) {
    natsConnection_Destroy(nc);
    counters_.errors.add();
    state_ = nullptr;
    next_connect_ns_ = now_ns() + options_.reconnect_wait_ms * 1'000'000;
    return;
  }
  nc_ = nc;
  js_ = js;
}

void JetStreamPublisher::drop_connection() {
  if (js_) jsCtx_Destroy(js_);
  if (nc_) natsConnection_Destroy(nc_);
  js_ = nullptr;
  nc_ = nullptr;
  state_ = nullptr;
  stream_ready_ = false;
  next_connect_ns_ = now_ns() + options_.reconnect_wait_ms * 1'000'000;
  // Acks of the old connection still queued are stale; the ones that matter are re-earned by the replay.
  std::lock_guard lock(inbox_->mutex);
  inbox_->results.clear();
}

bool JetStreamPublisher::ensure_stream() {
  if (stream_ready_) return true;
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &code);
  if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    std::vector<const char*> subjects;
    for (const std::string& subject : options_.stream_subjects) subjects.push_back(subject.c_str());
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = options_.stream.c_str();
    config.Subjects = subjects.data();
    config.SubjectsLen = static_cast<int>(subjects.size());
    config.Storage = js_FileStorage;
    config.Duplicates = options_.duplicate_window_ms * 1'000'000;
    code = static_cast<jsErrCode>(0);
    s = js_AddStream(&info, js_, &config, nullptr, &code);
    if (s != NATS_OK && code == JSStreamNameExistErr) s = NATS_OK;  // another engine made it meanwhile
  }
  if (info) jsStreamInfo_Destroy(info);
  if (s != NATS_OK) {
    counters_.errors.add();
    return false;
  }
  stream_ready_ = true;
  return true;
}

bool JetStreamPublisher::send(Entry& entry) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = entry.id.c_str();
  const natsStatus s = js_PublishAsync(js_, entry.subject.c_str(), entry.payload.data(),
                                       static_cast<int>(entry.payload.size()), &po);
  if (s != NATS_OK) {
    counters_.errors.add();
    return false;
  }
  entry.sent_ns = now_ns();
  entry.acked = false;
  counters_.sent.add();
  return true;
}

void JetStreamPublisher::fail_in_flight() {
  // Unacknowledged direct and replay-queue sends go back to the head of the queue in their order; spill
  // records are re-read from the first unacknowledged one. Some of them may have been stored: their replay
  // comes back as a duplicate ack.
  std::deque<Entry> again;
  for (Entry& e : in_flight_)
    if (!e.acked && e.origin != Origin::kSpill) again.push_back(std::move(e));
  in_flight_.clear();
  for (auto it = again.rbegin(); it != again.rend(); ++it) {
    it->origin = Origin::kRetry;
    retry_.push_front(std::move(*it));
  }
  spill_read_ = spill_acked_;
  update_backlog();
}

void JetStreamPublisher::take_acks() {
  std::vector<detail::AckResult> results;
  {
    std::lock_guard lock(inbox_->mutex);
    results.swap(inbox_->results);
  }
  bool failed = false;
  for (const detail::AckResult& r : results) {
    // Acks come back in publish order, so the match is at or near the front.
    for (Entry& e : in_flight_) {
      if (e.acked || e.id != r.id) continue;
      if (r.ok) {
        e.acked = true;
        counters_.acked.add();
        if (r.duplicate) counters_.duplicates.add();
      } else if (r.rejected) {
        // Refused by JetStream itself (e.g. over the stream's limits): a replay would be refused again and
        // hold everything behind it, so it is counted and let go.
        e.acked = true;
        counters_.errors.add();
      } else {
        counters_.errors.add();
        failed = true;
      }
      break;
    }
  }
  while (!in_flight_.empty() && in_flight_.front().acked) {
    if (in_flight_.front().origin == Origin::kSpill) {
      spill_acked_ = in_flight_.front().spill_end;
      if (spill_records_) --spill_records_;
    }
    in_flight_.pop_front();
  }
  if (failed) {
    fail_in_flight();
    drop_connection();
    counters_.reconnects.add();
  }
}

bool JetStreamPublisher::read_spill_record(Entry& out) {
  std::uint32_t sizes[3];
  if (spill_read_ + kRecordHeader > spill_size_ ||
      !read_exact(spill_fd_, spill_read_, reinterpret_cast<char*>(sizes), sizeof sizes))
    return false;
  const std::uint64_t body = spill_read_ + kRecordHeader;
  const std::uint64_t end = body + std::uint64_t{sizes[0]} + sizes[1] + sizes[2];
  if (end > spill_size_) return false;
  out.subject.resize(sizes[0]);
  out.id.resize(sizes[1]);
  out.payload.resize(sizes[2]);
  if (!read_exact(spill_fd_, body, out.subject.data(), sizes[0]) ||
      !read_exact(spill_fd_, body + sizes[0], out.id.data(), sizes[1]) ||
      !read_exact(spill_fd_, body + sizes[0] + sizes[1], out.payload.data(), sizes[2]))
    return false;
  out.origin = Origin::kSpill;
  out.spill_end = end;
  spill_read_ = end;
  return true;
}

void JetStreamPublisher::spill(std::string_view subject, std::string_view id, std::string_view payload) {
  spill_buf_.clear();
  append_record(spill_buf_, subject, id, payload);
  if (!write_all(spill_fd_, spill_buf_.data(), spill_buf_.size())) {
    counters_.errors.add();  // lost: the disk refused it (full?) while NATS is unreachable
    return;
  }
  spill_size_ += spill_buf_.size();
  ++spill_records_;
  spill_dirty_ = true;
  counters_.spilled.add();
  update_backlog();
}

void JetStreamPublisher::sync_spill(bool force) {
  if (!spill_dirty_) return;
  const std::int64_t now = now_ns();
  if (!force && now - last_sync_ns_ < options_.fsync_interval_ms * 1'000'000) return;
  if (::fdatasync(spill_fd_) != 0) counters_.errors.add();
  spill_dirty_ = false;
  last_sync_ns_ = now;
}

void JetStreamPublisher::maybe_truncate_spill() {
  if (spill_size_ == 0 || spill_acked_ != spill_size_) return;
  if (::ftruncate(spill_fd_, 0) != 0) {
    counters_.errors.add();
    return;
  }
  spill_size_ = spill_read_ = spill_acked_ = 0;
  spill_records_ = 0;
  spill_dirty_ = false;
  update_backlog();
}

bool JetStreamPublisher::replay() {
  bool work = false;
  std::size_t sent = 0;
  while (!retry_.empty() && in_flight_.size() < options_.max_in_flight && sent < kReplayChunk) {
    Entry e = std::move(retry_.front());
    retry_.pop_front();
    if (!send(e)) {
      retry_.push_front(std::move(e));
      fail_in_flight();
      drop_connection();
      counters_.reconnects.add();
      return true;
    }
    counters_.replayed.add();
    in_flight_.push_back(std::move(e));
    ++sent;
    work = true;
  }
  while (retry_.empty() && spill_read_ < spill_size_ && in_flight_.size() < options_.max_in_flight &&
         sent < kReplayChunk) {
    Entry e;
    if (!read_spill_record(e)) {
      counters_.errors.add();
      break;
    }
    if (!send(e)) {
      fail_in_flight();
      drop_connection();
      counters_.reconnects.add();
      return true;
    }
    counters_.replayed.add();
    in_flight_.push_back(std::move(e));
    ++sent;
    work = true;
  }
  update_backlog();
  return work;
}

void JetStreamPublisher::publish(std::string_view subject, std::string_view msg_id,
                                 std::string_view payload) {
  counters_.published.add();
  if (spilling() || !connected() || !stream_ready_ || in_flight_.size() >= options_.max_in_flight) {
    spill(subject, msg_id, payload);
    return;
  }
  Entry e;
  e.subject.assign(subject);
  e.id.assign(msg_id);
  e.payload.assign(payload);
  if (!send(e)) {
    fail_in_flight();
    retry_.push_back(std::move(e));
    drop_connection();
    counters_.reconnects.add();
    update_backlog();
    return;
  }
  in_flight_.push_back(std::move(e));
}

bool JetStreamPublisher::poll() {
  bool work = false;
  const std::int64_t now = now_ns();
  if (!nc_) {
    if (now >= next_connect_ns_) {
      connect();
      work = true;
    }
  } else if (state_->lost.load(std::memory_order_acquire)) {
    fail_in_flight();
    drop_connection();
    counters_.reconnects.add();
    work = true;
  }
  if (nc_) {
    take_acks();
    if (nc_ && !in_flight_.empty() &&
        now - in_flight_.front().sent_ns > options_.ack_timeout_ms * 1'000'000) {
      counters_.timeouts.add();
      fail_in_flight();
      drop_connection();
      counters_.reconnects.add();
      work = true;
    }
  }
  if (nc_ && connected() && !stream_ready_ && now >= next_connect_ns_) {
    if (!ensure_stream()) next_connect_ns_ = now + options_.reconnect_wait_ms * 1'000'000;
    work = true;
  }
  if (nc_ && connected() && stream_ready_) work = replay() || work;
  maybe_truncate_spill();
  sync_spill(options_.fsync_interval_ms == 0);
  return work;
}

bool JetStreamPublisher::flush(std::int64_t timeout_ms) {
  const std::int64_t deadline = now_ns() + timeout_ms * 1'000'000;
  while (!in_flight_.empty() || spilling()) {
    if (now_ns() >= deadline) return false;
    if (!poll()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace sigflow::io::nats
