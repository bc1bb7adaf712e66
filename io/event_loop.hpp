#pragma once
// EventLoop: one io_uring per network thread. The thread that constructs a loop owns it and is the only one
// that may call into it (the ring is set up single-issuer); sockets, buffers and timers registered with a
// loop belong to that thread too, and data leaves the thread only through a FrameRing.
//
// Completions are dispatched without allocation: an operation's user_data is a pointer to a
// CompletionHandler that its issuer owns and keeps alive until the operation's last completion (for a
// multishot receive: the first completion without IORING_CQE_F_MORE). Received bytes land in a
// provided-buffer ring registered with the kernel; a handler sees them as a view that is valid only during
// the call, after which the buffer goes straight back to the ring.
//
// Timers are not kernel operations: the loop keeps an intrusive list of Timer objects sorted by deadline
// and bounds each wait by the earliest one. Arming or cancelling a timer is then a pointer update with no
// submission and no cancellation race (a kernel timeout being cancelled can still complete with -ETIME).
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/clock.hpp"
#include "engine/counter.hpp"

struct io_uring;
struct io_uring_sqe;
struct io_uring_buf_ring;
struct __kernel_timespec;

namespace sigflow::io {

struct EventLoopConfig {
  unsigned queue_depth = 256;      // submission queue entries; the completion queue is twice as deep
  unsigned buffer_count = 256;     // provided receive buffers, a power of two (kernel requirement)
  unsigned buffer_size = 16384;    // one TLS record (16 KiB of payload) fits a single buffer
  std::uint16_t buffer_group = 0;  // buffer group id of this loop's ring
  // Busy-poll: run_once never sleeps, it submits what is queued and peeks at completions. For a thread
  // pinned to an isolated core; a shared core should block (the default) and leave the CPU to others.
  bool busy_poll = false;
};

// What the kernel said about one operation.
struct Completion {
  std::int32_t result = 0;     // bytes transferred (>= 0) or -errno
  std::uint32_t flags = 0;     // IORING_CQE_F_*
  std::int64_t now_ns = 0;     // engine::monotonic_ns() when the loop woke up with this completion
  std::string_view data;       // a receive's bytes, valid only during the handler call
  bool more() const noexcept;  // a multishot operation stays armed and will complete again
};

class CompletionHandler {
 public:
  virtual void on_completion(const Completion& completion) = 0;

 protected:
  ~CompletionHandler() = default;
};

// Routes completions to a member function, so that one object can own several operations.
template <class Owner, void (Owner::*Method)(const Completion&)>
class MemberCompletion final : public CompletionHandler {
 public:
  explicit MemberCompletion(Owner& owner) noexcept : owner_(owner) {}
  void on_completion(const Completion& completion) override { (owner_.*Method)(completion); }

 private:
  Owner& owner_;
};

class TimerHandler {
 public:
  virtual void on_timer(std::int64_t now_ns) = 0;

 protected:
  ~TimerHandler() = default;
};

template <class Owner, void (Owner::*Method)(std::int64_t)>
class MemberTimer final : public TimerHandler {
 public:
  explicit MemberTimer(Owner& owner) noexcept : owner_(owner) {}
  void on_timer(std::int64_t now_ns) override { (owner_.*Method)(now_ns); }

 private:
  Owner& owner_;
};

class EventLoop;

// A one-shot deadline on a loop; re-arm from the handler for periodic work. Fires from run_once on the
// loop's thread, never early, in deadline order (equal deadlines in arming order).
class Timer {
 public:
  Timer(EventLoop& loop, TimerHandler& handler) noexcept : loop_(loop), handler_(handler) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm_at(std::int64_t deadline_ns) noexcept;  // monotonic ns; replaces any earlier deadline
  void arm_after(std::int64_t delay_ns) noexcept { arm_at(engine::monotonic_ns() + delay_ns); }
  void cancel() noexcept;
  bool armed() const noexcept { return armed_; }
  std::int64_t deadline_ns() const noexcept { return deadline_ns_; }

