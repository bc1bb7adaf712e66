#include "io/event_loop.hpp"

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace sigflow::io {
namespace {

// Completions of operations nobody waits for (a connect's linked timeout, cancellations) carry this tag.
constexpr std::uint64_t kUntracked = 0;

[[noreturn]] void fail_setup(int negative_errno, const char* step) {
  throw std::system_error(-negative_errno, std::system_category(), std::string("io_uring: ") + step);
}

bool is_power_of_two(unsigned n) {
  return n != 0 && (n & (n - 1)) == 0;
}

// Single-issuer lets the kernel skip submission locking. In blocking mode completions are also deferred to
// the moment we enter the kernel to wait, which avoids interrupting the thread with task work for each
// packet; a busy-polling thread never waits, so it must let the kernel post completions on its own.
unsigned setup_flags(bool busy_poll) {
  unsigned flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE;
  if (!busy_poll) flags |= IORING_SETUP_DEFER_TASKRUN;
  return flags;
}

}  // namespace

bool Completion::more() const noexcept {
  return (flags & IORING_CQE_F_MORE) != 0;
}

EventLoop::EventLoop(const EventLoopConfig& config) : config_(config), ring_(std::make_unique<io_uring>()) {
  if (!is_power_of_two(config_.buffer_count) || config_.buffer_count > 32768)
    throw std::invalid_argument("EventLoop: buffer_count must be a power of two <= 32768");
  if (config_.buffer_size == 0 || config_.queue_depth == 0)
    throw std::invalid_argument("EventLoop: buffer_size and queue_depth must be positive");

  io_uring_params params{};
  params.flags = setup_flags(config_.busy_poll);
  params.cq_entries = config_.queue_depth * 2;
  int rc = io_uring_queue_init_params(config_.queue_depth, ring_.get(), &params);
  if (rc == -EINVAL) {
    // Kernels before 6.1 lack DEFER_TASKRUN / SINGLE_ISSUER: they are optimisations, run without them.
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = config_.queue_depth * 2;
    rc = io_uring_queue_init_params(config_.queue_depth, ring_.get(), &params);
  }
  if (rc < 0) fail_setup(rc, "queue_init");

  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves (page aligned, as the kernel needs).
  buffer_ring_bytes_ = config_.buffer_count * sizeof(io_uring_buf);
  void* mapped =
      mmap(nullptr, buffer_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) {
    const int err = errno;
    io_uring_queue_exit(ring_.get());
    fail_setup(-err, "mmap buffer ring");
  }
  buffer_ring_ = static_cast<io_uring_buf_ring*>(mapped);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buffer_ring_);
  reg.ring_entries = config_.buffer_count;
  reg.bgid = config_.buffer_group;
  rc = io_uring_register_buf_ring(ring_.get(), &reg, 0);
  if (rc < 0) {
    munmap(buffer_ring_, buffer_ring_bytes_);
    io_uring_queue_exit(ring_.get());
    fail_setup(rc, "register_buf_ring");
  }

  buffers_.reset(new char[std::size_t{config_.buffer_count} * config_.buffer_size]);
  io_uring_buf_ring_init(buffer_ring_);
  const int mask = io_uring_buf_ring_mask(config_.buffer_count);
  for (unsigned i = 0; i < config_.buffer_count; ++i) {
    io_uring_buf_ring_add(buffer_ring_, buffers_.get() + std::size_t{i} * config_.buffer_size,
                          config_.buffer_size, static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(config_.buffer_count));

  slot_timeouts_.reset(new __kernel_timespec[ring_->sq.ring_entries]());
  now_ns_ = engine::monotonic_ns();
}

EventLoop::~EventLoop() {
  // Unlink timers so that their destructors, if they run later, find nothing to remove.
  while (timers_ != nullptr) remove_timer(*timers_);
  // Exiting the ring cancels whatever is still in flight without dispatching it.
  io_uring_queue_exit(ring_.get());
  munmap(buffer_ring_, buffer_ring_bytes_);
}

// ---- operations ----

io_uring_sqe* EventLoop::next_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe != nullptr) return sqe;
  // The queue is full of unsubmitted entries: hand them to the kernel now and take a fresh slot.
  submit();
  sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) counters_.queue_full.add();
  return sqe;
}

