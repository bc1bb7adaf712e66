#include "engine/frame_ring.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using sigflow::engine::FrameRing;
using sigflow::engine::FrameView;
using sigflow::engine::kFramePadding;

std::string consume_string(FrameRing& ring) {
  std::string out;
  EXPECT_TRUE(ring.consume_one([&](const FrameView& f) { out.assign(f.bytes); }));
  return out;
}

TEST(FrameRing, CarriesConnectionTimestampAndBytes) {
  FrameRing ring(4096, 16);
  ASSERT_TRUE(ring.push(7, 123456789, "{\"e\":\"aggTrade\"}"));
  FrameView seen;
  std::string bytes;
  ASSERT_TRUE(ring.consume_one([&](const FrameView& f) {
    seen = f;
    bytes.assign(f.bytes);
    // The padding contract: kFramePadding readable zero bytes follow every payload.
    for (std::size_t i = 0; i < kFramePadding; ++i) EXPECT_EQ(f.bytes.data()[f.bytes.size() + i], '\0');
  }));
  EXPECT_EQ(seen.conn_id, 7u);
  EXPECT_EQ(seen.recv_ns, 123456789);
  EXPECT_EQ(bytes, "{\"e\":\"aggTrade\"}");
  EXPECT_FALSE(ring.consume_one([](const FrameView&) {}));
}

TEST(FrameRing, AssemblesAFrameFromChunks) {
  FrameRing ring(4096, 16);
  ring.begin(1, 5);
  ASSERT_TRUE(ring.append("hello "));
  ASSERT_TRUE(ring.append("wide "));
  ASSERT_TRUE(ring.append("world"));
  ASSERT_TRUE(ring.commit());
  EXPECT_EQ(consume_string(ring), "hello wide world");
}

TEST(FrameRing, FullArenaDropsTheNewFrameAndKeepsTheOld) {
  FrameRing ring(1024, 64);
  const std::string big(400, 'x');
  ASSERT_TRUE(ring.push(1, 1, big));
  ASSERT_TRUE(ring.push(1, 2, big));
  EXPECT_FALSE(ring.push(1, 3, big));  // 3 × (400 + padding) > 1024
  EXPECT_EQ(ring.frames_available(), 2u);
  EXPECT_EQ(consume_string(ring), big);
  EXPECT_TRUE(ring.push(1, 4, big));  // space came back
}

TEST(FrameRing, FrameLargerThanTheArenaIsRefused) {
  FrameRing ring(256, 8);
  EXPECT_FALSE(ring.push(1, 1, std::string(300, 'y')));
  EXPECT_TRUE(ring.push(1, 2, "small"));
  EXPECT_EQ(consume_string(ring), "small");
}

TEST(FrameRing, FullDescriptorQueueDropsAndRecovers) {
  FrameRing ring(1 << 16, 4);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += ring.push(1, i, "m") ? 1 : 0;
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(ring.consume([](const FrameView&) {}), 4u);
  EXPECT_TRUE(ring.push(1, 11, "after"));
  EXPECT_EQ(consume_string(ring), "after");
}

TEST(FrameRing, FramesStayContiguousAcrossTheArenaEnd) {
  // Odd sizes make frames straddle the arena's end at every phase; each must come out whole.
  FrameRing ring(2048, 64);
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string payload(1 + rng() % 700, static_cast<char>('a' + i % 26));
    ring.begin(2, i);
    const std::size_t half = payload.size() / 2;
    ASSERT_TRUE(ring.append(std::string_view(payload).substr(0, half)));
    ASSERT_TRUE(ring.append(std::string_view(payload).substr(half)));
    ASSERT_TRUE(ring.commit());
    ASSERT_EQ(consume_string(ring), payload) << "frame " << i;
  }
}

