#include "engine/page_memory.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <system_error>

#include "engine/config.hpp"
#include "engine/frame_ring.hpp"
#include "engine/pinned_thread.hpp"

namespace sigflow::engine {
namespace {

TEST(PageMemory, EveryModeGivesZeroedMemoryOrAClearError) {
  for (PageMode mode : {PageMode::kDefault, PageMode::kTransparent, PageMode::kReserved}) {
    try {
      PageBuffer buffer = allocate_pages(3u << 20, mode);
      EXPECT_TRUE(std::all_of(buffer.get(), buffer.get() + (3u << 20), [](char c) { return c == 0; }))
          << to_string(mode);
      buffer[(3u << 20) - 1] = 1;  // the whole requested range is writable
    } catch (const std::system_error& e) {
      // Only the reserved pool may be missing on a machine; the message says what to change.
      EXPECT_EQ(mode, PageMode::kReserved) << e.what();
      EXPECT_NE(std::string(e.what()).find("vm.nr_hugepages"), std::string::npos) << e.what();
    }
  }
}

TEST(PageMemory, FrameRingRunsOnTransparentHugePages) {
  FrameRing ring(4u << 20, 1024, PageMode::kTransparent);
  ASSERT_TRUE(ring.push(7, 42, "{\"e\":\"trade\"}"));
  std::string seen;
  EXPECT_EQ(ring.consume([&](const FrameView& f) { seen = f.bytes; }), 1u);
  EXPECT_EQ(seen, "{\"e\":\"trade\"}");
}

TEST(PinnedThreadPriority, RunsRealTimeOrRefusesNamingTheKey) {
  ThreadConfig config;
  config.priority = 10;
  int policy = -1;
  try {
    PinnedThread t("rt-test", config, [&] { policy = sched_getscheduler(0); });
    t.join();
    EXPECT_EQ(policy, SCHED_FIFO);
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("threads.rt-test.priority: SCHED_FIFO priority 10 refused", 0), 0u)
        << e.what();
  }
}

TEST(ConfigTuning, ParsesPriorityHugePagesAndMlockall) {
  const Config c = load_config_text(R"(
[threads]
feed = { cpu = 0, wait = "sleep", priority = 50 }
[ring]
huge_pages = "transparent"
[process]
mlockall = true
[venues.binance-usdm]
symbols = ["BTCUSDT"]
)",
                                    "t.toml");
  EXPECT_EQ(c.thread("feed").priority, 50);
  EXPECT_EQ(c.ring.pages, PageMode::kTransparent);
  EXPECT_TRUE(c.process.mlockall);
}

TEST(ConfigTuning, RefusesImpossibleSettings) {
  auto error_of = [](const std::string& text) {
    try {
      load_config_text(text + "\n[venues.binance-usdm]\nsymbols = [\"BTCUSDT\"]\n", "t.toml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("[threads]\nfeed = { priority = 100 }").find("threads.feed.priority"),
            std::string::npos);
  EXPECT_NE(error_of("[threads]\nfeed = { wait = \"busy\", priority = 10 }").find("must be pinned"),
            std::string::npos);
  EXPECT_NE(error_of("[ring]\nhuge_pages = \"yes\"").find("ring.huge_pages"), std::string::npos);
  EXPECT_NE(error_of("[process]\nmlock = true").find("process.mlock"), std::string::npos);
}

}  // namespace
}  // namespace sigflow::engine