 private:
  friend class EventLoop;
  EventLoop& loop_;
  TimerHandler& handler_;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  std::int64_t deadline_ns_ = 0;
  bool armed_ = false;
};

struct EventLoopCounters {
  engine::Counter completions;  // CQEs dispatched
  engine::Counter timers_fired;
  engine::Counter submit_calls;       // io_uring_enter for submission or waiting
  engine::Counter receive_no_buffer;  // -ENOBUFS: the buffer ring ran dry, the receive was re-armed
  engine::Counter queue_full;         // an operation could not get a submission entry at all
  engine::Counter submit_errors;      // io_uring_enter failed for a reason other than a timeout or signal
};

class EventLoop {
 public:
  // Sets up the ring and registers the buffer ring. Throws std::system_error naming the failed step when the
  // kernel refuses (io_uring disabled, memlock limit): this runs once at thread start.
  explicit EventLoop(const EventLoopConfig& config = {});
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // ---- operations: each returns false (and counts queue_full) when no submission entry is available ----

  // Connects fd to addr, cancelled after timeout_ns (the handler then sees -ECANCELED). addr must stay valid
  // until the handler runs.
  bool connect(int fd, const sockaddr* addr, socklen_t addr_len, std::int64_t timeout_ns,
               CompletionHandler& handler) noexcept;
  // Receives into the provided-buffer ring until an error, EOF or cancellation; the handler re-arms when a
  // completion lacks more() and it still wants data (the kernel ends a multishot receive on -ENOBUFS).
  bool receive(int fd, CompletionHandler& handler) noexcept;
  // Sends bytes[0, len) with MSG_NOSIGNAL; the memory must stay valid until the handler runs. A short send
  // is the caller's to resubmit: at most one send per socket should be in flight to keep the byte order.
  bool send(int fd, const void* bytes, std::size_t len, CompletionHandler& handler) noexcept;
  // Accepts one connection on a listening socket; the result is the new socket's fd or -errno. One-shot (the
  // handler re-arms): multishot accept needs kernel 5.19, and a listener here (the metrics endpoint) takes a
  // connection per scrape, not a flood.
  bool accept(int listen_fd, CompletionHandler& handler) noexcept;
  // Cancels every operation on fd; each completes with -ECANCELED (or its own result if it won the race).
  bool cancel_all(int fd) noexcept;

  // ---- running ----

  // Submits queued operations, waits up to max_wait_ns (never in busy-poll mode, and never past the next
  // timer) and dispatches every completion and expired timer. Returns how many were dispatched.
  std::size_t run_once(std::int64_t max_wait_ns);

  // Runs until done() is true or timeout_ns has passed; returns done().
  template <class Predicate>
  bool run_until(Predicate&& done, std::int64_t timeout_ns) {
    const std::int64_t deadline = engine::monotonic_ns() + timeout_ns;
    while (!done()) {
      const std::int64_t left = deadline - engine::monotonic_ns();
      if (left <= 0) return done();
      run_once(left < kMaxWaitNs ? left : kMaxWaitNs);
    }
    return true;
  }

  // Runs until another thread sets stop; a blocking loop notices within kMaxWaitNs.
  void run(const std::atomic<bool>& stop);

  // ---- state ----
  std::int64_t now_ns() const noexcept { return now_ns_; }  // time of the latest wake-up
  std::size_t operations_in_flight() const noexcept { return in_flight_; }
  const EventLoopCounters& counters() const noexcept { return counters_; }
  const EventLoopConfig& config() const noexcept { return config_; }

  static constexpr std::int64_t kMaxWaitNs = 100'000'000;

 private:
  friend class Timer;

  io_uring_sqe* next_sqe() noexcept;
  void submit() noexcept;
  void note_submit_result(int rc) noexcept;
  bool reserve_sqes(unsigned count) noexcept;
  void dispatch_completions();
  void fire_timers();
  void recycle_buffer(std::uint16_t buffer_id) noexcept;
  void insert_timer(Timer& timer) noexcept;
  void remove_timer(Timer& timer) noexcept;

  EventLoopConfig config_;
  std::unique_ptr<io_uring> ring_;
  io_uring_buf_ring* buffer_ring_ = nullptr;
  std::size_t buffer_ring_bytes_ = 0;
  std::unique_ptr<char[]> buffers_;
  // One timespec per submission slot: the kernel copies a timeout when it consumes the entry, so the value
  // must live exactly as long as the slot is unsubmitted.
  std::unique_ptr<__kernel_timespec[]> slot_timeouts_;
  Timer* timers_ = nullptr;  // sorted by deadline
  std::size_t timers_armed_ = 0;
  std::size_t in_flight_ = 0;
  std::int64_t now_ns_ = 0;
  EventLoopCounters counters_;
};

}  // namespace sigflow::io