TEST(FrameRing, TwoThreadsDeliverEveryAcceptedFrameInOrder) {
  FrameRing ring(1 << 14, 256);
  constexpr int kFrames = 200'000;
  std::vector<int> accepted;
  accepted.reserve(kFrames);
  std::thread producer([&] {
    char buf[64];
    for (int i = 0; i < kFrames; ++i) {
      const int len = std::snprintf(buf, sizeof buf, "frame-%d-%0*d", i, i % 40, 0);
      if (ring.push(3, i, std::string_view(buf, static_cast<std::size_t>(len)))) accepted.push_back(i);
    }
    ring.push(3, -1, "end");  // may be dropped if full; retried below
    while (!ring.push(3, -1, "end")) std::this_thread::yield();
  });
  std::vector<int> received;
  received.reserve(kFrames);
  bool done = false;
  while (!done) {
    ring.consume([&](const FrameView& f) {
      if (f.recv_ns == -1) {
        done = true;
        return;
      }
      char expected[64];
      const int len = std::snprintf(expected, sizeof expected, "frame-%d-%0*d", static_cast<int>(f.recv_ns),
                                    static_cast<int>(f.recv_ns % 40), 0);
      ASSERT_EQ(f.bytes, std::string_view(expected, static_cast<std::size_t>(len)));
      received.push_back(static_cast<int>(f.recv_ns));
    });
  }
  producer.join();
  EXPECT_EQ(received, accepted);
  EXPECT_GT(received.size(), 0u);
}

}  // namespace

namespace {

TEST(FrameRing, EmptyFramesAndEmptyChunksAreCarried) {
  sigflow::engine::FrameRing ring(256, 8);
  ring.begin(1, 1);
  ASSERT_TRUE(ring.commit());  // no append at all
  ASSERT_TRUE(ring.push(1, 2, std::string_view()));
  int seen = 0;
  ring.consume([&](const sigflow::engine::FrameView& f) {
    EXPECT_TRUE(f.bytes.empty());
    ++seen;
  });
  EXPECT_EQ(seen, 2);
  // Padding-only frames still take arena space: a full arena refuses one.
  int accepted = 0;
  for (int i = 0; i < 8; ++i) {
    ring.begin(1, i);
    accepted += ring.commit() ? 1 : 0;
  }
  EXPECT_EQ(accepted, 4);  // 256 bytes / 64 bytes of padding each
}

}  // namespace

// A dropped frame is not forgotten: the next frame of the same connection that gets through is flagged, once,
// and frames of other connections are not.
TEST(FrameRing, TheFrameAfterADropOfItsConnectionIsFlaggedOnce) {
  FrameRing ring(1 << 16, 2);
  ASSERT_TRUE(ring.push(1, 1, "a"));
  ASSERT_TRUE(ring.push(2, 2, "b"));
  EXPECT_FALSE(ring.push(1, 3, "lost"));  // descriptor queue full
  ring.begin(3, 4);
  ring.append("also lost");
  EXPECT_FALSE(ring.commit());
  EXPECT_EQ(ring.frames_committed(), 2u);
  EXPECT_EQ(ring.frames_dropped(), 2u);
  std::vector<std::pair<std::uint32_t, bool>> seen;
  const auto take = [&](const FrameView& f) { seen.emplace_back(f.conn_id, f.after_loss); };
  EXPECT_EQ(ring.consume(take), 2u);
  ASSERT_TRUE(ring.push(2, 5, "c"));  // connection 2 lost nothing
  ASSERT_TRUE(ring.push(1, 6, "d"));  // the first of connection 1 since its loss
  EXPECT_EQ(ring.consume(take), 2u);
  ASSERT_TRUE(ring.push(1, 7, "e"));
  ASSERT_TRUE(ring.push(3, 8, "f"));
  EXPECT_EQ(ring.consume(take), 2u);
  const std::vector<std::pair<std::uint32_t, bool>> expected{{1, false}, {2, false}, {2, false},
                                                             {1, true},  {1, false}, {3, true}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(ring.frames_committed(), 6u);
  EXPECT_EQ(ring.frames_dropped(), 2u);
}