bool EventLoop::reserve_sqes(unsigned count) noexcept {
  if (io_uring_sq_space_left(ring_.get()) >= count) return true;
  submit();
  if (io_uring_sq_space_left(ring_.get()) >= count) return true;
  counters_.queue_full.add();
  return false;
}

bool EventLoop::connect(int fd, const sockaddr* addr, socklen_t addr_len, std::int64_t timeout_ns,
                        CompletionHandler& handler) noexcept {
  // The connect and its timeout are linked, so both must be queued in the same submission.
  if (!reserve_sqes(2)) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  io_uring_prep_connect(sqe, fd, addr, addr_len);
  io_uring_sqe_set_data(sqe, &handler);
  sqe->flags |= IOSQE_IO_LINK;

  io_uring_sqe* timeout_sqe = io_uring_get_sqe(ring_.get());
  __kernel_timespec& ts = slot_timeouts_[timeout_sqe - ring_->sq.sqes];
  ts.tv_sec = timeout_ns / 1'000'000'000;
  ts.tv_nsec = timeout_ns % 1'000'000'000;
  io_uring_prep_link_timeout(timeout_sqe, &ts, 0);
  io_uring_sqe_set_data64(timeout_sqe, kUntracked);
  ++in_flight_;
  return true;
}

bool EventLoop::receive(int fd, CompletionHandler& handler) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return false;
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = config_.buffer_group;
  io_uring_sqe_set_data(sqe, &handler);
  ++in_flight_;
  return true;
}

bool EventLoop::send(int fd, const void* bytes, std::size_t len, CompletionHandler& handler) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return false;
  io_uring_prep_send(sqe, fd, bytes, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, &handler);
  ++in_flight_;
  return true;
}

bool EventLoop::accept(int listen_fd, CompletionHandler& handler) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return false;
  io_uring_prep_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, &handler);
  ++in_flight_;
  return true;
}

bool EventLoop::cancel_all(int fd) noexcept {
  io_uring_sqe* sqe = next_sqe();
  if (sqe == nullptr) return false;
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, kUntracked);
  return true;
}

// ---- running ----

void EventLoop::submit() noexcept {
  counters_.submit_calls.add();
  note_submit_result(io_uring_submit(ring_.get()));
}

void EventLoop::note_submit_result(int rc) noexcept {
  // -ETIME (nothing completed in time), -EINTR (a signal) and -EAGAIN/-EBUSY (the kernel is short of
  // resources for a moment and keeps the entries queued) all mean: try again on the next pass. Anything else
  // (-EEXIST: a second thread used a single-issuer ring) is a bug worth counting.
  if (rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) return;
  counters_.submit_errors.add();
}

std::size_t EventLoop::run_once(std::int64_t max_wait_ns) {
  const std::uint64_t before = counters_.completions.load() + counters_.timers_fired.load();
  if (config_.busy_poll) {
    if (io_uring_sq_ready(ring_.get()) > 0) {
      submit();
    } else if (io_uring_cq_has_overflow(ring_.get())) {
      // Completions that did not fit the CQ wait in the kernel until someone enters it; a busy-polling
      // thread with nothing to submit would otherwise never see them.
      counters_.submit_calls.add();
      note_submit_result(io_uring_get_events(ring_.get()));
    }
  } else if (io_uring_cq_ready(ring_.get()) == 0) {
    std::int64_t wait = max_wait_ns < 0 ? 0 : max_wait_ns;
    if (timers_ != nullptr) {
      const std::int64_t until_timer = timers_->deadline_ns_ - engine::monotonic_ns();
      if (until_timer < wait) wait = until_timer < 0 ? 0 : until_timer;
    }
    counters_.submit_calls.add();
    int rc;
    if (wait > 0) {
      __kernel_timespec ts{wait / 1'000'000'000, wait % 1'000'000'000};
      io_uring_cqe* cqe = nullptr;
      rc = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &ts, nullptr);
    } else {
      // Deferred task work only runs when we enter the kernel, so flush it even when not waiting.
      rc = io_uring_submit_and_get_events(ring_.get());
    }
    note_submit_result(rc);
  } else if (io_uring_sq_ready(ring_.get()) > 0) {
    submit();
  }
  now_ns_ = engine::monotonic_ns();
  dispatch_completions();
  fire_timers();
  return static_cast<std::size_t>(counters_.completions.load() + counters_.timers_fired.load() - before);
}

