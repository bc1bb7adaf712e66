// StopSignals, in-process: the first SIGINT/SIGTERM asks for a graceful stop; the second exits at once with
// 130; the mask the caller had comes back when it is gone. (The shutdown tests drive the real binary.)
#include "engine/app/stop_signals.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "tests/support/wait_for.hpp"

namespace sigflow::app {
namespace {

using sigflow::testing_support::wait_for;

bool blocked_here(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

TEST(StopSignals, FirstSignalRequestsAStopAndTheMaskComesBack) {
  ASSERT_FALSE(blocked_here(SIGTERM));
  {
    const StopSignals signals;
    EXPECT_TRUE(blocked_here(SIGINT));
    EXPECT_TRUE(blocked_here(SIGTERM));
    EXPECT_FALSE(signals.stop_requested());
    kill(getpid(), SIGTERM);  // blocked in this thread: only the waiter takes it
    EXPECT_TRUE(wait_for([&] { return signals.stop_requested(); }, std::chrono::seconds(30)));
  }
  EXPECT_FALSE(blocked_here(SIGINT));
  EXPECT_FALSE(blocked_here(SIGTERM));
}

TEST(StopSignals, SecondSignalExits130) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const StopSignals signals;
        kill(getpid(), SIGINT);
        wait_for([&] { return signals.stop_requested(); }, std::chrono::seconds(30));
        kill(getpid(), SIGTERM);
        sleep(30);  // bounded: the waiter exits long before
        std::exit(1);
      },
      testing::ExitedWithCode(130), "");
}

}  // namespace
}  // namespace sigflow::app
