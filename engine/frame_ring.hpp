#pragma once
// FrameRing: the single-producer/single-consumer channel from a feed thread to the strategy thread.
//
// A frame is {connection id, receive timestamp in ns, payload bytes}. Payloads vary from 100 B (a trade) to
// hundreds of KiB (a REST depth snapshot), so a queue of fixed-size slots would either waste memory or cap
// the frame size. Instead the producer owns a byte arena and writes each payload contiguously into it,
// followed by kFramePadding readable bytes so that simdjson can parse the payload in place (its padding
// contract); the consumer never copies. Boost.Lockfree's spsc_queue carries the small descriptors and
// provides the release/acquire edge that publishes the payload bytes. The consumer hands arena space back
// by storing the end of the last frame it finished with; the producer caches that value and reloads it only
// when the arena looks full (the rigtorp lesson: no coherency traffic per message while there is room).
//
// Nothing here allocates after construction, takes a lock or makes a syscall. When the consumer falls
// behind, the producer's begin/append/commit report failure and the caller counts a drop: a feed thread
// never blocks on a slow strategy thread.
//
// A drop must not go unnoticed downstream: a book that silently missed a delta is wrong. The ring remembers,
// per connection id, that a frame of that connection was dropped, and flags the next frame of the same
// connection it does publish (FrameView::after_loss). Frames of one connection stay in order, so the flag
// says exactly "something between your previous frame of this connection and this one is gone", and the
// consumer resyncs what that connection carries before applying the frame. The memory is a fixed bitmap
// indexed by conn_id modulo its size: two connections that share a bit can only cause an extra resync,
// never a missed one.
#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "engine/counter.hpp"
#include "engine/page_memory.hpp"

namespace sigflow::engine {

// Readable bytes after every payload. Equals SIMDJSON_PADDING (checked where simdjson is used), kept here
// so that the engine does not depend on simdjson.
inline constexpr std::size_t kFramePadding = 64;

// The largest frame a feed can be configured to accept (a venue's max_message_bytes).
inline constexpr std::size_t kMaxFrameBytes = std::size_t{64} << 20;

struct FrameView {
  std::uint32_t conn_id = 0;
  std::int64_t recv_ns = 0;
  std::string_view bytes;  // followed by kFramePadding readable bytes
  // Frames of this connection were dropped (ring full) between its previous published frame and this one.
  bool after_loss = false;
};

class FrameRing {
 public:
  // arena_bytes: payload space (rounded up to a cache line); max_frames: descriptors in flight.
  // pages: where the arena lives (engine/page_memory.hpp); huge pages cut the TLB misses of a big arena.
  FrameRing(std::size_t arena_bytes, std::size_t max_frames, PageMode pages = PageMode::kDefault)
      : capacity_(round_up(arena_bytes)),
        arena_(allocate_pages(capacity_ + kFramePadding, pages)),
        descriptors_(max_frames) {}

  FrameRing(const FrameRing&) = delete;
  FrameRing& operator=(const FrameRing&) = delete;

  // ---- producer side (one thread) ----

  // Starts a frame. Any frame begun and not committed is discarded.
  void begin(std::uint32_t conn_id, std::int64_t recv_ns) noexcept {
    pending_conn_ = conn_id;
    pending_recv_ns_ = recv_ns;
    pending_start_ = write_pos_;
    pending_len_ = 0;
    pending_ok_ = true;
  }

  // Appends payload bytes to the frame begun last. Returns false (and poisons the frame, so that commit
  // fails too) when the arena has no room: the consumer is behind or the frame is larger than the arena.
  bool append(std::string_view chunk) noexcept {
    if (!pending_ok_ || !reserve(chunk.size())) return false;
    if (!chunk.empty()) {  // an empty view may carry a null pointer, which memcpy must not see
      std::memcpy(arena_.get() + pending_start_ % capacity_ + pending_len_, chunk.data(), chunk.size());
      pending_len_ += chunk.size();
    }
    return true;
  }