void EventLoop::run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) run_once(kMaxWaitNs);
}

void EventLoop::dispatch_completions() {
  // One CQE at a time, consumed before its handler runs: a handler may itself run the loop (a stream
  // draining its operations on destruction) without seeing the same completion twice.
  // At most one CQ's worth per pass: completions keep arriving while we dispatch (always so in busy-poll
  // mode), and timers must get their turn.
  unsigned budget = ring_->cq.ring_entries;
  io_uring_cqe* cqe = nullptr;
  while (budget-- > 0 && io_uring_cq_ready(ring_.get()) > 0 && io_uring_peek_cqe(ring_.get(), &cqe) == 0) {
    const std::uint64_t tag = cqe->user_data;
    Completion completion;
    completion.result = cqe->res;
    completion.flags = cqe->flags;
    completion.now_ns = now_ns_;
    io_uring_cqe_seen(ring_.get(), cqe);
    if (tag == kUntracked) continue;

    counters_.completions.add();
    if (!completion.more()) --in_flight_;
    const bool has_buffer = (completion.flags & IORING_CQE_F_BUFFER) != 0;
    const auto buffer_id = static_cast<std::uint16_t>(completion.flags >> IORING_CQE_BUFFER_SHIFT);
    if (has_buffer && completion.result > 0) {
      completion.data = std::string_view(buffers_.get() + std::size_t{buffer_id} * config_.buffer_size,
                                         static_cast<std::size_t>(completion.result));
    }
    if (completion.result == -ENOBUFS) counters_.receive_no_buffer.add();
    reinterpret_cast<CompletionHandler*>(tag)->on_completion(completion);
    if (has_buffer) recycle_buffer(buffer_id);
  }
}

void EventLoop::recycle_buffer(std::uint16_t buffer_id) noexcept {
  io_uring_buf_ring_add(buffer_ring_, buffers_.get() + std::size_t{buffer_id} * config_.buffer_size,
                        config_.buffer_size, buffer_id, io_uring_buf_ring_mask(config_.buffer_count), 0);
  io_uring_buf_ring_advance(buffer_ring_, 1);
}

// ---- timers ----

void EventLoop::fire_timers() {
  // A handler that re-arms in the past would otherwise keep this loop spinning forever: fire at most as
  // many timers as were armed on entry, the rest wait for the next pass.
  std::size_t budget = timers_armed_;
  while (budget-- > 0 && timers_ != nullptr) {
    const std::int64_t now = engine::monotonic_ns();
    Timer& timer = *timers_;
    if (timer.deadline_ns_ > now) break;
    remove_timer(timer);
    counters_.timers_fired.add();
    timer.handler_.on_timer(now);
  }
}

void EventLoop::insert_timer(Timer& timer) noexcept {
  // Sorted insertion is linear, which is right for the handful of timers a network thread has (a tick and a
  // reconnect deadline per connection); scanning from the tail would favour periodic re-arms, but most
  // insertions are the earliest deadline anyway.
  Timer* prev = nullptr;
  Timer* next = timers_;
  while (next != nullptr && next->deadline_ns_ <= timer.deadline_ns_) {
    prev = next;
    next = next->next_;
  }
  timer.prev_ = prev;
  timer.next_ = next;
  if (prev != nullptr) {
    prev->next_ = &timer;
  } else {
    timers_ = &timer;
  }
  if (next != nullptr) next->prev_ = &timer;
  timer.armed_ = true;
  ++timers_armed_;
}

void EventLoop::remove_timer(Timer& timer) noexcept {
  if (!timer.armed_) return;
  if (timer.prev_ != nullptr) {
    timer.prev_->next_ = timer.next_;
  } else {
    timers_ = timer.next_;
  }
  if (timer.next_ != nullptr) timer.next_->prev_ = timer.prev_;
  timer.prev_ = timer.next_ = nullptr;
  timer.armed_ = false;
  --timers_armed_;
}

void Timer::arm_at(std::int64_t deadline_ns) noexcept {
  loop_.remove_timer(*this);
  deadline_ns_ = deadline_ns;
  loop_.insert_timer(*this);
}

void Timer::cancel() noexcept {
  if (armed_) loop_.remove_timer(*this);
}

}  // namespace sigflow::io
