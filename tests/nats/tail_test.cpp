// `sigflow tail` in-process against a real nats-server -js on loopback: signals come out as lines in stream
// order, a durable consumer continues where the last tail stopped, and an unreachable server is exit 2.
#include "engine/app/tail_command.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "io/nats/jetstream_publisher.hpp"
#include "tests/nats/nats_server.hpp"

namespace {

using sigflow::app::run_tail;
using sigflow::app::TailOptions;
using sigflow::testing::NatsServer;
using sigflow::testing::TempDir;

std::string lines(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += R"({"n":)" + std::to_string(i) + "}\n";
  return out;
}

TEST(Tail, PrintsSignalsAsLinesAndADurableContinuesWhereItStopped) {
  REQUIRE_NATS_SERVER();
  NatsServer server;
  ASSERT_TRUE(server.start());
  TempDir dir;
  {
    sigflow::io::nats::PublisherOptions o;
    o.urls = {server.url()};
    o.name = "tail-test";
    o.stream = "SIGFLOW";
    o.stream_subjects = {"sigflow.signals.>"};
    o.spill_path = dir.path() + "/tail.spill";
    sigflow::io::nats::JetStreamPublisher publisher(o);
    // Two instruments interleaved: one stream, one order. Lines as the engine writes them (no newline is
    // added to one that has it, one is added to one that has not).
    for (int i = 0; i < 30; ++i) {
      const std::string line = R"({"n":)" + std::to_string(i) + "}" + (i % 2 ? "\n" : "");
      publisher.publish(i % 2 ? "sigflow.signals.okx.BTC-USDT" : "sigflow.signals.bybit.BTCUSDT",
                        "m" + std::to_string(i), line);
    }
    ASSERT_TRUE(publisher.flush(15'000));
  }

  TailOptions options;
  options.nats_url = "nats://127.0.0.1:1," + server.url();  // a dead cluster member is skipped
  options.durable = "desk";
  options.count = 20;
  std::ostringstream out, err;
  ASSERT_EQ(run_tail(options, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), lines(0, 20));

  // The same durable goes on after line 20; with nothing left it stops once idle.
  options.count = 0;
  options.idle_exit_s = 3.0;  // long enough that a loaded machine still delivers all before it
  std::ostringstream rest;
  ASSERT_EQ(run_tail(options, rest, err), 0) << err.str();
  EXPECT_EQ(rest.str(), lines(20, 30));

  // One venue by subject, from the start under a new durable.
  options.durable = "okx-only";
  options.subject = "sigflow.signals.okx.>";
  std::ostringstream okx;
  ASSERT_EQ(run_tail(options, okx, err), 0) << err.str();
  std::string odd;
  for (int i = 1; i < 30; i += 2) odd += lines(i, i + 1);
  EXPECT_EQ(okx.str(), odd);
}

TEST(Tail, UnreachableServerIsExit2WithTheReason) {
  REQUIRE_NATS_SERVER();
  NatsServer server;  // never started: its port is free
  TailOptions options;
  options.nats_url = server.url();
  std::ostringstream out, err;
  EXPECT_EQ(run_tail(options, out, err), 2);
  EXPECT_TRUE(out.str().empty());
  EXPECT_NE(err.str().find("sigflow tail: "), std::string::npos) << err.str();
}

}  // namespace