  // Publishes the frame. Returns false when the frame was poisoned or the descriptor queue is full; the
  // frame is then dropped and its space reused.
  bool commit() noexcept {
    // An empty frame still needs room for its padding.
    if (!pending_ok_ || !reserve(0)) return lose_pending();
    pending_ok_ = false;
    const std::size_t phys = pending_start_ % capacity_;
    std::memset(arena_.get() + phys + pending_len_, 0, kFramePadding);
    const std::uint64_t end = pending_start_ + round_up(pending_len_ + kFramePadding);
    const std::size_t bit = pending_conn_ % kLossBits;
    const bool after_loss = lost_[bit / 64] >> (bit % 64) & 1;
    const Descriptor d{pending_conn_,
                       static_cast<std::uint32_t>(pending_len_) | (after_loss ? kAfterLossFlag : 0u),
                       pending_recv_ns_, phys, end};
    if (!descriptors_.push(d)) return lose_pending();
    lost_[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
    committed_.add();
    write_pos_ = end;
    depth_high_water_.observe(descriptors_.read_available());
    return true;
  }

  // The payload of the frame begun last and not yet committed, in place (a per-message hook on the producer
  // thread reads it before commit); empty when the frame was poisoned.
  std::string_view pending() const noexcept {
    return pending_ok_ ? std::string_view(arena_.get() + pending_start_ % capacity_, pending_len_)
                       : std::string_view();
  }

  bool push(std::uint32_t conn_id, std::int64_t recv_ns, std::string_view payload) noexcept {
    begin(conn_id, recv_ns);
    append(payload);  // a failed append poisons the frame: commit then fails and records the loss
    return commit();
  }

  // ---- consumer side (one thread) ----

  // Calls f(FrameView) for the oldest frame, then hands its space back. Returns false when empty.
  template <class F>
  bool consume_one(F&& f) {
    Descriptor d;
    if (!descriptors_.pop(d)) return false;
    f(FrameView{d.conn_id, d.recv_ns, std::string_view(arena_.get() + d.offset, d.length & ~kAfterLossFlag),
                (d.length & kAfterLossFlag) != 0});
    released_.store(d.end, std::memory_order_release);
    return true;
  }

  // Drains up to `limit` frames; returns how many were consumed.
  template <class F>
  std::size_t consume(F&& f, std::size_t limit = SIZE_MAX) {
    std::size_t n = 0;
    while (n < limit && consume_one(f)) ++n;
    return n;
  }

  // ---- either side ----
  std::size_t frames_available() const noexcept { return descriptors_.read_available(); }
  std::uint64_t depth_high_water() const noexcept { return depth_high_water_.load(); }
  // Frames published, and frames refused by commit()/push() (every producer of the ring counted).
  std::uint64_t frames_committed() const noexcept { return committed_.load(); }
  std::uint64_t frames_dropped() const noexcept { return dropped_.load(); }

 private:
  // The descriptor's length field carries the after-loss flag in its top bit; reserve() keeps frames under
  // it.
  static constexpr std::uint32_t kAfterLossFlag = 0x8000'0000u;
  static constexpr std::size_t kLossBits = 4096;

  struct Descriptor {
    std::uint32_t conn_id;
    std::uint32_t length;  // | kAfterLossFlag
    std::int64_t recv_ns;
    std::uint64_t offset;  // physical offset of the payload in the arena
    std::uint64_t end;     // virtual position just past this frame's padding: what the consumer releases
  };

  static constexpr std::size_t round_up(std::size_t n) noexcept {
    return (n + kCacheLine - 1) / kCacheLine * kCacheLine;
  }

  // Makes room for `extra` more payload bytes plus the padding, contiguous with what the pending frame
  // already holds; poisons the frame when there is none.
  bool reserve(std::size_t extra) noexcept {
    const std::size_t need = pending_len_ + extra + kFramePadding;
    if (need > capacity_ || need >= kAfterLossFlag) return pending_ok_ = false;
    const std::size_t phys = pending_start_ % capacity_;
    if (phys + need > capacity_) {
      // The frame would run past the arena's end: move what we have to the front so that the payload
      // stays contiguous. The skipped tail is freed when the consumer releases this frame.
      const std::uint64_t moved_start = pending_start_ + (capacity_ - phys);
      if (!has_room(moved_start + need)) return pending_ok_ = false;
      std::memmove(arena_.get(), arena_.get() + phys, pending_len_);
      pending_start_ = moved_start;
    } else if (!has_room(pending_start_ + need)) {
      return pending_ok_ = false;
    }
    return true;
  }

  // The pending frame is dropped: remember it against its connection. Always returns false.
  bool lose_pending() noexcept {
    pending_ok_ = false;
    const std::size_t bit = pending_conn_ % kLossBits;
    lost_[bit / 64] |= std::uint64_t{1} << (bit % 64);
    dropped_.add();
    return false;
  }

  // True when the arena may be written up to virtual position `end` without overtaking the consumer.
  bool has_room(std::uint64_t end) noexcept {
    if (end - released_cache_ <= capacity_) return true;
    released_cache_ = released_.load(std::memory_order_acquire);
    return end - released_cache_ <= capacity_;
  }

  const std::size_t capacity_;
  PageBuffer arena_;
  boost::lockfree::spsc_queue<Descriptor> descriptors_;

  // Consumer-written, producer-read: alone on its line.
  alignas(kCacheLine) std::atomic<std::uint64_t> released_{0};

  // Producer-only state.
  alignas(kCacheLine) std::uint64_t write_pos_ = 0;
  std::uint64_t released_cache_ = 0;
  std::uint64_t pending_start_ = 0;
  std::size_t pending_len_ = 0;
  std::int64_t pending_recv_ns_ = 0;
  std::uint32_t pending_conn_ = 0;
  bool pending_ok_ = false;
  std::uint64_t lost_[kLossBits / 64] = {};  // connections with a dropped frame not yet flagged downstream
  HighWater depth_high_water_;
  Counter committed_;
  Counter dropped_;
};

}  // namespace sigflow::engine
