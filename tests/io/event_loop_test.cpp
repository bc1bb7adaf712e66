#include "io/event_loop.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

namespace sigflow::io {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kBound = 30'000 * kMs;  // every wait is bounded; no test asserts on elapsed time

struct RecordingTimer final : TimerHandler {
  RecordingTimer(std::vector<int>& log, int id) : log(log), id(id) {}
  void on_timer(std::int64_t) override { log.push_back(id); }
  std::vector<int>& log;
  int id;
};

struct RecordingCompletion final : CompletionHandler {
  void on_completion(const Completion& c) override {
    results.push_back(c.result);
    if (!c.more()) done = true;
  }
  std::vector<int> results;
  bool done = false;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

std::uint16_t port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int tcp_socket() {
  return ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCancelledOnesDoNot) {
  EventLoop loop;
  std::vector<int> fired;
  RecordingTimer h1(fired, 1), h2(fired, 2), h3(fired, 3), h4(fired, 4), h5(fired, 5);
  Timer t1(loop, h1), t2(loop, h2), t3(loop, h3), t4(loop, h4), t5(loop, h5);
  const std::int64_t now = engine::monotonic_ns();
  t1.arm_at(now + 30 * kMs);
  t2.arm_at(now + 10 * kMs);
  t3.arm_at(now + 20 * kMs);
  t4.arm_at(now + 20 * kMs);  // same deadline as t3, armed later: fires after it
  t5.arm_at(now + 15 * kMs);
  t5.cancel();
  t2.arm_at(now + 25 * kMs);  // re-arming moves a timer
  ASSERT_TRUE(loop.run_until([&] { return fired.size() == 4; }, kBound));
  EXPECT_EQ(fired, (std::vector<int>{3, 4, 2, 1}));
  EXPECT_FALSE(t5.armed());
  EXPECT_EQ(loop.counters().timers_fired.load(), 4u);
}

TEST(EventLoop, TimerNeverFiresEarly) {
  EventLoop loop;
  std::int64_t fired_at = 0;
  struct Stamp final : TimerHandler {
    explicit Stamp(std::int64_t& at) : at(at) {}
    void on_timer(std::int64_t) override { at = engine::monotonic_ns(); }
    std::int64_t& at;
  } stamp(fired_at);
  Timer timer(loop, stamp);
  const std::int64_t deadline = engine::monotonic_ns() + 20 * kMs;
  timer.arm_at(deadline);
  ASSERT_TRUE(loop.run_until([&] { return fired_at != 0; }, kBound));
  EXPECT_GE(fired_at, deadline);
}

TEST(EventLoop, TimerRearmedInThePastFiresOncePerPass) {
  EventLoop loop;
  struct Rearm final : TimerHandler {
    void on_timer(std::int64_t now) override {
      ++count;
      timer->arm_at(now - 1);
    }
    Timer* timer = nullptr;
    int count = 0;
  } rearm;
  Timer timer(loop, rearm);
  rearm.timer = &timer;
  timer.arm_at(0);
  loop.run_once(0);  // must return although the timer is always due
  EXPECT_EQ(rearm.count, 1);
  loop.run_once(0);
  EXPECT_EQ(rearm.count, 2);
}

TEST(EventLoop, RunReturnsOnceAnotherThreadSetsStop) {
  EventLoop loop;
  std::vector<int> fired;
  RecordingTimer handler(fired, 1);
  Timer timer(loop, handler);
  timer.arm_after(1 * kMs);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    while (loop.counters().timers_fired.load() == 0) std::this_thread::yield();
    stop.store(true);
  });
  loop.run(stop);  // returns within kMaxWaitNs of the store
  stopper.join();
  EXPECT_EQ(fired, std::vector<int>{1});
}

TEST(EventLoop, ConnectToAClosedPortIsRefused) {
  EventLoop loop;
  // Bind without listening: the port is ours, so nothing else can be listening on it.
  const int bound = tcp_socket();
  sockaddr_in addr = loopback(0);
  ASSERT_EQ(bind(bound, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  addr = loopback(port_of(bound));

  const int fd = tcp_socket();
  RecordingCompletion connect;
  ASSERT_TRUE(loop.connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, kBound, connect));
  ASSERT_TRUE(loop.run_until([&] { return connect.done; }, kBound));
  EXPECT_EQ(connect.results, std::vector<int>{-ECONNREFUSED});
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  ::close(fd);
  ::close(bound);
}

// Fills the accept queue of a backlog-0 listener that never accepts: Linux then drops further SYNs, so a new
// connect neither succeeds nor fails until its timeout. Returns the sockets holding the queue.
std::vector<int> fill_accept_queue(const sockaddr_in& addr) {
  std::vector<int> fillers;
  for (int i = 0; i < 16; ++i) {
    const int fd = tcp_socket();
    fillers.push_back(fd);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (rc == 0) continue;
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 200) == 0) break;  // this one hangs: the queue is full
  }
  return fillers;
}

