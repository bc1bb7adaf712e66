// JetStreamPublisher against a real nats-server -js on loopback: acks, de-duplication by message id, the
// spill file while the server is down (and across a restart of the publisher), replay in order.
#include "io/nats/jetstream_publisher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "io/nats/jetstream_consumer.hpp"
#include "tests/nats/nats_server.hpp"

namespace {

using sigflow::io::nats::ConsumerOptions;
using sigflow::io::nats::JetStreamConsumer;
using sigflow::io::nats::JetStreamPublisher;
using sigflow::io::nats::PublisherOptions;
using sigflow::testing::NatsServer;
using sigflow::testing::TempDir;

PublisherOptions options_for(const NatsServer& server, const TempDir& dir) {
  PublisherOptions o;
  o.urls = {server.url()};
  o.name = "test";
  o.stream = "TEST";
  o.stream_subjects = {"t.>"};
  o.max_in_flight = 256;
  o.spill_path = dir.path() + "/test.spill";
  o.ack_timeout_ms = 2'000;
  o.reconnect_wait_ms = 100;
  return o;
}

// Everything the stream holds, in stream order (a fresh durable reads from the start).
std::vector<std::string> read_all(const NatsServer& server, const std::string& durable) {
  ConsumerOptions o;
  o.urls = {server.url()};
  o.stream = "TEST";
  o.subject = "t.>";
  o.durable = durable;
  JetStreamConsumer consumer(o);
  std::vector<std::string> out;
  for (int idle = 0; idle < 2;) {
    const int n =
        consumer.fetch(512, 300, [&](std::string_view, std::string_view data) { out.emplace_back(data); });
    if (n < 0) break;
    idle = n == 0 ? idle + 1 : 0;
  }
  return out;
}

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
  return out;
}

TEST(JetStreamPublisher, AcksEveryMessageAndDropsDuplicatesById) {
  REQUIRE_NATS_SERVER();
  NatsServer server;
  ASSERT_TRUE(server.start());
  TempDir dir;
  constexpr int kMessages = 20'000;
  double rate = 0;
  {
    JetStreamPublisher publisher(options_for(server, dir));
    ASSERT_TRUE(publisher.flush(10'000));  // connected, stream created, nothing pending
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kMessages; ++i) {
      const std::string n = std::to_string(i);
      publisher.publish("t.a", "m" + n, n);
      if (i % 64 == 0) publisher.poll();
    }
    ASSERT_TRUE(publisher.flush(30'000));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rate = kMessages / seconds;
    // Publishing the first hundred again: JetStream answers with duplicate acks and stores nothing.
    for (int i = 0; i < 100; ++i) publisher.publish("t.a", "m" + std::to_string(i), "again");
    ASSERT_TRUE(publisher.flush(10'000));
    const auto& c = publisher.counters();
    EXPECT_EQ(c.published.load(), kMessages + 100u);
    EXPECT_EQ(c.acked.load(), kMessages + 100u);  // every message acked once, resent or not
    // A failed or late ack (a loaded machine can delay JetStream's) makes the publisher resend what was in
    // flight, at most max_in_flight messages per failure; those JetStream had stored come back as duplicates.
    const std::uint64_t failures = c.errors.load() + c.timeouts.load();
    EXPECT_GE(c.duplicates.load(), 100u);
    EXPECT_LE(c.duplicates.load(), 100u + failures * 256u);
    if (failures == 0) {
      EXPECT_EQ(c.duplicates.load(), 100u);
    }
    EXPECT_EQ(publisher.backlog(), 0u);
  }
  std::printf(
      "[ publish rate ] %d messages, acked, max_in_flight 256 (a tight loop: the overflow goes through the "
      "spill file): %.0f msg/s\n",
      kMessages, rate);
  RecordProperty("publish_msgs_per_s", static_cast<int>(rate));
  EXPECT_EQ(read_all(server, "all"), numbers(0, kMessages));
}

TEST(JetStreamPublisher, SpillsWhileTheServerIsDownAndReplaysInOrder) {
  REQUIRE_NATS_SERVER();
  NatsServer server;  // not started yet
  TempDir dir;
  JetStreamPublisher publisher(options_for(server, dir));
  int next = 0;
  for (; next < 500; ++next) publisher.publish("t.a", "m" + std::to_string(next), std::to_string(next));
  publisher.poll();
  EXPECT_EQ(publisher.counters().spilled.load(), 500u);
  EXPECT_EQ(publisher.backlog(), 500u);

  ASSERT_TRUE(server.start());
  ASSERT_TRUE(publisher.flush(15'000));
  EXPECT_EQ(publisher.counters().replayed.load(), 500u);

  // A crash of the server while publishing: what was in flight is replayed, what came meanwhile spilled.
  for (; next < 1'000; ++next) {
    publisher.publish("t.a", "m" + std::to_string(next), std::to_string(next));
    if (next == 700) server.kill();
    if (next % 50 == 0) publisher.poll();
  }
  ASSERT_TRUE(server.start());
  for (; next < 1'500; ++next) {
    publisher.publish("t.b", "m" + std::to_string(next), std::to_string(next));
    if (next % 50 == 0) publisher.poll();
  }
  ASSERT_TRUE(publisher.flush(20'000));
  EXPECT_GT(publisher.counters().spilled.load(), 500u);
  EXPECT_GE(publisher.counters().reconnects.load(), 1u);
  EXPECT_EQ(read_all(server, "all"), numbers(0, 1'500));
}

TEST(JetStreamPublisher, SpillFileSurvivesARestartOfThePublisher) {
  REQUIRE_NATS_SERVER();
  NatsServer server;
  TempDir dir;
  {
    JetStreamPublisher publisher(options_for(server, dir));
    for (int i = 0; i < 100; ++i) publisher.publish("t.a", "m" + std::to_string(i), std::to_string(i));
    EXPECT_FALSE(publisher.flush(200));
  }
  ASSERT_TRUE(server.start());
  JetStreamPublisher publisher(options_for(server, dir));
  EXPECT_EQ(publisher.backlog(), 100u);
  for (int i = 100; i < 150; ++i) publisher.publish("t.a", "m" + std::to_string(i), std::to_string(i));
  ASSERT_TRUE(publisher.flush(15'000));
  EXPECT_EQ(read_all(server, "all"), numbers(0, 150));
}

}  // namespace
