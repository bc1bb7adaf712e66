#pragma once
// JetStreamPublisher: publishes messages to NATS JetStream from one thread (the engine's sink thread), with
// asynchronous acknowledgements, a bound on unacknowledged messages and an append-only spill file that takes
// every message while NATS is unreachable (or while the bound is reached) and is replayed, in order, once
// it is reachable again. Every message carries a message id (Nats-Msg-Id): JetStream drops a message whose
// id it stored within the stream's duplicate window, so replaying something that was in fact stored is
// harmless, and the consumer sees each message once.
//
// Ordering. On one connection JetStream stores messages in the order they were sent, so what it stored of
// what we sent is a prefix, and what we failed to get an ack for is a suffix. Replaying that suffix in order,
// then the spill file in order, keeps the stream in publish order. cnats' own reconnect would break this: it
// buffers publishes made while reconnecting and re-sends them after the reconnect, possibly ahead of messages
// that were lost in the dead socket. So automatic reconnect is off: a lost connection is destroyed, every
// unacknowledged message goes back to the head of the replay queue, and a fresh connection is made (cnats'
// retry-on-failed-connect does the waiting in its own thread, so the sink thread never blocks on it).
//
// Threads. publish(), poll() and flush() run on the owning thread only. cnats calls back on its own threads;
// the callbacks only set atomics and append ack results to a mutex-guarded vector that poll() swaps out (a
// mutex off the strategy thread, taken once per ack by cnats and once per poll by us).
//
// Spill file: records [u32 subject length][u32 id length][u32 payload length][subject][id][payload], written
// with write(2) (in the kernel as soon as publish() returns: a crash of the process loses nothing spilled),
// fdatasync at most every fsync_interval_ms while spilling (a power loss loses at most that much), truncated
// to zero once every record in it is acknowledged. A file left by a previous run is replayed at start; a
// torn last record (a crash mid-write) is cut off.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counter.hpp"

struct __natsConnection;
struct __jsCtx;

namespace sigflow::io::nats {

struct PublisherOptions {
  std::vector<std::string> urls;  // nats://host:port, several for a cluster
  std::string name;               // connection name the server shows (the engine id)
  std::string stream;             // created when missing, with `stream_subjects` and the duplicate window
  std::vector<std::string> stream_subjects;
  std::size_t max_in_flight = 1'024;
  std::string spill_path;  // the spill file; its directory is created if missing
  std::int64_t ack_timeout_ms = 5'000;
  std::int64_t duplicate_window_ms = 120'000;
  std::int64_t fsync_interval_ms = 1'000;
  std::int64_t reconnect_wait_ms = 250;
  std::string credentials_file;  // passed to cnats; its content is never read or logged here
};

// Totals, each written by one thread (the owner) and readable from any (status line, Prometheus):
//   published   messages handed to publish()
//   sent        publishes sent to NATS, first sends and replays
//   acked       positive acks (duplicates included)
//   duplicates  acks saying JetStream already had the message (a replay of something stored)
//   spilled     messages written to the spill file
//   replayed    messages re-sent from the replay queue or the spill file
//   errors      negative acks, failed sends and spill-file errors
//   timeouts    times the oldest unacknowledged message waited longer than ack_timeout_ms
//   reconnects  connections replaced after a loss
struct PublisherCounters {
  engine::Counter published;
  engine::Counter sent;
  engine::Counter acked;
  engine::Counter duplicates;
  engine::Counter spilled;
  engine::Counter replayed;
  engine::Counter errors;
  engine::Counter timeouts;
  engine::Counter reconnects;
};

namespace detail {
struct ConnectionState;
struct AckInbox;
}  // namespace detail

class JetStreamPublisher {
 public:
  // Opens (and replays) the spill file and starts connecting; does not wait for the connection. Throws
  // std::runtime_error when the spill file cannot be opened or cnats refuses the options.
  explicit JetStreamPublisher(PublisherOptions options);
  ~JetStreamPublisher();
  JetStreamPublisher(const JetStreamPublisher&) = delete;
  JetStreamPublisher& operator=(const JetStreamPublisher&) = delete;

  // Sends the message, or spills it when NATS is not reachable, the in-flight bound is reached or older
  // messages still wait in the spill. Never blocks on the network.
  void publish(std::string_view subject, std::string_view msg_id, std::string_view payload);
  // Takes acks, detects timeouts and lost connections, reconnects, replays. Returns true when it did work
  // (the caller polls again without sleeping).
  bool poll();
  // Polls until nothing is in flight or spilled, or until `timeout_ms` passed. True when drained.
  bool flush(std::int64_t timeout_ms);

  bool connected() const noexcept;
  // Messages sent and not yet acknowledged, and messages waiting for replay (queue + spill file).
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  std::uint64_t backlog() const noexcept { return backlog_.load(std::memory_order_relaxed); }
  const PublisherCounters& counters() const noexcept { return counters_; }

 private:
  enum class Origin : std::uint8_t { kDirect, kRetry, kSpill };
  struct Entry {
    std::string subject;
    std::string id;
    std::string payload;
    std::int64_t sent_ns = 0;
    Origin origin = Origin::kDirect;
    std::uint64_t spill_end = 0;  // kSpill: file offset just past this record
    bool acked = false;
  };

  void connect();
  void drop_connection();
  bool ensure_stream();
  bool send(Entry& entry);
  void fail_in_flight();
  void take_acks();
  bool replay();
  void spill(std::string_view subject, std::string_view id, std::string_view payload);
  bool read_spill_record(Entry& out);
  void maybe_truncate_spill();
  void sync_spill(bool force);
  bool spilling() const noexcept { return !retry_.empty() || spill_size_ > 0; }
  void update_backlog() noexcept;

  PublisherOptions options_;
  std::shared_ptr<detail::AckInbox> inbox_;
  detail::ConnectionState* state_ = nullptr;  // the current connection's callback state (see connect())
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  bool stream_ready_ = false;
  std::int64_t next_connect_ns_ = 0;

  std::deque<Entry> in_flight_;  // publish order
  std::deque<Entry> retry_;      // unacknowledged sends after a failure, replayed before the spill file
  int spill_fd_ = -1;
  std::uint64_t spill_size_ = 0;   // bytes in the file
  std::uint64_t spill_read_ = 0;   // next record to send
  std::uint64_t spill_acked_ = 0;  // every record before this offset is acknowledged
  std::uint64_t spill_records_ = 0;
  bool spill_dirty_ = false;
  std::int64_t last_sync_ns_ = 0;
  std::vector<char> spill_buf_;
  std::atomic<std::uint64_t> backlog_{0};
  PublisherCounters counters_;
};

}  // namespace sigflow::io::nats