TEST(EventLoop, ConnectTimesOutWhenThePeerNeverAnswers) {
  EventLoop loop;
  const int listener = tcp_socket();
  sockaddr_in addr = loopback(0);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  addr = loopback(port_of(listener));
  const std::vector<int> fillers = fill_accept_queue(addr);

  const int fd = tcp_socket();
  RecordingCompletion connect;
  ASSERT_TRUE(loop.connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, 100 * kMs, connect));
  ASSERT_TRUE(loop.run_until([&] { return connect.done; }, kBound));
  EXPECT_EQ(connect.results, std::vector<int>{-ECANCELED});
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  ::close(fd);
  for (const int f : fillers) ::close(f);
  ::close(listener);
}

TEST(EventLoop, MultishotReceiveSurvivesAnEmptyBufferRing) {
  // Four 64-byte buffers for 64 KiB of data: the kernel ends the multishot receive on -ENOBUFS again and
  // again, and the handler re-arms it. Every byte must still arrive, in order.
  EventLoopConfig config;
  config.buffer_count = 4;
  config.buffer_size = 64;
  EventLoop loop(config);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);

  std::string sent(64 * 1024, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 23);

  struct Receiver final : CompletionHandler {
    void on_completion(const Completion& c) override {
      if (c.result > 0) {
        EXPECT_LE(c.data.size(), 64u);
        received.append(c.data);
      } else if (c.result == 0) {
        eof = true;
      } else if (c.result != -ENOBUFS) {
        error = c.result;
      }
      if (!c.more() && !eof && error == 0) rearm = true;
    }
    std::string received;
    bool eof = false;
    bool rearm = false;
    int error = 0;
  } receiver;
  ASSERT_TRUE(loop.receive(pair[0], receiver));

  std::size_t written = 0;
  ASSERT_TRUE(loop.run_until(
      [&] {
        while (written < sent.size()) {
          const ssize_t n = ::write(pair[1], sent.data() + written, sent.size() - written);
          if (n <= 0) break;
          written += static_cast<std::size_t>(n);
        }
        if (written == sent.size() && pair[1] >= 0) {
          ::close(pair[1]);
          pair[1] = -1;
        }
        if (receiver.rearm) {
          receiver.rearm = false;
          EXPECT_TRUE(loop.receive(pair[0], receiver));
        }
        return receiver.eof || receiver.error != 0;
      },
      kBound));
  EXPECT_EQ(receiver.error, 0);
  EXPECT_EQ(receiver.received.size(), sent.size());
  EXPECT_TRUE(receiver.received == sent);
  EXPECT_GT(loop.counters().receive_no_buffer.load(), 0u);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  ::close(pair[0]);
}

TEST(EventLoop, SendAndCancel) {
  EventLoop loop;
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  const std::string message = "hello over the ring";
  RecordingCompletion send;
  ASSERT_TRUE(loop.send(pair[1], message.data(), message.size(), send));
  ASSERT_TRUE(loop.run_until([&] { return send.done; }, kBound));
  EXPECT_EQ(send.results, std::vector<int>{static_cast<int>(message.size())});

  // A pending receive on a silent socket ends with -ECANCELED once cancelled, and nothing is left in flight.
  RecordingCompletion receive;
  char scratch[64];
  ASSERT_EQ(::read(pair[0], scratch, sizeof scratch), static_cast<ssize_t>(message.size()));
  ASSERT_TRUE(loop.receive(pair[0], receive));
  loop.run_once(0);
  ASSERT_TRUE(loop.cancel_all(pair[0]));
  ASSERT_TRUE(loop.run_until([&] { return receive.done; }, kBound));
  EXPECT_EQ(receive.results.back(), -ECANCELED);
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST(EventLoop, BusyPollModeDispatchesWithoutBlocking) {
  EventLoopConfig config;
  config.busy_poll = true;
  EventLoop loop(config);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  RecordingCompletion receive;
  ASSERT_TRUE(loop.receive(pair[0], receive));
  loop.run_once(kBound);  // must not wait: busy-poll never sleeps
  ASSERT_EQ(::write(pair[1], "x", 1), 1);
  ASSERT_TRUE(loop.run_until([&] { return !receive.results.empty(); }, kBound));
  EXPECT_EQ(receive.results.front(), 1);
  ::close(pair[1]);
  ASSERT_TRUE(loop.run_until([&] { return receive.done; }, kBound));
  EXPECT_EQ(receive.results.back(), 0);  // EOF ends the multishot receive
  ::close(pair[0]);
}

}  // namespace
}  // namespace sigflow::io
