#include "engine/pinned_thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>

namespace {

using sigflow::engine::ConfigError;
using sigflow::engine::PinnedThread;
using sigflow::engine::ThreadConfig;

ThreadConfig pinned_to(int cpu) {
  ThreadConfig config;
  config.cpu = cpu;
  return config;
}

TEST(PinnedThread, RunsNamedAndPinned) {
  std::atomic<int> cpu{-1};
  char name[16] = {};
  {
    PinnedThread thread("sf-test", pinned_to(0), [&] {
      pthread_getname_np(pthread_self(), name, sizeof name);
      cpu = sched_getcpu();
    });
  }
  EXPECT_STREQ(name, "sf-test");
  EXPECT_EQ(cpu.load(), 0);
}

TEST(PinnedThread, UnusableCpuIsAConfigErrorNamingTheKey) {
  bool ran = false;
  try {
    PinnedThread thread("feed", pinned_to(CPU_SETSIZE - 1), [&] { ran = true; });
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("threads.feed.cpu"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ran);
}

}  // namespace
