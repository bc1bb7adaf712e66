// The feed thread's receive path on io::EventLoop (io_uring: multishot receive into a provided-buffer ring)
// against the loop a first version would use: epoll_wait + recv into a buffer. Everything else is the
// same: a sender thread on another CPU writes fixed-size messages over a loopback TCP connection at a fixed
// offered rate; the receiver reassembles them and records, per message, the time from its *scheduled*
// send time to its receipt — measuring from the schedule, not from when the sender got round to it, is
// what corrects for coordinated omission: a stalled receiver delays the sender's writes, and that delay
// counts.
//
// Reported per backend and rate: p50/p99/p99.9/max latency (µs) and syscalls per message (io_uring_enter
// calls; epoll_wait + recv calls). Both loops block when idle (the default wait mode).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.hpp"
#include "engine/pinned_thread.hpp"
#include "io/event_loop.hpp"

namespace {

using sigflow::engine::monotonic_ns;

constexpr std::size_t kMessageBytes = 256;  // the median market-data frame is 140-700 B (feeds.md §5)
constexpr double kSeconds = 1.0;

struct Connection {
  int sender = -1;
  int receiver = -1;
  ~Connection() {
    ::close(sender);
    ::close(receiver);
  }
};

Connection connect_loopback() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("loopback listen failed");
  Connection c;
  c.sender = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(c.sender, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("loopback connect failed");
  c.receiver = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
  ::close(listener);
  const int one = 1;
  ::setsockopt(c.sender, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}

void pin(int cpu) {
  if (std::thread::hardware_concurrency() > static_cast<unsigned>(cpu))
    sigflow::engine::pin_current_thread(cpu);
}

// Writes `count` messages, message i scheduled at start + i / rate; each carries its scheduled time.
void send_paced(int fd, std::int64_t start_ns, double rate, std::size_t count) {
  pin(0);
  char message[kMessageBytes] = {};
  const double interval_ns = 1e9 / rate;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t scheduled = start_ns + static_cast<std::int64_t>(static_cast<double>(i) * interval_ns);
    while (monotonic_ns() < scheduled) {
    }
    std::memcpy(message, &scheduled, sizeof scheduled);
    for (std::size_t off = 0; off < kMessageBytes;) {
      const ssize_t n = ::send(fd, message + off, kMessageBytes - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
}

// Reassembles the byte stream into messages and keeps each one's latency.
class Receipts {
 public:
  explicit Receipts(std::size_t count) { latencies_.reserve(count); }
  void on_bytes(const char* data, std::size_t len, std::int64_t now_ns) {
    while (len > 0) {
      const std::size_t take = std::min(len, kMessageBytes - partial_);
      std::memcpy(message_ + partial_, data, take);
      partial_ += take;
      data += take;
      len -= take;
      if (partial_ == kMessageBytes) {
        std::int64_t scheduled;
        std::memcpy(&scheduled, message_, sizeof scheduled);
        latencies_.push_back(now_ns - scheduled);
        partial_ = 0;
      }
    }
  }
  std::size_t received() const { return latencies_.size(); }
  void report(benchmark::State& state, double syscalls) {
    std::sort(latencies_.begin(), latencies_.end());
    auto at = [&](double q) {
      return latencies_.empty()
                 ? 0.0
                 : static_cast<double>(
                       latencies_[static_cast<std::size_t>(q * static_cast<double>(latencies_.size() - 1))]) /
                       1e3;
    };
    state.counters["p50_us"] = at(0.50);
    state.counters["p99_us"] = at(0.99);
    state.counters["p999_us"] = at(0.999);
    state.counters["max_us"] = at(1.0);
    state.counters["syscalls_per_msg"] = syscalls / static_cast<double>(std::max<std::size_t>(1, received()));
  }

 private:
  char message_[kMessageBytes] = {};
  std::size_t partial_ = 0;
  std::vector<std::int64_t> latencies_;
};

class UringReceiver final : public sigflow::io::CompletionHandler {
 public:
  UringReceiver(sigflow::io::EventLoop& loop, int fd, Receipts& receipts)
      : loop_(loop), fd_(fd), receipts_(receipts) {
    loop_.receive(fd_, *this);
  }
  void on_completion(const sigflow::io::Completion& c) override {
    if (c.result > 0) receipts_.on_bytes(c.data.data(), c.data.size(), monotonic_ns());
    if (!c.more() && c.result != 0 && c.result != -ECANCELED) loop_.receive(fd_, *this);
  }

 private:
  sigflow::io::EventLoop& loop_;
  int fd_;
  Receipts& receipts_;
};

void BM_Receive_IoUring(benchmark::State& state) {
  const double rate = static_cast<double>(state.range(0));
  const auto count = static_cast<std::size_t>(rate * kSeconds);
  for (auto _ : state) {
    Connection conn = connect_loopback();
    pin(1);
    sigflow::io::EventLoop loop;
    Receipts receipts(count);
    UringReceiver receiver(loop, conn.receiver, receipts);
    const std::uint64_t submits_before = loop.counters().submit_calls.load();
    std::thread sender(send_paced, conn.sender, monotonic_ns() + 20'000'000, rate, count);
    loop.run_until([&] { return receipts.received() >= count; }, 30'000'000'000);
    sender.join();
    receipts.report(state, static_cast<double>(loop.counters().submit_calls.load() - submits_before));
    loop.cancel_all(conn.receiver);
    loop.run_once(10'000'000);
  }
}

void BM_Receive_Epoll(benchmark::State& state) {
  const double rate = static_cast<double>(state.range(0));
  const auto count = static_cast<std::size_t>(rate * kSeconds);
  for (auto _ : state) {
    Connection conn = connect_loopback();
    pin(1);
    const int ep = ::epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = conn.receiver;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conn.receiver, &ev);
    Receipts receipts(count);
    std::vector<char> buffer(16384);  // one buffer of the io_uring ring's size
    double syscalls = 0;
    std::thread sender(send_paced, conn.sender, monotonic_ns() + 20'000'000, rate, count);
    const std::int64_t deadline = monotonic_ns() + 30'000'000'000;
    while (receipts.received() < count && monotonic_ns() < deadline) {
      epoll_event events[4];
      ++syscalls;
      if (::epoll_wait(ep, events, 4, 100) <= 0) continue;
      while (true) {  // drain until EAGAIN, as an edge-aware loop must
        ++syscalls;
        const ssize_t n = ::recv(conn.receiver, buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        receipts.on_bytes(buffer.data(), static_cast<std::size_t>(n), monotonic_ns());
      }
    }
    sender.join();
    ::close(ep);
    receipts.report(state, syscalls);
  }
}

BENCHMARK(BM_Receive_IoUring)->Arg(50'000)->Arg(200'000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Receive_Epoll)->Arg(50'000)->Arg(200'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
